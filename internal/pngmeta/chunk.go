// Package pngmeta writes PNG images that carry text metadata (the
// generation parameters, as A1111 and ComfyUI users expect to find them)
// and reads that metadata back.
//
// image/png encodes pixels but cannot write text chunks, so Encode lets it
// produce the file and then splices a tEXt (or iTXt) chunk in right after
// IHDR. A PNG chunk is: 4-byte big-endian data length, 4-byte type, data,
// 4-byte CRC-32 (IEEE) of type‖data.
package pngmeta

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf8"
)

// signature is the 8 bytes every PNG file starts with.
var signature = []byte("\x89PNG\r\n\x1a\n")

// chunk serialises one PNG chunk: length, type, data, CRC-32(type‖data).
func chunk(typ string, data []byte) []byte {
	out := make([]byte, 0, 12+len(data))
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	return binary.BigEndian.AppendUint32(out, crc.Sum32())
}

// latin1 converts s to ISO-8859-1 bytes, reporting false when s holds a
// character outside it (tEXt chunks are Latin-1 by definition).
func latin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff || r == utf8.RuneError {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// TextChunk returns the chunk that stores text under keyword: tEXt
// (keyword NUL text, Latin-1) when text is Latin-1, else an uncompressed
// iTXt (keyword NUL 0 0 NUL NUL text, UTF-8) — the choice PIL makes for
// A1111's "parameters". The keyword must be 1–79 Latin-1 characters.
// Bytes of text that are not valid UTF-8 (a prompt from a file in another
// encoding) become U+FFFD, so the iTXt chunk is valid UTF-8 and readers
// (PIL, hence A1111) do not drop it.
func TextChunk(keyword, text string) ([]byte, error) {
	text = strings.ToValidUTF8(text, "\uFFFD")
	kw, ok := latin1(keyword)
	if !ok || len(kw) == 0 || len(kw) > 79 || bytes.IndexByte(kw, 0) >= 0 {
		return nil, fmt.Errorf("png text keyword %q: must be 1-79 Latin-1 characters", keyword)
	}
	if t, ok := latin1(text); ok {
		data := append(append(kw, 0), t...)
		return chunk("tEXt", data), nil
	}
	data := append(kw, 0, 0, 0, 0, 0) // NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL
	data = append(data, text...)
	return chunk("iTXt", data), nil
}

// InsertText returns png with a text chunk for each (keyword, text) pair
// inserted right after the IHDR chunk.
func InsertText(png []byte, pairs ...[2]string) ([]byte, error) {
	if !bytes.HasPrefix(png, signature) || len(png) < 8+12 {
		return nil, errors.New("not a PNG file")
	}
	n := binary.BigEndian.Uint32(png[8:])
	if string(png[12:16]) != "IHDR" || int(n) > len(png)-8-12 {
		return nil, errors.New("PNG does not start with an IHDR chunk")
	}
	end := 8 + 12 + int(n)
	out := make([]byte, 0, len(png)+256)
	out = append(out, png[:end]...)
	for _, p := range pairs {
		c, err := TextChunk(p[0], p[1])
		if err != nil {
			return nil, err
		}
		out = append(out, c...)
	}
	return append(out, png[end:]...), nil
}

// ReadText returns the text chunks (tEXt, zTXt, iTXt) of a PNG file,
// keyword → text (UTF-8), checking each chunk's CRC.
func ReadText(r io.Reader) (map[string]string, error) {
	png, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(png, signature) {
		return nil, errors.New("not a PNG file")
	}
	out := map[string]string{}
	for off := 8; off+12 <= len(png); {
		n := int(binary.BigEndian.Uint32(png[off:]))
		if n > len(png)-off-12 {
			return nil, fmt.Errorf("PNG chunk at byte %d runs past the end of the file", off)
		}
		typ := string(png[off+4 : off+8])
		data := png[off+8 : off+8+n]
		if got, want := binary.BigEndian.Uint32(png[off+8+n:]), crc32.ChecksumIEEE(png[off+4:off+8+n]); got != want {
			return nil, fmt.Errorf("PNG chunk %s at byte %d: CRC %08x, computed %08x", typ, off, got, want)
		}
		off += 12 + n
		k, rest, ok := bytes.Cut(data, []byte{0})
		switch {
		case !ok:
		case typ == "tEXt":
			out[fromLatin1(k)] = fromLatin1(rest)
		case typ == "zTXt" && len(rest) > 0:
			if t, err := inflate(rest[1:]); err == nil {
				out[fromLatin1(k)] = fromLatin1(t)
			}
		case typ == "iTXt" && len(rest) >= 2:
			compressed := rest[0] == 1
			_, rest, _ = bytes.Cut(rest[2:], []byte{0}) // language tag
			_, text, _ := bytes.Cut(rest, []byte{0})    // translated keyword
			if compressed {
				if text, err = inflate(text); err != nil {
					continue
				}
			}
			out[fromLatin1(k)] = string(text)
		case typ == "IEND":
			return out, nil
		}
	}
	return out, nil
}

func fromLatin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}
