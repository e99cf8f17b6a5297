package tensor

// Gemm computes C[m×n] = op(A)·op(B), or C += op(A)·op(B) when accumulate,
// where op(A) is A[m×k] (row stride lda) or, with transA, the transpose of
// A stored as [k×m]; likewise op(B) is B[k×n] (stride ldb) or, with transB,
// Bᵀ with B stored as [n×k]. C has row stride ldc.
//
// PLACEHOLDER reference implementation; the packed, SIMD version replaces it.
func Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	Parallel(m, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := c[i*ldc : i*ldc+n]
			if !accumulate {
				clear(row)
			}
			for p := 0; p < k; p++ {
				var av float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if av == 0 {
					continue
				}
				if transB {
					for j := range row {
						row[j] += av * b[j*ldb+p]
					}
				} else {
					brow := b[p*ldb : p*ldb+n]
					for j := range row {
						row[j] += av * brow[j]
					}
				}
			}
		}
	})
}

// GemmW computes C[m×n] = A[m×k]·Wᵀ (or C += A·Wᵀ when accumulate) for a
// weight W of shape [n, k] in any stored dtype (torch nn.Linear layout;
// conv weights [out, in, kh, kw] are viewed as [out, in·kh·kw]). A has row
// stride lda, C row stride ldc. The weight is converted to float32 panel by
// panel while packing, so no float32 copy of it is ever kept.
//
// PLACEHOLDER reference implementation; the packed, SIMD version replaces it.
func GemmW(m, n, k int, a []float32, lda int, w *Weight, c []float32, ldc int, accumulate bool) {
	wf := w.Float32()
	Gemm(false, true, m, n, k, a, lda, wf, k, c, ldc, accumulate)
}
