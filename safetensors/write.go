package safetensors

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Write writes tensors and metadata (nil for none) as a safetensors file to
// w, exactly as the reference writer lays it out:
//
//   - tensors ordered by decreasing dtype (DTypes order reversed, i.e. larger
//     elements first), then by name, so that every tensor begins at a
//     multiple of its element size;
//   - the header is compact JSON, "__metadata__" first (keys sorted) when
//     metadata is non-nil, then {"dtype","shape","data_offsets"} per tensor,
//     padded with spaces to a multiple of 8 bytes;
//   - then the tensors' Data back to back.
//
// Everything is validated before the first byte is written: names must be
// distinct valid UTF-8 and not "__metadata__", and each tensor's Data must
// hold exactly NumElements × Size bytes.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order, header, err := prepare(tensors, metadata)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	bw.Write(n[:])
	bw.Write(header)
	for _, t := range order {
		if _, err := bw.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: writing tensor %q: %w", t.Name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// Marshal returns the bytes Write would write.
func Marshal(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	var buf sliceWriter
	if err := Write(&buf, tensors, metadata); err != nil {
		return nil, err
	}
	return buf, nil
}

type sliceWriter []byte

func (s *sliceWriter) Write(p []byte) (int, error) { *s = append(*s, p...); return len(p), nil }

// WriteFile writes tensors and metadata to path atomically: into a temporary
// file in the same directory, fsynced, then renamed over path. On any error
// the temporary file is removed and path is left as it was. The file is
// created with mode 0644.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	// Validate before touching the file system.
	if _, _, err := prepare(tensors, metadata); err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = Write(tmp, tensors, metadata); err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable where the system allows it (best effort:
// some systems cannot open or sync directories).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// prepare validates the tensors, orders them as the reference does and
// builds the padded header.
func prepare(tensors []Tensor, metadata map[string]string) ([]*Tensor, []byte, error) {
	order := make([]*Tensor, len(tensors))
	seen := make(map[string]bool, len(tensors))
	for i := range tensors {
		t := &tensors[i]
		bad := func(msg string) error { return &FormatError{Tensor: t.Name, Msg: msg} }
		if t.Name == "__metadata__" {
			return nil, nil, bad("the name is reserved for the metadata map")
		}
		if !utf8.ValidString(t.Name) {
			return nil, nil, bad("name is not valid UTF-8")
		}
		if seen[t.Name] {
			return nil, nil, bad("given twice")
		}
		seen[t.Name] = true
		if err := t.check(); err != nil {
			return nil, nil, bad(err.Error())
		}
		order[i] = t
	}
	sort.Slice(order, func(i, j int) bool {
		ri, rj := order[i].DType.rank(), order[j].DType.rank()
		if ri != rj {
			return ri > rj
		}
		return order[i].Name < order[j].Name
	})

	h := []byte{'{'}
	if metadata != nil {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, nil, &FormatError{Msg: fmt.Sprintf("metadata entry %q is not valid UTF-8", k)}
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h = append(h, `"__metadata__":{`...)
		for i, k := range keys {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendJSONString(h, k)
			h = append(h, ':')
			h = appendJSONString(h, metadata[k])
		}
		h = append(h, '}')
		if len(order) > 0 {
			h = append(h, ',')
		}
	}
	var offset uint64
	for i, t := range order {
		if i > 0 {
			h = append(h, ',')
		}
		h = appendJSONString(h, t.Name)
		h = append(h, `:{"dtype":"`...)
		h = append(h, t.DType...)
		h = append(h, `","shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(d), 10)
		}
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendUint(h, offset, 10)
		h = append(h, ',')
		offset += uint64(len(t.Data))
		h = strconv.AppendUint(h, offset, 10)
		h = append(h, "]}"...)
	}
	h = append(h, '}')
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	if len(h) > MaxHeaderSize {
		return nil, nil, &FormatError{Msg: fmt.Sprintf("header would be %d bytes, over the %d-byte limit readers enforce", len(h), MaxHeaderSize)}
	}
	return order, h, nil
}

// appendJSONString appends s as a JSON string the way serde_json (the
// reference) writes it: only '"', '\\' and control characters are escaped,
// using \b \f \n \r \t where they exist and \u00XX (lower-case hex)
// otherwise; everything else, non-ASCII included, is written as is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
