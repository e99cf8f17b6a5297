package fluxnet

import (
	"strings"
)

// The network's layers are named here by their BFL keys (flux/model.py,
// modules/layers.py), the names of flux1-dev.safetensors. diffusers'
// FluxTransformer2DModel (transformer/ folders) stores the same weights
// under other names, and splits BFL's fused projections into row blocks
// (convert_flux_transformer_checkpoint_to_diffusers in diffusers'
// loaders/single_file_utils.py is the reference for this table):
//
//   - a double block's qkv [3·H, H] is to_q, to_k, to_v (image stream) or
//     add_q_proj, add_k_proj, add_v_proj (text stream), H rows each;
//   - a single block's linear1 [3·H + mlp, H] is to_q, to_k, to_v, proj_mlp;
//   - the final adaLN projection is stored with its two halves swapped:
//     diffusers' AdaLayerNormContinuous reads (scale, shift), BFL (shift,
//     scale). See diffusersFinalModulation.
//
// The modulation vectors of the blocks keep BFL's order (shift, scale,
// gate), so their weights are the same matrices.

// diffusersTop maps the BFL names outside the blocks to diffusers names.
var diffusersTop = map[string]string{
	"img_in":                "x_embedder",
	"txt_in":                "context_embedder",
	"time_in.in_layer":      "time_text_embed.timestep_embedder.linear_1",
	"time_in.out_layer":     "time_text_embed.timestep_embedder.linear_2",
	"guidance_in.in_layer":  "time_text_embed.guidance_embedder.linear_1",
	"guidance_in.out_layer": "time_text_embed.guidance_embedder.linear_2",
	"vector_in.in_layer":    "time_text_embed.text_embedder.linear_1",
	"vector_in.out_layer":   "time_text_embed.text_embedder.linear_2",
	"final_layer.linear":    "proj_out",
	// final_layer.adaLN_modulation.1 → norm_out.linear, halves swapped.
}

// diffusersDouble maps the layers of double_blocks.N (BFL) to
// transformer_blocks.N (diffusers); several names are row blocks of one
// BFL weight, in order.
var diffusersDouble = map[string][]string{
	"img_mod.lin":              {"norm1.linear"},
	"txt_mod.lin":              {"norm1_context.linear"},
	"img_attn.qkv":             {"attn.to_q", "attn.to_k", "attn.to_v"},
	"txt_attn.qkv":             {"attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"},
	"img_attn.norm.query_norm": {"attn.norm_q"},
	"img_attn.norm.key_norm":   {"attn.norm_k"},
	"txt_attn.norm.query_norm": {"attn.norm_added_q"},
	"txt_attn.norm.key_norm":   {"attn.norm_added_k"},
	"img_attn.proj":            {"attn.to_out.0"},
	"txt_attn.proj":            {"attn.to_add_out"},
	"img_mlp.0":                {"ff.net.0.proj"},
	"img_mlp.2":                {"ff.net.2"},
	"txt_mlp.0":                {"ff_context.net.0.proj"},
	"txt_mlp.2":                {"ff_context.net.2"},
}

// diffusersSingle maps the layers of single_blocks.N (BFL) to
// single_transformer_blocks.N (diffusers).
var diffusersSingle = map[string][]string{
	"linear1":         {"attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp"},
	"linear2":         {"proj_out"},
	"norm.query_norm": {"attn.norm_q"},
	"norm.key_norm":   {"attn.norm_k"},
	"modulation.lin":  {"norm.linear"},
}

// bflFinalModulation is the BFL name of the final layer's adaLN projection
// (Sequential(SiLU, Linear): index 1 is the Linear).
const bflFinalModulation = "final_layer.adaLN_modulation.1"

// diffusersFinalModulation is its diffusers name (rows: scale, then shift).
const diffusersFinalModulation = "norm_out.linear"

// DiffusersNames returns the diffusers module names that hold the BFL
// module name (a layer, without ".weight"), several for a fused
// projection, in row order; ok is false for a name the table does not know.
// The final adaLN projection maps to norm_out.linear, whose rows are in the
// other order (see the package comment above).
func DiffusersNames(bfl string) (names []string, ok bool) {
	if bfl == bflFinalModulation {
		return []string{diffusersFinalModulation}, true
	}
	if d, ok := diffusersTop[bfl]; ok {
		return []string{d}, true
	}
	for _, blk := range []struct {
		bfl, diff string
		table     map[string][]string
	}{{"double_blocks.", "transformer_blocks.", diffusersDouble}, {"single_blocks.", "single_transformer_blocks.", diffusersSingle}} {
		rest, found := strings.CutPrefix(bfl, blk.bfl)
		if !found {
			continue
		}
		n, layer, found := strings.Cut(rest, ".")
		if !found {
			return nil, false
		}
		parts, found := blk.table[layer]
		if !found {
			return nil, false
		}
		out := make([]string, len(parts))
		for i, p := range parts {
			out[i] = blk.diff + n + "." + p
		}
		return out, true
	}
	return nil, false
}
