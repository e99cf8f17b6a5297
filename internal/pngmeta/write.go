package pngmeta

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is wrapped by WriteFile's error when the target exists and
// overwriting was not allowed.
var ErrExists = errors.New("file exists (use --overwrite to replace it)")

// Encode returns img as PNG bytes with a text chunk per (keyword, text)
// pair after IHDR.
func Encode(img image.Image, pairs ...[2]string) ([]byte, error) {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return InsertText(buf.Bytes(), pairs...)
}

// WriteFile writes data to path so that path never holds a half-written
// file: the bytes go to a temporary file in the same folder, which is
// synced and then renamed onto path. Unless overwrite is set, an existing
// path is an error wrapping ErrExists (checked again atomically with a hard
// link where the file system allows it).
func WriteFile(path string, data []byte, overwrite bool) error {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(name, 0o644); err != nil {
		return err
	}
	if overwrite {
		return os.Rename(name, path)
	}
	// A hard link fails if path appeared meanwhile; fall back to rename on
	// file systems without links.
	if err := os.Link(name, path); err == nil {
		return nil
	} else if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", path, ErrExists)
	}
	return os.Rename(name, path)
}

// RGB8 wraps interleaved 8-bit RGB pixels (HWC, as a decoded image's
// uint8 NHWC batch element) in an image.NRGBA with opaque alpha.
func RGB8(pix []uint8, w, h int) (*image.NRGBA, error) {
	if len(pix) != w*h*3 {
		return nil, fmt.Errorf("RGB8: %d bytes for %dx%d pixels", len(pix), w, h)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		copy(img.Pix[4*i:4*i+3], pix[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	return img, nil
}
