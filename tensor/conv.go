package tensor

// Conv2d computes the 2-D cross-correlation of x [N, Cin, H, W] with the
// weight w [Cout, Cin, kh, kw] plus bias [Cout] (nil for none), with equal
// stride and zero padding on both axes, as torch.nn.functional.conv2d:
//
//	out[n, o, y, x] = bias[o] + Σ_{c,i,j} w[o, c, i, j] · in[n, c, y·s + i − p, x·s + j − p]
//
// Output is [N, Cout, (H+2p−kh)/s+1, (W+2p−kw)/s+1].
//
// PLACEHOLDER: im2col + GemmW; the fast version replaces it.
func Conv2d(x *Tensor, w *Weight, bias []float32, stride, pad int) *Tensor {
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	if w.Shape[1] != cin {
		panic("tensor.Conv2d: channel mismatch")
	}
	oh := (h+2*pad-kh)/stride + 1
	ow := (wd+2*pad-kw)/stride + 1
	out := New(n, cout, oh, ow)
	k := cin * kh * kw
	cols := make([]float32, oh*ow*k) // [oh*ow, k]
	tmp := make([]float32, oh*ow*cout)
	for b := 0; b < n; b++ {
		in := x.Data[b*cin*h*wd : (b+1)*cin*h*wd]
		Parallel(oh, 1, func(lo, hi int) {
			for oy := lo; oy < hi; oy++ {
				for ox := 0; ox < ow; ox++ {
					row := cols[(oy*ow+ox)*k : (oy*ow+ox+1)*k]
					idx := 0
					for c := 0; c < cin; c++ {
						for i := 0; i < kh; i++ {
							iy := oy*stride + i - pad
							for j := 0; j < kw; j++ {
								ix := ox*stride + j - pad
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									row[idx] = 0
								} else {
									row[idx] = in[c*h*wd+iy*wd+ix]
								}
								idx++
							}
						}
					}
				}
			}
		})
		GemmW(oh*ow, cout, k, cols, k, w, tmp, cout, false)
		o := out.Data[b*cout*oh*ow : (b+1)*cout*oh*ow]
		for p := 0; p < oh*ow; p++ {
			for c := 0; c < cout; c++ {
				v := tmp[p*cout+c]
				if bias != nil {
					v += bias[c]
				}
				o[c*oh*ow+p] = v
			}
		}
	}
	return out
}
