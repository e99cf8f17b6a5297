package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpSubCols checks ExpSubCols at every level against float64 math.Exp
// (relative error 1e-6, as TestExp) and the exact sums (relative 1e-5:
// rows float32 additions of positive terms) and maxima, for widths that are
// and are not multiples of the vector length.
func TestExpSubCols(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, shape := range [][2]int{{0, 16}, {1, 16}, {3, 32}, {37, 32}, {5, 8}, {4, 13}, {256, 32}, {2, 1}} {
			rows, n := shape[0], shape[1]
			scale := float32(0.0108304) // ln2/64, attention's units
			x := make([]float32, rows*n)
			for i := range x {
				x[i] = float32(r.Float64()*3000 - 2000)
			}
			m := make([]float32, n)
			sum := make([]float32, n)
			tmax := make([]float32, n)
			for j := range m {
				m[j] = float32(r.Float64()*200 - 100)
				sum[j] = float32(j)
				tmax[j] = float32(math.Inf(-1))
			}
			got := append([]float32(nil), x...)
			ExpSubCols(got, rows, m, sum, tmax, scale)
			for j := range n {
				wantSum, wantMax := float64(j), math.Inf(-1)
				for i := range rows {
					tv := x[i*n+j] - m[j]
					want := math.Exp(float64(scale * tv))
					g := got[i*n+j]
					if rel := math.Abs(float64(g)-want) / want; rel > 1e-6 {
						t.Fatalf("%dx%d [%d,%d]: e^(%v·%v) = %v, want %v (rel %g)", rows, n, i, j, scale, tv, g, want, rel)
					}
					wantSum += want
					wantMax = max(wantMax, float64(tv))
				}
				if rel := math.Abs(float64(sum[j])-wantSum) / wantSum; wantSum > 0 && rel > 1e-5 {
					t.Fatalf("%dx%d: sum[%d] = %v, want %v", rows, n, j, sum[j], wantSum)
				}
				if float64(tmax[j]) != wantMax {
					t.Fatalf("%dx%d: tmax[%d] = %v, want %v", rows, n, j, tmax[j], wantMax)
				}
			}
		}
	})
}

// TestGeluMul checks GeluMul at every level against value·g/2·(1 +
// math.Erf(g/√2)) in float64, every tail length and in-place use.
// Tolerance: 1e-6 absolute plus 1e-6 relative (erf's own error is < 5e-7).
func TestGeluMul(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{0, 1, 7, 15, 16, 17, 33, 1000} {
			value := randSlice(r, n)
			gate := randSlice(r, n)
			for i := range gate {
				gate[i] *= 3
			}
			if n > 3 {
				gate[0], gate[1], gate[2] = 10, -10, 0
			}
			got := append([]float32(nil), value...)
			GeluMul(got, got, gate)
			for i, g := range got {
				x := float64(gate[i])
				want := float64(value[i]) * x / 2 * (1 + math.Erf(x/math.Sqrt2))
				if d := math.Abs(float64(g) - want); d > 1e-6+1e-6*math.Abs(want) {
					t.Fatalf("n=%d: GeluMul(%v, %v) = %v, want %v", n, value[i], gate[i], g, want)
				}
			}
		}
	})
}

// TestSoftmaxKernelsMatchGeneric checks that the assembly kernels agree with
// their pure-Go twins (the same algorithms, so to a few ulp).
func TestSoftmaxKernelsMatchGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const rows, n = 19, 64
	x := make([]float32, rows*n)
	for i := range x {
		x[i] = float32(r.Float64()*40 - 30)
	}
	m := randSlice(r, n)
	forEachLevel(t, func(t *testing.T) {
		a := append([]float32(nil), x...)
		sa, ta := make([]float32, n), make([]float32, n)
		ExpSubCols(a, rows, m, sa, ta, 1)
		b := append([]float32(nil), x...)
		sb, tb := make([]float32, n), make([]float32, n)
		expSubColsGeneric(b, rows, m, sb, tb, 1)
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 4e-7*math.Abs(float64(b[i])) {
				t.Fatalf("ExpSubCols[%d] = %v, generic %v", i, a[i], b[i])
			}
		}
		g1, g2 := make([]float32, len(x)), make([]float32, len(x))
		GeluMul(g1, x[:len(x)/2], x[len(x)/2:])
		geluMulGeneric(g2, x[:len(x)/2], x[len(x)/2:])
		for i := range len(x) / 2 {
			// erf's absolute error (< 5e-7, cancelling in 1 + erf near
			// −4) is scaled by |value·gate|/2 in the product.
			v, g := math.Abs(float64(x[i])), math.Abs(float64(x[len(x)/2+i]))
			if math.Abs(float64(g1[i]-g2[i])) > 1e-6*v*(1+g) {
				t.Fatalf("GeluMul[%d] = %v, generic %v", i, g1[i], g2[i])
			}
		}
	})
}

// TestSiLU checks SiLU at every level against x/(1 + math.Exp(−x)) in
// float64 (relative 2e-6: the exponential's 1e-6 plus a division; below
// x = −87 the clamped exponential leaves a value under 1e-36 instead of
// the true tiny one, hence that absolute slack), every
// tail length, in-place use and large |x|.
func TestSiLU(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, n := range []int{0, 1, 7, 15, 16, 17, 33, 1000} {
			x := randSlice(r, n)
			for i := range x {
				x[i] *= 8
			}
			if n > 4 {
				x[0], x[1], x[2], x[3] = 0, 100, -100, -1e-3
			}
			got := append([]float32(nil), x...)
			SiLU(got, got)
			for i, g := range got {
				v := float64(x[i])
				want := v / (1 + math.Exp(-v))
				if d := math.Abs(float64(g) - want); d > 2e-6*math.Abs(want)+1e-36 {
					t.Fatalf("n=%d: SiLU(%v) = %v, want %v", n, x[i], g, want)
				}
			}
		}
	})
}
