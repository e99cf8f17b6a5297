package tensor

import (
	"fmt"

	"github.com/godiffusion/godiffusion/asm"
)

// Conv2d computes the 2-D cross-correlation of x [N, Cin, H, W] with the
// weight w [Cout, Cin, kh, kw] plus bias [Cout] (nil for none), with equal
// stride and zero padding on both axes, as torch.nn.functional.conv2d:
//
//	out[n, o, y, x] = bias[o] + Σ_{c,i,j} w[o, c, i, j] · in[n, c, y·s + i − p, x·s + j − p]
//
// Output is [N, Cout, (H+2p−kh)/s+1, (W+2p−kw)/s+1]. A weight of shape
// [Cout, Cin] is taken as a 1×1 kernel.
//
// Per image this is one GEMM, out[Cout, OH·OW] = W[Cout, Cin·kh·kw] ·
// cols[Cin·kh·kw, OH·OW], written straight into the NCHW output. The im2col
// matrix "cols" is never materialised: the GEMM's B packer (packIm2col)
// gathers each cache block of it from x on the fly, and the weight is
// converted from its stored dtype while its panels are packed, once per
// call for all images (prepack: a copy of the weight in panel order,
// float32 or bf16 pairs, lives for the duration of the call; see
// prepackConvWeight for which weights). A 1×1, stride-1, unpadded
// convolution reads x directly as the [Cin, H·W] matrix.
func Conv2d(x *Tensor, w *Weight, bias []float32, stride, pad int) *Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("tensor.Conv2d: input must be [N, C, H, W], got shape %v", x.Shape))
	}
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	var cout, wcin, kh, kw int
	switch len(w.Shape) {
	case 4:
		cout, wcin, kh, kw = w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	case 2:
		cout, wcin, kh, kw = w.Shape[0], w.Shape[1], 1, 1
	default:
		panic(fmt.Sprintf("tensor.Conv2d: weight must be [Cout, Cin, kh, kw], got shape %v", w.Shape))
	}
	if wcin != cin {
		panic(fmt.Sprintf("tensor.Conv2d: input has %d channels, weight %v expects %d", cin, w.Shape, wcin))
	}
	if stride < 1 || pad < 0 || h+2*pad < kh || wd+2*pad < kw {
		panic(fmt.Sprintf("tensor.Conv2d: bad stride %d / pad %d for input %v and kernel %dx%d", stride, pad, x.Shape, kh, kw))
	}
	if bias != nil && len(bias) != cout {
		panic(fmt.Sprintf("tensor.Conv2d: bias has %d values, want %d", len(bias), cout))
	}
	oh := (h+2*pad-kh)/stride + 1
	ow := (wd+2*pad-kw)/stride + 1
	out := Empty(n, cout, oh, ow) // every value written: bias fill or GEMM store
	k := cin * kh * kw
	pix := oh * ow
	direct := kh == 1 && kw == 1 && stride == 1 && pad == 0
	// The weight is decoded and packed once for all images when its
	// panels are small enough (prepackConvWeight); in fp32 the largest
	// (1280 channels at the UNet's 8×8 and 16×16 levels, with few pixels
	// per image) are packed block by block inside the GEMM, as often as
	// the GEMM needs them.
	prec := resolve(w.Precision)
	wA := operand{pack: packWeightRows(w, k)}
	mr, _ := asm.GemmTile()
	if prec == PrecisionBF16 {
		mr, _ = asm.GemmTileBF16()
	}
	if prepackConvWeight(cout, k, mr, prec) {
		var release func()
		if prec == PrecisionBF16 {
			wA, release = prepackWeightBF16(w, cout, k, mr)
		} else {
			wA, release = prepack(wA.pack, cout, k, mr)
		}
		defer release()
	}
	for b := 0; b < n; b++ {
		in := x.Data[b*cin*h*wd : (b+1)*cin*h*wd]
		o := out.Data[b*cout*pix : (b+1)*cout*pix]
		if bias != nil {
			// In parallel: this first write to a fresh output also takes
			// its page faults, as slow as the fill itself.
			Parallel(cout, max(1, elementwiseGrain/max(pix, 1)), func(lo, hi int) {
				for c := lo; c < hi; c++ {
					row := o[c*pix : (c+1)*pix]
					v := bias[c]
					for i := range row {
						row[i] = v
					}
				}
			})
		}
		packB := packDepthContig(in, pix)
		if !direct {
			packB = packIm2col(in, h, wd, kh, kw, stride, pad, ow)
		}
		gemmDriver(cout, pix, k, wA, operand{pack: packB}, o, pix, bias != nil, prec)
	}
	return out
}

// packIm2col is the B packer of a convolution: element (j, p) of the
// virtual matrix colsᵀ [OH·OW, Cin·kh·kw] is the input value under kernel
// tap p = (c·kh + i)·kw + j' for output pixel j = y·OW + x, that is
// in[c, y·s + i − pad, x·s + j' − pad], or 0 in the padding. The pixels of
// a panel are first cut into runs that lie on one output row; every tap
// then copies each run from one input row (contiguous for stride 1:
// im2colStride1).
func packIm2col(in []float32, h, wd, kh, kw, stride, pad, ow int) packer {
	return func(dst []float32, r0, rows, p0, kc, tile int, _ []float32) {
		var runBuf [64]im2colRun
		for q := 0; q*tile < rows; q++ {
			panel := dst[q*kc*tile : (q+1)*kc*tile]
			n := min(tile, rows-q*tile)
			j0 := r0 + q*tile
			runs := runBuf[:0]
			for i, oy, ox := 0, j0/ow, j0%ow; i < n; oy, ox = oy+1, 0 {
				l := min(n-i, ow-ox)
				runs = append(runs, im2colRun{i, l, oy, ox})
				i += l
			}
			if stride == 1 {
				im2colStride1(panel, in, h, wd, kh, kw, pad, runs, n, p0, kc, tile)
				continue
			}
			c, ky, kx := p0/(kh*kw), p0/kw%kh, p0%kw // tap p0, then advanced incrementally
			for p := 0; p < kc; p++ {
				plane := in[c*h*wd : (c+1)*h*wd]
				row := panel[p*tile : (p+1)*tile]
				for _, r := range runs {
					seg := row[r.i : r.i+r.n]
					iy := r.oy*stride + ky - pad
					if iy < 0 || iy >= h {
						clear(seg)
						continue
					}
					src := plane[iy*wd : (iy+1)*wd]
					ix0 := r.ox*stride + kx - pad
					for t := range seg {
						if ix := ix0 + t*stride; ix >= 0 && ix < wd {
							seg[t] = src[ix]
						} else {
							seg[t] = 0
						}
					}
				}
				clear(row[n:])
				if kx++; kx == kw {
					if kx, ky = 0, ky+1; ky == kh {
						ky, c = 0, c+1
					}
				}
			}
		}
	}
}

// im2colRun is a run of panel rows [i, i+n) that are the output pixels
// (oy, ox), …, (oy, ox+n−1) of one output row.
type im2colRun struct{ i, n, oy, ox int }

// im2colStride1 packs one panel of n pixels (cut into runs) for depth
// [p0, p0+kc) of a stride-1 convolution, run by run (im2colRunStride1),
// and zeroes the rows past n of a last, partial panel.
func im2colStride1(panel, in []float32, h, wd, kh, kw, pad int, runs []im2colRun, n, p0, kc, tile int) {
	for _, r := range runs {
		im2colRunStride1(panel, in, h, wd, kh, kw, pad, r, p0, kc, tile)
	}
	if n < tile {
		for p := 0; p < kc; p++ {
			clear(panel[p*tile+n : (p+1)*tile])
		}
	}
}

// im2colRunStride1 writes the columns [r.i, r.i+r.n) of a panel's depth
// rows [p0, p0+kc): tap (c, ky, kx) reads the input row iy = r.oy + ky −
// pad from column r.ox + kx − pad on, so the taps are walked in (c, ky, kx)
// order with the row's offset computed once per (c, ky), and a run wholly
// inside the input (the common case) is one copy; runs at the padding are
// clipped and zero-filled. BenchmarkIm2col (one thread, panels of 32, AMD
// Zen 5), against the general loop that recomputed every run's row for
// every tap: 320×64×64 5.4 → 2.9 ms, 128×256×256 38.5 → 19.5 ms.
func im2colRunStride1(panel, in []float32, h, wd, kh, kw, pad int, r im2colRun, p0, kc, tile int) {
	c, ky, kx := p0/(kh*kw), p0/kw%kh, p0%kw
	for p := 0; p < kc; {
		iy := r.oy + ky - pad
		inside := iy >= 0 && iy < h
		src := c*h*wd + iy*wd + r.ox - pad // tap kx reads in[src+kx:]
		for ; kx < kw && p < kc; kx, p = kx+1, p+1 {
			seg := panel[p*tile+r.i : p*tile+r.i+r.n]
			ix0 := r.ox + kx - pad
			lo, hi := max(0, -ix0), min(r.n, wd-ix0)
			switch {
			case !inside || hi <= lo:
				clear(seg)
			case hi-lo != r.n: // clipped by the padding
				clear(seg[:lo])
				copy(seg[lo:hi], in[src+kx+lo:src+kx+hi])
				clear(seg[hi:])
			default: // the whole run: one copy, no clears (8% faster on 320×64×64)
				copy(seg, in[src+kx:src+kx+r.n])
			}
		}
		kx = 0
		if ky++; ky == kh {
			ky, c = 0, c+1
		}
	}
}

// prepackMaxFloats bounds the float32 weight panels Conv2d packs up front
// (16 MiB: every VAE convolution and the UNet's 64×64 and 32×32 levels).
// A variable so that tests can run both paths.
var prepackMaxFloats = 4 << 20

// prepackConvWeight reports whether Conv2d packs its weight [cout, k] up
// front, once per call, in tiles of mr rows: in fp32 when the float32
// panels fit in prepackMaxFloats; in bf16 when the pair panels (half the
// words) fit in 4·prepackMaxFloats words (64 MiB), which takes in every
// convolution of the SD 1.5 and SDXL UNets. Otherwise the GEMM packs the
// weight block by block, once per image, each time from its stored dtype
// through float32 panels to pairs: for the 1280-channel convolutions of the
// UNets' deepest levels, with few pixels per image, that costs as much as
// a third of the product. Measured on two threads, batch 2 (AMD Zen 5,
// 2026-12-02): bf16 3×3 1280→1280 at 16×16 42.7 → 37.5 ms, at 8×8 21.5 →
// 16.0 ms, 2560→1280 at 16×16 97.6 → 78.9 ms; fp32 gained nothing from a
// larger limit (64 ms either way at 16×16), so it stays.
func prepackConvWeight(cout, k, mr int, prec Precision) bool {
	strips := (cout + mr - 1) / mr * mr
	if prec == PrecisionBF16 {
		return strips*((k+1)/2) <= 4*prepackMaxFloats
	}
	return strips*k <= prepackMaxFloats
}
