package unet

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// resnetBlock is diffusers' ResnetBlock2D (LDM ResBlock) with a time
// embedding:
//
//	h   = conv1(SiLU(norm1(x)))
//	h  += time_emb_proj(SiLU(temb))[:, :, None, None]
//	h   = conv2(SiLU(norm2(h)))          (dropout is the identity at inference)
//	out = shortcut(x) + h                (shortcut: 1×1 conv when channels change, else identity)
type resnetBlock struct {
	norm1       *nn.GroupNorm
	conv1       *nn.Conv2d
	timeEmbProj *nn.Linear
	norm2       *nn.GroupNorm
	conv2       *nn.Conv2d
	shortcut    *nn.Conv2d // nil when in == out
}

func newResnet(w weightSource, cfg *Config, module string, in, out int) *resnetBlock {
	r := &resnetBlock{
		norm1:       w.groupNorm(module+".norm1", cfg.NormGroups, in, cfg.NormEps),
		conv1:       w.conv(module+".conv1", in, out, 3, 1, 1),
		timeEmbProj: w.linear(module+".time_emb_proj", cfg.TimeEmbedDim(), out, true),
		norm2:       w.groupNorm(module+".norm2", cfg.NormGroups, out, cfg.NormEps),
		conv2:       w.conv(module+".conv2", out, out, 3, 1, 1),
	}
	if in != out {
		r.shortcut = w.conv(module+".conv_shortcut", in, out, 1, 1, 0)
	}
	return r
}

// forward applies the block to x [B, in, h, w]; tembAct is SiLU(temb)
// [B, TimeEmbedDim], shared by every resnet of the network.
func (r *resnetBlock) forward(x, tembAct *tensor.Tensor) *tensor.Tensor {
	h := r.norm1.ForwardSiLU(x)
	h = r.conv1.Forward(h)
	addSampleChannelBias(h, r.timeEmbProj.Forward(tembAct))
	h = r.norm2.ForwardSiLUInPlace(h) // h is conv1's fresh output: reuse it
	h = r.conv2.Forward(h)
	if r.shortcut != nil {
		x = r.shortcut.Forward(x)
	}
	tensor.AddInPlace(h, x)
	return h
}

// addSampleChannelBias adds bias[b, c] to every position of x[b, c, …]
// (x [B, C, …], bias [B, C]): a per-sample channel bias, as the resnet's
// time-embedding projection is.
func addSampleChannelBias(x, bias *tensor.Tensor) {
	b, c := x.Shape[0], x.Shape[1]
	if bias.Len() != b*c {
		panic(fmt.Sprintf("unet: per-sample bias %v for activations %v", bias.Shape, x.Shape))
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
