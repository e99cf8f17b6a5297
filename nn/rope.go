package nn

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// RoPEFreqs holds the rotary position embedding angles of L positions as
// cosines and sines, [L, Pairs] each, for a head of 2·Pairs channels.
type RoPEFreqs struct {
	L, Pairs int
	Cos, Sin []float32
}

// RoPE computes Flux's multi-axis rotary embedding (black-forest-labs
// flux/math.py rope, concatenated over axes by EmbedND). pos is [L, axes]
// row-major (each position's coordinate on every axis), axesDim[a] the
// (even) number of head channels given to axis a. For axis a with
// d = axesDim[a] and i = 0..d/2−1,
//
//	omega_i = 1 / theta^(2i/d),  angle = pos[l, a] · omega_i
//
// computed in float64 and rounded to float32. Pairs are numbered axis by
// axis, so the head dimension is Σ axesDim.
func RoPE(pos []float64, axesDim []int, theta float64) *RoPEFreqs {
	axes := len(axesDim)
	if axes == 0 || len(pos)%axes != 0 {
		panic(fmt.Sprintf("nn.RoPE: %d coordinates do not split into %d axes", len(pos), axes))
	}
	pairs := 0
	for _, d := range axesDim {
		if d%2 != 0 {
			panic(fmt.Sprintf("nn.RoPE: axis dimension %d is odd", d))
		}
		pairs += d / 2
	}
	l := len(pos) / axes
	f := &RoPEFreqs{L: l, Pairs: pairs, Cos: make([]float32, l*pairs), Sin: make([]float32, l*pairs)}
	for n := range l {
		k := n * pairs
		for a, d := range axesDim {
			p := pos[n*axes+a]
			for i := 0; i < d/2; i++ {
				omega := 1 / math.Pow(theta, float64(2*i)/float64(d))
				angle := p * omega
				f.Cos[k] = float32(math.Cos(angle))
				f.Sin[k] = float32(math.Sin(angle))
				k++
			}
		}
	}
	return f
}

// ApplyRoPE rotates each channel pair (x[2i], x[2i+1]) of every head of
// x [B, L, H·D] (D = 2·freqs.Pairs) at position l by its angle (BFL
// apply_rope):
//
//	x'[2i]   = cos·x[2i] − sin·x[2i+1]
//	x'[2i+1] = sin·x[2i] + cos·x[2i+1]
//
// and returns the result as a new tensor.
func ApplyRoPE(x *tensor.Tensor, freqs *RoPEFreqs) *tensor.Tensor {
	d := 2 * freqs.Pairs
	if len(x.Shape) != 3 || x.Shape[1] != freqs.L || d == 0 || x.Shape[2]%d != 0 {
		panic(fmt.Sprintf("nn.ApplyRoPE: x %s is not [B, %d, H·%d]", tensor.ShapeString(x.Shape), freqs.L, d))
	}
	b, l, c := x.Shape[0], x.Shape[1], x.Shape[2]
	out := tensor.Empty(x.Shape...)
	tensor.Parallel(b*l, max(1, 8192/c), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			pos := r % l
			cs := freqs.Cos[pos*freqs.Pairs : (pos+1)*freqs.Pairs]
			sn := freqs.Sin[pos*freqs.Pairs : (pos+1)*freqs.Pairs]
			src := x.Data[r*c : (r+1)*c]
			dst := out.Data[r*c : (r+1)*c]
			for h := 0; h < c; h += d {
				for i := range cs {
					x0, x1 := src[h+2*i], src[h+2*i+1]
					dst[h+2*i] = cs[i]*x0 - sn[i]*x1
					dst[h+2*i+1] = sn[i]*x0 + cs[i]*x1
				}
			}
		}
	})
	return out
}
