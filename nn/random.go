package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// Random draws reproducible random weights for networks built without a
// checkpoint (benchmarks with the real shapes, tests). Each Normal call is
// one tensor: its values are split into chunks of 2¹⁶, each from its own
// PCG stream keyed by (Seed, tensor number, chunk), so the chunks are drawn
// in parallel and the result does not depend on the number of threads.
type Random struct {
	Seed    uint64
	tensors uint64 // tensors drawn so far
}

// Normal draws n values N(0, std²) as the next tensor.
func (r *Random) Normal(n int, std float64) []float32 {
	const chunk = 1 << 16
	v := make([]float32, n)
	id := r.tensors
	r.tensors++
	tensor.Parallel((n+chunk-1)/chunk, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			rng := rand.New(rand.NewPCG(r.Seed, id<<32|uint64(c)))
			for i := c * chunk; i < min(n, (c+1)*chunk); i++ {
				v[i] = float32(rng.NormFloat64() * std)
			}
		}
	})
	return v
}

// StoreWeight returns v as a weight of the given shape stored in dtype dt,
// as a checkpoint in that dtype would hold it: F32 wraps v itself; F16 and
// BF16 round to nearest even, F8E4M3 as safetensors.F32ToF8E4M3.
func StoreWeight(dt tensor.DType, v []float32, shape ...int) (*tensor.Weight, error) {
	if dt == tensor.F32 {
		return tensor.WeightFromFloat32(v, shape...), nil
	}
	raw := make([]byte, dt.Size()*len(v))
	var put func(i int)
	switch dt {
	case tensor.F16:
		put = func(i int) { h := safetensors.F32ToF16(v[i]); raw[2*i], raw[2*i+1] = byte(h), byte(h>>8) }
	case tensor.BF16:
		put = func(i int) { h := safetensors.F32ToBF16(v[i]); raw[2*i], raw[2*i+1] = byte(h), byte(h>>8) }
	case tensor.F8E4M3:
		put = func(i int) { raw[i] = safetensors.F32ToF8E4M3(v[i]) }
	default:
		return nil, fmt.Errorf("nn.StoreWeight: cannot store weights as %s", dt)
	}
	tensor.Parallel(len(v), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			put(i)
		}
	})
	return tensor.NewWeight(dt, shape, raw)
}
