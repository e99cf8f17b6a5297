package nn

import (
	"fmt"

	"github.com/godiffusion/godiffusion/tensor"
)

// ResnetBlock2D is diffusers' ResnetBlock2D (LDM's ResBlock) at inference,
// shared by the UNet (with a time embedding) and the VAE (without):
//
//	h   = conv1(SiLU(norm1(x)))
//	h  += time_emb_proj(SiLU(temb))[:, :, None, None]   (only when TimeEmbProj is set)
//	h   = conv2(SiLU(norm2(h)))                          (dropout is the identity)
//	out = shortcut(x) + h                                (1×1 conv when channels change, else identity)
type ResnetBlock2D struct {
	Norm1       *GroupNorm
	Conv1       *Conv2d
	TimeEmbProj *Linear // nil in the VAE
	Norm2       *GroupNorm
	Conv2       *Conv2d
	Shortcut    *Conv2d // nil when in == out
}

// Forward applies the block to x [B, in, h, w]. tembAct is SiLU(temb)
// [B, D], shared by every block of a UNet; it is ignored (and may be nil)
// when the block has no TimeEmbProj.
//
// At most x, one intermediate and the convolution's output are alive at
// once: norm2 works in place on conv1's fresh output, and each
// intermediate is recycled (tensor.Recycle) as soon as it is read. x is
// the caller's.
func (r *ResnetBlock2D) Forward(x, tembAct *tensor.Tensor) *tensor.Tensor {
	a := r.Norm1.ForwardSiLU(x)
	h := r.Conv1.Forward(a)
	tensor.Recycle(a)
	if r.TimeEmbProj != nil {
		addSampleChannelBias(h, r.TimeEmbProj.Forward(tembAct))
	}
	a = r.Norm2.ForwardSiLUInPlace(h)
	h = r.Conv2.Forward(a)
	tensor.Recycle(a)
	if r.Shortcut != nil {
		s := r.Shortcut.Forward(x)
		tensor.AddInPlace(h, s)
		tensor.Recycle(s)
	} else {
		tensor.AddInPlace(h, x)
	}
	return h
}

// addSampleChannelBias adds bias[b, c] to every position of x[b, c, …]
// (x [B, C, …], bias [B, C]): a per-sample channel bias, as the resnet's
// time-embedding projection is.
func addSampleChannelBias(x, bias *tensor.Tensor) {
	b, c := x.Shape[0], x.Shape[1]
	if bias.Len() != b*c {
		panic(fmt.Sprintf("nn: per-sample bias %v for activations %v", bias.Shape, x.Shape))
	}
	plane := x.Len() / (b * c)
	tensor.Parallel(b*c, 1+4096/max(plane, 1), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := bias.Data[i]
			row := x.Data[i*plane : (i+1)*plane]
			for j := range row {
				row[j] += v
			}
		}
	})
}
