package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/godiffusion/godiffusion/asm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemmShape is one randomized test case.
type gemmShape struct {
	m, n, k             int
	transA, transB, acc bool
	padA, padB, padC    int // extra row stride
}

// gemmShapes returns a reproducible sample of shapes: every size class
// (1, tiny, around the micro-tile, around the cache blocks, up to 300)
// on each side, with random transposes, strides and accumulation.
func gemmShapes(count int, seed uint64) []gemmShape {
	r := rand.New(rand.NewPCG(seed, 7))
	sizes := []int{1, 2, 3, 5, 7, 11, 12, 13, 16, 17, 31, 32, 33, 47, 64, 97, 130, 145, 200, 257, 300}
	var out []gemmShape
	for len(out) < count {
		s := gemmShape{
			m: sizes[r.IntN(len(sizes))], n: sizes[r.IntN(len(sizes))], k: sizes[r.IntN(len(sizes))],
			transA: r.IntN(2) == 0, transB: r.IntN(2) == 0, acc: r.IntN(2) == 0,
			padA: r.IntN(3), padB: r.IntN(3), padC: r.IntN(3),
		}
		if s.m*s.n*s.k > 300*300*64 { // keep the float64 reference cheap (also under qemu)
			continue
		}
		out = append(out, s)
	}
	return append(out, gemmShape{m: 1, n: 1, k: 1}, gemmShape{m: 300, n: 300, k: 40, transB: true},
		gemmShape{m: 4, n: 300, k: 300}, gemmShape{m: 3, n: 77, k: 300, transB: true, acc: true},
		gemmShape{m: 5, n: 33, k: 0, acc: false},
		// ldc = 256 with several depth blocks: C accumulated in a skewed buffer.
		gemmShape{m: 40, n: 200, k: 500, padC: 56}, gemmShape{m: 30, n: 250, k: 800, padC: 6, acc: true, transA: true})
}

func randFloats(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// checkGemm compares got with want element by element with the tolerance
// 2·(k+2)·u·(|op(A)|·|op(B)| + |C₀|)_ij (u = 2⁻²⁴): twice the classical
// worst-case bound for a length-k float32 dot product, since both sides
// round. Elements outside the m×n window (stride padding) must be equal.
func checkGemm(t *testing.T, what string, m, n, k int, got, want, mag []float32, ldc int) (worst float64) {
	t.Helper()
	for i := 0; i < len(got); i++ {
		r, j := i/ldc, i%ldc
		if r >= m || j >= n {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: wrote outside C at (%d,%d)", what, r, j)
			}
			continue
		}
		tol := 2*float64(k+2)*0x1p-24*float64(mag[i]) + 1e-30
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d > tol || got[i] != got[i] {
			t.Fatalf("%s: C(%d,%d) = %v, want %v (|diff| %g > tol %g)", what, r, j, got[i], want[i], d, tol)
		}
		worst = max(worst, d/tol)
	}
	return worst
}

func absAll(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(math.Abs(float64(v)))
	}
	return y
}

// refGemm is gonum's pure-Go Sgemm: C = op(A)·op(B) + beta·C.
func refGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, beta float32) {
	if k == 0 {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				c[i*ldc+j] *= beta
			}
		}
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	ar, ac, br, bc := m, k, k, n
	if transA {
		ta, ar, ac = blas.Trans, k, m
	}
	if transB {
		tb, br, bc = blas.Trans, n, k
	}
	blas32.Gemm(ta, tb, 1,
		blas32.General{Rows: ar, Cols: ac, Stride: lda, Data: a},
		blas32.General{Rows: br, Cols: bc, Stride: ldb, Data: b},
		beta, blas32.General{Rows: m, Cols: n, Stride: ldc, Data: c})
}

func forEachAsmLevel(t *testing.T, f func(t *testing.T)) {
	start := asm.Level()
	defer asm.SetLevel(start)
	for _, l := range asm.Levels() {
		if err := asm.SetLevel(l); err != nil {
			t.Fatal(err)
		}
		t.Run(l, f)
	}
}

// TestGemmVsGonum checks Gemm against gonum's blas32.Gemm on a randomized
// sample of shapes, at every CPU level, single- and multi-threaded.
func TestGemmVsGonum(t *testing.T) {
	count := 60
	if testing.Short() {
		count = 20
	}
	forEachAsmLevel(t, func(t *testing.T) {
		worst := 0.0
		defer func() { t.Logf("largest |diff|/tol: %.3f", worst) }()
		defer func(v int) { prepackMaxFloats = v }(prepackMaxFloats)
		// Multi-threaded, the operand every strip needs is packed up front
		// and the strips handed out dynamically; or, when it is too large
		// to pack whole (limit 0 here), each worker packs it for one fixed strip.
		for ti, cfg := range []struct{ th, limit int }{{1, prepackMaxFloats}, {3, prepackMaxFloats}, {3, 0}} {
			th := cfg.th
			SetThreads(th)
			prepackMaxFloats = cfg.limit
			for _, s := range gemmShapes(count, uint64(ti+1)) {
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
				want := append([]float32(nil), c...)
				beta := float32(0)
				if s.acc {
					beta = 1
				}
				refGemm(s.transA, s.transB, s.m, s.n, s.k, a, lda, b, ldb, want, ldc, beta)
				mag := absAll(c)
				refGemm(s.transA, s.transB, s.m, s.n, s.k, absAll(a), lda, absAll(b), ldb, mag, ldc, beta)
				Gemm(s.transA, s.transB, s.m, s.n, s.k, a, lda, b, ldb, c, ldc, s.acc)
				worst = max(worst, checkGemm(t, fmt.Sprintf("t%d prepack<=%d %+v", th, cfg.limit, s), s.m, s.n, s.k, c, want, mag, ldc))
			}
		}
		SetThreads(0)
	})
}

// randWeight returns a random weight of the given dtype and shape (finite
// values of moderate size) and its exact float32 decoding.
func randWeight(r *rand.Rand, dt DType, rows, cols int) (*Weight, []float32) {
	n := rows * cols
	raw := make([]byte, n*dt.Size())
	switch dt {
	case F32:
		for i, v := range randFloats(r, n) {
			b := math.Float32bits(v)
			raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(b), byte(b>>8), byte(b>>16), byte(b>>24)
		}
	case F16, BF16:
		for i := 0; i < n; i++ {
			v := math.Float32bits(float32(r.NormFloat64()))
			var h uint16
			if dt == BF16 {
				h = uint16(v >> 16)
			} else { // exponent 10..20 (|x| in [2^-5, 2^6)) plus sign and mantissa
				h = uint16(r.IntN(2))<<15 | uint16(10+r.IntN(11))<<10 | uint16(r.IntN(1024))
			}
			raw[2*i], raw[2*i+1] = byte(h), byte(h>>8)
		}
	default:
		for i := range raw {
			raw[i] = byte(r.IntN(256)) &^ 0x78 // clear the top exponent bits: finite, small
		}
	}
	w, err := NewWeight(dt, []int{rows, cols}, raw)
	if err != nil {
		panic(err)
	}
	dec := make([]float32, n)
	w.Decode(dec, 0)
	return w, dec
}

// TestGemmW checks GemmW (C = A·Wᵀ) and GemmWLeft (C = W·op(B)) for every
// weight dtype against gonum run on the decoded weight.
func TestGemmW(t *testing.T) {
	forEachAsmLevel(t, func(t *testing.T) {
		worst := 0.0
		defer func() { t.Logf("largest |diff|/tol: %.3f", worst) }()
		r := rand.New(rand.NewPCG(5, 6))
		for _, dt := range []DType{F32, F16, BF16, F8E4M3, F8E5M2} {
			// Few rows and many outputs ((n−m)·k > m·n: {5, 33, 300}, {13, 300, 17}
			// and the last four) take the swapped path where the CPU level
			// has the strided kernel, Cᵀ = W·Aᵀ (gemmWSwapped: a float32 W
			// read in place, other dtypes decoded row-major block by
			// block), with ragged tiles on both sides.
			for _, sh := range [][3]int{{1, 7, 5}, {3, 40, 33}, {5, 33, 300}, {77, 64, 100}, {130, 97, 257}, {13, 300, 17},
				{5, 200, 64}, {13, 77, 96}, {40, 333, 130}, {77, 130, 200}} {
				m, n, k := sh[0], sh[1], sh[2]
				w, wf := randWeight(r, dt, n, k)
				for _, acc := range []bool{false, true} {
					lda, ldc := k+1, n+2
					a, c := randFloats(r, m*lda), randFloats(r, m*ldc)
					want, mag := append([]float32(nil), c...), absAll(c)
					beta := float32(0)
					if acc {
						beta = 1
					}
					refGemm(false, true, m, n, k, a, lda, wf, k, want, ldc, beta)
					refGemm(false, true, m, n, k, absAll(a), lda, absAll(wf), k, mag, ldc, beta)
					GemmW(m, n, k, a, lda, w, c, ldc, acc)
					worst = max(worst, checkGemm(t, fmt.Sprintf("GemmW %s %dx%dx%d acc=%v", dt, m, n, k, acc), m, n, k, c, want, mag, ldc))

					// Left form: C'[n×m] = W[n×k]·Aᵀ, A [m×k] given transposed.
					c2 := randFloats(r, n*(m+1))
					want2, mag2 := append([]float32(nil), c2...), absAll(c2)
					refGemm(false, true, n, m, k, wf, k, a, lda, want2, m+1, beta)
					refGemm(false, true, n, m, k, absAll(wf), k, absAll(a), lda, mag2, m+1, beta)
					GemmWLeft(n, m, k, w, true, a, lda, c2, m+1, acc)
					worst = max(worst, checkGemm(t, fmt.Sprintf("GemmWLeft %s %dx%dx%d acc=%v", dt, n, m, k, acc), n, m, k, c2, want2, mag2, m+1))

					// Transposed A: C[m×n] = Aᵀ·Wᵀ with A stored [k×m].
					at := make([]float32, k*(m+3))
					for i := range m {
						for p := range k {
							at[p*(m+3)+i] = a[i*lda+p]
						}
					}
					c3 := randFloats(r, m*ldc)
					want3, mag3 := append([]float32(nil), c3...), absAll(c3)
					refGemm(false, true, m, n, k, a, lda, wf, k, want3, ldc, beta)
					refGemm(false, true, m, n, k, absAll(a), lda, absAll(wf), k, mag3, ldc, beta)
					GemmWTransA(m, n, k, at, m+3, w, c3, ldc, acc)
					worst = max(worst, checkGemm(t, fmt.Sprintf("GemmWTransA %s %dx%dx%d acc=%v", dt, m, n, k, acc), m, n, k, c3, want3, mag3, ldc))
				}
			}
		}
	})
}
