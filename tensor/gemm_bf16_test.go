package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/godiffusion/godiffusion/asm"
)

// roundBF16 returns x with every value rounded to bfloat16 as the bf16
// path rounds its operands (asm.FloatToBFloat).
func roundBF16(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = asm.BFloatToFloat(asm.FloatToBFloat(v))
	}
	return y
}

// TestGemmBF16 runs Gemm in bf16 (process default) on the randomized
// shapes of TestGemmVsGonum at every CPU level, single- and
// multi-threaded, with and without the shared operand prepacked. Each
// result must (1) match gonum run on the operands rounded to bf16 within
// the float32 accumulation bound of checkGemm, and (2) be bit for bit the
// result of the first (best) level of the same arithmetic
// (asm.BF16Rounding): every such level's bf16 kernel rounds as its pure-Go
// twin and the blocking does not depend on the level.
func TestGemmBF16(t *testing.T) {
	defer SetPrecision(PrecisionDefault)
	defer SetThreads(0)
	defer func(v int) { prepackMaxFloats = v }(prepackMaxFloats)
	first := map[string][]float32{}
	forEachAsmLevel(t, func(t *testing.T) {
		SetPrecision(PrecisionBF16)
		t.Logf("bf16 kernel %s", asm.BF16Kernel())
		worst := 0.0
		defer func() { t.Logf("largest |diff|/tol: %.3f", worst) }()
		for ti, cfg := range []struct{ th, limit int }{{1, 4 << 20}, {3, 4 << 20}, {3, 0}} {
			SetThreads(cfg.th)
			prepackMaxFloats = cfg.limit
			for _, s := range gemmShapes(25, uint64(ti+10)) {
				r := rand.New(rand.NewPCG(uint64(s.m*1000+s.n), uint64(s.k)))
				lda, ar := s.k+s.padA, s.m
				if s.transA {
					lda, ar = s.m+s.padA, s.k
				}
				ldb, br := s.n+s.padB, s.k
				if s.transB {
					ldb, br = s.k+s.padB, s.n
				}
				ldc := s.n + s.padC
				a, b, c := randFloats(r, ar*lda), randFloats(r, br*ldb), randFloats(r, s.m*ldc)
				ra, rb := roundBF16(a), roundBF16(b)
				want := append([]float32(nil), c...)
				beta := float32(0)
				if s.acc {
					beta = 1
				}
				refGemm(s.transA, s.transB, s.m, s.n, s.k, ra, lda, rb, ldb, want, ldc, beta)
				mag := absAll(c)
				refGemm(s.transA, s.transB, s.m, s.n, s.k, absAll(ra), lda, absAll(rb), ldb, mag, ldc, beta)
				Gemm(s.transA, s.transB, s.m, s.n, s.k, a, lda, b, ldb, c, ldc, s.acc)
				what := fmt.Sprintf("t%d prepack<=%d %+v", cfg.th, cfg.limit, s)
				worst = max(worst, checkGemm(t, what, s.m, s.n, s.k, c, want, mag, ldc))
				key := what + " " + asm.BF16Rounding()
				if f, ok := first[key]; !ok {
					first[key] = c
				} else {
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(f[i]) {
							t.Fatalf("%s: C[%d] = %v at level %s, %v at the first level", what, i, c[i], asm.Level(), f[i])
						}
					}
				}
			}
		}
	})
}

// TestGemmWBF16PerWeight: a weight's own Precision overrides the process
// default both ways. A PrecisionBF16 weight under the fp32 default matches
// gonum on bf16-rounded operands (every dtype, every entry point); a
// PrecisionFP32 weight under the bf16 default gives bit for bit the result
// of the plain fp32 path.
func TestGemmWBF16PerWeight(t *testing.T) {
	defer SetPrecision(PrecisionDefault)
	r := rand.New(rand.NewPCG(21, 22))
	for _, dt := range []DType{F32, F16, BF16, F8E4M3} {
		for _, sh := range [][3]int{{1, 7, 5}, {3, 40, 33}, {77, 64, 100}, {130, 97, 257}, {13, 300, 17}, {40, 333, 401}} {
			m, n, k := sh[0], sh[1], sh[2]
			w, wf := randWeight(r, dt, n, k)
			a := randFloats(r, m*k)
			ra, rw := roundBF16(a), roundBF16(wf)
			want, mag := make([]float32, m*n), make([]float32, m*n)
			refGemm(false, true, m, n, k, ra, k, rw, k, want, n, 0)
			refGemm(false, true, m, n, k, absAll(ra), k, absAll(rw), k, mag, n, 0)

			SetPrecision(PrecisionFP32)
			w.Precision = PrecisionBF16
			c := make([]float32, m*n)
			GemmW(m, n, k, a, k, w, c, n, false)
			checkGemm(t, fmt.Sprintf("GemmW bf16 %s %v", dt, sh), m, n, k, c, want, mag, n)
			at := make([]float32, k*m) // A stored transposed
			for i := range m {
				for p := range k {
					at[p*m+i] = a[i*k+p]
				}
			}
			c3 := make([]float32, m*n)
			GemmWTransA(m, n, k, at, m, w, c3, n, false)
			checkGemm(t, fmt.Sprintf("GemmWTransA bf16 %s %v", dt, sh), m, n, k, c3, want, mag, n)
			wantT, magT := make([]float32, n*m), make([]float32, n*m)
			refGemm(false, true, n, m, k, rw, k, ra, k, wantT, m, 0)
			refGemm(false, true, n, m, k, absAll(rw), k, absAll(ra), k, magT, m, 0)
			c2 := make([]float32, n*m)
			GemmWLeft(n, m, k, w, true, a, k, c2, m, false)
			checkGemm(t, fmt.Sprintf("GemmWLeft bf16 %s %v", dt, sh), n, m, k, c2, wantT, magT, m)

			w.Precision = PrecisionDefault
			fp32 := make([]float32, m*n)
			GemmW(m, n, k, a, k, w, fp32, n, false)
			SetPrecision(PrecisionBF16)
			w.Precision = PrecisionFP32
			got := make([]float32, m*n)
			GemmW(m, n, k, a, k, w, got, n, false)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(fp32[i]) {
					t.Fatalf("%s %v: fp32 weight under the bf16 default: C[%d] = %v, fp32 path %v", dt, sh, i, got[i], fp32[i])
				}
			}
		}
	}
}

// TestConv2dBF16 runs the convolutions of TestConv2dVsNaive with bf16
// weights' precision, against the direct definition on bf16-rounded input
// and weight (tolerance as there), at every level, both weight paths.
func TestConv2dBF16(t *testing.T) {
	cases := []struct{ n, cin, cout, h, w, k, stride, pad int }{
		{1, 3, 5, 7, 9, 3, 1, 1}, {2, 5, 7, 11, 13, 3, 2, 1}, {2, 17, 6, 5, 7, 1, 1, 0},
		{3, 32, 35, 9, 9, 3, 1, 1}, {2, 48, 20, 16, 16, 3, 1, 1}, {1, 43, 5, 7, 9, 3, 2, 1},
	}
	defer func(v int) { prepackMaxFloats = v }(prepackMaxFloats)
	for _, limit := range []int{prepackMaxFloats, 0} {
		prepackMaxFloats = limit
		forEachAsmLevel(t, func(t *testing.T) {
			r := rand.New(rand.NewPCG(9, 10))
			for ci, tc := range cases {
				x := FromData(randFloats(r, tc.n*tc.cin*tc.h*tc.w), tc.n, tc.cin, tc.h, tc.w)
				w, wf := randWeight(r, []DType{F32, F16, BF16}[ci%3], tc.cout, tc.cin*tc.k*tc.k)
				w.Shape = []int{tc.cout, tc.cin, tc.k, tc.k}
				w.Precision = PrecisionBF16
				bias := randFloats(r, tc.cout)
				xr := FromData(roundBF16(x.Data), x.Shape...)
				want, mag, _ := naiveConv2d(xr, roundBF16(wf), tc.cout, tc.k, tc.k, bias, tc.stride, tc.pad)
				got := Conv2d(x, w, bias, tc.stride, tc.pad)
				kk := tc.cin * tc.k * tc.k
				for i, g := range got.Data {
					tol := 2*float64(kk+2)*0x1p-24*mag[i] + 1e-30
					if d := math.Abs(float64(g) - want[i]); d > tol || g != g {
						t.Fatalf("limit %d case %+v: out[%d] = %v, want %v (|diff| %g > tol %g)", limit, tc, i, g, want[i], d, tol)
					}
				}
			}
		})
	}
}

// TestPrepackWeightBF16: the weight prepacking of convolutions (rows of
// pairs transposed) gives bit for bit the panels of prepackBF16 (float32
// panels rounded), for every dtype, ragged strips and odd depths, at every
// level and both tiles of its bf16 kernel.
func TestPrepackWeightBF16(t *testing.T) {
	forEachAsmLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(31, 32))
		mr, nr := asm.GemmTileBF16()
		for _, dt := range []DType{F32, F16, BF16, F8E4M3} {
			for _, sh := range [][2]int{{5, 1}, {12, 7}, {31, 384}, {40, 801}} {
				for _, tile := range []int{mr, nr} {
					rows, k := sh[0], sh[1]
					w, _ := randWeight(r, dt, rows, k)
					want, rel1 := prepackBF16(packWeightRows(w, k), rows, k, tile)
					got, rel2 := prepackWeightBF16(w, rows, k, tile)
					n := (rows + tile - 1) / tile * tile * ((k + 1) / 2)
					for i := 0; i < n; i++ {
						if got.pairs[i] != want.pairs[i] {
							t.Fatalf("%s %v tile %d: pair word %d = %#08x, want %#08x", dt, sh, tile, i, got.pairs[i], want.pairs[i])
						}
					}
					rel1()
					rel2()
				}
			}
		}
	})
}
