package sd1

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/unet"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/sampling"
)

// Pipeline is a loaded Stable Diffusion UNet model (SD1, or SDXL through
// models/sdxl): text conditioning, UNet and VAE. Load it once and call
// Generate for every image; Generate is not safe for concurrent use (it
// caches the last prompt encoding).
type Pipeline struct {
	UNet *unet.UNet
	VAE  *vae.VAE
	Text *TextEncoder // SD1's encoder; nil when loaded with SkipTextEncoder, built without one, or with a Conditioner
	// Conditioner, when set, encodes the prompts instead of Text (SDXL's
	// two towers and y vector); nil means SD1's CLIP-L conditioning.
	Conditioner Conditioner
	// Schedule is the model's noise table (ComfyUI ModelSamplingDiscrete);
	// SD1's unless a diffusers scheduler config says otherwise.
	Schedule *sampling.DiscreteSchedule

	params     *nn.Params // the single-file checkpoint, when Load opened one (VAE)
	unetParams *nn.Params // a second mapping of it for the UNet alone, so that ReleaseUNet unmaps the UNet's pages
	cache      condCache
}

// Components are the networks of a pipeline, for callers that build them
// themselves (benchmarks with random weights, tests).
type Components struct {
	UNet *unet.UNet
	VAE  *vae.VAE
	Text *TextEncoder // may be nil: requests must then carry Cond/Uncond
	// Conditioner replaces Text's SD1 conditioning when set (see
	// Pipeline.Conditioner); the pipeline closes it.
	Conditioner Conditioner
}

// New assembles a pipeline from already built networks.
// The noise table is SD1's (SDXL uses the same).
func New(c Components) *Pipeline {
	return &Pipeline{UNet: c.UNet, VAE: c.VAE, Text: c.Text, Conditioner: c.Conditioner, Schedule: sampling.SD1Schedule()}
}

// Load reads an SD1 checkpoint: a single .safetensors file with the
// original LDM key names (model.diffusion_model.*, first_stage_model.*,
// cond_stage_model.transformer.*) or a diffusers folder (model_index.json,
// unet/, vae/, text_encoder/, tokenizer/). Single-file hyper-parameters
// that shapes cannot tell come from opts (NormGroups, TextHeads; real SD1
// values by default). Weights stay in their stored dtype and, where the
// file is memory-mapped, are read from the mapping. Close releases the
// files.
func Load(path string, opts Options) (*Pipeline, error) {
	info, err := detect.Path(path)
	if err != nil {
		return nil, err
	}
	if info.Family != detect.SD1 {
		return nil, fmt.Errorf("%s: a %s model, not SD1 (%s)", path, info.Family, info.Reason)
	}
	p := &Pipeline{}
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	if p.Schedule, err = ModelSchedule(path, info.Layout == detect.Diffusers); err != nil {
		return nil, err
	}
	if info.Layout == detect.Diffusers {
		if p.UNet, err = unet.LoadDiffusersFolder(filepath.Join(path, "unet"), ""); err != nil {
			return nil, err
		}
		if p.VAE, err = vae.Load(path, nil); err != nil {
			return nil, err
		}
	} else {
		if p.params, err = nn.OpenParams(path); err != nil {
			return nil, err
		}
		if p.unetParams, err = nn.OpenParams(path); err != nil {
			return nil, err
		}
		if p.UNet, err = unet.LoadLDM(p.unetParams, unet.InferOptions{NormGroups: opts.NormGroups, HeadDim: opts.UNetHeadDim}); err != nil {
			return nil, err
		}
		if p.VAE, err = vae.FromCheckpoint(p.params, &vae.Options{Groups: opts.NormGroups}); err != nil {
			return nil, err
		}
	}
	if !opts.SkipTextEncoder {
		if p.Text, err = loadText(path, info.Layout, opts); err != nil {
			return nil, err
		}
		if d := p.Text.Hidden(); d != p.UNet.Config.CrossAttentionDim {
			return nil, fmt.Errorf("%s: text encoder width %d does not match the UNet's context width %d", path, d, p.UNet.Config.CrossAttentionDim)
		}
	}
	if p.params != nil {
		reportUnused(path, p.params.Unused())
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

// Close releases the checkpoint files. The pipeline must not be used
// afterwards.
func (p *Pipeline) Close() error {
	var errs []error
	if p.Text != nil {
		errs = append(errs, p.Text.Close())
	}
	if p.Conditioner != nil {
		errs = append(errs, p.Conditioner.Close())
		p.Conditioner = nil
	}
	errs = append(errs, p.releaseUNet())
	if p.VAE != nil {
		errs = append(errs, p.VAE.Close())
	}
	if p.params != nil {
		errs = append(errs, p.params.Close())
		p.params = nil
	}
	return errors.Join(errs...)
}

// releaseUNet drops the UNet and unmaps its weights (a no-op when it is
// already gone). Pages of a memory-mapped checkpoint count in the
// process's resident set once read, so unmapping is what gives them back;
// random in-memory weights are freed by the next garbage collection.
func (p *Pipeline) releaseUNet() error {
	var errs []error
	if p.UNet != nil {
		errs = append(errs, p.UNet.Close())
		p.UNet = nil
	}
	if p.unetParams != nil {
		errs = append(errs, p.unetParams.Close())
		p.unetParams = nil
	}
	return errors.Join(errs...)
}
