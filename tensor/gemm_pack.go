package tensor

import (
	"github.com/godiffusion/godiffusion/asm"
)

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

// rowDecoder writes rows [r0, r0+rows) × depth [p0, p0+kc) of an operand
// as a row-major float32 block (dst[i·kc + p] = X(r0+i, p0+p)), with zero
// rows after them up to a whole number of tile-row tiles.
type rowDecoder func(dst []float32, r0, rows, p0, kc, tile int)

// decodeWeightRows is the rowDecoder of a weight W [rows, k] in its stored
// dtype: each row segment is one sequential conversion (VCVTPH2PS for f16).
func decodeWeightRows(w *Weight, k int) rowDecoder {
	return func(dst []float32, r0, rows, p0, kc, tile int) {
		for i := 0; i < rows; i++ {
			w.Decode(dst[i*kc:(i+1)*kc], (r0+i)*k+p0)
		}
		clear(dst[rows*kc : (rows+tile-1)/tile*tile*kc])
	}
}

// prepack packs all rows of an operand for its whole depth k, once,
// tile rows per strip: strip q (rows [q·tile, q·tile+tile), zero past the
// end) holds depth p at panels[q·k·tile + p·tile:], so the micro-panel of
// any depth block [p0, p0+kc) is the contiguous run starting at
// q·k·tile + p0·tile, exactly what the micro-kernel reads. A convolution
// packs its weight this way once per call instead of once per (image,
// worker, column block), which for f16 weights also means decoding them
// once; a multi-threaded GEMM packs the operand every worker needs once
// instead of once per worker. Strips are packed in parallel, each from a
// scratch copy of at most tile × prepackDepth floats (kept in L1/L2).
// Call release when the GEMMs are done: the buffer returns to a pool, so
// the next call reuses it instead of allocating (and page-faulting) a
// fresh one.
func prepack(pack packer, rows, k, tile int) (op operand, release func()) {
	strips := (rows + tile - 1) / tile
	panels := getPanels(strips * tile * k)
	Parallel(strips, 1, func(lo, hi int) {
		scratch := getScratch(tile * min(k, prepackDepth))
		defer putScratch(scratch)
		for q := lo; q < hi; q++ {
			strip := panels[q*tile*k : (q+1)*tile*k]
			for p0 := 0; p0 < k; p0 += prepackDepth {
				kc := min(prepackDepth, k-p0)
				// Packed with depth kc, the block's layout (p·tile + i) is
				// that of the strip from p0 on: the same stride tile.
				pack(strip[p0*tile:(p0+kc)*tile], q*tile, min(tile, rows-q*tile), p0, kc, tile, *scratch)
			}
		}
	})
	return operand{panels: panels}, func() { putPanels(panels) }
}

// prepackDepth is the depth packed per step by prepack (its scratch is
// mr × prepackDepth floats, as the GEMM's own packing uses).
const prepackDepth = kcMax

// getPanels returns a buffer of n floats for prepacked panels (contents
// undefined), recycled when a released one of about that size is free;
// putPanels hands it back. Prepacks of the same convolution at every step
// then reuse their buffers instead of allocating (and page-faulting)
// fresh ones.
func getPanels(n int) []float32 {
	if b := pool.get(n); b != nil {
		return b
	}
	return make([]float32, n)
}

// putPanels releases a buffer from getPanels.
func putPanels(b []float32) { pool.put(b) }
