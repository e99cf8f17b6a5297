package tensor

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/asm"
)

// attnKeyBlock is the number of keys a block of attnQueryRows queries is
// scored against at a time; the score tile (64 KiB) stays in L2.
const (
	attnKeyBlock  = 256 // rounded up to a multiple of the kernel's mr
	attnQueryRows = 64  // rounded up to a multiple of the kernel's nr
)

// Attention computes multi-head scaled dot-product attention. q is
// [B, Lq, H·D], k and v are [B, Lk, H·D]; head h uses channels
// [h·D, (h+1)·D) of each. For each batch item and head,
//
//	out = softmax(q·kᵀ / √D + mask) · v
//
// where, when causal, mask[i, j] = −∞ for key j > query i (torch's
// is_causal, aligned at the top left). The result is [B, Lq, H·D], heads
// side by side again, ready for the output projection. It is
// AttentionWith with only Causal set; see there for how it is computed.
func Attention(q, k, v *Tensor, heads int, causal bool) *Tensor {
	return AttentionWith(q, k, v, heads, AttentionOptions{Causal: causal})
}

// AttentionOptions are the variations of AttentionWith.
type AttentionOptions struct {
	// Causal hides key j from query i when j > i.
	Causal bool
	// Scale multiplies q·kᵀ; 0 means the usual 1/√D. T5 uses 1 (its
	// initialisation folds the scaling into the query weights).
	Scale float32
	// RelBias, when not nil, is a per-head bias added to the scores that
	// depends only on the relative position j − i of key and query (T5's
	// relative attention bias, Raffel et al. 2020, §2.1):
	//
	//	s[h, i, j] += RelBias[h·(Lq+Lk−1) + (j − i + Lq − 1)]
	//
	// so it holds H·(Lq+Lk−1) values, never an Lq×Lk matrix per head.
	RelBias []float32
	// Precision is the arithmetic of the two products q·kᵀ and p·v
	// (PrecisionDefault: the process default, see SetPrecision). In bf16
	// their operands (the scaled queries, keys, weights p and values) are
	// rounded to bfloat16 and the products accumulate in float32 on the
	// bf16 micro-kernel (asm.GemmKernelBF16); the softmax, its running
	// maximum and normaliser, and the output stay float32.
	Precision Precision
}

// AttentionWith computes multi-head attention as Attention does, with
//
//	out = softmax(Scale·q·kᵀ + RelBias + mask) · v
//
// The Lq×Lk score matrix is never formed. Work is split over (batch, head,
// block of queries) with Parallel, and each worker walks the keys in
// blocks with an online ("flash") softmax: each query row keeps its
// running maximum m and normaliser l, and its output accumulator o is
// rescaled whenever the maximum grows,
//
//	m' = max(m, max_j s_j),  p_j = e^(s_j − m'),  α = e^(m − m'),
//	l' = α·l + Σ_j p_j,      o' = α·o + Σ_j p_j·v_j,
//
// with out = o/l at the end. Memory beyond the output is a packed copy of
// k and v plus a few small tiles per worker: O((Lq + Lk)·D), never Lq×Lk.
//
// The tile products sᵀ = k·qᵀ and oᵀ += vᵀ·pᵀ run on the GEMM micro-kernel
// (asm.GemmKernel, or asm.GemmKernelBF16 in bf16: see attention_bf16.go)
// directly, single-threaded inside each worker, because Gemm itself fans
// out over the pool and Parallel must not nest. Keys and
// values are packed into the kernel's panel layout once per call; the
// scores sᵀ are written straight into the panel layout the second product
// reads, so the softmax works in place on contiguous rows of queries and
// nothing is transposed. The relative bias is added to each score tile as
// it is computed.
func AttentionWith(q, k, v *Tensor, heads int, opt AttentionOptions) *Tensor {
	if len(q.Shape) != 3 {
		panic(fmt.Sprintf("tensor.Attention: q %s must be [B, L, H·D]", ShapeString(q.Shape)))
	}
	out := Empty(q.Shape...)
	AttentionInto(out, q, k, v, heads, opt)
	return out
}

// AttentionInto is AttentionWith writing its result into out, which must
// have q's shape [B, Lq, H·D] (and may hold anything: every value is
// overwritten). It lets a caller that runs many layers of the same shape
// reuse one output buffer.
func AttentionInto(out, q, k, v *Tensor, heads int, opt AttentionOptions) {
	if len(q.Shape) != 3 || len(k.Shape) != 3 || len(v.Shape) != 3 {
		panic(fmt.Sprintf("tensor.Attention: q %s, k %s, v %s must be [B, L, H·D]", ShapeString(q.Shape), ShapeString(k.Shape), ShapeString(v.Shape)))
	}
	b, lq, c := q.Shape[0], q.Shape[1], q.Shape[2]
	lk := k.Shape[1]
	if !SameShape(k, v) || k.Shape[0] != b || k.Shape[2] != c || heads < 1 || c%heads != 0 {
		panic(fmt.Sprintf("tensor.Attention: q %s, k %s, v %s with %d heads", ShapeString(q.Shape), ShapeString(k.Shape), ShapeString(v.Shape), heads))
	}
	if opt.RelBias != nil && len(opt.RelBias) != heads*(lq+lk-1) {
		panic(fmt.Sprintf("tensor.Attention: relative bias of %d values, expected %d heads × (%d + %d − 1)", len(opt.RelBias), heads, lq, lk))
	}
	if !SameShape(out, q) {
		panic(fmt.Sprintf("tensor.AttentionInto: out %s, q %s: shapes differ", ShapeString(out.Shape), ShapeString(q.Shape)))
	}
	if lq == 0 || lk == 0 || c == 0 {
		clear(out.Data)
		return
	}
	pl := newAttnPlan(b, lq, lk, c, heads, opt)
	kp, vp, release := pl.packKV(k, v)
	defer release()
	qBlocks := (lq + pl.bq - 1) / pl.bq
	Parallel(b*heads*qBlocks, 1, func(lo, hi int) {
		w := pl.newWorker()
		for task := lo; task < hi; task++ {
			bh, qb := task/qBlocks, task%qBlocks
			w.run(q, out, kp[bh], vp[bh], bh/heads, bh%heads, qb*pl.bq, opt.Causal)
		}
	})
}

// attnPlan holds the sizes of one Attention call.
type attnPlan struct {
	b, lq, lk, c, heads, d int
	bf16                   bool      // products in bf16 (AttentionOptions.Precision)
	dP                     int       // pairs of channels, ⌈D/2⌉ (bf16)
	mr, nr                 int       // kernel tile: mr rows × nr columns
	bq, bk                 int       // queries and keys per block
	lkPad, dPad            int       // lk and d rounded up to mr
	scale                  float32   // 64·log2(e)/√D: scores come out in units of ln2/64
	relBias                []float32 // AttentionOptions.RelBias in the same units, or nil
}

func newAttnPlan(b, lq, lk, c, heads int, opt AttentionOptions) *attnPlan {
	mr, nr := asm.GemmTile()
	bf16 := resolve(opt.Precision) == PrecisionBF16
	if bf16 {
		mr, nr = asm.GemmTileBF16() // mr is even at every level: key blocks start at even keys
	}
	p := &attnPlan{b: b, lq: lq, lk: lk, c: c, heads: heads, d: c / heads, mr: mr, nr: nr, bf16: bf16}
	p.dP = (p.d + 1) / 2
	p.scale = float32(expLog2e64 / math.Sqrt(float64(p.d)))
	if opt.Scale != 0 {
		p.scale = float32(expLog2e64 * float64(opt.Scale))
	}
	if opt.RelBias != nil {
		p.relBias = make([]float32, len(opt.RelBias))
		for i, x := range opt.RelBias {
			p.relBias[i] = x * expLog2e64
		}
	}
	// Queries are the columns (nr) of both products; keys the rows (mr) of
	// sᵀ; channels the rows (mr) of oᵀ.
	p.bq = min(roundUp(attnQueryRows, nr), roundUp(lq, nr))
	p.lkPad = roundUp(lk, mr)
	p.bk = min(roundUp(attnKeyBlock, mr), p.lkPad)
	p.dPad = roundUp(p.d, mr)
	return p
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// packKV packs every (batch, head) of k as A panels (strips of mr keys,
// each D columns of mr values: a[p·mr + i] = k[i, p]) and of vᵀ as A
// panels (strips of mr channels, each lkPad columns of mr values:
// a[j·mr + i] = v[j, i]), vᵀ zero-padded to whole tiles. The panels are
// pooled scratch (getScratch): release hands them back once the products
// that read them are done.
func (pl *attnPlan) packKV(k, v *Tensor) (kp, vp [][]float32, release func()) {
	bh := pl.b * pl.heads
	kp = make([][]float32, bh)
	vp = make([][]float32, bh)
	bufs := make([]*[]float32, 2*bh)
	d, c, lk, mr := pl.d, pl.c, pl.lk, pl.mr
	Parallel(bh, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			bi, h := t/pl.heads, t%pl.heads
			base := bi*lk*c + h*d
			bufs[2*t], bufs[2*t+1] = getScratch(pl.lkPad*d), getScratch(pl.dPad*pl.lkPad)
			kt, vt := *bufs[2*t], *bufs[2*t+1]
			if pl.bf16 {
				pl.packKVPairs(asm.Uint32s(kt), asm.Uint32s(vt), k.Data[base:], v.Data[base:])
				kp[t], vp[t] = kt, vt
				continue
			}
			// kᵀ's padding keys need no zeros (their weights are cleared
			// after the scores, see weights); vᵀ's padding must be zero,
			// since a weight of 0 times a NaN left in the pool is NaN.
			clear(vt)
			for j := range lk {
				kstrip := kt[(j/mr)*d*mr+j%mr:]
				for p, x := range k.Data[base+j*c : base+j*c+d] {
					kstrip[p*mr] = x
				}
				for i, x := range v.Data[base+j*c : base+j*c+d] {
					vt[(i/mr)*pl.lkPad*mr+j*mr+i%mr] = x
				}
			}
			kp[t], vp[t] = kt, vt
		}
	})
	return kp, vp, func() {
		for _, p := range bufs {
			putScratch(p)
		}
	}
}

// attnWorker is the scratch of one worker.
type attnWorker struct {
	pl    *attnPlan
	h, q0 int       // head and first query of the block being run
	qb    []float32 // fp32: B panels of the scaled query block: (bq/nr) strips of d × nr
	pb    []float32 // B panels of sᵀ, then pᵀ: (bq/nr) strips of bk × nr
	ot    []float32 // oᵀ, dPad × bq row-major
	m, l  []float32 // running max and normaliser per query

	mNew, sum, alpha []float32 // per query of one strip
	tmax             []float32 // per query of one strip: largest s − ref seen by weights

	// bf16 (see attention_bf16.go): the query block's pair panels (qp,
	// 32-bit words), its rows of pairs (qrows) and one scaled row
	// (scaled); the pair panels of pᵀ (pp).
	qp, qrows, scaled []float32
	pp                []uint32
}

func (pl *attnPlan) newWorker() *attnWorker {
	w := &attnWorker{
		pl:    pl,
		pb:    make([]float32, pl.bq*pl.bk),
		ot:    make([]float32, pl.dPad*pl.bq),
		m:     make([]float32, pl.bq),
		l:     make([]float32, pl.bq),
		mNew:  make([]float32, pl.nr),
		sum:   make([]float32, pl.nr),
		alpha: make([]float32, pl.nr),
		tmax:  make([]float32, pl.nr),
	}
	if !pl.bf16 {
		w.qb = make([]float32, pl.bq*pl.d)
	} else {
		w.qp = make([]float32, pl.bq*pl.dP)
		w.qrows = make([]float32, pl.bq*pl.dP)
		w.scaled = make([]float32, pl.d)
		w.pp = make([]uint32, pl.bq*pl.bk/2)
	}
	return w
}

// run computes the output rows [q0, q0+bq) of head h of batch item bi.
func (w *attnWorker) run(q, out *Tensor, kp, vp []float32, bi, h, q0 int, causal bool) {
	pl := w.pl
	d, c, mr, nr, bq, bk := pl.d, pl.c, pl.mr, pl.nr, pl.bq, pl.bk
	rows := min(bq, pl.lq-q0) // valid queries; the rest of the block is padding
	w.h, w.q0 = h, q0

	// Pack the query block, pre-scaled by 64·log2(e)/√D so that the scores
	// are in units of ln2/64, ready for exp2SubColsInPlace:
	// qb[(i/nr)·d·nr + p·nr + i%nr].
	base := (bi*pl.lq+q0)*c + h*d
	if pl.bf16 {
		w.packQueryPairs(q.Data[base:], rows)
	} else {
		clear(w.qb)
		for i := range rows {
			strip := w.qb[(i/nr)*d*nr+i%nr:]
			for p, x := range q.Data[base+i*c : base+i*c+d] {
				strip[p*nr] = x * pl.scale
			}
		}
	}
	for i := range bq {
		w.m[i] = float32(math.Inf(-1))
		w.l[i] = 0
	}
	clear(w.ot)

	for k0 := 0; k0 < pl.lk; k0 += bk {
		if causal && k0 > q0+rows-1 {
			break // every remaining key lies in the future of every query here
		}
		cols := min(bk, pl.lkPad-k0) // a multiple of mr
		valid := min(bk, pl.lk-k0)
		// sᵀ = k_blk·qᵀ, tile by tile, straight into the pᵀ panels.
		for qs := 0; qs < bq/nr; qs++ {
			w.scores(kp, qs, k0, cols)
		}
		for qs := 0; qs < bq/nr; qs++ {
			w.softmaxStrip(kp, qs, k0, q0, cols, valid, causal)
		}
		// oᵀ += vᵀ·pᵀ, tile by tile.
		if pl.bf16 {
			w.valuesPairs(asm.Uint32s(vp), k0, cols)
			continue
		}
		for ds := 0; ds < pl.dPad/mr; ds++ {
			a := vp[ds*pl.lkPad*mr+k0*mr:]
			for qs := 0; qs < bq/nr; qs++ {
				asm.GemmKernel(cols, a, w.pb[qs*bk*nr:], w.ot[ds*mr*bq+qs*nr:], bq, true)
			}
		}
	}

	// out = o / l.
	for i := range rows {
		inv := 1 / w.l[i]
		dst := out.Data[base+i*c : base+i*c+d]
		for e := range dst {
			dst[e] = w.ot[e*bq+i] * inv
		}
	}
}

// scores computes the scores of keys [k0, k0+cols) against the queries of
// strip qs, sᵀ = k_blk·qᵀ, tile by tile, straight into the strip's pᵀ panel.
func (w *attnWorker) scores(kp []float32, qs, k0, cols int) {
	pl := w.pl
	d, mr, nr := pl.d, pl.mr, pl.nr
	c := w.pb[qs*pl.bk*nr:]
	if pl.bf16 {
		w.scoresPairs(asm.Uint32s(kp), qs, k0, cols)
	} else {
		b := w.qb[qs*d*nr:]
		for ks := 0; ks < cols/mr; ks++ {
			asm.GemmKernel(d, kp[(k0/mr+ks)*d*mr:], b, c[ks*mr*nr:], nr, false)
		}
	}
	if pl.relBias != nil {
		w.addRelBias(c, qs, k0, cols)
	}
}

// addRelBias adds the relative bias of head w.h to the score tile c of
// strip qs (row p: key k0+p; column j: query q0+qs·nr+j), skipping the
// padding rows and columns.
func (w *attnWorker) addRelBias(c []float32, qs, k0, cols int) {
	pl := w.pl
	nr := pl.nr
	bias := pl.relBias[w.h*(pl.lq+pl.lk-1):][:pl.lq+pl.lk-1]
	i0 := w.q0 + qs*nr
	nq := min(nr, pl.lq-i0)
	if nq <= 0 {
		return
	}
	for p := range min(cols, pl.lk-k0) {
		// bias index of key k0+p and query i0+j: k0 + p − i0 − j + lq − 1.
		base := k0 + p - i0 + pl.lq - 1
		row := c[p*nr : p*nr+nq]
		for j := range row {
			row[j] += bias[base-j]
		}
	}
}

// attnLazyMax bounds how far, in units of ln2/64, a score may exceed its
// query's reference maximum m before the block is redone with a new
// maximum: e^30 keeps every sum far inside float32 range.
const attnLazyMax = 30 * expLog2e64

// softmaxStrip folds one key block into the running softmax of the nr
// queries of strip qs. Row p of the strip's panel holds the scores of key
// k0+p against those queries; keys from valid on are padding, and when
// causal, key k0+p is hidden from query q0+qs·nr+j when it lies after it.
// The scores (in units of ln2/64, see run) are replaced by weights
// p = e^(s/√D − m) (0 where hidden), and each query's l, and when m
// changes, its m and column of oᵀ, are updated.
//
// m need not be the exact running maximum, only a reference no score
// exceeds by much (any common factor cancels in o/l). So after the first
// block the weights are first computed against the current m, without a
// maximum pass; only if some score exceeds m by more than attnLazyMax are
// the block's scores recomputed and m raised to the block's maximum, with
// o and l rescaled by α = e^(m − m').
func (w *attnWorker) softmaxStrip(kp []float32, qs, k0, q0, cols, valid int, causal bool) {
	pl := w.pl
	nr, bq := pl.nr, pl.bq
	m := w.m[qs*nr : (qs+1)*nr]
	l := w.l[qs*nr : (qs+1)*nr]
	if k0 > 0 {
		if w.weights(qs, k0, q0, cols, valid, causal, m, attnLazyMax) {
			for j, s := range w.sum {
				l[j] += s
			}
			return
		}
		w.scores(kp, qs, k0, cols) // the failed pass overwrote some scores
	}

	tile := w.pb[qs*pl.bk*nr : qs*pl.bk*nr+cols*nr]
	mNew, alpha := w.mNew, w.alpha
	copy(mNew, m)
	for p := range valid {
		f := w.firstVisible(p, qs, k0, q0, causal)
		row, mx := tile[p*nr+f:(p+1)*nr], mNew[f:]
		mx = mx[:len(row)]
		for j, x := range row {
			if x > mx[j] {
				mx[j] = x
			}
		}
	}
	w.weights(qs, k0, q0, cols, valid, causal, mNew, float32(math.Inf(1)))
	rescale := false // only columns whose maximum moved
	for j := range nr {
		alpha[j] = 1
		if mNew[j] != m[j] {
			alpha[j] = expf32((m[j] - mNew[j]) * (1 / expLog2e64)) // 0 on the first block, where m = −∞
			rescale = true
		}
		l[j] = l[j]*alpha[j] + w.sum[j]
		m[j] = mNew[j]
	}
	if !rescale {
		return
	}
	for e := 0; e < pl.dPad; e++ {
		col := w.ot[e*bq+qs*nr : e*bq+(qs+1)*nr]
		for j, a := range alpha {
			col[j] *= a
		}
	}
}

// firstVisible returns the first query column of strip qs that sees key
// k0+p (0 unless causal).
func (w *attnWorker) firstVisible(p, qs, k0, q0 int, causal bool) int {
	if !causal {
		return 0
	}
	return min(max(k0+p-(q0+qs*w.pl.nr), 0), w.pl.nr)
}

// weights replaces the scores of strip qs by p = 2^((s − ref)/64) (0 where
// hidden or padding) and sets w.sum to each column's Σ p. It gives up,
// returning false, when a score exceeds ref by more than maxT (without
// causal masking only after the whole tile, whose scores are then lost).
//
// Without a mask the tile's visible part is the first valid rows, all nr
// columns, and one vectorised pass (asm.ExpSubCols) does the work; a
// score far below ref gives a weight of about 1e−38 instead of 0 there,
// which no sum can notice.
func (w *attnWorker) weights(qs, k0, q0, cols, valid int, causal bool, ref []float32, maxT float32) bool {
	nr := w.pl.nr
	tile := w.pb[qs*w.pl.bk*nr : qs*w.pl.bk*nr+cols*nr]
	clear(w.sum)
	if !causal {
		for j := range w.tmax {
			w.tmax[j] = float32(math.Inf(-1))
		}
		asm.ExpSubCols(tile[:valid*nr], valid, ref[:nr], w.sum, w.tmax, 0.693147180559945309/64)
		for _, t := range w.tmax {
			if t > maxT {
				return false
			}
		}
		clear(tile[valid*nr:])
		return true
	}
	for p := range valid {
		row := tile[p*nr : (p+1)*nr]
		f := w.firstVisible(p, qs, k0, q0, causal)
		clear(row[:f])
		if !exp2SubColsInPlace(row[f:], ref[f:], w.sum[f:], maxT) {
			return false
		}
	}
	clear(tile[valid*nr:])
	return true
}
