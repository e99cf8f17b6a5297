package unet

import "github.com/godiffusion/godiffusion/tensor"

// upsampleNearest resizes x [N, C, h, w] to [N, C, oh, ow] by nearest
// neighbour, as torch's interpolate(mode="nearest", size=…):
// out[y, x] = in[⌊y·h/oh⌋, ⌊x·w/ow⌋] (scale computed in float32 like torch).
// The usual case, oh = 2h and ow = 2w, is tensor.UpsampleNearest2x.
func upsampleNearest(x *tensor.Tensor, oh, ow int) *tensor.Tensor {
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	if oh == 2*h && ow == 2*w {
		return tensor.UpsampleNearest2x(x)
	}
	sy, sx := float32(h)/float32(oh), float32(w)/float32(ow)
	srcY := make([]int, oh)
	for y := range srcY {
		srcY[y] = min(int(float32(y)*sy), h-1)
	}
	srcX := make([]int, ow)
	for i := range srcX {
		srcX[i] = min(int(float32(i)*sx), w-1)
	}
	out := tensor.Empty(n, c, oh, ow)
	tensor.Parallel(n*c, 1, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			in := x.Data[p*h*w : (p+1)*h*w]
			o := out.Data[p*oh*ow : (p+1)*oh*ow]
			for y, sy := range srcY {
				row := in[sy*w : (sy+1)*w]
				for i, sx := range srcX {
					o[y*ow+i] = row[sx]
				}
			}
		}
	})
	return out
}
