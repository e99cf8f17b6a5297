package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"
)

// entry is one tensor's header record as written in the file.
type entry struct {
	name    string
	dtype   string
	shape   []uint64
	offsets []uint64 // data_offsets: [begin, end)
}

// parse validates a whole file image (see the package doc for the rules)
// and returns the File whose tensors alias data. path only labels errors.
func parse(data []byte, path string) (*File, error) {
	fail := func(tensor, format string, args ...any) error {
		return &FormatError{Path: path, Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) == 0 {
		return nil, fail("", "empty file (a safetensors file starts with an 8-byte header length)")
	}
	if len(data) < 8 {
		return nil, fail("", "file is %d bytes, shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > MaxHeaderSize {
		return nil, fail("", "header length %d exceeds the %d-byte limit (not a safetensors file?)", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, fail("", "header length %d runs past the end of the file (%d bytes; truncated file?)", n, len(data))
	}
	hdr, body := data[8:8+n], data[8+n:]
	if !utf8.Valid(hdr) {
		return nil, fail("", "header is not valid UTF-8")
	}
	entries, md, err := decodeHeader(hdr)
	if err != nil {
		err.Path = path
		return nil, err
	}

	sf := &File{Metadata: md, tensors: make(map[string]*Tensor, len(entries))}
	for _, e := range entries {
		t, err := e.tensor(body)
		if err != nil {
			return nil, fail(e.name, "%v", err)
		}
		sf.tensors[e.name] = t
		sf.names = append(sf.names, e.name)
	}
	sort.Strings(sf.names)

	// The spans must tile the data section: sorted by offsets, each begins
	// where the previous ended, and the last ends at the end of the file.
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.offsets[0] != b.offsets[0] {
			return a.offsets[0] < b.offsets[0]
		}
		if a.offsets[1] != b.offsets[1] {
			return a.offsets[1] < b.offsets[1]
		}
		return a.name < b.name
	})
	var end uint64
	prev := ""
	for _, e := range entries {
		lo, hi := e.offsets[0], e.offsets[1]
		if lo < end {
			return nil, fail(e.name, "data_offsets [%d, %d] overlap tensor %q, which ends at %d", lo, hi, prev, end)
		}
		if lo > end {
			return nil, fail(e.name, "gap of %d unused bytes before its data_offsets [%d, %d] (previous data ends at %d)", lo-end, lo, hi, end)
		}
		end, prev = hi, e.name
	}
	if end != uint64(len(body)) {
		return nil, fail("", "%d bytes of trailing data after the last tensor (tensors end at %d of a %d-byte data section)", uint64(len(body))-end, end, len(body))
	}
	return sf, nil
}

// tensor checks e's dtype, shape and offsets against each other and the
// data section, and returns the view.
func (e *entry) tensor(body []byte) (*Tensor, error) {
	dt := DType(e.dtype)
	size := dt.Size()
	if size == 0 {
		if unsupportedDTypes[e.dtype] {
			return nil, fmt.Errorf("dtype %q is valid safetensors but not supported by this package", e.dtype)
		}
		return nil, fmt.Errorf("unknown dtype %q", e.dtype)
	}
	shape := make([]int, len(e.shape))
	for i, d := range e.shape {
		if d > math.MaxInt {
			return nil, fmt.Errorf("dimension %d of shape %v is too large", d, e.shape)
		}
		shape[i] = int(d)
	}
	elems, ok := numElements(shape)
	if !ok || uint64(elems) > math.MaxUint64/uint64(size) {
		return nil, fmt.Errorf("shape %v: element count × %d bytes overflows", e.shape, size)
	}
	nbytes := uint64(elems) * uint64(size)
	if len(e.offsets) != 2 {
		return nil, fmt.Errorf("data_offsets must be [begin, end], found %d numbers", len(e.offsets))
	}
	lo, hi := e.offsets[0], e.offsets[1]
	if hi < lo {
		return nil, fmt.Errorf("data_offsets [%d, %d] end before they begin", lo, hi)
	}
	if hi-lo != nbytes {
		return nil, fmt.Errorf("shape %v of %s is %d bytes but data_offsets [%d, %d] span %d", e.shape, dt, nbytes, lo, hi, hi-lo)
	}
	if hi > uint64(len(body)) {
		return nil, fmt.Errorf("data_offsets [%d, %d] run past the end of the %d-byte data section (truncated file?)", lo, hi, len(body))
	}
	return &Tensor{Name: e.name, DType: dt, Shape: shape, Data: body[lo:hi:hi]}, nil
}
