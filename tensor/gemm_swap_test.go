package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGemmWSwapped checks the float32 GemmW shapes with few rows and many
// outputs, which GemmW computes as the transposed product Cᵀ = W·Aᵀ (see
// gemmWSwapped): ragged row and column tiles, strides, and accumulate.
func TestGemmWSwapped(t *testing.T) {
	forEachAsmLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, sh := range [][3]int{{5, 200, 64}, {13, 77, 96}, {40, 333, 130}, {77, 130, 200}} {
			m, n, k := sh[0], sh[1], sh[2]
			w, wf := randWeight(r, F32, n, k)
			for _, acc := range []bool{false, true} {
				lda, ldc := k+3, n+5
				a, c := randFloats(r, m*lda), randFloats(r, m*ldc)
				want, mag := append([]float32(nil), c...), absAll(c)
				beta := float32(0)
				if acc {
					beta = 1
				}
				refGemm(false, true, m, n, k, a, lda, wf, k, want, ldc, beta)
				refGemm(false, true, m, n, k, absAll(a), lda, absAll(wf), k, mag, ldc, beta)
				GemmW(m, n, k, a, lda, w, c, ldc, acc)
				checkGemm(t, fmt.Sprintf("GemmW f32 %dx%dx%d acc=%v", m, n, k, acc), m, n, k, c, want, mag, ldc)
			}
		}
	})
}
