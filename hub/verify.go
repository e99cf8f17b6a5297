package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"strings"
)

// NormalizeETag strips the weak-validator prefix W/ and the quotes of an
// ETag header, as huggingface_hub's _normalize_etag does.
func NormalizeETag(etag string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(etag), "W/"), `"`)
}

// etagHash returns the hash whose hex digest a blob's etag is: sha256 of the
// content for an LFS file (64 hex digits), git's blob hash
// sha1("blob {size}\x00" + content) for a file stored in git (40 hex
// digits); nil for any other etag, which cannot be checked.
func etagHash(etag string, size int64) hash.Hash {
	if _, err := hex.DecodeString(etag); err != nil {
		return nil
	}
	switch len(etag) {
	case 64:
		return sha256.New()
	case 40:
		h := sha1.New()
		fmt.Fprintf(h, "blob %d\x00", size)
		return h
	}
	return nil
}

// verifyFile checks that the file at path has the given size and, where
// the etag is a content hash, hashes to it.
func verifyFile(path, etag string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if size >= 0 && st.Size() != size {
		return fmt.Errorf("size %d, expected %d", st.Size(), size)
	}
	h := etagHash(etag, st.Size())
	if h == nil {
		return nil
	}
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != etag {
		return fmt.Errorf("content hash %s, expected %s", got, etag)
	}
	return nil
}

// formatSize writes n bytes in the largest unit that keeps it ≥ 1 (decimal
// units, as the Hub's file listing shows them).
func formatSize(n int64) string {
	const unit = 1000
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// FormatSize is formatSize for callers outside the package (gen models).
func FormatSize(n int64) string { return formatSize(n) }
