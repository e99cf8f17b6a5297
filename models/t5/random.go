package t5

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/nn"
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
	r := &randomWeights{rng: nn.Random{Seed: seed}, dtype: dtype}
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
		RelBias:   r.rng.Normal(cfg.Buckets*cfg.Heads, 0.5),
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
	rng   nn.Random
	dtype tensor.DType
}

// weight draws a matrix N(0, std²) and stores it in r.dtype.
func (r *randomWeights) weight(std float64, shape ...int) *tensor.Weight {
	w, err := nn.StoreWeight(r.dtype, r.rng.Normal(shape[0]*shape[1], std), shape...)
	if err != nil {
		panic("t5.NewRandom: " + err.Error())
	}
	return w
}
