package clip

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CacheTokenizer copies the tokenizer at src (a folder as accepted by
// FindTokenizer, or openai's .gz file) into TokenizerCacheDir, so that
// later runs find it without --tokenizer. It copies vocab.json and
// merges.txt when src has them, else the .gz (saved under its canonical
// name bpe_simple_vocab_16e6.txt.gz). Each file is written to a temporary
// file in the cache folder and renamed into place, so a concurrent reader
// never sees a half-written file; merges.txt is renamed last, and a folder
// only counts as a tokenizer once both files are there. copied is false
// when the cache already held the same bytes (or src is the cache).
// Call it only with a tokenizer that loaded successfully.
func CacheTokenizer(src string) (dir string, copied bool, err error) {
	if dir, err = TokenizerCacheDir(); err != nil {
		return "", false, err
	}
	var files [][2]string // {source, name in the cache}
	switch {
	case strings.HasSuffix(src, ".gz") && isFile(src):
		files = [][2]string{{src, openaiVocab}}
	case isFile(filepath.Join(src, "vocab.json")) && isFile(filepath.Join(src, "merges.txt")):
		files = [][2]string{{filepath.Join(src, "vocab.json"), "vocab.json"}, {filepath.Join(src, "merges.txt"), "merges.txt"}}
	case isFile(filepath.Join(src, openaiVocab)):
		files = [][2]string{{filepath.Join(src, openaiVocab), openaiVocab}}
	default:
		return dir, false, fmt.Errorf("caching the tokenizer: %s holds no tokenizer files", src)
	}
	if sameFolder(filepath.Dir(files[0][0]), dir) {
		return dir, false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return dir, false, fmt.Errorf("caching the tokenizer: %w", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f[0])
		if err != nil {
			return dir, copied, fmt.Errorf("caching the tokenizer: %w", err)
		}
		dst := filepath.Join(dir, f[1])
		if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
			continue
		}
		if err := writeAtomic(dst, data); err != nil {
			return dir, copied, fmt.Errorf("caching the tokenizer: %w", err)
		}
		copied = true
	}
	return dir, copied, nil
}

// writeAtomic writes data to path through a temporary file in the same
// folder and a rename, so path holds either its old or its new contents.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil && cerr == nil {
		if err = os.Chmod(tmp.Name(), 0o644); err == nil {
			if err = os.Rename(tmp.Name(), path); err == nil {
				return nil
			}
		}
	} else if err = werr; err == nil {
		err = cerr
	}
	os.Remove(tmp.Name())
	return err
}

// sameFolder reports whether a and b name the same existing folder.
func sameFolder(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
