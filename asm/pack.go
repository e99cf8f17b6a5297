package asm

import "math"

// PackPanel packs rows [0, rows) and columns [0, kc) of a matrix stored
// contiguous along the columns (element (i, p) at src[i·ld + p]) into one
// GEMM micro-panel of tile rows, column by column:
//
//	dst[p·tile + i] = src[i·ld + p]   (i < rows),   0   (rows ≤ i < tile)
//
// This transposing copy is how row-major activations and [out, in] weights
// become kernel panels. A full panel of the kernel's nr or mr rows uses
// vector gathers (AVX2/AVX-512); everything else a scalar loop.
func PackPanel(dst, src []float32, ld, rows, kc, tile int) {
	if rows <= 0 || kc <= 0 {
		clear(dst[:kc*tile])
		return
	}
	_ = dst[kc*tile-1]
	_ = src[(rows-1)*ld+kc-1]
	if int64(ld)*int64(tile) < math.MaxInt32 && rows == tile {
		if packGatherFn != nil && tile == gemmNR {
			packGatherFn(&dst[0], &src[0], ld, kc)
			return
		}
		if packGatherMRFn != nil && tile == gemmMR {
			packGatherMRFn(&dst[0], &src[0], ld, kc)
			return
		}
	}
	packPanelGeneric(dst, src, ld, rows, kc, tile)
}
