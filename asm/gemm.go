package asm

// GemmTile returns the micro-tile of the installed GEMM kernel: it computes
// mr rows × nr columns of C per call. Packed panels must use these sizes.
func GemmTile() (mr, nr int) { return gemmMR, gemmNR }

// GemmKernel computes one mr×nr tile (see GemmTile) of C from packed panels:
//
//	C[i·ldc + j] = Σ_{p<k} a[p·mr + i] · b[p·nr + j]      (i < mr, j < nr)
//
// or, when accumulate, adds that sum to C: every level sums the k products
// from zero and adds C once at the end (not C folded into the chain, which
// rounds each step at C's magnitude), so the result is the same function
// of C and the tile on every CPU. a is the A micro-panel stored column by
// column (k columns of mr values), b the B micro-panel stored row by row
// (k rows of nr values). It panics if a slice is too short.
func GemmKernel(k int, a, b, c []float32, ldc int, accumulate bool) {
	mr, nr := gemmMR, gemmNR
	if k < 0 || len(a) < k*mr || len(b) < k*nr || ldc < nr || len(c) < (mr-1)*ldc+nr {
		panic("asm.GemmKernel: panel or tile slice too short")
	}
	if k == 0 {
		if !accumulate {
			for i := 0; i < mr; i++ {
				clear(c[i*ldc : i*ldc+nr])
			}
		}
		return
	}
	gemmKernel(k, &a[0], &b[0], &c[0], ldc, accumulate)
}

// HasGemmKernelStridedA reports whether the installed level provides
// GemmKernelStridedA (AVX2 and AVX-512 do; NEON and pure Go pack A instead).
func HasGemmKernelStridedA() bool { return gemmStridedA != nil }

// GemmKernelStridedA is GemmKernel with A read in place from a row-major
// matrix instead of a packed panel:
//
//	C[i·ldc + j] (+)= Σ_{p<k} a[i·lda + p] · b[p·nr + j]      (i < mr, j < nr)
//
// It panics if the level lacks it (see HasGemmKernelStridedA) or a slice is
// too short.
func GemmKernelStridedA(k int, a []float32, lda int, b, c []float32, ldc int, accumulate bool) {
	mr, nr := gemmMR, gemmNR
	if gemmStridedA == nil {
		panic("asm.GemmKernelStridedA: not available at level " + level)
	}
	if k <= 0 || lda < k || len(a) < (mr-1)*lda+k || len(b) < k*nr || ldc < nr || len(c) < (mr-1)*ldc+nr {
		panic("asm.GemmKernelStridedA: bad k or slice too short")
	}
	gemmStridedA(k, &a[0], lda, &b[0], &c[0], ldc, accumulate)
}
