package infotext

import (
	"github.com/godiffusion/godiffusion/internal/pngmeta"
)

// PNG encodes an 8-bit RGB image (w·h·3 bytes, row-major, as
// pipeline.Result.RGB) as a PNG carrying p in its "parameters" text chunk, the
// file A1111 saves and reads back.
func PNG(rgb []uint8, w, h int, p pngmeta.Parameters) ([]byte, error) {
	img, err := pngmeta.RGB8(rgb, w, h)
	if err != nil {
		return nil, err
	}
	return pngmeta.Encode(img, [2]string{pngmeta.Keyword, p.String()})
}
