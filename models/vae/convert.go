package vae

import (
	"strings"

	"github.com/godiffusion/godiffusion/safetensors"
)

// vaeParts are the first components of every AutoencoderKL key.
var vaeParts = []string{"encoder.", "decoder.", "quant_conv.", "post_quant_conv."}

// DiffusersTensor converts one tensor of a checkpoint whose VAE is named as
// n says (key prefix and layout) to diffusers' AutoencoderKL name, the
// stored bytes unchanged (diffusers' convert_ldm_vae_checkpoint is the
// reference): the prefix is dropped, LDM names become diffusers names
// (LDMToDiffusers), and the mid-block attention's q, k, v and proj_out
// weights, 1×1 convolutions [C, C, 1, 1] in LDM files, become the linear
// layers [C, C] diffusers stores (the same values). ok is false for a
// tensor that is not the VAE's (another prefix, another network).
func (n Names) DiffusersTensor(t safetensors.Tensor) (out safetensors.Tensor, ok bool) {
	name, found := strings.CutPrefix(t.Name, n.Prefix)
	if !found || !hasAnyPrefix(name, vaeParts) {
		return t, false
	}
	if n.Layout == LDM {
		name = LDMToDiffusers(name, n.Levels)
	}
	out = safetensors.Tensor{Name: name, DType: t.DType, Shape: t.Shape, Data: t.Data}
	if len(t.Shape) == 4 && t.Shape[2] == 1 && t.Shape[3] == 1 && strings.Contains(name, ".attentions.") {
		for _, l := range []string{".to_q.weight", ".to_k.weight", ".to_v.weight", ".to_out.0.weight"} {
			if strings.HasSuffix(name, l) {
				out.Shape = t.Shape[:2:2]
			}
		}
	}
	return out, true
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// DiffusersJSON returns c as a diffusers AutoencoderKL config.json (the
// fields ParseConfig reads, with FLUX.1-dev's vae/config.json as the
// model: DownEncoderBlock2D / UpDecoderBlock2D per level, silu).
func (c Config) DiffusersJSON() map[string]any {
	down := make([]string, len(c.BlockOutChannels))
	up := make([]string, len(c.BlockOutChannels))
	for i := range down {
		down[i], up[i] = "DownEncoderBlock2D", "UpDecoderBlock2D"
	}
	return map[string]any{
		"_class_name":             "AutoencoderKL",
		"act_fn":                  "silu",
		"block_out_channels":      c.BlockOutChannels,
		"down_block_types":        down,
		"in_channels":             c.InChannels,
		"latent_channels":         c.LatentChannels,
		"layers_per_block":        c.LayersPerBlock,
		"mid_block_add_attention": c.MidAttention,
		"norm_num_groups":         c.Groups,
		"out_channels":            c.OutChannels,
		"scaling_factor":          c.ScalingFactor,
		"shift_factor":            c.ShiftFactor,
		"up_block_types":          up,
		"use_post_quant_conv":     c.UsePostQuantConv,
		"use_quant_conv":          c.UseQuantConv,
	}
}
