package tensor

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/asm"
)

// meanVar returns the mean and the (biased, divide-by-n) variance of d in
// two passes: the mean first, then Σ(x − mean)², which stays accurate even
// when the mean is large against the spread. Each pass adds eight
// elements at a time in float32 (eight independent partial sums of one
// element each, so rounding is that of single additions, on the vector
// kernels asm.SumBlocks64 and asm.DevBlocks64) and accumulates those
// partial sums in float64. The kernels' partial sums go to sc (one per
// worker: a buffer of the caller's, since a slice handed to a kernel
// through its function pointer escapes to the heap).
func meanVar(d []float32, sc *normScratch) (mean, variance float64) {
	n := len(d)
	if n == 0 {
		return 0, 0
	}
	mean = sumF64(d, 0, sc) / float64(n)
	// Deviations are taken from the float32-rounded mean m; the correction
	// term c = Σ(x − m) removes the rounding of m: Σ(x−mean)² = Σ(x−m)² − c²/n.
	m := float32(mean)
	var q, c float64
	qs, cs := sc.q[:], sc.c[:]
	i := 0
	for i+64 <= n {
		blocks := min(normChunk, (n-i)/64)
		asm.DevBlocks64(qs, cs, d[i:i+64*blocks], m)
		for b := range blocks {
			p, r := qs[8*b:8*b+8:8*b+8], cs[4*b:4*b+4:4*b+4]
			q += float64(p[0]) + float64(p[1]) + float64(p[2]) + float64(p[3]) + float64(p[4]) + float64(p[5]) + float64(p[6]) + float64(p[7])
			c += float64(r[0]) + float64(r[1]) + float64(r[2]) + float64(r[3])
		}
		i += 64 * blocks
	}
	for ; i < n; i++ {
		e := float64(d[i] - m)
		q += e * e
		c += e
	}
	variance = (q - c*c/float64(n)) / float64(n)
	if variance < 0 {
		variance = 0
	}
	return mean, variance
}

// normChunk is the number of 64-value blocks whose partial sums meanVar
// and sumF64 take from the kernels at a time.
const normChunk = 32

// normScratch holds the partial sums of normChunk blocks: eight per block
// (sums, squares), four per block (meanVar's correction sums).
type normScratch struct {
	q [8 * normChunk]float32
	c [4 * normChunk]float32
}

// sumF64 returns Σ d[i] − shift·len(d): blocks of 64 elements are summed
// as eight float32 partial sums of eight elements each (asm.SumBlocks64),
// and those partial sums in float64 (sc.q holds them).
func sumF64(d []float32, shift float32, sc *normScratch) float64 {
	var s float64
	ps := sc.q[:]
	i := 0
	for i+64 <= len(d) {
		blocks := min(normChunk, (len(d)-i)/64)
		asm.SumBlocks64(ps, d[i:i+64*blocks], shift)
		for b := range blocks {
			p := ps[8*b : 8*b+8 : 8*b+8]
			s += float64(p[0]) + float64(p[1]) + float64(p[2]) + float64(p[3]) + float64(p[4]) + float64(p[5]) + float64(p[6]) + float64(p[7])
		}
		i += 64 * blocks
	}
	for ; i < len(d); i++ {
		s += float64(d[i] - shift)
	}
	return s
}

// GroupNorm normalises x [N, C, ...] in groups of C/groups consecutive
// channels, as torch.nn.GroupNorm: for each sample n and group g, with mean
// μ and biased variance σ² over the group's channels and all spatial
// positions,
//
//	y[n, c, ...] = (x[n, c, ...] − μ) / √(σ² + eps) · gamma[c] + beta[c]
//
// gamma and beta (length C) may be nil (no affine transform). Statistics are
// accumulated in float64.
func GroupNorm(x *Tensor, groups int, gamma, beta []float32, eps float32) *Tensor {
	out := emptyLike(x)
	groupNorm(out, x, groups, gamma, beta, eps, false)
	return out
}

// GroupNormSiLU returns SiLU(GroupNorm(x, groups, gamma, beta, eps)), the
// "norm → SiLU" that opens every resnet branch, in one pass over memory:
// each channel is activated (asm.SiLU) right after it is normalised.
func GroupNormSiLU(x *Tensor, groups int, gamma, beta []float32, eps float32) *Tensor {
	out := emptyLike(x)
	groupNorm(out, x, groups, gamma, beta, eps, true)
	return out
}

// GroupNormSiLUInPlace is GroupNormSiLU overwriting x (for an input that
// is not needed afterwards: it saves allocating, and page-faulting, a
// tensor of x's size).
func GroupNormSiLUInPlace(x *Tensor, groups int, gamma, beta []float32, eps float32) {
	groupNorm(x, x, groups, gamma, beta, eps, true)
}

// groupNorm writes GroupNorm(x) (then SiLU of it when silu) into out, which
// has x's length and may be x itself: each group's statistics are taken
// before any of its values is written.
func groupNorm(out, x *Tensor, groups int, gamma, beta []float32, eps float32, silu bool) {
	if len(x.Shape) < 2 || groups < 1 || x.Shape[1]%groups != 0 {
		panic(fmt.Sprintf("tensor.GroupNorm: x %s cannot be split into %d channel groups", ShapeString(x.Shape), groups))
	}
	n, c := x.Shape[0], x.Shape[1]
	if (gamma != nil && len(gamma) != c) || (beta != nil && len(beta) != c) {
		panic(fmt.Sprintf("tensor.GroupNorm: %d channels, gamma has %d, beta %d", c, len(gamma), len(beta)))
	}
	plane := 0
	if n*c > 0 {
		plane = len(x.Data) / (n * c)
	}
	cpg := c / groups
	Parallel(n*groups, 1, func(lo, hi int) {
		sc := new(normScratch)
		for ng := lo; ng < hi; ng++ {
			base := ng * cpg * plane
			src := x.Data[base : base+cpg*plane]
			dst := out.Data[base : base+cpg*plane]
			mean, variance := meanVar(src, sc)
			inv := 1 / math.Sqrt(variance+float64(eps))
			c0 := (ng % groups) * cpg
			// y = (x − m)·a + b with m the float32-rounded mean (x − m is
			// exact for x near m, avoiding the cancellation of x·a − mean·a),
			// a = inv·gamma and b = beta − (mean − m)·a.
			m := float32(mean)
			for ci := 0; ci < cpg; ci++ {
				a := inv
				if gamma != nil {
					a *= float64(gamma[c0+ci])
				}
				b := -(mean - float64(m)) * a
				if beta != nil {
					b += float64(beta[c0+ci])
				}
				af, bf := float32(a), float32(b)
				s := src[ci*plane : (ci+1)*plane]
				d := dst[ci*plane:][:len(s)]
				asm.ShiftScale(d, s, m, af, bf) // d = (s − m)·af + bf
				if silu {
					asm.SiLU(d, d) // while d is still in cache
				}
			}
		}
	})
}

// rowsOf returns the number of rows and the row length of x viewed as
// [rows, last axis].
func rowsOf(op string, x *Tensor) (rows, dim int) {
	if len(x.Shape) == 0 {
		panic(fmt.Sprintf("tensor.%s: scalar input", op))
	}
	dim = x.Shape[len(x.Shape)-1]
	if dim == 0 {
		return 0, 0
	}
	return len(x.Data) / dim, dim
}

// LayerNorm normalises x over its last axis, as torch.nn.LayerNorm: with μ
// and biased variance σ² of each row,
//
//	y = (x − μ) / √(σ² + eps) · gamma + beta
//
// gamma and beta (length of the last axis) may be nil. Statistics are
// accumulated in float64.
func LayerNorm(x *Tensor, gamma, beta []float32, eps float32) *Tensor {
	out := emptyLike(x)
	LayerNormInto(out, x, gamma, beta, eps)
	return out
}

// LayerNormInto is LayerNorm writing into out, which must have x's shape
// (every value of it is overwritten; out may be x itself).
func LayerNormInto(out, x *Tensor, gamma, beta []float32, eps float32) {
	rows, dim := rowsOf("LayerNorm", x)
	if (gamma != nil && len(gamma) != dim) || (beta != nil && len(beta) != dim) {
		panic(fmt.Sprintf("tensor.LayerNorm: last axis %d, gamma has %d, beta %d", dim, len(gamma), len(beta)))
	}
	if !SameShape(out, x) {
		panic(fmt.Sprintf("tensor.LayerNormInto: out %s, x %s: shapes differ", ShapeString(out.Shape), ShapeString(x.Shape)))
	}
	Parallel(rows, max(1, elementwiseGrain/max(dim, 1)/4), func(lo, hi int) {
		sc := new(normScratch)
		for r := lo; r < hi; r++ {
			s := x.Data[r*dim : (r+1)*dim]
			d := out.Data[r*dim:][:len(s)]
			mean, variance := meanVar(s, sc)
			inv := float32(1 / math.Sqrt(variance+float64(eps)))
			// x − m is exact for x near the float32 mean m; rest is the
			// remainder of the mean.
			m := float32(mean)
			rest := float32(mean - float64(m))
			switch {
			case gamma != nil && beta != nil:
				asm.LayerNormRow(d, s, gamma, beta, m, rest, inv) // d = ((s − m) − rest)·inv·γ + β
			case gamma != nil:
				g := gamma[:len(s)]
				for i, v := range s {
					d[i] = ((v - m) - rest) * inv * g[i]
				}
			default:
				for i, v := range s {
					d[i] = ((v - m) - rest) * inv
				}
				if beta != nil {
					for i, b := range beta[:len(s)] {
						d[i] += b
					}
				}
			}
		}
	})
}

// RMSNorm normalises x over its last axis by its root mean square, as in
// T5/Flux: y = x / √(mean(x²) + eps) · gamma. gamma may be nil.
func RMSNorm(x *Tensor, gamma []float32, eps float32) *Tensor {
	rows, dim := rowsOf("RMSNorm", x)
	if gamma != nil && len(gamma) != dim {
		panic(fmt.Sprintf("tensor.RMSNorm: last axis %d, gamma has %d", dim, len(gamma)))
	}
	out := emptyLike(x)
	Parallel(rows, max(1, elementwiseGrain/max(dim, 1)/4), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			s := x.Data[r*dim : (r+1)*dim]
			d := out.Data[r*dim:][:len(s)]
			var ss float64
			for _, v := range s {
				ss += float64(v) * float64(v)
			}
			inv := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
			if gamma != nil {
				for i, v := range s {
					d[i] = v * inv * gamma[i]
				}
			} else {
				for i, v := range s {
					d[i] = v * inv
				}
			}
		}
	})
	return out
}
