package vae

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// decoder maps a latent [B, LatentChannels, h, w] (after post_quant_conv) to
// an image [B, OutChannels, 8h, 8w]:
//
//	conv_in → mid block → for each level from the lowest resolution up:
//	LayersPerBlock+1 resnets, then an upsample except at the last level
//	→ GroupNorm → SiLU → conv_out
type decoder struct {
	convIn  *nn.Conv2d
	mid     *midBlock
	up      []decoderLevel // up[0] is the lowest resolution (diffusers up_blocks order)
	normOut *nn.GroupNorm
	convOut *nn.Conv2d
}

type decoderLevel struct {
	resnets []*nn.ResnetBlock2D
	up      *upsample // nil at the last level
}

func newDecoder(s source, c Config) *decoder {
	n := len(c.BlockOutChannels)
	rev := make([]int, n) // channels from the lowest resolution up
	for i := range rev {
		rev[i] = c.BlockOutChannels[n-1-i]
	}
	d := &decoder{convIn: s.conv("decoder.conv_in", c.LatentChannels, rev[0], 3, 1, 1)}
	d.mid = newMidBlock(s, "decoder.mid_block", rev[0], c.MidAttention)
	in := rev[0]
	for i, out := range rev {
		var lvl decoderLevel
		for j := 0; j <= c.LayersPerBlock; j++ {
			lvl.resnets = append(lvl.resnets, newResnet(s, fmt.Sprintf("decoder.up_blocks.%d.resnets.%d", i, j), in, out))
			in = out
		}
		if i < n-1 {
			lvl.up = &upsample{s.conv(fmt.Sprintf("decoder.up_blocks.%d.upsamplers.0.conv", i), out, out, 3, 1, 1)}
		}
		d.up = append(d.up, lvl)
	}
	d.normOut = s.norm("decoder.conv_norm_out", rev[n-1])
	d.convOut = s.conv("decoder.conv_out", rev[n-1], c.OutChannels, 3, 1, 1)
	if d.convOut != nil && d.convOut.W != nil {
		d.convOut.W.Precision = tensor.PrecisionFP32 // the pixels stay exact under --precision bf16
	}
	return d
}

func (d *decoder) forward(z *tensor.Tensor, tap tapFunc) *tensor.Tensor {
	h := d.convIn.Forward(z)
	tap.emit("decoder.conv_in", h)
	h = tensor.Replace(h, d.mid.forward(h))
	tap.emit("decoder.mid_block", h)
	for i, lvl := range d.up {
		for _, r := range lvl.resnets {
			h = tensor.Replace(h, r.Forward(h, nil))
		}
		if lvl.up != nil {
			h = tensor.Replace(h, lvl.up.forward(h))
		}
		tap.emit(fmt.Sprintf("decoder.up_blocks.%d", i), h)
	}
	h = tensor.Replace(h, d.normOut.Forward(h))
	tap.emit("decoder.conv_norm_out", h)
	tensor.SiLUInPlace(h)
	h = tensor.Replace(h, d.convOut.Forward(h))
	tap.emit("decoder.conv_out", h)
	return h
}
