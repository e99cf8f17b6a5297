package sd1

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/unet"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/sampling"
)

// Defaults are ComfyUI's KSampler defaults (euler, normal, 20 steps,
// cfg 8.0) with its EmptyLatentImage of 512×512, so that a seed gives the
// picture ComfyUI gives for it.
var Defaults = pipeline.Defaults{Steps: 20, CFG: 8, Sampler: "euler", Scheduler: "normal", Width: 512, Height: 512, SizeMultiple: 8}

// Components are the networks of an SD1 pipeline, for callers that build
// them themselves (benchmarks with random weights, tests).
type Components struct {
	UNet *unet.UNet
	VAE  *vae.VAE
	Text *TextEncoder // may be nil: requests must then carry Cond/Uncond
}

// New assembles an SD1 pipeline from already built networks, with SD1's
// noise table.
func New(c Components) *pipeline.Pipeline {
	p := &pipeline.Pipeline{
		Family: string(detect.SD1),
		Model:  &pipeline.EPSModel{Net: c.UNet, Schedule: sampling.SD1Schedule()},
		VAE:    c.VAE,
	}
	if c.Text != nil {
		p.Conditioner = &Conditioner{Text: c.Text}
	}
	return p
}

// Load reads an SD1 checkpoint: a single .safetensors file with the
// original LDM key names (model.diffusion_model.*, first_stage_model.*,
// cond_stage_model.transformer.*) or a diffusers folder (model_index.json,
// unet/, vae/, text_encoder/, tokenizer/). Single-file hyper-parameters
// that shapes cannot tell come from opts (NormGroups, TextHeads; real SD1
// values by default). Weights stay in their stored dtype and, where the
// file is memory-mapped, are read from the mapping. Close releases the
// files.
func Load(path string, opts pipeline.Options) (*pipeline.Pipeline, error) {
	info, err := detect.Path(path)
	if err != nil {
		return nil, err
	}
	if info.Family != detect.SD1 {
		return nil, fmt.Errorf("%s: a %s model, not SD1 (%s)", path, info.Family, info.Reason)
	}
	p := &pipeline.Pipeline{Family: string(detect.SD1)}
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	sched, err := pipeline.ModelSchedule(path, info.Layout == detect.Diffusers)
	if err != nil {
		return nil, err
	}
	var u *unet.UNet
	var params *nn.Params
	if info.Layout == detect.Diffusers {
		if u, err = unet.LoadDiffusersFolder(filepath.Join(path, "unet"), ""); err != nil {
			return nil, err
		}
		p.Model = &pipeline.EPSModel{Net: u, Schedule: sched}
		if p.VAE, err = vae.Load(path, nil); err != nil {
			return nil, err
		}
	} else {
		// The UNet reads its own mapping of the file, so that releasing
		// it (Request.ReleaseModel) unmaps the UNet's pages while the
		// VAE's stay.
		unetParams, err := nn.OpenParams(path)
		if err != nil {
			return nil, err
		}
		if u, err = unet.LoadLDM(unetParams, unet.InferOptions{NormGroups: opts.NormGroups, HeadDim: opts.UNetHeadDim}); err != nil {
			unetParams.Close()
			return nil, err
		}
		p.Model = &pipeline.EPSModel{Net: u, Schedule: sched, Closer: unetParams.Close}
		if params, err = nn.OpenParams(path); err != nil {
			return nil, err
		}
		p.Closers = append(p.Closers, params.Close)
		if p.VAE, err = vae.FromCheckpoint(params, &vae.Options{Groups: opts.NormGroups}); err != nil {
			return nil, err
		}
	}
	if !opts.SkipTextEncoder {
		text, err := loadText(path, info.Layout, opts)
		if err != nil {
			return nil, err
		}
		p.Conditioner = &Conditioner{Text: text}
		if d := text.Hidden(); d != u.Config.CrossAttentionDim {
			return nil, fmt.Errorf("%s: text encoder width %d does not match the UNet's context width %d", path, d, u.Config.CrossAttentionDim)
		}
	}
	if params != nil {
		reportUnused(path, params.Unused())
	}
	ok = true
	return p, nil
}

// reportUnused logs once, at debug level, the tensors of a single-file
// checkpoint that no SD1 component reads: training-time buffers (betas,
// alphas_cumprod, …), EMA copies, extra heads. The UNet and the text
// encoder read their own prefixes through their own loaders (which reject
// what they do not expect), so keys under those prefixes are not listed.
func reportUnused(path string, unused []string) {
	var extra []string
	for _, k := range unused {
		if !strings.HasPrefix(k, unet.LDMPrefix) && !strings.HasPrefix(k, "cond_stage_model.") {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return
	}
	const show = 12
	listed := extra
	if len(listed) > show {
		listed = listed[:show]
	}
	slog.Debug("checkpoint tensors not used by the SD1 pipeline", "file", path, "count", len(extra), "first", strings.Join(listed, ", "))
}
