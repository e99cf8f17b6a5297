// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON describing every tensor (dtype, shape, byte span
// relative to the end of the header) and an optional "__metadata__" map of
// strings, then the raw little-endian tensor bytes.
//
// Open maps the file into memory (see mmap_*.go) and validates the header
// strictly; tensor bytes are never copied until a caller asks for a
// conversion, so a 4 GB checkpoint costs only the pages that are touched.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// DType names a tensor element type as it is spelled in the header.
type DType string

// The element types the format defines that this package understands.
const (
	F64     DType = "F64"
	F32     DType = "F32"
	F16     DType = "F16"
	BF16    DType = "BF16"
	F8E4M3  DType = "F8_E4M3"
	F8E5M2  DType = "F8_E5M2"
	I64     DType = "I64"
	I32     DType = "I32"
	I16     DType = "I16"
	I8      DType = "I8"
	U8      DType = "U8"
	BOOL    DType = "BOOL"
)

// Size returns the size in bytes of one element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case F8E4M3, F8E5M2, I8, U8, BOOL:
		return 1
	}
	return 0
}

// MaxHeaderSize is the largest JSON header Open accepts (100 MB, as the
// reference implementation).
const MaxHeaderSize = 100 << 20

// Tensor is a view of one tensor of a file: its name, dtype, shape and raw
// little-endian bytes (a slice of the mapped file; do not modify).
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements returns the product of the shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is an open safetensors file.
type File struct {
	Path     string
	Metadata map[string]string
	tensors  map[string]*Tensor
	names    []string // sorted
	data     []byte   // whole file (mapped or read)
	unmap    func() error
}

type headerEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Open maps path and parses its header. The returned File must be closed
// once no view of its tensors is in use.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("safetensors: %s is a directory, not a .safetensors file", path)
	}
	data, unmap, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	sf, err := parse(data)
	if err != nil {
		if unmap != nil {
			unmap()
		}
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	sf.Path = path
	sf.unmap = unmap
	return sf, nil
}

// Parse parses an in-memory safetensors file. The tensors' Data alias buf.
func Parse(buf []byte) (*File, error) {
	sf, err := parse(buf)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return sf, nil
}

func parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("file is %d bytes, shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d runs past the end of the file (%d bytes; truncated file?)", n, len(data))
	}
	hdr := data[8 : 8+n]
	body := data[8+n:]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("invalid JSON header: %v", err)
	}
	if err := checkDuplicateKeys(hdr); err != nil {
		return nil, err
	}
	sf := &File{tensors: make(map[string]*Tensor, len(raw)), data: data}
	type span struct {
		lo, hi int64
		name   string
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			var md map[string]string
			if err := json.Unmarshal(msg, &md); err != nil {
				return nil, fmt.Errorf("__metadata__ must map strings to strings: %v", err)
			}
			sf.Metadata = md
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("tensor %q: invalid header entry: %v", name, err)
		}
		dt := DType(e.DType)
		if dt.Size() == 0 {
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", name, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("tensor %q: data_offsets must have 2 entries, found %d", name, len(e.DataOffsets))
		}
		lo, hi := e.DataOffsets[0], e.DataOffsets[1]
		if lo < 0 || hi < lo || hi > int64(len(body)) {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] out of range of the %d-byte data section", name, lo, hi, len(body))
		}
		shape := make([]int, len(e.Shape))
		elems := int64(1)
		for i, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q: negative dimension %d in shape %v", name, d, e.Shape)
			}
			if d > 0 && elems > math.MaxInt64/d {
				return nil, fmt.Errorf("tensor %q: shape %v overflows", name, e.Shape)
			}
			elems *= d
			shape[i] = int(d)
		}
		if elems > math.MaxInt64/int64(dt.Size()) || elems*int64(dt.Size()) != hi-lo {
			return nil, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes but data_offsets span %d", name, e.Shape, dt, elems*int64(dt.Size()), hi-lo)
		}
		sf.tensors[name] = &Tensor{Name: name, DType: dt, Shape: shape, Data: body[lo:hi:hi]}
		sf.names = append(sf.names, name)
		spans = append(spans, span{lo, hi, name})
	}
	sort.Strings(sf.names)
	// The spans must tile the data section: no overlap, no gap, nothing after.
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].lo != spans[j].lo {
			return spans[i].lo < spans[j].lo
		}
		return spans[i].hi < spans[j].hi
	})
	var end int64
	for _, s := range spans {
		if s.lo < end {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap the previous tensor (ending at %d)", s.name, s.lo, s.hi, end)
		}
		if s.lo > end {
			return nil, fmt.Errorf("tensor %q: gap of %d bytes before its data at %d", s.name, s.lo-end, s.lo)
		}
		end = s.hi
	}
	if end != int64(len(body)) {
		return nil, fmt.Errorf("%d bytes of trailing data after the last tensor", int64(len(body))-end)
	}
	return sf, nil
}

// checkDuplicateKeys rejects a header whose top-level object names a key
// twice (encoding/json would silently keep the last).
func checkDuplicateKeys(hdr []byte) error {
	dec := json.NewDecoder(bytesReader(hdr))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid JSON header: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("invalid JSON header: not an object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("invalid JSON header: %v", err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return fmt.Errorf("tensor %q is named twice in the header", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("invalid JSON header: %v", err)
		}
	}
	return nil
}

// Close releases the mapping. Views obtained from the file become invalid.
func (f *File) Close() error {
	if f == nil || f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap = nil
	f.tensors = nil
	f.data = nil
	return u()
}

// Names returns the tensor names in sorted order.
func (f *File) Names() []string { return f.names }

// Has reports whether the file holds a tensor called name.
func (f *File) Has(name string) bool { _, ok := f.tensors[name]; return ok }

// Tensor returns the view of the tensor called name.
func (f *File) Tensor(name string) (*Tensor, error) {
	t, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor %q", f.Path, name)
	}
	return t, nil
}

// Float32 converts the tensor called name to a new float32 slice (from any
// floating or integer dtype) and returns it with its shape.
func (f *File) Float32(name string) ([]float32, []int, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := t.Float32()
	return out, t.Shape, err
}

// Int64 converts the integer tensor called name to int64 values.
func (f *File) Int64(name string) ([]int64, []int, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := t.Int64()
	return out, t.Shape, err
}
