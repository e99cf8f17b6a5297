package fluxnet

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
)

// source hands out the network's layers by their BFL names (see keys.go):
// from a checkpoint in BFL or diffusers layout (paramsSource) or drawn at
// random (randomSource). The first error is kept and reported by err.
type source interface {
	// linear returns the layer name [Σ outs, in] (+ bias [Σ outs]); outs
	// are the row blocks a layout may store separately (q, k, v, mlp).
	linear(name string, in int, outs []int, bias bool) *linear
	// scale returns the RMSNorm scale name [dim].
	scale(name string, dim int) []float32
	err() error
}

// paramsSource reads layers from a checkpoint.
type paramsSource struct {
	p         *nn.Params
	diffusers bool // diffusers FluxTransformer2DModel names, else BFL
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

func (s *paramsSource) err() error { return s.p.Err() }

// names returns the stored module names of the BFL layer name, one per
// row block, or one name for a layer stored whole.
func (s *paramsSource) names(name string) []string {
	if !s.diffusers {
		return []string{name}
	}
	d, ok := DiffusersNames(name)
	if !ok {
		panic("fluxnet: no diffusers name for " + name) // a bug in keys.go
	}
	return d
}

func (s *paramsSource) linear(name string, in int, outs []int, bias bool) *linear {
	if s.p.Err() != nil {
		return nil
	}
	names := s.names(name)
	if s.diffusers && name == bflFinalModulation {
		return s.swappedHalves(names[0], in, sum(outs), bias)
	}
	if len(names) != len(outs) {
		outs = []int{sum(outs)}
	}
	if len(names) != len(outs) {
		panic(fmt.Sprintf("fluxnet: %s has %d stored blocks, %d row blocks", name, len(names), len(outs)))
	}
	parts := make([]*nn.Linear, len(names))
	for i, n := range names {
		if parts[i] = nn.LoadLinear(s.p, n+".", in, outs[i], bias); parts[i] == nil {
			return nil
		}
	}
	l, err := newLinear(parts...)
	if err != nil {
		s.p.Fail(fmt.Errorf("%s%s: %v", s.p.Prefix(), name, err))
		return nil
	}
	return l
}

// swappedHalves loads diffusers' norm_out.linear [2·H, in], whose rows are
// (scale, shift), as BFL's final adaLN projection (shift, scale): two row
// blocks taken in the other order, sharing the stored bytes.
func (s *paramsSource) swappedHalves(name string, in, out int, bias bool) *linear {
	whole := nn.LoadLinear(s.p, name+".", in, out, bias)
	if whole == nil {
		return nil
	}
	half := out / 2
	scale, err1 := rowBlock(whole.W, 0, half)
	shift, err2 := rowBlock(whole.W, half, out)
	if err := firstErr(err1, err2); err != nil {
		s.p.Fail(fmt.Errorf("%s%s.weight: %v", s.p.Prefix(), name, err))
		return nil
	}
	a, b := &nn.Linear{W: shift}, &nn.Linear{W: scale}
	if whole.B != nil {
		a.B, b.B = whole.B[half:], whole.B[:half]
	}
	l, _ := newLinear(a, b)
	return l
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (s *paramsSource) scale(name string, dim int) []float32 {
	key := name + ".scale" // BFL RMSNorm
	if s.diffusers {
		key = s.names(name)[0] + ".weight"
	}
	return s.p.F32(key, dim)
}

// has reports whether the layer name (BFL) is stored.
func (s *paramsSource) has(name string) bool {
	return s.p.Has(s.names(name)[0] + ".weight")
}

// hasBias reports whether the layer name (BFL) has a stored bias.
func (s *paramsSource) hasBias(name string) bool {
	return s.p.Has(s.names(name)[0] + ".bias")
}

// shape returns the stored [out, in] of layer name, with the rows of all
// its stored blocks added up, or nil when (a block of) it is missing.
func (s *paramsSource) shape(name string) []int {
	var out []int
	for _, n := range s.names(name) {
		sh := s.p.Shape(n + ".weight")
		if len(sh) < 2 {
			return nil
		}
		if out == nil {
			out = []int{0, sh[1]}
		}
		out[0] += sh[0]
	}
	return out
}

// scaleLen returns the length of the RMSNorm scale name, or 0.
func (s *paramsSource) scaleLen(name string) int {
	key := name + ".scale"
	if s.diffusers {
		key = s.names(name)[0] + ".weight"
	}
	if sh := s.p.Shape(key); len(sh) == 1 {
		return sh[0]
	}
	return 0
}

// storedKey returns the stored weight key of the BFL layer name (its first
// block), with the Params prefix, for messages.
func (s *paramsSource) storedKey(name string) string {
	return s.p.Prefix() + s.names(name)[0] + ".weight"
}
