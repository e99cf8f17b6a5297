package fluxnet

import (
	"math"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// forward runs a DoubleStreamBlock, updating img [B, N, H] and txt
// [B, L, H] in place. Each stream s ∈ {img, txt}, with its modulation
// (shift₁, scale₁, gate₁, shift₂, scale₂, gate₂) = mod_s(SiLU(vec)):
//
//	q_s, k_s, v_s = qkv_s((1 + scale₁)·LN(s) + shift₁), q and k RMS-normed per head
//	a = attention(RoPE(q), RoPE(k), v) over [txt, img]   (joint, text first)
//	s ← s + gate₁·proj_s(a_s)
//	s ← s + gate₂·mlp_s((1 + scale₂)·LN(s) + shift₂),   mlp = Linear, GELU(tanh), Linear
//
// LN is LayerNorm without affine parameters, eps 1e-6.
func (d *doubleBlock) forward(p *buffers, img, txt, svec *tensor.Tensor, pe *nn.RoPEFreqs, heads int) {
	b, n, h := img.Shape[0], img.Shape[1], img.Shape[2]
	l := txt.Shape[1]
	t := l + n
	type part struct {
		s         *stream
		x, mod    *tensor.Tensor
		off, rows int
	}
	parts := [2]part{{&d.txt, txt, nil, 0, l}, {&d.img, img, nil, l, n}}
	qkv := p.get(b, t, 3*h)
	for i := range parts {
		s := &parts[i]
		s.mod = s.s.mod.forward(svec)
		m := p.mark()
		xm := normModulate(p, s.x, s.mod, 0)
		for j := range b {
			s.s.qkv.into(s.rows, xm.Data[j*s.rows*h:], h, qkv.Data[(j*t+s.off)*3*h:], 3*h)
		}
		p.release(m)
	}
	q, k, v := splitQKV(p, qkv.Data, 3*h, b, t, h, heads, l, [2][]float32{d.txt.qNorm, d.img.qNorm}, [2][]float32{d.txt.kNorm, d.img.kNorm}, pe)
	a := p.get(b, t, h)
	tensor.AttentionInto(a, q, k, v, heads, tensor.AttentionOptions{})
	for _, s := range parts {
		m := p.mark()
		out := p.get(b, s.rows, h)
		for j := range b {
			s.s.proj.into(s.rows, a.Data[(j*t+s.off)*h:], h, out.Data[j*s.rows*h:], h)
		}
		gateAdd(s.x, out, s.mod, 2*h)
		xm := normModulate(p, s.x, s.mod, 3*h)
		hid := s.s.mlp0.forwardInto(p, xm)
		tensor.GELUTanhInPlace(hid)
		s.s.mlp2.intoTensor(out, hid)
		gateAdd(s.x, out, s.mod, 5*h)
		p.release(m)
	}
}

// forward runs a SingleStreamBlock on x [B, T, H] (text then image
// tokens), in place. With (shift, scale, gate) = modulation(SiLU(vec)):
//
//	[q, k, v, m] = linear1((1 + scale)·LN(x) + shift),  q and k RMS-normed per head
//	x ← x + gate·linear2([attention(RoPE(q), RoPE(k), v), GELU_tanh(m)])
//
// linear2's input is assembled inside linear1's output: the attention
// result overwrites the v columns (copied out before), next to m.
func (s *singleBlock) forward(p *buffers, x, svec *tensor.Tensor, pe *nn.RoPEFreqs, heads int) {
	b, t, h := x.Shape[0], x.Shape[1], x.Shape[2]
	w := s.linear1.out
	mod := s.mod.forward(svec)
	buf := p.get(b, t, w)
	xm := normModulate(p, x, mod, 0)
	s.linear1.into(b*t, xm.Data, h, buf.Data, w)
	q, k, v := splitQKV(p, buf.Data, w, b, t, h, heads, 0, [2][]float32{nil, s.qNorm}, [2][]float32{nil, s.kNorm}, pe)
	a := xm // the same shape, no longer needed
	tensor.AttentionInto(a, q, k, v, heads, tensor.AttentionOptions{})
	tensor.Parallel(b*t, max(1, 4096/w), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := buf.Data[r*w : (r+1)*w]
			copy(row[2*h:3*h], a.Data[r*h:(r+1)*h])
			tensor.GELUTanh(row[3*h:])
		}
	})
	out := q // the same shape, no longer needed
	s.linear2.into(b*t, buf.Data[2*h:], w, out.Data, h)
	gateAdd(x, out, mod, 2*h)
}

// splitQKV reads q, k, v ([B, T, H] each) from the columns [0, H),
// [H, 2H), [2H, 3H) of src (rows of stride ld), normalises q and k per
// head with BFL's QKNorm (RMSNorm, eps 1e-6, scale qNorm/kNorm; index 0
// for the first split rows of each batch item — the text tokens of a
// double block — index 1 for the rest) and rotates them by RoPE at the
// row's position: the same as tensor.RMSNorm then nn.ApplyRoPE, in one
// pass over the rows.
func splitQKV(p *buffers, src []float32, ld, b, t, h, heads, split int, qNorm, kNorm [2][]float32, pe *nn.RoPEFreqs) (q, k, v *tensor.Tensor) {
	q, k, v = p.get(b, t, h), p.get(b, t, h), p.get(b, t, h)
	hd := h / heads
	tensor.Parallel(b*t, max(1, 4096/h), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			pos := r % t
			which := 1
			if pos < split {
				which = 0
			}
			row := src[r*ld:]
			cs := pe.Cos[pos*pe.Pairs : (pos+1)*pe.Pairs]
			sn := pe.Sin[pos*pe.Pairs : (pos+1)*pe.Pairs]
			for hh := 0; hh < h; hh += hd {
				normRoPE(q.Data[r*h+hh:r*h+hh+hd], row[hh:hh+hd], qNorm[which], cs, sn)
				normRoPE(k.Data[r*h+hh:r*h+hh+hd], row[h+hh:h+hh+hd], kNorm[which], cs, sn)
			}
			copy(v.Data[r*h:(r+1)*h], row[2*h:3*h])
		}
	})
	return q, k, v
}

// normRoPE writes RoPE(RMSNorm(x)·gamma) of one head into dst:
// y = x/√(mean(x²) + 1e-6)·gamma, then each pair (y[2i], y[2i+1]) rotated
// by the angle with cosine cs[i] and sine sn[i].
func normRoPE(dst, x, gamma, cs, sn []float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	inv := float32(1 / math.Sqrt(ss/float64(len(x))+normEps))
	for i := range cs {
		y0 := x[2*i] * inv * gamma[2*i]
		y1 := x[2*i+1] * inv * gamma[2*i+1]
		dst[2*i] = cs[i]*y0 - sn[i]*y1
		dst[2*i+1] = sn[i]*y0 + cs[i]*y1
	}
}

// normModulate returns (1 + scale)·LayerNorm(x) + shift for x [B, R, H],
// LayerNorm without affine parameters (eps 1e-6), shift = mod[b, off:off+H]
// and scale = mod[b, off+H:off+2H] of each batch item b, in a tensor from p.
func normModulate(p *buffers, x, mod *tensor.Tensor, off int) *tensor.Tensor {
	y := p.get(x.Shape...)
	tensor.LayerNormInto(y, x, nil, nil, normEps)
	b, r, h := x.Shape[0], x.Shape[1], x.Shape[2]
	m := mod.Shape[1]
	tensor.Parallel(b*r, max(1, 4096/h), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			mrow := mod.Data[(i/r)*m:]
			shift, scale := mrow[off:off+h], mrow[off+h:off+2*h]
			row := y.Data[i*h : (i+1)*h]
			for j, v := range row {
				row[j] = (1+scale[j])*v + shift[j]
			}
		}
	})
	return y
}

// gateAdd computes x += gate·y for x, y [B, R, H], gate = mod[b, off:off+H].
func gateAdd(x, y, mod *tensor.Tensor, off int) {
	b, r, h := x.Shape[0], x.Shape[1], x.Shape[2]
	m := mod.Shape[1]
	tensor.Parallel(b*r, max(1, 4096/h), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gate := mod.Data[(i/r)*m+off:][:h]
			xr, yr := x.Data[i*h:(i+1)*h], y.Data[i*h:(i+1)*h]
			for j, v := range yr {
				xr[j] += gate[j] * v
			}
		}
	})
}
