package unet

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/godiffusion/godiffusion/nn"
)

// InferOptions supplies what a single-file checkpoint's tensor shapes do not
// say. Zero values pick the defaults documented on each field.
type InferOptions struct {
	// NormGroups is the GroupNorm group count (shapes cannot tell it).
	// 0 means 32, the value of every real SD model; the tiny test fixtures
	// use 4 and must pass it (or load a diffusers config.json instead).
	NormGroups int
	// Heads fixes the number of attention heads at every level; HeadDim
	// fixes the head width instead (heads = C/HeadDim). With neither, an
	// SD1-style UNet (1×1-conv proj_in, or a 768-wide context) gets 8 heads
	// and others (SD2, SDXL: Linear proj_in, 1024/2048 context) 64-wide
	// heads, as those models use.
	Heads   int
	HeadDim int
	// AdditionTimeEmbedDim is the width of each size sinusoid in an
	// SDXL-style y vector (only needed by SDXLVector); 0 means 256 when y
	// is 2816 wide (SDXL base), else unknown.
	AdditionTimeEmbedDim int
}

// keysUnder lists the keys of p's files that start with p's prefix, with
// the prefix removed.
func keysUnder(p *nn.Params) []string {
	var out []string
	for _, f := range p.Files() {
		for _, n := range f.Names() {
			if s, ok := strings.CutPrefix(n, p.Prefix()); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// InferConfig reads the configuration of an LDM-layout UNet (p positioned at
// its prefix, usually "model.diffusion_model.") from its tensor shapes:
//
//	conv_in input_blocks.0.0.weight [C0, in, 3, 3]; out.2.weight [out, C0, 3, 3]
//	downsamplers input_blocks.K.0.op: the first at K = L+1 gives LayersPerBlock L, their count + 1 the levels
//	input_blocks.(1+i·(L+1)).0.in_layers.2.weight [C_i, …]: level channels
//	….1.proj_in present: the level has cross-attention; its rank: linear or 1×1 conv projection
//	….1.transformer_blocks.k: transformer depth; attn2.to_k.weight [C, D]: context width D
//	output_blocks.(i·(L+1)).1.proj_in present: up block i has cross-attention
//
// GroupNorm groups and attention heads come from opts (see InferOptions).
// label_emb.0.0.weight [T, Y], when present, makes it an SDXL-style
// ("text_time") model with a Y-wide y input. It returns an error naming the
// missing tensor when p does not hold an LDM UNet. (The prediction type,
// eps or v, cannot be told from weights and is the caller's concern.)
func InferConfig(p *nn.Params, opts InferOptions) (*Config, error) {
	where := func() string {
		names := []string{}
		for _, f := range p.Files() {
			names = append(names, f.Path)
		}
		return strings.Join(names, ", ")
	}
	shape := func(key string, rank int) ([]int, error) {
		s := p.Shape(key)
		if s == nil {
			return nil, fmt.Errorf("%s: not an LDM UNet checkpoint: missing tensor %q", where(), p.Prefix()+key)
		}
		if len(s) != rank {
			return nil, fmt.Errorf("%s: tensor %q has rank %d, expected %d", where(), p.Prefix()+key, len(s), rank)
		}
		return s, nil
	}
	convIn, err := shape("input_blocks.0.0.weight", 4)
	if err != nil {
		return nil, err
	}
	convOut, err := shape("out.2.weight", 4)
	if err != nil {
		return nil, err
	}
	// Count input blocks and find the downsamplers.
	nInput := 0
	ops := []int{}
	hasDepth := map[string]int{} // "input_blocks.N.1" → transformer depth
	for _, k := range keysUnder(p) {
		parts := strings.Split(k, ".")
		if len(parts) < 3 {
			continue
		}
		if parts[0] == "input_blocks" || parts[0] == "output_blocks" || parts[0] == "middle_block" {
			n, err := strconv.Atoi(parts[1])
			if err != nil {
				continue
			}
			if parts[0] == "input_blocks" {
				nInput = max(nInput, n+1)
				if len(parts) == 5 && parts[2] == "0" && parts[3] == "op" && parts[4] == "weight" {
					ops = append(ops, n)
				}
			}
			if len(parts) > 5 && parts[3] == "transformer_blocks" {
				blk := strings.Join(parts[:3], ".")
				if d, err := strconv.Atoi(parts[4]); err == nil {
					hasDepth[blk] = max(hasDepth[blk], d+1)
				}
			}
			if parts[0] == "middle_block" && len(parts) > 4 && parts[2] == "transformer_blocks" {
				blk := strings.Join(parts[:2], ".")
				if d, err := strconv.Atoi(parts[3]); err == nil {
					hasDepth[blk] = max(hasDepth[blk], d+1)
				}
			}
		}
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("%s: UNet under %q has no downsampler (input_blocks.N.0.op.weight)", where(), p.Prefix())
	}
	first := ops[0]
	for _, o := range ops {
		first = min(first, o)
	}
	L := first - 1
	levels := len(ops) + 1
	if L < 1 || nInput != 1+levels*(L+1)-1 {
		return nil, fmt.Errorf("%s: %d input_blocks with %d downsamplers (first at %d) do not form a UNet", where(), nInput, len(ops), first)
	}
	c := &Config{
		InChannels:     convIn[1],
		OutChannels:    convOut[0],
		LayersPerBlock: L,
		MidCrossAttn:   p.Has("middle_block.1.proj_in.weight"),
		NormGroups:     32,
		NormEps:        1e-5,
		FlipSinToCos:   true,
	}
	if opts.NormGroups > 0 {
		c.NormGroups = opts.NormGroups
	}
	if p.Has("label_emb.0.0.weight") {
		// SDXL: y = pooled text ‖ 6 size sinusoids through label_emb.
		lw, err := shape("label_emb.0.0.weight", 2)
		if err != nil {
			return nil, err
		}
		c.AdditionEmbedType = "text_time"
		c.ProjectionClassEmbeddingsInputDim = lw[1]
		c.AdditionTimeEmbedDim = opts.AdditionTimeEmbedDim
		if c.AdditionTimeEmbedDim == 0 && lw[1] == 2816 {
			c.AdditionTimeEmbedDim = 256 // SDXL base: 1280 pooled + 6·256
		}
	}
	if _, err := shape("time_embed.0.weight", 2); err != nil {
		return nil, err
	}
	for i := range levels {
		blk := "input_blocks." + strconv.Itoa(1+i*(L+1))
		conv1, err := shape(blk+".0.in_layers.2.weight", 4)
		if err != nil {
			return nil, err
		}
		c.BlockOutChannels = append(c.BlockOutChannels, conv1[0])
		attn := p.Has(blk + ".1.proj_in.weight")
		c.CrossAttnDown = append(c.CrossAttnDown, attn)
		depth := 1
		if attn {
			depth = hasDepth[blk+".1"]
			pin := p.Shape(blk + ".1.proj_in.weight")
			c.UseLinearProjection = len(pin) == 2
			k, err := shape(blk+".1.transformer_blocks.0.attn2.to_k.weight", 2)
			if err != nil {
				return nil, err
			}
			c.CrossAttentionDim = k[1]
		}
		c.TransformerLayers = append(c.TransformerLayers, depth)
	}
	for i := range levels {
		blk := "output_blocks." + strconv.Itoa(i*(L+1))
		attn := p.Has(blk + ".1.proj_in.weight")
		c.CrossAttnUp = append(c.CrossAttnUp, attn)
		depth := 1
		if attn {
			depth = hasDepth[blk+".1"]
		}
		c.UpTransformerLayers = append(c.UpTransformerLayers, depth)
	}
	if c.MidCrossAttn {
		// diffusers uses TransformerLayers[last] for the mid block; make the
		// inferred list agree when only the mid block tells the depth.
		if d := hasDepth["middle_block.1"]; d > 0 && !c.CrossAttnDown[levels-1] {
			c.TransformerLayers[levels-1] = d
		}
		if c.CrossAttentionDim == 0 {
			k, err := shape("middle_block.1.transformer_blocks.0.attn2.to_k.weight", 2)
			if err != nil {
				return nil, err
			}
			c.CrossAttentionDim = k[1]
		}
	}
	if c.CrossAttentionDim == 0 {
		return nil, fmt.Errorf("%s: UNet has no cross-attention layer, so it is not a text-conditioned SD UNet", where())
	}
	for _, ch := range c.BlockOutChannels {
		h := 0
		switch {
		case opts.Heads > 0:
			h = opts.Heads
		case opts.HeadDim > 0:
			h = ch / opts.HeadDim
		case !c.UseLinearProjection || c.CrossAttentionDim == 768:
			h = 8 // SD1: 1×1-conv projections, 768-wide CLIP-L context
		default:
			h = ch / 64
		}
		if h < 1 {
			h = 1
		}
		c.Heads = append(c.Heads, h)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: inferred %w", where(), err)
	}
	return c, nil
}
