package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"path/filepath"
	"strings"

	"github.com/godiffusion/godiffusion/internal/pngmeta"
)

// Output image formats, chosen by the -o file's extension.
const (
	formatPNG  = "png"
	formatJPEG = "jpeg"
)

// jpegQuality is the JPEG quality gen writes (A1111's default is 80;
// 95 keeps a generated picture's fine detail).
const jpegQuality = 95

// imageFormat returns the format of an -o path by its extension: .png (or
// none) is PNG, .jpg/.jpeg JPEG (the standard library's encoder). Others
// are refused rather than written as PNG bytes under a misleading name:
// .webp in particular, since no well-kept pure-Go WebP encoder exists
// (golang.org/x/image/webp only decodes).
func imageFormat(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png", "":
		return formatPNG, nil
	case ".jpg", ".jpeg":
		return formatJPEG, nil
	default:
		return "", badInput("-o/--output %s: cannot write %s images; use .png (with the generation parameters) or .jpg", path, ext)
	}
}

// encodeImage encodes img in format with the A1111 parameters text: a PNG
// "parameters" text chunk, or a JPEG comment (COM) segment, which A1111
// reads back as PIL's info["comment"] when a JPEG has no EXIF.
func encodeImage(format string, img image.Image, params string) ([]byte, error) {
	if format == formatPNG {
		return pngmeta.Encode(img, [2]string{pngmeta.Keyword, params})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, err
	}
	return jpegWithComment(buf.Bytes(), params)
}

// jpegWithComment inserts a COM segment (marker FF FE, a 2-byte big-endian
// length counting itself, then the text) right after the SOI marker. A
// segment holds at most 65533 bytes of text; a longer text is cut there.
func jpegWithComment(jpg []byte, text string) ([]byte, error) {
	if len(jpg) < 2 || jpg[0] != 0xFF || jpg[1] != 0xD8 {
		return nil, fmt.Errorf("not a JPEG stream")
	}
	t := []byte(strings.ToValidUTF8(text, "\uFFFD"))
	if len(t) > 65533 {
		t = t[:65533]
	}
	out := make([]byte, 0, len(jpg)+4+len(t))
	out = append(out, 0xFF, 0xD8, 0xFF, 0xFE)
	out = binary.BigEndian.AppendUint16(out, uint16(len(t)+2))
	out = append(out, t...)
	return append(out, jpg[2:]...), nil
}
