package vae

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// NewRandom builds a VAE with the shapes of cfg and seeded random weights
// held in memory in dtype (F32, F16 or BF16), for benchmarks and tests that
// need real sizes without a checkpoint (e.g. NewRandom(SD1Config(),
// tensor.F16, 1) has the SD1.5 VAE's 83.7 M parameters). Weights are
// N(0, 1/fan_in), biases N(0, 0.02²), GroupNorm scale 1 and shift 0; the same
// seed gives the same weights.
func NewRandom(cfg Config, dtype tensor.DType, seed uint64) (*VAE, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch dtype {
	case tensor.F32, tensor.F16, tensor.BF16:
	default:
		return nil, fmt.Errorf("vae.NewRandom: dtype %s not supported (F32, F16, BF16)", dtype)
	}
	s := &randomSource{rng: nn.Random{Seed: seed}, dtype: dtype, groups: cfg.Groups, eps: cfg.Eps}
	return build(s, cfg), nil
}

// randomSource draws layers instead of reading them.
type randomSource struct {
	rng    nn.Random // the values, one stream family per tensor
	dtype  tensor.DType
	groups int
	eps    float32
}

func (s *randomSource) weight(shape ...int) *tensor.Weight {
	n, fanIn := 1, 1
	for i, d := range shape {
		n *= d
		if i > 0 {
			fanIn *= d
		}
	}
	w, err := nn.StoreWeight(s.dtype, s.rng.Normal(n, 1/math.Sqrt(float64(fanIn))), shape...)
	if err != nil {
		panic(err) // dtype checked by NewRandom, sizes computed above
	}
	return w
}

func (s *randomSource) conv(_ string, in, out, kernel, stride, pad int) *nn.Conv2d {
	return &nn.Conv2d{W: s.weight(out, in, kernel, kernel), B: s.rng.Normal(out, 0.02), Stride: stride, Pad: pad}
}

func (s *randomSource) norm(_ string, channels int) *nn.GroupNorm {
	g := make([]float32, channels)
	for i := range g {
		g[i] = 1
	}
	return &nn.GroupNorm{Groups: s.groups, Gamma: g, Beta: make([]float32, channels), Eps: s.eps}
}

func (s *randomSource) linear(_ string, in, out int) *nn.Linear {
	return &nn.Linear{W: s.weight(out, in), B: s.rng.Normal(out, 0.02)}
}
