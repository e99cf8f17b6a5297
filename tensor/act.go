package tensor

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/asm"
)

// mapInPlace applies f to every element of t, in parallel chunks.
func mapInPlace(t *Tensor, f func(x []float32)) {
	td := t.Data
	Parallel(len(td), elementwiseGrain, func(lo, hi int) { f(td[lo:hi]) })
}

// SiLUInPlace applies SiLU (swish), x·σ(x) = x / (1 + e^−x), to every
// element (vectorised: asm.SiLU).
func SiLUInPlace(t *Tensor) { mapInPlace(t, func(d []float32) { asm.SiLU(d, d) }) }

// sigmoidGateInPlace computes x·σ(k·x) = x / (1 + e^(−k·x)) elementwise.
func sigmoidGateInPlace(t *Tensor, k float32) {
	mapInPlace(t, func(d []float32) { sigmoidGate(d, k) })
}

// sigmoidGate computes d[i] = d[i]·σ(k·d[i]) = d[i] / (1 + e^(−k·d[i])).
// The exponent is clamped to expCore's range, which changes nothing
// visible: beyond it the quotient is x or a value below 1e−36 either way.
func sigmoidGate(d []float32, k float32) {
	for i, x := range d {
		v := -k * x
		if v > expMaxArg {
			v = expMaxArg
		}
		if v < expMinArg {
			v = expMinArg
		}
		d[i] = x / (1 + expCore(v))
	}
}

// GELUInPlace applies the exact GELU, x·Φ(x) = x/2·(1 + erf(x/√2)), to every
// element (torch.nn.functional.gelu with approximate="none"; erf as erf32).
func GELUInPlace(t *Tensor) {
	mapInPlace(t, func(d []float32) {
		for i, x := range d {
			d[i] = gelu(x)
		}
	})
}

// gelu is x/2·(1 + erf(x/√2)).
func gelu(x float32) float32 { return 0.5 * x * (1 + erf32(x*(1/math.Sqrt2))) }

// GEGLU returns value ⊙ gelu(gate) where value and gate are the first and
// second halves of x's last axis: x [..., 2n] -> [..., n] (the gated
// feed-forward of the SD transformer blocks, exact erf GELU; vectorised by
// asm.GeluMul, the same rational erf as erf32).
func GEGLU(x *Tensor) *Tensor {
	rows, two := rowsOf("GEGLU", x)
	if two%2 != 0 {
		panic(fmt.Sprintf("tensor.GEGLU: last axis of %s is odd", ShapeString(x.Shape)))
	}
	n := two / 2
	shape := append([]int(nil), x.Shape...)
	shape[len(shape)-1] = n
	out := Empty(shape...)
	Parallel(rows, max(1, elementwiseGrain/max(n, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			value := x.Data[r*two : r*two+n]
			gate := x.Data[r*two+n:][:len(value)]
			asm.GeluMul(out.Data[r*n:(r+1)*n], value, gate)
		}
	})
	return out
}

// erf32 is asm.Erf, the float32 rational approximation of the error
// function (absolute error below 5e-7) that the vector GELU kernels use too.
func erf32(x float32) float32 { return asm.Erf(x) }

// GELUTanhInPlace applies the tanh approximation of GELU,
// x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))), to every element
// (torch gelu with approximate="tanh").
func GELUTanhInPlace(t *Tensor) { mapInPlace(t, GELUTanh) }

// GELUTanh applies the tanh approximation of GELU (see GELUTanhInPlace) to
// the elements of d in place, on the calling goroutine: for callers that
// already work on rows in parallel (a column range of a wider row, as in
// Flux's fused single-block projection).
func GELUTanh(d []float32) {
	const c = 0.7978845608028654 // √(2/π)
	for i, x := range d {
		u := c * (x + 0.044715*x*x*x)
		// tanh(u) = 1 − 2/(e^{2u} + 1), stable for large |u|.
		th := 1 - 2/(expf32(2*u)+1)
		d[i] = 0.5 * x * (1 + th)
	}
}

// QuickGELUInPlace applies CLIP's quick GELU, x·σ(1.702·x), to every element.
func QuickGELUInPlace(t *Tensor) { sigmoidGateInPlace(t, 1.702) }
