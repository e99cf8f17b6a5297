package tensor

import "github.com/godiffusion/godiffusion/asm"

// Packing: the GEMM driver (gemm.go) never reads A or B directly in its
// inner loops. It first copies a block of each operand into "micro-panels"
// laid out exactly as the micro-kernel consumes them (asm.GemmKernel):
//
//	panel q of a block of rows [r0, r0+rows) × depth [p0, p0+kc):
//	dst[q·kc·tile + p·tile + i] = X(r0 + q·tile + i, p0 + p)
//
// where X(r, p) is element (r, p) of op(A) (r = row of C) or of op(B)ᵀ
// (r = column of C). Rows past the end are zero, so the kernel always
// computes whole tiles. A packer is any function that fills such panels;
// the weight packer converts f16/bf16/f8 to float32 on the way, which is
// how GemmW avoids ever holding a float32 copy of a weight.

// packer fills dst with the micro-panels of rows [r0, r0+rows) and depth
// [p0, p0+kc) of an operand, tile rows per panel. scratch is a per-thread
// buffer of at least tile·kc floats the packer may use.
type packer func(dst []float32, r0, rows, p0, kc, tile int, scratch []float32)

// packRowsContig packs an operand whose element (r, p) is x[r·ld + p]
// (contiguous along the depth p): op(A) = A, or op(B)ᵀ when B is stored
// transposed [n×k]. The transposing copy is asm.PackPanel. A full panel
// is first copied row by row into scratch (tile·kc floats, sequential
// streams), so the vector gathers of PackPanel hit L1 instead of touching
// tile distant rows of a large matrix per column.
func packRowsContig(x []float32, ld int) packer {
	return func(dst []float32, r0, rows, p0, kc, tile int, scratch []float32) {
		for q := 0; q*tile < rows; q++ {
			n := min(tile, rows-q*tile)
			panel := dst[q*kc*tile : (q+1)*kc*tile]
			src := x[(r0+q*tile)*ld+p0:]
			if n == tile && len(scratch) >= tile*kc {
				for i := 0; i < n; i++ {
					copy(scratch[i*kc:(i+1)*kc], src[i*ld:i*ld+kc])
				}
				asm.PackPanel(panel, scratch, kc, n, kc, tile)
				continue
			}
			asm.PackPanel(panel, src, ld, n, kc, tile)
		}
	}
}

// packDepthContig packs an operand whose element (r, p) is x[p·ld + r]
// (contiguous along r): op(B) = B [k×n], or op(A) = Aᵀ with A stored [k×m].
// Each panel row is one contiguous copy.
func packDepthContig(x []float32, ld int) packer {
	return func(dst []float32, r0, rows, p0, kc, tile int, _ []float32) {
		for q := 0; q*tile < rows; q++ {
			panel := dst[q*kc*tile : (q+1)*kc*tile]
			n := min(tile, rows-q*tile)
			c0 := r0 + q*tile
			for p := 0; p < kc; p++ {
				row := panel[p*tile : (p+1)*tile]
				copy(row[:n], x[(p0+p)*ld+c0:][:n])
				clear(row[n:])
			}
		}
	}
}

// packWeightRows packs a weight W [rows, k] (element (r, p) = W[r·k + p])
// in its stored dtype: the tile rows of each panel are decoded to float32
// into scratch (tile·kc floats, contiguous) and then packed from there.
func packWeightRows(w *Weight, k int) packer {
	if w.DType == F32 {
		return packRowsContig(w.f32, k)
	}
	return func(dst []float32, r0, rows, p0, kc, tile int, scratch []float32) {
		for q := 0; q*tile < rows; q++ {
			n := min(tile, rows-q*tile)
			for i := 0; i < n; i++ {
				w.Decode(scratch[i*kc:(i+1)*kc], (r0+q*tile+i)*k+p0)
			}
			asm.PackPanel(dst[q*kc*tile:(q+1)*kc*tile], scratch, kc, n, kc, tile)
		}
	}
}
