package fluxnet

import (
	"errors"
	"fmt"
	"strings"

	"github.com/godiffusion/godiffusion/safetensors"
)

// ErrNoDiffusersName is wrapped by DiffusersTensors for a tensor that is
// not one of the transformer's (e.g. the "scaled_fp8" marker of ComfyUI's
// scaled fp8 files): there is nothing to convert it to.
var ErrNoDiffusersName = errors.New("no diffusers name")

// DiffusersTensors converts one tensor of a BFL checkpoint (name without
// the file's prefix, e.g. "double_blocks.0.img_attn.qkv.weight") to the
// tensors of diffusers' FluxTransformer2DModel that hold the same values,
// in the stored dtype (the inverse of what Load reads from a transformer/
// folder; diffusers' convert_flux_transformer_checkpoint_to_diffusers is
// the reference):
//
//   - a layer's ".weight" and ".bias" keep their suffix under the names of
//     DiffusersNames; RMSNorm's ".scale" becomes ".weight";
//   - a fused projection (qkv, linear1) is cut into its row blocks: hidden
//     rows each, the last block (proj_mlp of linear1) taking the rest. The
//     blocks are views of t.Data, nothing is copied;
//   - the final adaLN projection's two halves change places (BFL: shift,
//     scale; diffusers: scale, shift), which needs one copy of the tensor;
//   - ComfyUI's per-tensor fp8 "scale_weight" goes with every block of its
//     weight (each block is the same matrix's rows, with the same scale).
//
// hidden is the model's HiddenSize (img_in's rows).
func DiffusersTensors(t safetensors.Tensor, hidden int) ([]safetensors.Tensor, error) {
	dot := strings.LastIndex(t.Name, ".")
	if dot < 0 {
		return nil, fmt.Errorf("%q: %w", t.Name, ErrNoDiffusersName)
	}
	layer, suffix := t.Name[:dot], t.Name[dot+1:]
	switch suffix {
	case "scale":
		suffix = "weight"
	case "weight", "bias", "scale_weight":
	default:
		return nil, fmt.Errorf("%q: %w (suffix %q)", t.Name, ErrNoDiffusersName, suffix)
	}
	names, ok := DiffusersNames(layer)
	if !ok {
		return nil, fmt.Errorf("%q: %w", t.Name, ErrNoDiffusersName)
	}
	named := func(name string, shape []int, data []byte) safetensors.Tensor {
		return safetensors.Tensor{Name: name + "." + suffix, DType: t.DType, Shape: shape, Data: data}
	}
	if len(names) == 1 || suffix == "scale_weight" {
		if layer == bflFinalModulation && suffix != "scale_weight" {
			return swapHalves(named(names[0], t.Shape, nil), t.Data)
		}
		out := make([]safetensors.Tensor, len(names))
		for i, n := range names {
			out[i] = named(n, t.Shape, t.Data)
		}
		return out, nil
	}
	if len(t.Shape) == 0 || t.Shape[0] <= (len(names)-1)*hidden {
		return nil, fmt.Errorf("%q: shape %v, expected more than %d rows (%d blocks of %d)", t.Name, t.Shape, (len(names)-1)*hidden, len(names)-1, hidden)
	}
	rowBytes := len(t.Data) / t.Shape[0]
	out := make([]safetensors.Tensor, len(names))
	lo := 0
	for i, n := range names {
		hi := lo + hidden
		if i == len(names)-1 {
			hi = t.Shape[0]
		}
		shape := append([]int{hi - lo}, t.Shape[1:]...)
		out[i] = named(n, shape, t.Data[lo*rowBytes:hi*rowBytes:hi*rowBytes])
		lo = hi
	}
	return out, nil
}

// swapHalves returns t with data's two row halves exchanged (a copy).
func swapHalves(t safetensors.Tensor, data []byte) ([]safetensors.Tensor, error) {
	if len(t.Shape) == 0 || t.Shape[0]%2 != 0 {
		return nil, fmt.Errorf("%q: shape %v, expected an even number of rows (shift, scale)", t.Name, t.Shape)
	}
	half := len(data) / 2
	t.Data = append(append(make([]byte, 0, len(data)), data[half:]...), data[:half]...)
	return []safetensors.Tensor{t}, nil
}

// DiffusersConfig returns the config.json of a diffusers
// FluxTransformer2DModel with configuration c: the fields of FLUX.1-dev's
// transformer/config.json (patch_size 1) plus axes_dims_rope, all of which
// Load checks against the shapes; out_channels only when it differs from
// in_channels (diffusers' None).
func DiffusersConfig(c Config) map[string]any {
	m := map[string]any{
		"_class_name":           "FluxTransformer2DModel",
		"attention_head_dim":    c.HeadDim(),
		"axes_dims_rope":        c.AxesDim,
		"guidance_embeds":       c.GuidanceEmbed,
		"in_channels":           c.InChannels,
		"joint_attention_dim":   c.ContextInDim,
		"num_attention_heads":   c.NumHeads,
		"num_layers":            c.Depth,
		"num_single_layers":     c.DepthSingleBlocks,
		"patch_size":            1,
		"pooled_projection_dim": c.VecInDim,
	}
	if c.OutChannels != c.InChannels {
		m["out_channels"] = c.OutChannels
	}
	return m
}
