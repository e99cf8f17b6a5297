// Package detect tells which model family a checkpoint belongs to (Stable
// Diffusion 1.x, SDXL, Flux, …) from its tensor names — for a single
// .safetensors file — or from model_index.json and the component configs of
// a diffusers folder, so the command line can pick the right pipeline
// (--arch auto) or refuse a file that does not match a forced family.
//
// Single-file rules (the key layouts of the released checkpoints):
//
//   - Flux: double_blocks.N.* and single_blocks.N.* (the BFL transformer),
//     at the top level or under model.diffusion_model.
//   - SDXL: conditioner.embedders.* (two text encoders) or
//     model.diffusion_model.label_emb.* (the pooled-text/size "addition"
//     embedding of the SDXL UNet).
//   - SD2: model.diffusion_model.* with an OpenCLIP text encoder
//     (cond_stage_model.model.*).
//   - SD1: model.diffusion_model.* with the single CLIP-L text encoder under
//     cond_stage_model.transformer.* (or no text encoder at all); the
//     context width is read from a cross-attention key (768 for real
//     SD1.x checkpoints).
//
// Anything else is Unknown, and Path returns an error naming what was
// looked for.
package detect

import (
	"fmt"
	"strings"
)

// Family names a model family.
type Family string

// The families this package recognises.
const (
	Unknown Family = "unknown"
	SD1     Family = "sd1"
	SD2     Family = "sd2"
	SDXL    Family = "sdxl"
	Flux    Family = "flux"
)

// The Flux.1 variants (Info.Variant).
const (
	FluxDev     = "dev"
	FluxSchnell = "schnell"
)

// Layout says how a checkpoint is stored.
type Layout string

// The storage layouts.
const (
	SingleFile Layout = "single-file" // one .safetensors with LDM/BFL key names
	Diffusers  Layout = "diffusers"   // a folder with model_index.json and one sub-folder per component
)

// Info is what detection found.
type Info struct {
	Family Family
	Layout Layout
	// ContextDim is the width of the text conditioning the UNet
	// cross-attends to (768 for SD1.x, 1024 for SD2, 2048 for SDXL), or 0
	// when it could not be read.
	ContextDim int
	// Variant distinguishes models of one family that need different
	// defaults: FluxDev (a guidance-distilled transformer, with
	// guidance_in) or FluxSchnell (timestep-distilled, no guidance input);
	// empty for the other families.
	Variant string
	// Reason is a short human-readable account of the evidence, e.g.
	// "keys model.diffusion_model.* and cond_stage_model.transformer.*".
	Reason string
}

// ShapeFunc returns the shape of a named tensor, or nil when absent.
type ShapeFunc func(name string) []int

// sd1CrossAttnKey is the first cross-attention key projection of an LDM
// UNet; its shape [C, contextDim] gives the context width.
const sd1CrossAttnKey = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"

// FromKeys classifies a single-file checkpoint from its tensor names.
// shape may be nil; when given it is used to read ContextDim.
func FromKeys(names []string, shape ShapeFunc) Info {
	has := func(prefix string) bool {
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				return true
			}
		}
		return false
	}
	info := Info{Family: Unknown, Layout: SingleFile}
	if shape != nil {
		if s := shape(sd1CrossAttnKey); len(s) == 2 {
			info.ContextDim = s[1]
		}
	}
	switch {
	case (has("double_blocks.") && has("single_blocks.")) ||
		(has("model.diffusion_model.double_blocks.") && has("model.diffusion_model.single_blocks.")):
		info.Family, info.Reason = Flux, "keys double_blocks.* and single_blocks.* (Flux transformer)"
		info.ContextDim = 0
		info.Variant = FluxSchnell
		if has("guidance_in.") || has("model.diffusion_model.guidance_in.") {
			info.Variant = FluxDev
		}
	case has("conditioner.embedders."):
		info.Family, info.Reason = SDXL, "keys conditioner.embedders.* (SDXL text encoders)"
	case has("model.diffusion_model.label_emb."):
		info.Family, info.Reason = SDXL, "keys model.diffusion_model.label_emb.* (SDXL addition embedding)"
	case has("model.diffusion_model.input_blocks.") && has("cond_stage_model.model."):
		info.Family, info.Reason = SD2, "keys model.diffusion_model.* with an OpenCLIP text encoder cond_stage_model.model.* (SD2)"
	case has("model.diffusion_model.input_blocks."):
		info.Family = SD1
		if has("cond_stage_model.transformer.") {
			info.Reason = "keys model.diffusion_model.* and cond_stage_model.transformer.* (SD1 UNet with one CLIP text encoder)"
		} else {
			info.Reason = "keys model.diffusion_model.* (SD1 UNet, no text encoder in the file)"
		}
		if info.ContextDim == 1024 {
			info.Family, info.Reason = SD2, "context width 1024 (SD2)"
		}
	}
	return info
}

// describeKeys returns a few of names for error messages.
func describeKeys(names []string) string {
	const show = 4
	if len(names) == 0 {
		return "no tensors"
	}
	n := min(show, len(names))
	s := strings.Join(names[:n], ", ")
	if len(names) > n {
		s += fmt.Sprintf(", … (%d tensors)", len(names))
	}
	return s
}
