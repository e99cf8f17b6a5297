// Package nn holds the layers the diffusion networks are built from
// (Linear, Conv2d, GroupNorm, LayerNorm, RMSNorm, Embedding, attention,
// feed-forward, timestep embedding, RoPE), each a plain struct of weights
// with a Forward method, and Params, which loads those weights by name from
// safetensors files.
package nn

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// Params hands out named weights from one or more safetensors files, in
// their stored dtype, checking each shape. It remembers the first error so
// a loader can ask for many tensors and check Err once; every error names
// the file, the key, and the expected and found shape or dtype.
//
// A Params made by Sub shares the files, the error and the record of used
// keys with its parent and prepends its prefix to every key.
type Params struct {
	prefix string
	st     *paramState
}

type paramState struct {
	files []*safetensors.File
	used  map[string]bool
	err   error
}

// NewParams returns Params over the given files; a key is looked up in the
// files in order.
func NewParams(files ...*safetensors.File) *Params {
	return &Params{st: &paramState{files: files, used: map[string]bool{}}}
}

// OpenParams opens the files at paths (see NewParams). Close releases them.
func OpenParams(paths ...string) (*Params, error) {
	var files []*safetensors.File
	for _, p := range paths {
		f, err := safetensors.Open(p)
		if err != nil {
			for _, g := range files {
				g.Close()
			}
			return nil, err
		}
		files = append(files, f)
	}
	return NewParams(files...), nil
}

// Close closes the underlying files. Weights that alias mapped memory must
// no longer be used.
func (p *Params) Close() error {
	var first error
	for _, f := range p.st.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Files returns the underlying files.
func (p *Params) Files() []*safetensors.File { return p.st.files }

// Sub returns a view whose keys are prefixed by prefix (a "." is not added).
func (p *Params) Sub(prefix string) *Params { return &Params{prefix: p.prefix + prefix, st: p.st} }

// Prefix returns the view's key prefix.
func (p *Params) Prefix() string { return p.prefix }

// Err returns the first error met so far.
func (p *Params) Err() error { return p.st.err }

// Fail records err (if it is the first) and returns it.
func (p *Params) Fail(err error) error {
	if p.st.err == nil {
		p.st.err = err
	}
	return p.st.err
}

func (p *Params) lookup(key string) (*safetensors.File, *safetensors.Tensor) {
	full := p.prefix + key
	for _, f := range p.st.files {
		if t, err := f.Tensor(full); err == nil {
			return f, t
		}
	}
	return nil, nil
}

func (p *Params) where() string {
	names := make([]string, len(p.st.files))
	for i, f := range p.st.files {
		names[i] = f.Path
	}
	return strings.Join(names, ", ")
}

// Has reports whether key (under the prefix) exists.
func (p *Params) Has(key string) bool { _, t := p.lookup(key); return t != nil }

// Shape returns the stored shape of key, or nil if absent.
func (p *Params) Shape(key string) []int {
	if _, t := p.lookup(key); t != nil {
		return t.Shape
	}
	return nil
}

// Weight returns the tensor key in its stored dtype, checking that its shape
// is shape (when shape is given; -1 matches any size on that axis). On error
// it records the error and returns nil.
func (p *Params) Weight(key string, shape ...int) *tensor.Weight {
	if p.st.err != nil {
		return nil
	}
	f, t := p.lookup(key)
	if t == nil {
		p.Fail(fmt.Errorf("%s: missing tensor %q", p.where(), p.prefix+key))
		return nil
	}
	p.st.used[p.prefix+key] = true
	if shape != nil && !shapeMatches(t.Shape, shape) {
		p.Fail(fmt.Errorf("%s: tensor %q has shape %s, expected %s", f.Path, t.Name, tensor.ShapeString(t.Shape), tensor.ShapeString(shape)))
		return nil
	}
	var dt tensor.DType
	switch t.DType {
	case safetensors.F32:
		dt = tensor.F32
	case safetensors.F16:
		dt = tensor.F16
	case safetensors.BF16:
		dt = tensor.BF16
	case safetensors.F8E4M3:
		dt = tensor.F8E4M3
	case safetensors.F8E5M2:
		dt = tensor.F8E5M2
	default:
		p.Fail(fmt.Errorf("%s: tensor %q has dtype %s, expected a floating type (F32, F16, BF16, F8_E4M3, F8_E5M2)", f.Path, t.Name, t.DType))
		return nil
	}
	w, err := tensor.NewWeight(dt, t.Shape, t.Data)
	if err != nil {
		p.Fail(fmt.Errorf("%s: tensor %q: %v", f.Path, t.Name, err))
		return nil
	}
	// A NaN or Inf stored in the file: an error at load rather than a black
	// image after minutes (one pass over the bytes, see tensor.NaNChecks).
	if tensor.NaNChecks {
		if i := w.FirstNonFinite(); i >= 0 {
			p.Fail(fmt.Errorf("%s: tensor %q holds a NaN or infinity (value %d of %d): the file is damaged or was saved from a model that had already diverged; download it again or use another checkpoint", f.Path, t.Name, i, w.Len()))
			return nil
		}
		// The scan read every page of the weight; hand them back until
		// the network needs them, so a model's weights are not all
		// resident while another part (the text encoder) runs.
		f.Evict(t.Data)
	}
	if scale, ok := p.weightScale(key); ok {
		w = tensor.ScaledWeight(w, scale)
	}
	return w
}

// weightScale returns the per-tensor scale that ComfyUI's scaled-fp8
// checkpoints store beside a quantised "X.weight" as "X.scale_weight" (a
// scalar or one-element tensor; the layer computes with
// W = float(X.weight)·X.scale_weight), and whether there is one. A scale
// that is not one finite float is recorded as an error.
func (p *Params) weightScale(key string) (float32, bool) {
	stem, ok := strings.CutSuffix(key, "weight")
	if !ok || !p.Has(stem+"scale_weight") {
		return 1, false
	}
	f, t := p.lookup(stem + "scale_weight")
	p.st.used[p.prefix+stem+"scale_weight"] = true
	if n := numel(t.Shape); n != 1 {
		p.Fail(fmt.Errorf("%s: tensor %q has shape %s, expected one value (a scaled-fp8 weight scale)", f.Path, t.Name, tensor.ShapeString(t.Shape)))
		return 1, false
	}
	vals, err := t.Float32()
	if err != nil {
		p.Fail(fmt.Errorf("%s: tensor %q: %v", f.Path, t.Name, err))
		return 1, false
	}
	s := vals[0]
	if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
		p.Fail(fmt.Errorf("%s: tensor %q: weight scale %g is not finite", f.Path, t.Name, s))
		return 1, false
	}
	return s, true
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// F32 returns the tensor key converted to float32 (for small parameters:
// biases, norm scales), checking its shape as Weight does.
func (p *Params) F32(key string, shape ...int) []float32 {
	w := p.Weight(key, shape...)
	if w == nil {
		return nil
	}
	out := make([]float32, w.Len())
	w.Decode(out, 0)
	return out
}

// Unused returns the keys of all files that no Weight call asked for,
// sorted (reported at debug level by loaders).
func (p *Params) Unused() []string {
	var out []string
	for _, f := range p.st.files {
		for _, n := range f.Names() {
			if !p.st.used[n] {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

func shapeMatches(got, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if want[i] != -1 && got[i] != want[i] {
			return false
		}
	}
	return true
}
