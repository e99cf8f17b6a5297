package safetensors

import (
	"fmt"
	"math"
	"math/bits"
	"os"
)

// MaxHeaderSize is the largest JSON header Open accepts: 100,000,000 bytes,
// the reference implementation's MAX_HEADER_SIZE.
const MaxHeaderSize = 100_000_000

// Tensor is one tensor: its name, dtype, shape and raw little-endian,
// row-major bytes. Tensors returned by a File are views of the mapped file:
// do not modify Data, and do not use it after File.Close.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements returns the product of the shape (1 for a scalar, shape []).
// For a shape that is invalid (a negative dimension, or a product that
// overflows int) it returns -1.
func (t *Tensor) NumElements() int {
	n, ok := numElements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// numElements multiplies the dimensions, reporting false on a negative
// dimension or overflow (checked at every step, like the reference's
// try_fold(checked_mul)).
func numElements(shape []int) (int, bool) {
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, false
		}
		n = lo
	}
	return int(n), true
}

// check reports (without naming the tensor) why t is not a consistent tensor: unknown dtype, invalid
// shape, or len(Data) != NumElements × DType.Size().
func (t *Tensor) check() error {
	size := t.DType.Size()
	if size == 0 {
		return fmt.Errorf("unknown dtype %q", t.DType)
	}
	n, ok := numElements(t.Shape)
	if !ok {
		return fmt.Errorf("invalid shape %v (negative dimension or element count overflows)", t.Shape)
	}
	hi, want := bits.Mul64(uint64(n), uint64(size))
	if hi != 0 || want != uint64(len(t.Data)) {
		return fmt.Errorf("shape %v of %s needs %d×%d bytes but Data has %d", t.Shape, t.DType, n, size, len(t.Data))
	}
	return nil
}

// FormatError describes an invalid file: which file (Path, empty for Parse
// of an unnamed buffer), which tensor (Tensor, empty when the problem is not
// one tensor's) and what is wrong.
type FormatError struct {
	Path   string
	Tensor string
	Msg    string
}

// Error formats "safetensors: <path>: tensor "<name>": <msg>", leaving out
// the parts that are empty.
func (e *FormatError) Error() string {
	s := "safetensors: "
	if e.Path != "" {
		s += e.Path + ": "
	}
	if e.Tensor != "" {
		s += fmt.Sprintf("tensor %q: ", e.Tensor)
	}
	return s + e.Msg
}

// File is a parsed safetensors file. Its methods may be called from several
// goroutines at once (it is read-only after Open/Parse) until Close.
type File struct {
	Path     string            // as given to Open; empty for Parse
	Metadata map[string]string // "__metadata__"; nil when absent or null
	tensors  map[string]*Tensor
	names    []string // sorted
	unmap    func() error
	mapped   bool // the tensors' bytes are a memory mapping of the file (Open)
}

// Open maps path and parses and validates its header. The returned File
// must be closed once no view of its tensors is in use. A file truncated or
// modified by another process while mapped can crash the program (SIGBUS);
// that is inherent to memory mapping.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.IsDir() {
		return nil, &FormatError{Path: path, Msg: "is a directory, not a .safetensors file"}
	}
	if !st.Mode().IsRegular() {
		return nil, &FormatError{Path: path, Msg: fmt.Sprintf("is not a regular file (mode %v)", st.Mode())}
	}
	data, unmap, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	sf, err := parse(data, path)
	if err != nil {
		unmap()
		return nil, err
	}
	sf.Path = path
	sf.unmap = unmap
	sf.mapped = true
	return sf, nil
}

// Parse parses and validates an in-memory safetensors file. The tensors'
// Data alias buf.
func Parse(buf []byte) (*File, error) {
	return parse(buf, "")
}

// Close releases the mapping. Views obtained from the file become invalid.
// Closing twice, or closing a File from Parse, does nothing.
func (f *File) Close() error {
	if f == nil || f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap = nil
	f.tensors = nil
	f.names = nil
	return u()
}

// Names returns the tensor names in sorted (byte-wise) order, as a new slice.
func (f *File) Names() []string { return append([]string(nil), f.names...) }

// Has reports whether the file holds a tensor called name.
func (f *File) Has(name string) bool { _, ok := f.tensors[name]; return ok }

// Tensor returns the view of the tensor called name.
func (f *File) Tensor(name string) (*Tensor, error) {
	t, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor %q", f.displayPath(), name)
	}
	return t, nil
}

// Tensors returns views of all tensors in Names order.
func (f *File) Tensors() []*Tensor {
	out := make([]*Tensor, len(f.names))
	for i, n := range f.names {
		out[i] = f.tensors[n]
	}
	return out
}

// Float32 converts the tensor called name to a new float32 slice (from any
// floating or integer dtype, see Tensor.Float32) and returns it with its
// shape.
func (f *File) Float32(name string) ([]float32, []int, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := t.float32()
	if err != nil {
		return nil, nil, &FormatError{Path: f.Path, Tensor: name, Msg: err.Error()}
	}
	return out, t.Shape, nil
}

// Int64 converts the integer (or BOOL) tensor called name to int64 values.
func (f *File) Int64(name string) ([]int64, []int, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := t.int64()
	if err != nil {
		return nil, nil, &FormatError{Path: f.Path, Tensor: name, Msg: err.Error()}
	}
	return out, t.Shape, nil
}

func (f *File) displayPath() string {
	if f.Path == "" {
		return "<buffer>"
	}
	return f.Path
}
