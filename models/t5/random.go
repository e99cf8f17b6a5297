package t5

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// NewRandom builds an encoder with the sizes of cfg (e.g. XXL(): 4.76 B
// parameters) and seeded random weights held in memory in dtype (F32,
// F16, BF16 or F8E4M3), for benchmarks that need real sizes without a
// checkpoint. Matrices are N(0, 1/fan_in), the embedding and the bias
// table N(0, 0.5²), norm scales 1; the same seed gives the same weights
// whatever the number of threads.
func NewRandom(cfg Config, dtype tensor.DType, seed uint64) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch dtype {
	case tensor.F32, tensor.F16, tensor.BF16, tensor.F8E4M3:
	default:
		return nil, fmt.Errorf("t5.NewRandom: dtype %s not supported (F32, F16, BF16, F8E4M3)", dtype)
	}
	r := &randomWeights{seed: seed, dtype: dtype}
	inner := cfg.Heads * cfg.DKV
	ones := func() *nn.RMSNorm {
		g := make([]float32, cfg.DModel)
		for i := range g {
			g[i] = 1
		}
		return &nn.RMSNorm{Gamma: g, Eps: cfg.Eps}
	}
	lin := func(out, in int) *nn.Linear { return &nn.Linear{W: r.weight(1/math.Sqrt(float64(in)), out, in)} }
	e := &Encoder{
		Config:    cfg,
		Shared:    &nn.Embedding{W: r.weight(0.5, cfg.Vocab, cfg.DModel)},
		RelBias:   r.normal(cfg.Buckets*cfg.Heads, 0.5),
		Blocks:    make([]Block, cfg.Layers),
		FinalNorm: ones(),
	}
	for i := range e.Blocks {
		e.Blocks[i] = Block{
			AttnNorm: ones(), Q: lin(inner, cfg.DModel), K: lin(inner, cfg.DModel), V: lin(inner, cfg.DModel), O: lin(cfg.DModel, inner),
			FFNNorm: ones(), Wi0: lin(cfg.DFF, cfg.DModel), Wi1: lin(cfg.DFF, cfg.DModel), Wo: lin(cfg.DModel, cfg.DFF),
		}
	}
	return e, nil
}

// randomWeights draws tensors for NewRandom.
type randomWeights struct {
	seed, tensors uint64
	dtype         tensor.DType
}

// normal draws n values N(0, std²) in chunks of 2¹⁶, each from its own
// PCG stream keyed by (seed, tensor number, chunk), drawn in parallel.
func (r *randomWeights) normal(n int, std float64) []float32 {
	const chunk = 1 << 16
	v := make([]float32, n)
	id := r.tensors
	r.tensors++
	tensor.Parallel((n+chunk-1)/chunk, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			rng := rand.New(rand.NewPCG(r.seed, id<<32|uint64(c)))
			for i := c * chunk; i < min(n, (c+1)*chunk); i++ {
				v[i] = float32(rng.NormFloat64() * std)
			}
		}
	})
	return v
}

// weight draws a matrix and stores it in r.dtype.
func (r *randomWeights) weight(std float64, shape ...int) *tensor.Weight {
	n := shape[0] * shape[1]
	v := r.normal(n, std)
	if r.dtype == tensor.F32 {
		return tensor.WeightFromFloat32(v, shape...)
	}
	size := r.dtype.Size()
	raw := make([]byte, size*n)
	tensor.Parallel(n, 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			switch r.dtype {
			case tensor.F16:
				h := safetensors.F32ToF16(v[i])
				raw[2*i], raw[2*i+1] = byte(h), byte(h>>8)
			case tensor.BF16:
				h := safetensors.F32ToBF16(v[i])
				raw[2*i], raw[2*i+1] = byte(h), byte(h>>8)
			default:
				raw[i] = safetensors.F32ToF8E4M3(v[i])
			}
		}
	})
	w, err := tensor.NewWeight(r.dtype, shape, raw)
	if err != nil {
		panic("t5.NewRandom: " + err.Error() + " for shape " + strconv.Itoa(shape[0]) + "×" + strconv.Itoa(shape[1]))
	}
	return w
}
