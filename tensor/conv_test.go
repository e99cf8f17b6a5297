package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveConv2d is the textbook definition, in float64, also returning
// Σ|w·x| + |bias| per output for the error bound.
func naiveConv2d(x *Tensor, wf []float32, cout, kh, kw int, bias []float32, stride, pad int) (want, mag []float64, shape []int) {
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := (h+2*pad-kh)/stride+1, (wd+2*pad-kw)/stride+1
	want = make([]float64, n*cout*oh*ow)
	mag = make([]float64, len(want))
	for b := 0; b < n; b++ {
		for o := 0; o < cout; o++ {
			for y := 0; y < oh; y++ {
				for xx := 0; xx < ow; xx++ {
					var s, m float64
					if bias != nil {
						s, m = float64(bias[o]), math.Abs(float64(bias[o]))
					}
					for c := 0; c < cin; c++ {
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								iy, ix := y*stride+i-pad, xx*stride+j-pad
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								v := float64(wf[((o*cin+c)*kh+i)*kw+j]) * float64(x.Data[((b*cin+c)*h+iy)*wd+ix])
								s += v
								m += math.Abs(v)
							}
						}
					}
					idx := ((b*cout+o)*oh+y)*ow + xx
					want[idx], mag[idx] = s, m
				}
			}
		}
	}
	return want, mag, []int{n, cout, oh, ow}
}

// TestConv2dVsNaive compares Conv2d with the direct definition for 1×1 and
// 3×3 kernels, strides 1 and 2, with and without padding and bias, batch
// N>1, odd sizes and every weight dtype. Tolerance: 2·(K+2)·u·Σ|w·x|
// with K = Cin·kh·kw (the float32 dot-product bound, both sides rounding
// differently).
func TestConv2dVsNaive(t *testing.T) {
	cases := []struct{ n, cin, cout, h, w, k, stride, pad int }{
		{1, 3, 5, 7, 9, 3, 1, 1},
		{2, 4, 13, 9, 8, 3, 1, 1},
		{2, 5, 7, 11, 13, 3, 2, 1},
		{1, 8, 33, 10, 10, 3, 2, 0},
		{2, 17, 6, 5, 7, 1, 1, 0},
		{1, 6, 40, 6, 5, 1, 2, 0},
		{1, 3, 4, 4, 4, 3, 1, 0},
		{1, 2, 3, 1, 1, 3, 1, 1},
		{1, 16, 20, 12, 12, 3, 1, 1},
		{3, 32, 35, 9, 9, 3, 1, 1},
		{1, 4, 3, 6, 6, 4, 2, 1},
		{2, 48, 20, 16, 16, 3, 1, 1}, // H·W = 256 and K = 432: C accumulated aside
		{1, 43, 5, 7, 9, 3, 2, 1},    // K = 387: the second depth block starts mid-kernel (tap 194)
		{1, 25, 7, 8, 8, 4, 1, 1},    // K = 400 with a 4×4 kernel, block starts at tap 200
		{2, 3, 4, 6, 32, 3, 1, 1},    // rows of 32: a panel row per map row, clipped at both edges
		{1, 4, 3, 5, 70, 3, 1, 1},    // interior runs of 32, runs across row ends
		{1, 2, 3, 7, 40, 5, 1, 2},    // a 5×5 kernel, pad 2, on rows wider than a panel
	}
	// Both weight paths: packed up front (prepack), and, with the size
	// limit at 0, packed block by block inside the GEMM.
	defer func(v int) { prepackMaxFloats = v }(prepackMaxFloats)
	for _, limit := range []int{prepackMaxFloats, 0} {
		prepackMaxFloats = limit
		t.Run(fmt.Sprintf("prepackMax%d", limit), func(t *testing.T) { testConv2dCases(t, cases) })
	}
}

func testConv2dCases(t *testing.T, cases []struct{ n, cin, cout, h, w, k, stride, pad int }) {
	forEachAsmLevel(t, func(t *testing.T) {
		worst := 0.0
		defer func() { t.Logf("largest |diff|/tol: %.3f", worst) }()
		r := rand.New(rand.NewPCG(9, 9))
		for ci, tc := range cases {
			for _, dt := range []DType{F32, F16, BF16, F8E4M3} {
				if dt != F32 && ci%3 != 0 {
					continue
				}
				x := FromData(randFloats(r, tc.n*tc.cin*tc.h*tc.w), tc.n, tc.cin, tc.h, tc.w)
				w, wf := randWeight(r, dt, tc.cout, tc.cin*tc.k*tc.k)
				w.Shape = []int{tc.cout, tc.cin, tc.k, tc.k}
				var bias []float32
				if ci%2 == 0 {
					bias = randFloats(r, tc.cout)
				}
				want, mag, shape := naiveConv2d(x, wf, tc.cout, tc.k, tc.k, bias, tc.stride, tc.pad)
				got := Conv2d(x, w, bias, tc.stride, tc.pad)
				if fmt.Sprint(got.Shape) != fmt.Sprint(shape) {
					t.Fatalf("case %+v: shape %v, want %v", tc, got.Shape, shape)
				}
				kk := tc.cin * tc.k * tc.k
				for i, g := range got.Data {
					tol := 2*float64(kk+2)*0x1p-24*mag[i] + 1e-30
					d := math.Abs(float64(g) - want[i])
					if d > tol || g != g {
						t.Fatalf("case %+v %s: out[%d] = %v, want %v (|diff| %g > tol %g)", tc, dt, i, g, want[i], d, tol)
					}
					worst = max(worst, d/tol)
				}
			}
		}
	})
}

// TestConv2dLinearWeight: a [Cout, Cin] weight acts as a 1×1 kernel.
func TestConv2dLinearWeight(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	x := FromData(randFloats(r, 2*3*4*5), 2, 3, 4, 5)
	wf := randFloats(r, 6*3)
	a := Conv2d(x, WeightFromFloat32(wf, 6, 3), nil, 1, 0)
	b := Conv2d(x, WeightFromFloat32(wf, 6, 3, 1, 1), nil, 1, 0)
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("[Cout, Cin] weight differs from [Cout, Cin, 1, 1] at %d", i)
		}
	}
}
