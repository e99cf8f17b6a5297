package unet

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
)

// UNet is a loaded UNet2DConditionModel. Weights keep their stored dtype.
// It is safe for concurrent Forward calls (layers are read-only).
type UNet struct {
	Config *Config

	timeLinear1, timeLinear2 *nn.Linear // time_embedding.linear_1/2
	addLinear1, addLinear2   *nn.Linear // add_embedding.linear_1/2 (SDXL), else nil
	convIn                   *nn.Conv2d
	down                     []*downBlock
	mid                      *midBlock
	up                       []*upBlock
	normOut                  *nn.GroupNorm // conv_norm_out
	convOut                  *nn.Conv2d

	numParams, weightBytes int64

	closer func() error // releases the checkpoint files, if the UNet opened them
}

// NumParams returns the number of parameters (SD1.5: 859,520,964).
func (u *UNet) NumParams() int64 { return u.numParams }

// WeightBytes returns the memory the parameters occupy in their stored
// dtypes (biases and norm scales count as float32).
func (u *UNet) WeightBytes() int64 { return u.weightBytes }

// downBlock is CrossAttnDownBlock2D (attentions non-empty) or DownBlock2D:
// L × (resnet [→ attention]), then a stride-2 3×3 conv except at the last level.
type downBlock struct {
	resnets    []*nn.ResnetBlock2D
	attentions []*transformer2D
	downsample *nn.Conv2d // downsamplers.0.conv, nil at the last level
}

// midBlock is UNetMidBlock2DCrossAttn: resnet, attention, resnet (or
// UNetMidBlock2D without the attention).
type midBlock struct {
	resnets   [2]*nn.ResnetBlock2D
	attention *transformer2D
}

// upBlock is CrossAttnUpBlock2D or UpBlock2D: (L+1) × (concat skip →
// resnet [→ attention]), then nearest ×2 upsampling + 3×3 conv except at
// the last (full-resolution) block.
type upBlock struct {
	resnets    []*nn.ResnetBlock2D
	attentions []*transformer2D
	upsample   *nn.Conv2d // upsamplers.0.conv, nil for the last block
}

// build assembles the network of cfg with layers from w. Channel counts
// follow diffusers: the skip stack records the channels of conv_in's output
// and of every down-path resnet/attention/downsampler output; each up-path
// resnet takes [h ‖ skip] and the skips are used in reverse order.
func build(src weightSource, cfg *Config) *UNet {
	w := &countingSource{weightSource: src}
	u := buildLayers(w, cfg)
	u.numParams, u.weightBytes = w.params, w.bytes
	return u
}

func buildLayers(w weightSource, cfg *Config) *UNet {
	c0 := cfg.BlockOutChannels[0]
	u := &UNet{
		Config:      cfg,
		timeLinear1: w.linear("time_embedding.linear_1", c0, cfg.TimeEmbedDim(), true),
		timeLinear2: w.linear("time_embedding.linear_2", cfg.TimeEmbedDim(), cfg.TimeEmbedDim(), true),
		convIn:      w.conv("conv_in", cfg.InChannels, c0, 3, 1, 1),
	}
	if cfg.AdditionEmbedType == "text_time" {
		u.addLinear1 = w.linear("add_embedding.linear_1", cfg.ProjectionClassEmbeddingsInputDim, cfg.TimeEmbedDim(), true)
		u.addLinear2 = w.linear("add_embedding.linear_2", cfg.TimeEmbedDim(), cfg.TimeEmbedDim(), true)
	}
	skips := []int{c0}
	ch := c0
	n := cfg.Levels()
	for i, out := range cfg.BlockOutChannels {
		b := &downBlock{}
		for j := range cfg.LayersPerBlock {
			m := fmt.Sprintf("down_blocks.%d", i)
			b.resnets = append(b.resnets, newResnet(w, cfg, fmt.Sprintf("%s.resnets.%d", m, j), ch, out))
			ch = out
			if cfg.CrossAttnDown[i] {
				b.attentions = append(b.attentions, newTransformer2D(w, cfg, fmt.Sprintf("%s.attentions.%d", m, j), out, cfg.Heads[i], cfg.TransformerLayers[i]))
			}
			skips = append(skips, out)
		}
		if i < n-1 {
			b.downsample = w.conv(fmt.Sprintf("down_blocks.%d.downsamplers.0.conv", i), out, out, 3, 2, 1)
			skips = append(skips, out)
		}
		u.down = append(u.down, b)
	}
	last := n - 1
	u.mid = &midBlock{}
	u.mid.resnets[0] = newResnet(w, cfg, "mid_block.resnets.0", ch, ch)
	if cfg.MidCrossAttn {
		u.mid.attention = newTransformer2D(w, cfg, "mid_block.attentions.0", ch, cfg.Heads[last], cfg.TransformerLayers[last])
	}
	u.mid.resnets[1] = newResnet(w, cfg, "mid_block.resnets.1", ch, ch)
	for i := range n {
		level := n - 1 - i
		out := cfg.BlockOutChannels[level]
		b := &upBlock{}
		for j := range cfg.LayersPerBlock + 1 {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			m := fmt.Sprintf("up_blocks.%d", i)
			b.resnets = append(b.resnets, newResnet(w, cfg, fmt.Sprintf("%s.resnets.%d", m, j), ch+skip, out))
			ch = out
			if cfg.CrossAttnUp[i] {
				b.attentions = append(b.attentions, newTransformer2D(w, cfg, fmt.Sprintf("%s.attentions.%d", m, j), out, cfg.Heads[level], cfg.UpTransformerLayers[i]))
			}
		}
		if i < n-1 {
			b.upsample = w.conv(fmt.Sprintf("up_blocks.%d.upsamplers.0.conv", i), out, out, 3, 1, 1)
		}
		u.up = append(u.up, b)
	}
	u.normOut = w.groupNorm("conv_norm_out", cfg.NormGroups, c0, cfg.NormEps)
	u.convOut = w.conv("conv_out", c0, cfg.OutChannels, 3, 1, 1)
	return u
}

// Close releases the checkpoint files the UNet was loaded from when it
// opened them itself (LoadDiffusersFolder, LoadSingleFile); it is a no-op
// for a UNet built over caller-owned Params or with random weights.
func (u *UNet) Close() error {
	if u.closer == nil {
		return nil
	}
	c := u.closer
	u.closer = nil
	return c()
}
