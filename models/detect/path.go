package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godiffusion/godiffusion/safetensors"
)

// ErrUnknownFamily is wrapped by the error Path returns for a checkpoint it
// cannot classify.
var ErrUnknownFamily = errors.New("unknown model family")

// Path detects the family of the checkpoint at path: a .safetensors file
// (FromKeys over its header) or a diffusers folder (FromDiffusers). An
// unreadable path, or one whose family is Unknown, is an error; for an
// unknown family the error wraps ErrUnknownFamily and lists some of the
// keys found.
func Path(path string) (Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Info{Family: Unknown}, fmt.Errorf("model %s: %w", path, err)
	}
	if st.IsDir() {
		return FromDiffusers(path)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		return Info{Family: Unknown}, fmt.Errorf("model %s: not a readable .safetensors file: %w", path, err)
	}
	defer f.Close()
	names := f.Names()
	info := FromKeys(names, func(name string) []int {
		if t, err := f.Tensor(name); err == nil {
			return t.Shape
		}
		return nil
	})
	if info.Family == Unknown {
		return info, fmt.Errorf("model %s: %w: found %s; expected SD1 (model.diffusion_model.* + cond_stage_model.transformer.*), SDXL (conditioner.embedders.*) or Flux (double_blocks.*/single_blocks.*)",
			path, ErrUnknownFamily, describeKeys(names))
	}
	return info, nil
}

// modelIndex is the part of a diffusers model_index.json detection reads.
type modelIndex struct {
	ClassName string `json:"_class_name"`
}

// FromDiffusers detects the family of a diffusers folder from
// model_index.json (_class_name StableDiffusionPipeline, …XLPipeline,
// FluxPipeline) and, failing that, from which component folders exist
// (text_encoder_2 → SDXL, transformer → Flux, unet + text_encoder → SD1).
// The UNet config's cross_attention_dim gives ContextDim; 1024 means SD2.
func FromDiffusers(dir string) (Info, error) {
	info := Info{Family: Unknown, Layout: Diffusers}
	raw, err := os.ReadFile(filepath.Join(dir, "model_index.json"))
	if err != nil {
		return info, fmt.Errorf("model folder %s: no model_index.json (expected a diffusers pipeline folder): %w", dir, err)
	}
	var idx modelIndex
	var comps map[string]json.RawMessage
	if err := json.Unmarshal(raw, &idx); err != nil {
		return info, fmt.Errorf("model folder %s: model_index.json: %w", dir, err)
	}
	_ = json.Unmarshal(raw, &comps)
	var ucfg struct {
		CrossAttentionDim   json.RawMessage `json:"cross_attention_dim"`
		AdditionEmbedType   *string         `json:"addition_embed_type"`
		ProjClassEmbInputDm *int            `json:"projection_class_embeddings_input_dim"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "unet", "config.json")); err == nil {
		if json.Unmarshal(b, &ucfg) == nil {
			var d int
			if json.Unmarshal(ucfg.CrossAttentionDim, &d) == nil {
				info.ContextDim = d
			}
		}
	}
	present := func(name string) bool {
		if _, ok := comps[name]; ok {
			return true
		}
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	cls := idx.ClassName
	switch {
	case strings.HasPrefix(cls, "Flux") || (cls == "" && present("transformer")):
		info.Family, info.Reason = Flux, "model_index.json _class_name "+cls
		info.ContextDim = 0
		var tcfg struct {
			GuidanceEmbeds bool `json:"guidance_embeds"`
		}
		info.Variant = FluxSchnell
		if b, err := os.ReadFile(filepath.Join(dir, "transformer", "config.json")); err == nil && json.Unmarshal(b, &tcfg) == nil && tcfg.GuidanceEmbeds {
			info.Variant = FluxDev
		}
	case strings.HasPrefix(cls, "StableDiffusionXL") || (cls == "" && present("text_encoder_2")) ||
		(ucfg.AdditionEmbedType != nil && *ucfg.AdditionEmbedType == "text_time"):
		info.Family, info.Reason = SDXL, "model_index.json _class_name "+cls
	case strings.HasPrefix(cls, "StableDiffusion") || (cls == "" && present("unet") && present("text_encoder")):
		info.Family, info.Reason = SD1, "model_index.json _class_name "+cls
		if info.ContextDim == 1024 {
			info.Family, info.Reason = SD2, "unet cross_attention_dim 1024 (SD2)"
		}
	default:
		return info, fmt.Errorf("model folder %s: %w: model_index.json _class_name %q", dir, ErrUnknownFamily, cls)
	}
	return info, nil
}
