package fluxnet

import (
	"fmt"
	"math"
	"strings"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// NewRandom builds a transformer of cfg's shapes with seeded random
// weights held in memory in dtype (F32, F16, BF16 or F8E4M3), for
// benchmarks: NewRandom(DevConfig(), tensor.BF16, 1) runs the compute of
// Flux.1-dev. To fit a 24 GiB machine, all double blocks share the weights
// of one drawn double block, and all single blocks those of one single
// block: the same work per step as the real model (every block still runs
// its own GEMMs), about 1 GB of bf16 instead of 24. Config.NumParams gives
// the real model's count. Weights are N(0, 1/fan_in), biases N(0, 0.02²),
// QK-norm scales 1.
func NewRandom(cfg Config, dtype tensor.DType, seed uint64) (*Model, error) {
	switch dtype {
	case tensor.F32, tensor.F16, tensor.BF16, tensor.F8E4M3:
	default:
		return nil, fmt.Errorf("fluxnet.NewRandom: dtype %s not supported (f32, f16, bf16, f8_e4m3)", dtype)
	}
	return build(&randomSource{rng: nn.Random{Seed: seed}, dtype: dtype, drawn: map[string]*linear{}}, cfg)
}

// randomSource draws layers instead of reading them; a block layer is
// drawn once for block 0 and handed out again for every other block.
type randomSource struct {
	rng   nn.Random // the values, one stream family per tensor
	dtype tensor.DType
	drawn map[string]*linear
}

// shared maps a block layer's name to block 0's.
func shared(name string) string {
	for _, p := range []string{"double_blocks.", "single_blocks."} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			_, layer, _ := strings.Cut(rest, ".")
			return p + "0." + layer
		}
	}
	return name
}

func (s *randomSource) err() error { return nil }

func (s *randomSource) linear(name string, in int, outs []int, bias bool) *linear {
	key := shared(name)
	if l := s.drawn[key]; l != nil {
		return l
	}
	out := sum(outs)
	p := &nn.Linear{W: s.weight(s.rng.Normal(out*in, 1/math.Sqrt(float64(in))), out, in)}
	if bias {
		p.B = s.rng.Normal(out, 0.02)
	}
	l, _ := newLinear(p)
	s.drawn[key] = l
	return l
}

func (s *randomSource) scale(_ string, dim int) []float32 {
	g := make([]float32, dim)
	for i := range g {
		g[i] = 1
	}
	return g
}

// weight stores v in the source's dtype.
func (s *randomSource) weight(v []float32, shape ...int) *tensor.Weight {
	w, err := nn.StoreWeight(s.dtype, v, shape...)
	if err != nil {
		panic(err) // dtype checked by NewRandom, sizes computed by the caller
	}
	return w
}
