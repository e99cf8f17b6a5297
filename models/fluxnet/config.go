package fluxnet

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// Config holds the hyper-parameters of a Flux.1 transformer, named as BFL's
// FluxParams (flux/model.py). Load infers every field from tensor shapes.
type Config struct {
	InChannels        int     // packed latent width: 16 channels × 2×2 patch = 64
	OutChannels       int     // final_layer.linear rows (= InChannels)
	VecInDim          int     // pooled text width y (CLIP-L: 768)
	ContextInDim      int     // text token width txt (T5-XXL: 4096)
	HiddenSize        int     // token width inside the blocks (3072)
	MLPRatio          float64 // MLP hidden width / HiddenSize (4)
	NumHeads          int     // HiddenSize / head dim (24)
	Depth             int     // double-stream blocks (19)
	DepthSingleBlocks int     // single-stream blocks (38)
	AxesDim           []int   // RoPE channels per position axis (16, 56, 56); Σ = head dim
	Theta             float64 // RoPE base (10000)
	QKVBias           bool    // the double blocks' qkv projections have a bias
	GuidanceEmbed     bool    // guidance_in present: Flux.1-dev yes, schnell no
}

// DevConfig returns the shapes of the released Flux.1-dev transformer (12 B
// parameters); SchnellConfig is the same without the guidance embedding.
func DevConfig() Config {
	return Config{
		InChannels: 64, OutChannels: 64, VecInDim: 768, ContextInDim: 4096, HiddenSize: 3072,
		MLPRatio: 4, NumHeads: 24, Depth: 19, DepthSingleBlocks: 38, AxesDim: []int{16, 56, 56},
		Theta: 10000, QKVBias: true, GuidanceEmbed: true,
	}
}

// SchnellConfig returns the shapes of Flux.1-schnell (DevConfig without
// guidance_in).
func SchnellConfig() Config {
	c := DevConfig()
	c.GuidanceEmbed = false
	return c
}

// HeadDim is the channels per attention head, HiddenSize/NumHeads.
func (c Config) HeadDim() int { return c.HiddenSize / c.NumHeads }

// MLPHidden is the MLP's inner width, HiddenSize·MLPRatio (BFL
// int(hidden_size·mlp_ratio); rounded here, as the ratio is inferred from
// that width).
func (c Config) MLPHidden() int { return int(math.Round(float64(c.HiddenSize) * c.MLPRatio)) }

// AxesFromHeadDim splits a head of headDim channels over the three RoPE
// position axes (text/time, row, column) as the real model does: 1/8, 7/16,
// 7/16 (128 → 16, 56, 56; the tiny fixtures' 32 → 4, 14, 14). Each part
// must be even (channels rotate in pairs), so headDim must be a multiple
// of 32.
func AxesFromHeadDim(headDim int) ([]int, error) {
	if headDim <= 0 || headDim%32 != 0 {
		return nil, fmt.Errorf("fluxnet: head dim %d is not a positive multiple of 32, cannot split it into RoPE axes 1/8, 7/16, 7/16", headDim)
	}
	return []int{headDim / 8, headDim * 7 / 16, headDim * 7 / 16}, nil
}

// Validate checks that the fields fit together.
func (c Config) Validate() error {
	switch {
	case c.HiddenSize <= 0 || c.NumHeads <= 0 || c.HiddenSize%c.NumHeads != 0:
		return fmt.Errorf("fluxnet: hidden size %d does not split into %d heads", c.HiddenSize, c.NumHeads)
	case c.InChannels <= 0 || c.OutChannels <= 0 || c.VecInDim <= 0 || c.ContextInDim <= 0:
		return fmt.Errorf("fluxnet: channel widths must be positive (in %d, out %d, vec %d, context %d)", c.InChannels, c.OutChannels, c.VecInDim, c.ContextInDim)
	case c.MLPHidden() <= 0 || c.Depth < 0 || c.DepthSingleBlocks < 0 || c.Depth+c.DepthSingleBlocks == 0:
		return fmt.Errorf("fluxnet: mlp ratio %g, %d double and %d single blocks", c.MLPRatio, c.Depth, c.DepthSingleBlocks)
	}
	sum := 0
	for _, d := range c.AxesDim {
		if d <= 0 || d%2 != 0 {
			return fmt.Errorf("fluxnet: RoPE axes %v must be positive and even", c.AxesDim)
		}
		sum += d
	}
	if sum != c.HeadDim() {
		return fmt.Errorf("fluxnet: RoPE axes %v sum to %d, head dim is %d", c.AxesDim, sum, c.HeadDim())
	}
	return nil
}

// shapeError names a tensor whose shape disagrees with another one.
func shapeError(file, key string, found []int, expected []int, why string) error {
	return fmt.Errorf("%s: tensor %q has shape %s, expected %s (%s)", file, key, tensor.ShapeString(found), tensor.ShapeString(expected), why)
}
