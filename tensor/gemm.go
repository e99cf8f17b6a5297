package tensor

import (
	"fmt"
	"math/bits"
	"sync"

	"github.com/godiffusion/godiffusion/asm"
)

// Gemm computes C[m×n] = op(A)·op(B), or C += op(A)·op(B) when accumulate,
// where op(A) is A[m×k] (row stride lda) or, with transA, the transpose of
// A stored as [k×m]; likewise op(B) is B[k×n] (stride ldb) or, with transB,
// Bᵀ with B stored as [n×k]. C has row stride ldc.
//
// It is a packed, cache-blocked GEMM (see gemmDriver) running the SIMD
// micro-kernel of package asm on the worker pool.
func Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if m <= 0 || n <= 0 {
		return
	}
	prec := DefaultPrecision()
	if m <= smallM && !transA && k > 0 && prec == PrecisionFP32 {
		if transB {
			gemvRows(m, n, k, a, lda, func(j int, _ []float32) []float32 { return b[j*ldb : j*ldb+k] }, c, ldc, accumulate)
		} else {
			gemvAxpy(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		}
		return
	}
	pa := rowMajorA(a, lda)
	if transA {
		pa = operand{pack: packDepthContig(a, lda)}
	}
	pb := packDepthContig(b, ldb)
	if transB {
		pb = packRowsContig(b, ldb)
	}
	gemmDriver(m, n, k, pa, operand{pack: pb}, c, ldc, accumulate, prec)
}

// GemmW computes C[m×n] = A[m×k]·Wᵀ (or C += A·Wᵀ when accumulate) for a
// weight W of shape [n, k] in any stored dtype (torch nn.Linear layout;
// conv weights [out, in, kh, kw] are viewed as [out, in·kh·kw]). A has row
// stride lda, C row stride ldc. The weight is converted to float32 panel by
// panel while packing, so no float32 copy of it is ever kept.
func GemmW(m, n, k int, a []float32, lda int, w *Weight, c []float32, ldc int, accumulate bool) {
	if m <= 0 || n <= 0 {
		return
	}
	checkWeight("GemmW", w, n, k)
	prec := resolve(w.Precision)
	if m <= smallM && k > 0 && prec == PrecisionFP32 {
		gemvW(m, n, k, a, lda, w, c, ldc, accumulate)
		return
	}
	if (n-m)*k > m*n && (prec == PrecisionFP32 && asm.HasGemmKernelStridedA() ||
		prec == PrecisionBF16 && asm.HasGemmKernelBF16StridedA()) {
		gemmWSwapped(m, n, k, a, lda, w, c, ldc, accumulate, prec)
		return
	}
	gemmDriver(m, n, k, rowMajorA(a, lda), operand{pack: packWeightRows(w, k)}, c, ldc, accumulate, prec)
}

// GemmWItems is GemmW for an A that holds `items` independent items (the
// samples of a batch) of m rows each, A[items·m × k]: it computes the same
// C = A·Wᵀ, choosing the kernel by the rows of one item rather than by
// all rows, so that every item's rows come out bit-identical whatever the
// number of items. (GemmW serves m ≤ 4 rows with dot products and more
// with the blocked micro-kernel; the two sum in different orders. Each
// path alone gives a row the same bits for any row count.) Per-sample
// vectors (a time embedding [B, D]: m = 1) thus stay on the dot-product
// path at any batch size, as they are at batch 1.
func GemmWItems(items, m, n, k int, a []float32, lda int, w *Weight, c []float32, ldc int, accumulate bool) {
	rows := items * m
	if rows <= 0 || n <= 0 {
		return
	}
	checkWeight("GemmWItems", w, n, k)
	if m <= smallM && k > 0 && resolve(w.Precision) == PrecisionFP32 {
		gemvW(rows, n, k, a, lda, w, c, ldc, accumulate)
		return
	}
	GemmW(rows, n, k, a, lda, w, c, ldc, accumulate)
}

// gemvW is GemmW's dot-product path: C[i, j] = A row i · W row j, each
// weight row decoded once for all m rows.
func gemvW(m, n, k int, a []float32, lda int, w *Weight, c []float32, ldc int, accumulate bool) {
	if w.DType == F32 {
		gemvRows(m, n, k, a, lda, func(j int, _ []float32) []float32 { return w.f32[j*k : j*k+k] }, c, ldc, accumulate)
	} else {
		gemvRows(m, n, k, a, lda, func(j int, tmp []float32) []float32 { w.Decode(tmp, j*k); return tmp }, c, ldc, accumulate)
	}
}

// gemmWSwapped computes C = A·Wᵀ for a float32 weight as the transposed
// product Cᵀ[n×m] = W·Aᵀ into a buffer, then transposes it into C. With
// few rows of A (CLIP's 77 tokens, the 256 tokens of the deepest UNet
// level) this packs the small operand A (m·k floats) and lets the
// micro-kernel read W in place, instead of packing all n·k floats of W for
// only m rows; the transpose costs m·n moves, so GemmW takes this path when
// it saves more packing than that: (n−m)·k > m·n.
//
// A float32 W is read in place; any other dtype is decoded block by block
// into row-major float32 (operand.decode), a plain conversion. In bf16
// (prec) the rows of W are then rounded to rows of pairs for the strided
// bf16 kernel (gemmBlockBF16), so W is never transposed either.
func gemmWSwapped(m, n, k int, a []float32, lda int, w *Weight, c []float32, ldc int, accumulate bool, prec Precision) {
	_, nrT := asm.GemmTile() // the transposing strips below
	mr, nr := asm.GemmTile()
	block, prepackOp := gemmBlock, prepack
	if prec == PrecisionBF16 {
		mr, nr = asm.GemmTileBF16()
		block, prepackOp = gemmBlockBF16, prepackBF16
	}
	buf := getScratch(n * m)
	defer putScratch(buf)
	ct := *buf
	opW, opA := operand{decode: decodeWeightRows(w, k)}, operand{pack: packRowsContig(a, lda)}
	if w.DType == F32 {
		opW = rowMajorA(w.f32, k)
		if prec == PrecisionBF16 {
			opW = packOnly(opW)
		}
	}
	tiles := (n + mr - 1) / mr
	minChunk := tiles // one worker, as in gemmDriver
	if threads := Threads(); threads > 1 && float64(m)*float64(n)*float64(k) >= 64*64*64 {
		// Every piece of work needs all of A: pack it once, the workers
		// sharing the packing, and hand out pieces as in gemmDriver.
		var release func()
		opA, release = prepackOp(opA.pack, m, k, nr)
		defer release()
		minChunk = 1
	}
	// Each piece is rows [r0, r1) of Cᵀ (W rows, split like gemmDriver's m
	// split), transposed into columns [r0, r1) of C while still in cache:
	// one pool round trip, not two.
	ParallelDynamic(tiles, minChunk, func(lo, hi int) {
		r0, r1 := lo*mr, min(hi*mr, n)
		block(r1-r0, m, k, r0, 0, opW, opA, ct[r0*m:], m, false, mr, nr)
		// C[i, j] (+)= Cᵀ[j, i], one strip of nr columns of C at a time:
		// the vector-gather panel packer transposes nr rows of Cᵀ into an
		// m×nr block (t[i·nr + jj] = Cᵀ[j0+jj, i]) whose rows are copied out.
		tmp := getScratch(m * nrT)
		defer putScratch(tmp)
		t := *tmp
		for j0 := r0; j0 < r1; j0 += nrT {
			cols := min(nrT, r1-j0)
			asm.PackPanel(t, ct[j0*m:], m, cols, m, nrT)
			for i := 0; i < m; i++ {
				dst, src := c[i*ldc+j0:i*ldc+j0+cols], t[i*nrT:i*nrT+cols]
				if accumulate {
					asm.Axpy(1, src, dst)
				} else {
					copy(dst, src)
				}
			}
		}
	})
}

// GemmWLeft computes C[m×n] = W·op(B) (or C += W·op(B) when accumulate)
// for a weight W of shape [m, k] in any stored dtype, with op(B) = B[k×n]
// (row stride ldb) or, with transB, Bᵀ for B stored [n×k]. This is the
// orientation of a convolution with NCHW output (out[o, pixel] =
// Σ W[o, ·]·cols[·, pixel]); the weight is converted while packing.
func GemmWLeft(m, n, k int, w *Weight, transB bool, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if m <= 0 || n <= 0 {
		return
	}
	checkWeight("GemmWLeft", w, m, k)
	pb := packDepthContig(b, ldb)
	if transB {
		pb = packRowsContig(b, ldb)
	}
	gemmDriver(m, n, k, operand{pack: packWeightRows(w, k)}, operand{pack: pb}, c, ldc, accumulate, resolve(w.Precision))
}

// checkWeight panics with a descriptive message when w does not hold the
// rows×k values a GEMM is about to read (a caller's shape bug).
func checkWeight(op string, w *Weight, rows, k int) {
	if w.Len() < rows*k {
		panic(fmt.Sprintf("tensor.%s: weight of shape %v has %d values, the product needs at least [%d, %d]", op, w.Shape, w.Len(), rows, k))
	}
}

// operand is one side of gemmDriver: a packer that fills the micro-panels
// of any block on demand; or (panels non-nil) the panels of the whole
// operand already packed for its whole depth (see prepack), which the
// kernel reads in place: no packing at all. The left operand may instead
// (direct non-nil) be a row-major float32 matrix with row stride ld that
// the micro-kernel reads in place (asm.GemmKernelStridedA), skipping the
// transposing copy that packing a k-contiguous matrix needs.
//
// Or (decode non-nil, also left only) the rows of each block are decoded
// into a row-major float32 buffer that the strided kernel then reads: for
// a weight in another dtype this is a straight conversion, with none of
// the transposing gathers that packing does.
//
// For the bf16 kernel (gemm_bf16.go) only pack is used, or pairs: the
// whole operand prepacked as bf16 pair panels (prepackBF16), or (left
// only, rows non-nil) a row-major float32 A with row stride ld that is
// rounded block by block to rows of pairs, which the strided bf16 kernel
// reads in place (every level has it).
type operand struct {
	pack   packer
	direct []float32
	ld     int
	panels []float32
	decode rowDecoder
	pairs  []uint32
	rows   []float32
}

// rowMajorA describes a row-major A [m×k] (stride lda): read in place when
// the CPU level has the strided kernel, else packed.
func rowMajorA(a []float32, lda int) operand {
	if asm.HasGemmKernelStridedA() {
		return operand{pack: packRowsContig(a, lda), direct: a, ld: lda, rows: a}
	}
	return operand{pack: packRowsContig(a, lda), ld: lda, rows: a}
}

// smallM is the largest m served by the matrix-vector paths: with so few
// rows of A the micro-tile would be mostly padding and packing B would
// cost more than the multiply, which is then memory-bound anyway.
const smallM = 4

// gemvRows computes C[i, j] (+)= Σ_p A[i, p]·Bᵀrow_j[p] with dot products,
// where row(j, tmp) returns row j of the [n×k] right operand (possibly
// decoded into tmp). Parallel over j.
func gemvRows(m, n, k int, a []float32, lda int, row func(j int, tmp []float32) []float32, c []float32, ldc int, accumulate bool) {
	Parallel(n, 16, func(lo, hi int) {
		tmp := getScratch(k)
		defer putScratch(tmp)
		for j := lo; j < hi; j++ {
			r := row(j, (*tmp)[:k])
			for i := 0; i < m; i++ {
				v := asm.Dot(a[i*lda:i*lda+k], r)
				if accumulate {
					c[i*ldc+j] += v
				} else {
					c[i*ldc+j] = v
				}
			}
		}
	})
}

// gemvAxpy computes C[i, :] (+)= Σ_p A[i, p]·B[p, :] as a sum of scaled
// rows of B. Parallel over column ranges of C.
func gemvAxpy(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	Parallel(n, 256, func(lo, hi int) {
		for i := 0; i < m; i++ {
			row := c[i*ldc+lo : i*ldc+hi]
			if !accumulate {
				clear(row)
			}
			for p := 0; p < k; p++ {
				asm.Axpy(a[i*lda+p], b[p*ldb+lo:p*ldb+hi], row)
			}
		}
	})
}

// Cache blocking. The depth is cut into balanced blocks of at most kcMax
// (k = 320 is one block of 320, k = 1280 four of 320) so that one packed
// B micro-panel (kc × nr floats, ≤ 48 KiB) stays in L1 while the kernel sweeps
// the mc rows of the packed A block (mc × kc floats, in L2); the packed B
// block (kc × nc) lives in L2/L3.
const (
	kcMax = 384
	mcMax = 144
	ncMax = 2048

	bBlockFloats = 192 << 10 // 768 KiB of packed B per worker
	cBufFloats   = 192 << 10 // largest C block accumulated aside (see gemmBlock)
)

// gemmDriver computes C[m×n] (+)= X·Yᵀ where opA gives X [m×k] and opB
// gives Y [n×k] (i.e. op(B)ᵀ), in precision prec (PrecisionFP32 or
// PrecisionBF16: gemmBlockBF16 and the bf16 micro-kernel). The m×n output is split into strips
// (along m when it is tall enough, else along n), and each worker runs the
// classic five-loop blocked algorithm on the strips it takes, with its own
// packing buffers. The operand every strip needs whole is packed once up
// front when it fits (prepack); the strips are then handed out
// dynamically, large ones first (ParallelDynamic). Otherwise each worker
// gets one fixed strip, so that it packs that operand only once.
func gemmDriver(m, n, k int, opA, opB operand, c []float32, ldc int, accumulate bool, prec Precision) {
	if k <= 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	mr, nr := asm.GemmTile()
	block, prepackOp := gemmBlock, prepack
	if prec == PrecisionBF16 {
		mr, nr = asm.GemmTileBF16()
		block, prepackOp = gemmBlockBF16, prepackBF16
		opA, opB = packOnly(opA), packOnly(opB)
	} else {
		opA.rows, opB.rows = nil, nil // a bf16 feature
	}
	mTiles, nTiles := (m+mr-1)/mr, (n+nr-1)/nr
	threads := Threads()
	if float64(m)*float64(n)*float64(k) < 64*64*64 {
		threads = 1
	}
	// Each worker needs all of the operand along the dimension it does not
	// split and its share of the other, so splitting the larger of m and n
	// packs the least (and gives the most tiles to balance).
	splitM := m >= n
	if splitM && mTiles < threads && nTiles >= threads {
		splitM = false
	} else if !splitM && nTiles < threads && mTiles >= threads {
		splitM = true
	}
	tiles, shared, rows, tile := nTiles, &opA, m, mr
	if splitM {
		tiles, shared, rows, tile = mTiles, &opB, n, nr
	}
	work := func(lo, hi int) {
		if splitM {
			i0, i1 := lo*mr, min(hi*mr, m)
			block(i1-i0, n, k, i0, 0, opA, opB, c[i0*ldc:], ldc, accumulate, mr, nr)
		} else {
			j0, j1 := lo*nr, min(hi*nr, n)
			block(m, j1-j0, k, 0, j0, opA, opB, c[j0:], ldc, accumulate, mr, nr)
		}
	}
	if threads == 1 {
		work(0, tiles)
		return
	}
	// The shared operand: unless it is read in place, pack it once, the
	// workers sharing the packing, instead of once per worker, when its
	// panels are small enough to hold (a weight's, a few tokens').
	inPlace := func(o *operand) bool { return o.panels != nil || o.direct != nil || o.pairs != nil || o.rows != nil }
	if !inPlace(shared) && (rows+tile-1)/tile*tile*k <= prepackMaxFloats {
		var release func()
		*shared, release = prepackOp(shared.pack, rows, k, tile)
		defer release()
	}
	if !inPlace(shared) {
		// Every piece of work packs the shared operand again: one per worker.
		Parallel(tiles, 1, work)
		return
	}
	// Pieces of work then cost only their own share: hand them out as
	// workers become free, so that none waits for a slowed-down other.
	ParallelDynamic(tiles, 1, work)
}

// gemmBlock computes the m×n rectangle of C starting at row i0, column j0
// of the operands (c already points at its top-left element).
func gemmBlock(m, n, k, i0, j0 int, opA, opB operand, c []float32, ldc int, accumulate bool, mr, nr int) {
	nkb := (k + kcMax - 1) / kcMax
	kcb := (k + nkb - 1) / nkb // balanced depth blocks
	mcb := max(mr, mcMax/mr*mr)
	// The packed B block (kc × nc) must stay in L2 next to the A block.
	ncb := min(ncMax, max(nr, bBlockFloats/kcb/nr*nr), (n+nr-1)/nr*nr)

	bufA := getScratch(mcb * kcb)
	tmp := getScratch(kcb*max(mr, nr) + mr*nr)
	defer putScratch(bufA)
	defer putScratch(tmp)
	var bufB *[]float32 // B block packed here unless B is prepacked
	if opB.panels == nil {
		bufB = getScratch(ncb * kcb)
		defer putScratch(bufB)
	}
	scratch, tile := (*tmp)[:kcb*max(mr, nr)], (*tmp)[kcb*max(mr, nr):]

	// A row stride that is a multiple of 1 KiB maps the rows of a C tile
	// onto the same few L1 sets (conv outputs: ldc = H·W = 4096), so
	// the tiles evict each other. When the worker's C block is small
	// enough, accumulate it in a buffer with a skewed stride instead and
	// add it to C once per column block.
	cOut, ldcOut := c, ldc
	var bufC *[]float32
	if ldc%256 == 0 && nkb > 1 && m*(ncb+16) <= cBufFloats {
		bufC = getScratch(m * (ncb + 16))
		defer putScratch(bufC)
	}
	for jc := 0; jc < n; jc += ncb {
		nc := min(ncb, n-jc)
		c, ldc := cOut[jc:], ldcOut
		if bufC != nil {
			c, ldc = *bufC, ncb+16
		}
		for pc := 0; pc < k; pc += kcb {
			kc := min(kcb, k-pc)
			add := pc > 0 || (accumulate && bufC == nil)
			if opB.panels == nil {
				opB.pack(*bufB, j0+jc, nc, pc, kc, nr, scratch)
			}
			for ic := 0; ic < m; ic += mcb {
				mc := min(mcb, m-ic)
				// Row ir of the block, when read in place, starts at aIn[aOff+ir·aLd].
				aIn, aLd, aOff := opA.direct, opA.ld, (i0+ic)*opA.ld+pc
				switch {
				case opA.panels != nil: // read in place below
				case opA.decode != nil:
					opA.decode(*bufA, i0+ic, mc, pc, kc, mr)
					aIn, aLd, aOff = *bufA, kc, 0
				case opA.direct == nil:
					opA.pack(*bufA, i0+ic, mc, pc, kc, mr, scratch)
				case mc%mr != 0: // only the ragged last tile is packed
					last := mc / mr * mr
					opA.pack((*bufA)[last*kc:], i0+ic+last, mc-last, pc, kc, mr, scratch)
				}
				for jr := 0; jr < nc; jr += nr {
					var bp []float32
					if opB.panels != nil {
						bp = opB.panels[(j0+jc+jr)*k+pc*nr:] // strip (j0+jc+jr)/nr, depth pc
					} else {
						bp = (*bufB)[jr*kc:]
					}
					nrr := min(nr, nc-jr)
					for ir := 0; ir < mc; ir += mr {
						ap := (*bufA)[ir*kc:]
						if opA.panels != nil {
							ap = opA.panels[(i0+ic+ir)*k+pc*mr:] // strip (i0+ic+ir)/mr, depth pc
						}
						mrr := min(mr, mc-ir)
						cp := c[(ic+ir)*ldc+jr:]
						if aIn != nil && (mrr == mr || opA.decode != nil) { // decoded blocks are zero-padded to whole tiles
							a := aIn[aOff+ir*aLd:]
							if mrr == mr && nrr == nr {
								asm.GemmKernelStridedA(kc, a, aLd, bp, cp, ldc, add)
								continue
							}
							asm.GemmKernelStridedA(kc, a, aLd, bp, tile, nr, false)
						} else if mrr == mr && nrr == nr {
							asm.GemmKernel(kc, ap, bp, cp, ldc, add)
							continue
						} else {
							asm.GemmKernel(kc, ap, bp, tile, nr, false)
						}
						// Ragged edge: the whole tile was computed aside; keep the valid part.
						storeTile(cp, ldc, tile, nr, mrr, nrr, add)
					}
				}
			}
		}
		if bufC != nil {
			for i := 0; i < m; i++ {
				dst, src := cOut[i*ldcOut+jc:i*ldcOut+jc+nc], c[i*ldc:i*ldc+nc]
				if accumulate {
					asm.Axpy(1, src, dst)
				} else {
					copy(dst, src)
				}
			}
		}
	}
}

// scratchPools keeps float32 buffers by size class: class c holds buffers
// of capacity exactly 1<<c. One pool per class matters: a GEMM takes three
// buffers of very different sizes, and a single pool would hand the small
// one back for the large request (and allocate, zero and page-fault a fresh
// buffer on every call).
var scratchPools [40]sync.Pool

// getScratch returns a pooled float32 buffer of length n (contents undefined).
func getScratch(n int) *[]float32 {
	c := bits.Len(uint(max(n, 1) - 1))
	if p, ok := scratchPools[c].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n, 1<<c)
	return &s
}

// putScratch returns a buffer from getScratch to its size class.
func putScratch(p *[]float32) {
	c := bits.Len(uint(cap(*p) - 1))
	if cap(*p) != 1<<c {
		return // not from getScratch
	}
	scratchPools[c].Put(p)
}

// storeTile writes the valid mrr×nrr corner of a micro-kernel tile (row
// stride nr) computed aside for a ragged edge into C at cp (row stride
// ldc), adding to C when add.
func storeTile(cp []float32, ldc int, tile []float32, nr, mrr, nrr int, add bool) {
	for i := 0; i < mrr; i++ {
		dst, src := cp[i*ldc:i*ldc+nrr], tile[i*nr:i*nr+nrr]
		if add {
			for j, v := range src {
				dst[j] += v
			}
		} else {
			copy(dst, src)
		}
	}
}
