package vae

import (
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// source hands out the layers of one VAE by diffusers module path (for
// example "decoder.up_blocks.0.resnets.1.conv1"). paramSource reads them
// from a checkpoint, randomSource draws them (random.go).
type source interface {
	conv(path string, in, out, kernel, stride, pad int) *nn.Conv2d
	norm(path string, channels int) *nn.GroupNorm
	linear(path string, in, out int) *nn.Linear
}

// newResnet loads the VAE's ResnetBlock2D at path (no time embedding).
func newResnet(s source, path string, in, out int) *nn.ResnetBlock2D {
	r := &nn.ResnetBlock2D{
		Norm1: s.norm(path+".norm1", in),
		Conv1: s.conv(path+".conv1", in, out, 3, 1, 1),
		Norm2: s.norm(path+".norm2", out),
		Conv2: s.conv(path+".conv2", out, out, 3, 1, 1),
	}
	if in != out {
		r.Shortcut = s.conv(path+".conv_shortcut", in, out, 1, 1, 0)
	}
	return r
}

// attention is the mid block's single-head spatial self-attention over the
// H·W positions of a [B, C, H, W] map (diffusers Attention with
// group_norm, residual_connection and one head of dimension C):
//
//	t   = GroupNorm(x) viewed as [B, H·W, C]
//	out = x + to_out(softmax(q·kᵀ/√C)·v),   q, k, v = to_q(t), to_k(t), to_v(t)
//
// tensor.Attention tiles the keys, so memory stays O(H·W·C) even for the
// 4096 positions of a 512×512 image's latent.
type attention struct {
	norm       *nn.GroupNorm
	q, k, v, o *nn.Linear
}

func newAttention(s source, path string, ch int) *attention {
	return &attention{
		norm: s.norm(path+".group_norm", ch),
		q:    s.linear(path+".to_q", ch, ch),
		k:    s.linear(path+".to_k", ch, ch),
		v:    s.linear(path+".to_v", ch, ch),
		o:    s.linear(path+".to_out.0", ch, ch),
	}
}

// forward returns x with the attention's output added in place (x is the
// mid block's fresh resnet output); to_out writes channel-major straight
// into it (nn.Linear.AddToChannels), with no transposed copy.
func (a *attention) forward(x *tensor.Tensor) *tensor.Tensor {
	n := a.norm.Forward(x)
	t := tensor.NCHWToNLC(n)
	tensor.Recycle(n)
	q, k, v := a.q.Forward(t), a.k.Forward(t), a.v.Forward(t)
	tensor.Recycle(t)
	att := tensor.Attention(q, k, v, 1, false)
	tensor.Recycle(q, k, v)
	a.o.AddToChannels(x, att)
	tensor.Recycle(att)
	return x
}

// midBlock is UNetMidBlock2D: resnet, attention (optional), resnet, all at
// the lowest resolution's channel count.
type midBlock struct {
	res1, res2 *nn.ResnetBlock2D
	attn       *attention // nil when Config.MidAttention is false
}

func newMidBlock(s source, path string, ch int, withAttention bool) *midBlock {
	m := &midBlock{res1: newResnet(s, path+".resnets.0", ch, ch)}
	if withAttention {
		m.attn = newAttention(s, path+".attentions.0", ch)
	}
	m.res2 = newResnet(s, path+".resnets.1", ch, ch)
	return m
}

// forward returns the block's output for x (which stays the caller's).
func (m *midBlock) forward(x *tensor.Tensor) *tensor.Tensor {
	h := m.res1.Forward(x, nil)
	if m.attn != nil {
		h = m.attn.forward(h)
	}
	return tensor.Replace(h, m.res2.Forward(h, nil))
}

// downsample halves the resolution as the LDM encoder does: zero padding of
// one row at the bottom and one column at the right (none at the top/left),
// then a 3×3 convolution with stride 2 and no padding, so an H×W map
// becomes ⌊H/2⌋×⌊W/2⌋.
type downsample struct{ conv *nn.Conv2d }

func (d *downsample) forward(x *tensor.Tensor) *tensor.Tensor {
	return d.conv.Forward(tensor.Pad2d(x, 0, 1, 0, 1))
}

// upsample doubles the resolution: nearest-neighbour ×2, then a 3×3 conv.
type upsample struct{ conv *nn.Conv2d }

func (u *upsample) forward(x *tensor.Tensor) *tensor.Tensor {
	up := tensor.UpsampleNearest2x(x)
	return tensor.Replace(up, u.conv.Forward(up))
}
