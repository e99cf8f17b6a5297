package unet

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// NewRandom builds a UNet of configuration cfg with random weights stored as
// dtype (tensor.F32, F16 or BF16), without any file: for benchmarks that
// need real shapes (e.g. SD15Config()) but no checkpoint. The values are a
// deterministic function of seed and each tensor's diffusers name:
// weights uniform with variance 1/fan_in, biases ±0.05, norm scales
// 1 ± 0.1, so activations stay finite. The network is not a denoiser.
func NewRandom(cfg *Config, dtype tensor.DType, seed uint64) (*UNet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch dtype {
	case tensor.F32, tensor.F16, tensor.BF16:
	default:
		return nil, fmt.Errorf("unet.NewRandom: dtype %s not supported (f32, f16, bf16)", dtype)
	}
	return build(&randomSource{dtype: dtype, seed: seed}, cfg), nil
}

// randomSource makes layers with pseudo-random parameters.
type randomSource struct {
	dtype tensor.DType
	seed  uint64
}

// generate produces n values uniform in [center−a, center+a] from the
// stream of name, in independent 64Ki-value chunks run in parallel; sink
// receives each chunk with the index of its first value.
func (s *randomSource) generate(name string, n int, center, a float32, sink func(lo int, vals []float32)) {
	h := fnv.New64a()
	h.Write([]byte(name))
	base := h.Sum64() ^ s.seed
	const chunk = 1 << 16
	tensor.Parallel((n+chunk-1)/chunk, 1, func(lo, hi int) {
		buf := make([]float32, min(chunk, n))
		for c := lo; c < hi; c++ {
			state := base + uint64(c)*0x9e3779b97f4a7c15
			vals := buf[:min(chunk, n-c*chunk)]
			for i := range vals {
				// splitmix64
				state += 0x9e3779b97f4a7c15
				z := state
				z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
				z = (z ^ (z >> 27)) * 0x94d049bb133111eb
				z ^= z >> 31
				u := float32(z>>40) / (1 << 24) // [0, 1)
				vals[i] = center + a*(2*u-1)
			}
			sink(c*chunk, vals)
		}
	})
}

// uniform returns n float32 values from generate.
func (s *randomSource) uniform(name string, n int, center, a float32) []float32 {
	out := make([]float32, n)
	s.generate(name, n, center, a, func(lo int, vals []float32) { copy(out[lo:], vals) })
	return out
}

// weight returns a random [shape] weight of fan-in fanIn in s.dtype,
// uniform with variance 1/fanIn.
func (s *randomSource) weight(name string, fanIn int, shape ...int) *tensor.Weight {
	n := 1
	for _, d := range shape {
		n *= d
	}
	a := float32(math.Sqrt(3 / float64(fanIn)))
	if s.dtype == tensor.F32 {
		return tensor.WeightFromFloat32(s.uniform(name, n, 0, a), shape...)
	}
	raw := make([]byte, 2*n)
	s.generate(name, n, 0, a, func(lo int, vals []float32) {
		dst := raw[2*lo : 2*(lo+len(vals))]
		for i, v := range vals {
			var b uint16
			if s.dtype == tensor.F16 {
				b = safetensors.F32ToF16(v)
			} else {
				b = safetensors.F32ToBF16(v)
			}
			binary.LittleEndian.PutUint16(dst[2*i:], b)
		}
	})
	w, err := tensor.NewWeight(s.dtype, shape, raw)
	if err != nil {
		panic(err) // sizes are computed above; cannot happen
	}
	return w
}

func (s *randomSource) linear(module string, in, out int, bias bool) *nn.Linear {
	l := &nn.Linear{W: s.weight(module+".weight", in, out, in)}
	if bias {
		l.B = s.uniform(module+".bias", out, 0, 0.05)
	}
	return l
}

func (s *randomSource) conv(module string, in, out, kernel, stride, pad int) *nn.Conv2d {
	return &nn.Conv2d{
		W:      s.weight(module+".weight", in*kernel*kernel, out, in, kernel, kernel),
		B:      s.uniform(module+".bias", out, 0, 0.05),
		Stride: stride, Pad: pad,
	}
}

func (s *randomSource) groupNorm(module string, groups, channels int, eps float32) *nn.GroupNorm {
	return &nn.GroupNorm{Groups: groups, Gamma: s.uniform(module+".weight", channels, 1, 0.1), Beta: s.uniform(module+".bias", channels, 0, 0.05), Eps: eps}
}

func (s *randomSource) layerNorm(module string, dim int, eps float32) *nn.LayerNorm {
	return &nn.LayerNorm{Gamma: s.uniform(module+".weight", dim, 1, 0.1), Beta: s.uniform(module+".bias", dim, 0, 0.05), Eps: eps}
}
