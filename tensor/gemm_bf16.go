package tensor

import "github.com/godiffusion/godiffusion/asm"

// The bf16 path of gemmDriver. The operands are packed exactly as for the
// float32 kernel (the same packers: weights decoded from their dtype,
// im2col gathered on the fly), then each float32 micro-panel is rounded to
// a panel of bf16 pairs (asm.PackPairsBF16: depths 2q and 2q+1 of a row in
// one uint32) that asm.GemmKernelBF16 multiplies with fp32 accumulation.
// Depth blocks start at even depths, so a block's pairs are the operand's
// pairs; an odd depth is padded with a zero in its last pair. The result
// does not depend on the CPU level: every level's bf16 kernel rounds as the
// pure-Go twin, and the blocking (kcb) is the same at every level.

// packOnly keeps what the bf16 path can use of an operand: its packer (or
// its bf16 pairs). Row-major operands read in place and decoded blocks
// are float32-kernel features.
func packOnly(o operand) operand {
	if o.panels != nil {
		panic("tensor: float32 panels given to the bf16 GEMM")
	}
	return operand{pack: o.pack, pairs: o.pairs}
}

// bf16DepthBlock returns the depth block of the bf16 path for depth k:
// balanced blocks of at most kcMax, rounded up to an even depth.
func bf16DepthBlock(k int) int {
	nkb := (k + kcMax - 1) / kcMax
	kcb := (k + nkb - 1) / nkb
	return kcb + kcb%2
}

// gemmBlockBF16 is gemmBlock for the bf16 kernel: the m×n rectangle of C
// at row i0, column j0 of the operands, in mr×nr tiles of the bf16 kernel.
func gemmBlockBF16(m, n, k, i0, j0 int, opA, opB operand, c []float32, ldc int, accumulate bool, mr, nr int) {
	kcb := bf16DepthBlock(k)
	kP := (k + 1) / 2 // pairs of the whole depth (prepacked strips)
	mcb := max(mr, mcMax/mr*mr)
	ncb := min(ncMax, max(nr, bBlockFloats/kcb/nr*nr), (n+nr-1)/nr*nr)

	// Float32 panels are packed into f32 (the larger of the two blocks),
	// then rounded into pairsA / pairsB (half the floats each).
	f32 := getScratch(max(mcb, ncb) * kcb)
	pa := getScratch(mcb * kcb / 2)
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
				if opA.pairs == nil {
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
						var ap []uint32
						if opA.pairs != nil {
							ap = opA.pairs[(i0+ic+ir)*kP+pc/2*mr:]
						} else {
							ap = aPairs[ir*kp:]
						}
						mrr := min(mr, mc-ir)
						cp := c[(ic+ir)*ldc+jc+jr:]
						if mrr == mr && nrr == nr {
							asm.GemmKernelBF16(kp, ap, bp, cp, ldc, add)
							continue
						}
						asm.GemmKernelBF16(kp, ap, bp, tile, nr, false)
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
				}
			}
		}
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
	pairs := asm.Uint32s(*buf)
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
	return operand{pairs: pairs}, func() { panelPool.Put(buf) }
}
