package vae

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// encoder maps an image [B, InChannels, H, W] to the moments
// [B, 2·LatentChannels, H/8, W/8] (mean ‖ logvar, before quant_conv):
//
//	conv_in → for each level: LayersPerBlock resnets, then a downsample except at the last level
//	        → mid block → GroupNorm → SiLU → conv_out
type encoder struct {
	convIn  *nn.Conv2d
	down    []encoderLevel
	mid     *midBlock
	normOut *nn.GroupNorm
	convOut *nn.Conv2d
}

type encoderLevel struct {
	resnets []*nn.ResnetBlock2D
	down    *downsample // nil at the last level
}

func newEncoder(s source, c Config) *encoder {
	ch := c.BlockOutChannels
	e := &encoder{convIn: s.conv("encoder.conv_in", c.InChannels, ch[0], 3, 1, 1)}
	in := ch[0]
	for i, out := range ch {
		var lvl encoderLevel
		for j := 0; j < c.LayersPerBlock; j++ {
			lvl.resnets = append(lvl.resnets, newResnet(s, fmt.Sprintf("encoder.down_blocks.%d.resnets.%d", i, j), in, out))
			in = out
		}
		if i < len(ch)-1 {
			lvl.down = &downsample{s.conv(fmt.Sprintf("encoder.down_blocks.%d.downsamplers.0.conv", i), out, out, 3, 2, 0)}
		}
		e.down = append(e.down, lvl)
	}
	last := ch[len(ch)-1]
	e.mid = newMidBlock(s, "encoder.mid_block", last, c.MidAttention)
	e.normOut = s.norm("encoder.conv_norm_out", last)
	e.convOut = s.conv("encoder.conv_out", last, 2*c.LatentChannels, 3, 1, 1)
	return e
}

func (e *encoder) forward(x *tensor.Tensor, tap tapFunc) *tensor.Tensor {
	h := e.convIn.Forward(x)
	tap.emit("encoder.conv_in", h)
	for i, lvl := range e.down {
		for _, r := range lvl.resnets {
			h = r.Forward(h, nil)
		}
		if lvl.down != nil {
			h = lvl.down.forward(h)
		}
		tap.emit(fmt.Sprintf("encoder.down_blocks.%d", i), h)
	}
	h = e.mid.forward(h)
	tap.emit("encoder.mid_block", h)
	h = e.normOut.Forward(h)
	tap.emit("encoder.conv_norm_out", h)
	tensor.SiLUInPlace(h)
	h = e.convOut.Forward(h)
	tap.emit("encoder.conv_out", h)
	return h
}

// tapFunc, when set (by tests), receives intermediate activations named by
// their diffusers module path, as the reference fixtures record them.
type tapFunc func(name string, t *tensor.Tensor)

func (f tapFunc) emit(name string, t *tensor.Tensor) {
	if f != nil {
		f(name, t)
	}
}
