package tensor

import "github.com/godiffusion/godiffusion/asm"

// Attention in bf16 (AttentionOptions.Precision): the same flash walk as
// in float32 (attention.go), with the two tile products on the bf16
// micro-kernel. Its panels hold pairs of bfloat16 values along the depth
// of each product (asm.GemmKernelBF16's layout: the even depth in the low
// half), rounded to nearest even:
//
//	sᵀ = k·qᵀ     depth: the D channels   A: keys (kᵀ panels)      B: scaled queries
//	oᵀ += vᵀ·pᵀ   depth: the keys         A: channels (vᵀ panels)   B: weights p
//
// The keys and values are rounded once per call (packKVPairs), the
// queries once per query block (packQueryPairs), the weights once per key
// block after the softmax has made them (valuesPairs). Scores, the running
// maximum and normaliser, and the output accumulator oᵀ are float32;
// the normaliser l sums the weights before they are rounded, so the
// output's error from rounding p is at most 2⁻⁸·max|v| (each weight's
// relative error is at most 2⁻⁸, bfloat16's unit roundoff, and the
// weights sum to l). Key blocks start at multiples of mr, which is even
// at every level: a block's pairs are the panel's pairs from k0/2 on.

// packKVPairs rounds the keys and values of one (batch item, head) to the
// pair panels of the bf16 products: kᵀ as strips of mr keys holding dP
// pairs of channels, kt[(j/mr)·dP·mr + q·mr + j%mr] = k[j, 2q] | k[j, 2q+1]<<16,
// and vᵀ as strips of mr channels holding lkPad/2 pairs of keys,
// vt[(e/mr)·(lkPad/2)·mr + (j/2)·mr + e%mr] (half j%2) = v[j, e]. k and v
// start at the head's first channel of key 0 (row stride C). vᵀ's padding
// (keys past lk, channels past D) is zero; kᵀ's padding keys need none
// (their weights are cleared after the scores).
func (pl *attnPlan) packKVPairs(kt, vt []uint32, k, v []float32) {
	d, c, dP, mr := pl.d, pl.c, pl.dP, pl.mr
	kP := pl.lkPad / 2
	clear(vt[:pl.dPad*kP])
	row := make([]uint32, dP)
	for j := range pl.lk {
		asm.RoundPairsBF16(row, k[j*c:j*c+d])
		strip := kt[(j/mr)*dP*mr+j%mr:]
		for q, x := range row {
			strip[q*mr] = x
		}
		shift := 16 * uint(j%2)
		pair := vt[(j/2)*mr:]
		for e, x := range v[j*c : j*c+d] {
			pair[(e/mr)*kP*mr+e%mr] |= uint32(asm.FloatToBFloat(x)) << shift
		}
	}
}

// packQueryPairs rounds the query block's rows rows (q starts at the
// block's first query, row stride C) times the score scale to the B
// panels of sᵀ = k·qᵀ: strips of nr queries holding dP pairs of channels,
// qp[(i/nr)·dP·nr + p·nr + i%nr] = bf16(scale·q[i, 2p]) | bf16(scale·q[i, 2p+1])<<16.
// Each row is scaled and rounded to a row of pairs (asm.RoundPairsBF16),
// and each strip's rows of pairs are transposed into its panel by
// asm.PackPanel, which moves 32-bit words without looking at them (and
// zeroes the padding queries of a ragged block).
func (w *attnWorker) packQueryPairs(q []float32, rows int) {
	pl := w.pl
	d, c, dP, nr := pl.d, pl.c, pl.dP, pl.nr
	pairs := asm.Uint32s(w.qrows)
	for i := range rows {
		copy(w.scaled, q[i*c:i*c+d])
		asm.Scale(pl.scale, w.scaled)
		asm.RoundPairsBF16(pairs[i*dP:(i+1)*dP], w.scaled)
	}
	for qs := 0; qs < pl.bq/nr; qs++ {
		asm.PackPanel(w.qp[qs*dP*nr:(qs+1)*dP*nr], w.qrows[qs*nr*dP:], dP, min(nr, rows-qs*nr), dP, nr)
	}
}

// scoresPairs is scores in bf16: sᵀ = k_blk·qᵀ for keys [k0, k0+cols)
// and the queries of strip qs, tile by tile into the strip's pᵀ panel
// (float32).
func (w *attnWorker) scoresPairs(kt []uint32, qs, k0, cols int) {
	pl := w.pl
	dP, mr, nr := pl.dP, pl.mr, pl.nr
	b := asm.Uint32s(w.qp[qs*dP*nr:])
	c := w.pb[qs*pl.bk*nr:]
	for ks := 0; ks < cols/mr; ks++ {
		asm.GemmKernelBF16(dP, kt[(k0/mr+ks)*dP*mr:], b, c[ks*mr*nr:], nr, false)
	}
}

// valuesPairs is the value product of one key block in bf16: the weights
// of keys [k0, k0+cols) (cols a multiple of mr, hence even), which
// softmaxStrip left in the float32 pᵀ panels, are rounded to pair panels,
// pp[qs·(bk/2)·nr + q·nr + j] = p[2q, j] | p[2q+1, j]<<16, then
// oᵀ += vᵀ·pᵀ tile by tile.
func (w *attnWorker) valuesPairs(vt []uint32, k0, cols int) {
	pl := w.pl
	mr, nr, bq, bk := pl.mr, pl.nr, pl.bq, pl.bk
	kP := pl.lkPad / 2
	for qs := 0; qs < bq/nr; qs++ {
		asm.PackPairsBF16(w.pp[qs*(bk/2)*nr:], w.pb[qs*bk*nr:qs*bk*nr+cols*nr], cols, nr)
	}
	for ds := 0; ds < pl.dPad/mr; ds++ {
		a := vt[ds*kP*mr+(k0/2)*mr:]
		for qs := 0; qs < bq/nr; qs++ {
			asm.GemmKernelBF16(cols/2, a, w.pp[qs*(bk/2)*nr:], w.ot[ds*mr*bq+qs*nr:], bq, true)
		}
	}
}
