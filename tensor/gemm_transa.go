package tensor

// GemmWTransA computes C[m×n] = Aᵀ·Wᵀ (or C += Aᵀ·Wᵀ when accumulate) for
// A stored transposed as [k×m] (row stride lda) and a weight W [n, k] in any
// stored dtype:
//
//	C[i, j] = Σ_p A[p, i] · W[j, p]
//
// This is a Linear layer applied over the channel axis of a [C, H·W]
// feature map, giving tokens [H·W, n] directly: the NCHW → NLC transpose
// happens while A is packed, so no transposed copy is ever written.
func GemmWTransA(m, n, k int, a []float32, lda int, w *Weight, c []float32, ldc int, accumulate bool) {
	if m <= 0 || n <= 0 {
		return
	}
	checkWeight("GemmWTransA", w, n, k)
	gemmDriver(m, n, k, operand{pack: packDepthContig(a, lda)}, operand{pack: packWeightRows(w, k)}, c, ldc, accumulate, resolve(w.Precision))
}
