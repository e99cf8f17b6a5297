package unet

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// TapFunc receives intermediate activations during ForwardTaps, named by
// diffusers module ("conv_in", "down_blocks.0.resnets.1", "down_blocks.0",
// "mid_block", "up_blocks.2.attentions.0", "conv_norm_out", …). The tensor
// is the network's own buffer and may change after tap returns (e.g.
// conv_norm_out is then passed through SiLU in place): Clone it to keep
// it, never modify it.
type TapFunc func(name string, t *tensor.Tensor)

// CheckInputs reports whether x [B, InChannels, h, w], timesteps [B],
// context [B, L, CrossAttentionDim] and y ([B, ProjectionClassEmbeddingsInputDim]
// for SDXL-style models, else nil) fit the network.
func (u *UNet) CheckInputs(x *tensor.Tensor, timesteps []float32, context, y *tensor.Tensor) error {
	cfg := u.Config
	if x == nil || len(x.Shape) != 4 || x.Shape[1] != cfg.InChannels || x.Shape[0] < 1 || x.Shape[2] < 1 || x.Shape[3] < 1 {
		return fmt.Errorf("unet: latent x must be [B, %d, h, w], found %v", cfg.InChannels, shapeOf(x))
	}
	b := x.Shape[0]
	if len(timesteps) != b {
		return fmt.Errorf("unet: %d timesteps for a batch of %d", len(timesteps), b)
	}
	if context == nil || len(context.Shape) != 3 || context.Shape[0] != b || context.Shape[1] < 1 || context.Shape[2] != cfg.CrossAttentionDim {
		return fmt.Errorf("unet: context must be [%d, L, %d], found %v", b, cfg.CrossAttentionDim, shapeOf(context))
	}
	if d := cfg.ProjectionClassEmbeddingsInputDim; cfg.AdditionEmbedType != "" {
		if y == nil || len(y.Shape) != 2 || y.Shape[0] != b || y.Shape[1] != d {
			return fmt.Errorf("unet: %s added conditioning y must be [%d, %d], found %v", cfg.AdditionEmbedType, b, d, shapeOf(y))
		}
	} else if y != nil {
		return fmt.Errorf("unet: y given but the model has no added conditioning")
	}
	return nil
}

func shapeOf(t *tensor.Tensor) string {
	if t == nil {
		return "nil"
	}
	return tensor.ShapeString(t.Shape)
}

// Forward predicts the noise eps [B, OutChannels, h, w] in the latent x
// [B, InChannels, h, w] at the (possibly fractional) timesteps [B], one per
// sample, conditioned on context [B, L, CrossAttentionDim] (L any length,
// e.g. 77·k for chunked prompts). Each sample uses its own timestep and
// context; the whole batch goes through every layer together. It panics
// with the CheckInputs message on ill-shaped inputs (a programming error).
func (u *UNet) Forward(x *tensor.Tensor, timesteps []float32, context *tensor.Tensor) *tensor.Tensor {
	return u.ForwardTaps(x, timesteps, context, nil)
}

// Eps is the UNet as the pipeline calls it: the noise prediction
// ε = UNet(x, t, context, y) for a batch whose shapes CheckInputs accepted
// (y nil for models without added conditioning).
func (u *UNet) Eps(x *tensor.Tensor, timesteps []float32, context, y *tensor.Tensor) *tensor.Tensor {
	return u.ForwardY(x, timesteps, context, y, nil)
}

// ForwardTaps is Forward that also hands intermediate activations to tap
// (nil for none); see TapFunc for the names.
func (u *UNet) ForwardTaps(x *tensor.Tensor, timesteps []float32, context *tensor.Tensor, tap TapFunc) *tensor.Tensor {
	return u.ForwardY(x, timesteps, context, nil, tap)
}

// ForwardY is ForwardTaps with the added conditioning vector y [B,
// ProjectionClassEmbeddingsInputDim] of SDXL-style models (see SDXLVector;
// nil for SD1/SD2): temb += add_embedding(y).
func (u *UNet) ForwardY(x *tensor.Tensor, timesteps []float32, context, y *tensor.Tensor, tap TapFunc) *tensor.Tensor {
	if err := u.CheckInputs(x, timesteps, context, y); err != nil {
		panic(err.Error())
	}
	if tap == nil {
		tap = func(string, *tensor.Tensor) {}
	}
	cfg := u.Config

	// Time embedding: sinusoid of width C0, then Linear → SiLU → Linear.
	// Every resnet consumes SiLU(temb), so that is computed once.
	tproj := nn.TimestepEmbedding(timesteps, cfg.BlockOutChannels[0], cfg.FlipSinToCos, cfg.FreqShift, 1, 10000)
	tap("time_proj", tproj)
	h := u.timeLinear1.Forward(tproj)
	tensor.SiLUInPlace(h)
	temb := u.timeLinear2.Forward(h)
	tap("time_embedding", temb)
	if u.addLinear1 != nil {
		a := u.addLinear1.Forward(y)
		tensor.SiLUInPlace(a)
		a = u.addLinear2.Forward(a)
		tap("add_embedding", a)
		tensor.AddInPlace(temb, a)
	}
	tembAct := temb.Clone()
	tensor.SiLUInPlace(tembAct)

	h = u.convIn.Forward(x)
	tap("conv_in", h)
	skips := []*tensor.Tensor{h}

	for i, b := range u.down {
		for j, r := range b.resnets {
			h = r.Forward(h, tembAct)
			tap(fmt.Sprintf("down_blocks.%d.resnets.%d", i, j), h)
			if b.attentions != nil {
				h = b.attentions[j].forward(h, context)
				tap(fmt.Sprintf("down_blocks.%d.attentions.%d", i, j), h)
			}
			skips = append(skips, h)
		}
		if b.downsample != nil {
			h = b.downsample.Forward(h)
			tap(fmt.Sprintf("down_blocks.%d.downsamplers.0", i), h)
			skips = append(skips, h)
		}
		tap(fmt.Sprintf("down_blocks.%d", i), h)
	}

	h = u.mid.resnets[0].Forward(h, tembAct)
	tap("mid_block.resnets.0", h)
	if u.mid.attention != nil {
		h = u.mid.attention.forward(h, context)
		tap("mid_block.attentions.0", h)
	}
	h = tensor.Replace(h, u.mid.resnets[1].Forward(h, tembAct))
	tap("mid_block.resnets.1", h)
	tap("mid_block", h)

	for i, b := range u.up {
		for j, r := range b.resnets {
			skip := skips[len(skips)-1]
			skips[len(skips)-1] = nil // let the skip's memory go once used
			skips = skips[:len(skips)-1]
			cat := tensor.Concat(1, h, skip)
			tensor.Recycle(h, skip)
			h = tensor.Replace(cat, r.Forward(cat, tembAct))
			tap(fmt.Sprintf("up_blocks.%d.resnets.%d", i, j), h)
			if b.attentions != nil {
				h = b.attentions[j].forward(h, context)
				tap(fmt.Sprintf("up_blocks.%d.attentions.%d", i, j), h)
			}
		}
		if b.upsample != nil {
			// The next skip has the size to reach: 2× normally, less when
			// a downsampler rounded an odd size up (as diffusers'
			// upsample_size does).
			target := skips[len(skips)-1]
			up := upsampleNearest(h, target.Shape[2], target.Shape[3])
			tensor.Recycle(h)
			h = b.upsample.Forward(up)
			tensor.Recycle(up)
			tap(fmt.Sprintf("up_blocks.%d.upsamplers.0", i), h)
		}
		tap(fmt.Sprintf("up_blocks.%d", i), h)
	}

	h = tensor.Replace(h, u.normOut.Forward(h))
	tap("conv_norm_out", h)
	tensor.SiLUInPlace(h)
	h = tensor.Replace(h, u.convOut.Forward(h))
	tap("conv_out", h)
	return h
}
