package pngmeta

import (
	"bytes"
	"fmt"
	"image"
	"image/png"

	"github.com/godiffusion/godiffusion/internal/outfile"
)

// ErrExists is wrapped by WriteFile's error when the target exists and
// overwriting was not allowed.
var ErrExists = outfile.ErrExists

// Encode returns img as PNG bytes with a text chunk per (keyword, text)
// pair after IHDR.
func Encode(img image.Image, pairs ...[2]string) ([]byte, error) {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return InsertText(buf.Bytes(), pairs...)
}

// WriteFile writes data to path as outfile.WriteFile does: never
// half-written (a synced temporary file renamed into place), never
// replacing what is not a regular file, a symlink written through, the
// umask respected; unless overwrite is set, an existing path is an error
// wrapping ErrExists.
func WriteFile(path string, data []byte, overwrite bool) error {
	return outfile.WriteFile(path, data, overwrite)
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
