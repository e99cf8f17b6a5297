package vae

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/safetensors"
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
	s := &randomSource{seed: seed, dtype: dtype, groups: cfg.Groups, eps: cfg.Eps}
	return build(s, cfg), nil
}

// randomSource draws layers instead of reading them.
type randomSource struct {
	seed    uint64
	tensors uint64 // tensors drawn so far: each gets its own streams
	dtype   tensor.DType
	groups  int
	eps     float32
}

// normal draws n values N(0, std²). The values are split into chunks of
// 2¹⁶, each from its own PCG stream keyed by (seed, tensor number, chunk),
// so the chunks can be drawn in parallel and the result does not depend on
// the number of threads.
func (s *randomSource) normal(n int, std float64) []float32 {
	const chunk = 1 << 16
	v := make([]float32, n)
	id := s.tensors
	s.tensors++
	tensor.Parallel((n+chunk-1)/chunk, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			rng := rand.New(rand.NewPCG(s.seed, id<<32|uint64(c)))
			for i := c * chunk; i < min(n, (c+1)*chunk); i++ {
				v[i] = float32(rng.NormFloat64() * std)
			}
		}
	})
	return v
}

func (s *randomSource) weight(shape ...int) *tensor.Weight {
	n, fanIn := 1, 1
	for i, d := range shape {
		n *= d
		if i > 0 {
			fanIn *= d
		}
	}
	v := s.normal(n, 1/math.Sqrt(float64(fanIn)))
	if s.dtype == tensor.F32 {
		return tensor.WeightFromFloat32(v, shape...)
	}
	raw := make([]byte, 2*n)
	tensor.Parallel(n, 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var h uint16
			if s.dtype == tensor.F16 {
				h = safetensors.F32ToF16(v[i])
			} else {
				h = safetensors.F32ToBF16(v[i])
			}
			binary.LittleEndian.PutUint16(raw[2*i:], h)
		}
	})
	w, err := tensor.NewWeight(s.dtype, shape, raw)
	if err != nil {
		panic(err) // sizes are computed above; cannot happen
	}
	return w
}

func (s *randomSource) conv(_ string, in, out, kernel, stride, pad int) *nn.Conv2d {
	return &nn.Conv2d{W: s.weight(out, in, kernel, kernel), B: s.normal(out, 0.02), Stride: stride, Pad: pad}
}

func (s *randomSource) norm(_ string, channels int) *nn.GroupNorm {
	g := make([]float32, channels)
	for i := range g {
		g[i] = 1
	}
	return &nn.GroupNorm{Groups: s.groups, Gamma: g, Beta: make([]float32, channels), Eps: s.eps}
}

func (s *randomSource) linear(_ string, in, out int) *nn.Linear {
	return &nn.Linear{W: s.weight(out, in), B: s.normal(out, 0.02)}
}
