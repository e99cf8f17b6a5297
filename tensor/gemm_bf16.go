package tensor

import "github.com/godiffusion/godiffusion/asm"

// The bf16 path of gemmDriver. The operands are packed exactly as for the
// float32 kernel (the same packers: weights decoded from their dtype,
// im2col gathered on the fly), then each float32 micro-panel is rounded to
// a panel of bf16 pairs (asm.PackPairsBF16: depths 2q and 2q+1 of a row in
// one uint32) that asm.GemmKernelBF16 multiplies with fp32 accumulation.
// Depth blocks start at even depths, so a block's pairs are the operand's
// pairs; an odd depth is padded with a zero in its last pair. The result
// does not depend on the CPU level among levels of the same arithmetic
// (asm.BF16Rounding: VDPBF16PS and the pure-Go twin round alike, Arm's
// BFDOT rounds to odd): every kernel rounds as its twin, and the blocking
// (kcb) is the same at every level.

// packOnly keeps what the bf16 path can use of an operand: its packer, its
// bf16 pairs, and (A only, where the level has the strided bf16 kernel)
// its float32 rows or its row decoder, whose rows gemmBlockBF16 rounds to
// rows of pairs. Float32 panels are a float32-kernel feature.
func packOnly(o operand) operand {
	if o.panels != nil {
		panic("tensor: float32 panels given to the bf16 GEMM")
	}
	if !asm.HasGemmKernelBF16StridedA() {
		return operand{pack: o.pack, pairs: o.pairs}
	}
	return operand{pack: o.pack, pairs: o.pairs, rows: o.rows, ld: o.ld, decode: o.decode}
}

// bf16DepthBlock returns the depth block of the bf16 path for depth k:
// balanced blocks of at most kcMax, rounded up to an even depth.
func bf16DepthBlock(k int) int {
	nkb := (k + kcMax - 1) / kcMax
	kcb := (k + nkb - 1) / nkb
	return kcb + kcb%2
}

// pairStride is the row stride (in pairs) of A's rounded rows for depth
// blocks of kp pairs: kp, skewed by 16 when the rows would be a multiple
// of 1 KiB apart and the strided kernel's twelve rows would share L1 sets.
func pairStride(kp int) int {
	if kp%256 == 0 {
		return kp + 16
	}
	return kp
}

// gemmBlockBF16 is gemmBlock for the bf16 kernel: the m×n rectangle of C
// at row i0, column j0 of the operands, in mr×nr tiles of the bf16 kernel.
//
// A row-major A (opA.rows, the activations of a linear layer) is never
// transposed: each mc×kc block is rounded row by row to pairs
// (asm.RoundPairsBF16, one sequential pass) and the strided kernel
// (asm.GemmKernelBF16StridedA) broadcasts each row's pairs from there.
// Other operands are packed as float32 panels and rounded to pair panels
// (asm.PackPairsBF16). As in gemmBlock, a C whose row stride is a multiple
// of 1 KiB is accumulated in a skewed buffer when the depth takes several
// blocks.
func gemmBlockBF16(m, n, k, i0, j0 int, opA, opB operand, c []float32, ldc int, accumulate bool, mr, nr int) {
	kcb := bf16DepthBlock(k)
	nkb := (k + kcb - 1) / kcb
	kP := (k + 1) / 2 // pairs of the whole depth (prepacked strips)
	mcb := max(mr, mcMax/mr*mr)
	ncb := min(ncMax, max(nr, bBlockFloats/kcb/nr*nr), (n+nr-1)/nr*nr)
	lda := pairStride((kcb + 1) / 2)

	// Float32 panels are packed into f32 (the larger of the two blocks),
	// then rounded into pa / pb (half the floats each); pa also holds A's
	// rounded rows (mcb rows of lda pairs).
	f32 := getScratch(max(mcb, ncb) * kcb)
	pa := getScratch(mcb * max(kcb/2, lda))
	tmp := getScratch(kcb*max(mr, nr) + mr*nr)
	defer putScratch(f32)
	defer putScratch(pa)
	defer putScratch(tmp)
	var pb *[]float32
	if opB.pairs == nil {
		pb = getScratch(ncb * kcb / 2)
		defer putScratch(pb)
	}
	scratch, tile := (*tmp)[:kcb*max(mr, nr)], (*tmp)[kcb*max(mr, nr):]

	cOut, ldcOut := c, ldc
	var bufC *[]float32
	if ldc%256 == 0 && nkb > 1 && m*(ncb+16) <= cBufFloats {
		bufC = getScratch(m * (ncb + 16))
		defer putScratch(bufC)
	}

	// toPairs rounds the float32 panels of a block of rows (whole tiles of
	// tile rows, depth kc) to pair panels of depth kp.
	toPairs := func(dst []uint32, rows, kc, tile int) {
		kp := (kc + 1) / 2
		for q := 0; q*tile < rows; q++ {
			asm.PackPairsBF16(dst[q*kp*tile:(q+1)*kp*tile], (*f32)[q*kc*tile:(q+1)*kc*tile], kc, tile)
		}
	}
	for jc := 0; jc < n; jc += ncb {
		nc := min(ncb, n-jc)
		c, ldc := cOut[jc:], ldcOut
		if bufC != nil {
			// The buffer starts as C's block when accumulating, so that
			// every element is summed in the same order as without it
			// (C + block₀ + block₁ …): the result does not depend on
			// whether the buffer is used (nr, hence ncb, differs by level).
			c, ldc = *bufC, ncb+16
			if accumulate {
				for i := 0; i < m; i++ {
					copy(c[i*ldc:i*ldc+nc], cOut[i*ldcOut+jc:])
				}
			}
		}
		for pc := 0; pc < k; pc += kcb {
			kc := min(kcb, k-pc)
			kp := (kc + 1) / 2
			add := pc > 0 || accumulate
			var bPairs []uint32
			if opB.pairs == nil {
				opB.pack(*f32, j0+jc, nc, pc, kc, nr, scratch)
				bPairs = asm.Uint32s(*pb)
				toPairs(bPairs, nc, kc, nr)
			}
			for ic := 0; ic < m; ic += mcb {
				mc := min(mcb, m-ic)
				aPairs := asm.Uint32s(*pa)
				switch {
				case opA.pairs != nil: // read in place below
				case opA.decode != nil: // a weight's rows: decoded, then rounded
					opA.decode(*f32, i0+ic, mc, pc, kc, mr)
					for i := 0; i < mc; i++ {
						asm.RoundPairsBF16(aPairs[i*lda:i*lda+kp], (*f32)[i*kc:(i+1)*kc])
					}
					for i := mc; i%mr != 0; i++ {
						clear(aPairs[i*lda : i*lda+kp])
					}
				case opA.rows != nil:
					// Prefetch the next block converted: the next mcb
					// rows at the same depth.
					ahead := mcb * opA.ld
					for i := 0; i < mc; i++ {
						src := opA.rows[(i0+ic+i)*opA.ld+pc:]
						asm.RoundPairsBF16Prefetch(aPairs[i*lda:i*lda+kp], src[:kc], ahead)
					}
					for i := mc; i%mr != 0; i++ { // zero rows of the ragged last tile
						clear(aPairs[i*lda : i*lda+kp])
					}
				default:
					opA.pack(*f32, i0+ic, mc, pc, kc, mr, scratch)
					toPairs(aPairs, mc, kc, mr)
				}
				for jr := 0; jr < nc; jr += nr {
					var bp []uint32
					if opB.pairs != nil {
						bp = opB.pairs[(j0+jc+jr)*kP+pc/2*nr:] // strip (j0+jc+jr)/nr, pair pc/2
					} else {
						bp = bPairs[jr*kp:]
					}
					nrr := min(nr, nc-jr)
					for ir := 0; ir < mc; ir += mr {
						mrr := min(mr, mc-ir)
						cp := c[(ic+ir)*ldc+jr:]
						var ap []uint32
						switch {
						case opA.rows != nil || opA.decode != nil:
							ap = aPairs[ir*lda:]
						case opA.pairs != nil:
							ap = opA.pairs[(i0+ic+ir)*kP+pc/2*mr:] // strip (i0+ic+ir)/mr, pair pc/2
						default:
							ap = aPairs[ir*kp:]
						}
						strided := opA.rows != nil || opA.decode != nil
						if mrr == mr && nrr == nr {
							bf16Tile(strided, kp, ap, lda, bp, cp, ldc, add)
							continue
						}
						bf16Tile(strided, kp, ap, lda, bp, tile, nr, false)
						storeTile(cp, ldc, tile, nr, mrr, nrr, add)
					}
				}
			}
		}
		if bufC != nil {
			for i := 0; i < m; i++ {
				copy(cOut[i*ldcOut+jc:i*ldcOut+jc+nc], c[i*ldc:i*ldc+nc])
			}
		}
	}
}

// bf16Tile runs the bf16 micro-kernel on one tile: with strided, A's
// pairs are rows of stride lda (GemmKernelBF16StridedA), else a panel.
func bf16Tile(strided bool, kp int, ap []uint32, lda int, bp []uint32, c []float32, ldc int, add bool) {
	if strided {
		asm.GemmKernelBF16StridedA(kp, ap, lda, bp, c, ldc, add)
	} else {
		asm.GemmKernelBF16(kp, ap, bp, c, ldc, add)
	}
}

// prepackBF16 is prepack for the bf16 path: all rows of an operand for its
// whole depth k as bf16 pair panels, strip q (tile rows) holding pair p at
// pairs[q·kP·tile + p·tile:] with kP = ⌈k/2⌉, so that the pairs of a depth
// block starting at an even depth p0 are the run from p0/2 on. The float32
// panels are packed prepackDepth (even) at a time into scratch and rounded
// from there. Call release when the GEMMs are done.
func prepackBF16(pack packer, rows, k, tile int) (op operand, release func()) {
	strips := (rows + tile - 1) / tile
	kP := (k + 1) / 2
	buf := getPanels(strips * tile * kP)
	pairs := asm.Uint32s(buf)
	Parallel(strips, 1, func(lo, hi int) {
		depth := min(k, prepackDepth)
		f32 := getScratch(tile * depth)
		scratch := getScratch(tile * depth)
		defer putScratch(f32)
		defer putScratch(scratch)
		for q := lo; q < hi; q++ {
			strip := pairs[q*tile*kP : (q+1)*tile*kP]
			for p0 := 0; p0 < k; p0 += prepackDepth {
				kc := min(prepackDepth, k-p0)
				pack(*f32, q*tile, min(tile, rows-q*tile), p0, kc, tile, *scratch)
				asm.PackPairsBF16(strip[p0/2*tile:], (*f32)[:kc*tile], kc, tile)
			}
		}
	})
	return operand{pairs: pairs}, func() { putPanels(buf) }
}

// prepackWeightBF16 is prepackBF16 for a weight W [rows, k] in any stored
// dtype, without float32 panels: each row of a strip is decoded and
// rounded to a row of pairs (asm.RoundPairsBF16, sequential), and the
// strip's rows of pairs are then transposed into the pair panel with
// asm.PackPanel, which moves 32-bit words without looking at them (half
// the words a float32 panel has). The result is prepackBF16's, bit for
// bit. Convolutions prepack their weight this way once per call.
func prepackWeightBF16(w *Weight, rows, k, tile int) (op operand, release func()) {
	strips := (rows + tile - 1) / tile
	kP := (k + 1) / 2
	panels := getPanels(strips * tile * kP)
	Parallel(strips, 1, func(lo, hi int) {
		f32 := getScratch(k)
		rowPairs := getScratch(tile * kP)
		defer putScratch(f32)
		defer putScratch(rowPairs)
		rp := asm.Uint32s(*rowPairs)
		for q := lo; q < hi; q++ {
			n := min(tile, rows-q*tile)
			for i := 0; i < n; i++ {
				w.Decode(*f32, (q*tile+i)*k)
				asm.RoundPairsBF16(rp[i*kP:(i+1)*kP], *f32)
			}
			asm.PackPanel(panels[q*tile*kP:(q+1)*tile*kP], *rowPairs, kP, n, kP, tile)
		}
	})
	return operand{pairs: asm.Uint32s(panels)}, func() { putPanels(panels) }
}
