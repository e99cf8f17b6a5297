package sdxl

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/unet"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/nn"
)

// Defaults are SDXL base's native size, 1024×1024 (about one megapixel;
// 512×512, SD1's size, gives it poor pictures), with ComfyUI's KSampler
// defaults otherwise.
var Defaults = pipeline.Defaults{Steps: 20, CFG: 8, Sampler: "euler", Scheduler: "normal", Width: 1024, Height: 1024, SizeMultiple: 8}

// ScalingFactor is the SDXL VAE's latent scale: z_diffusion =
// 0.13025·z_vae (diffusers vae/config.json scaling_factor). A single file
// carries no config, so it gets this value.
const ScalingFactor = 0.13025

// Load reads an SDXL checkpoint into a Stable Diffusion pipeline:
//
//   - a single .safetensors file in the original SGM key layout:
//     model.diffusion_model.* (UNet), first_stage_model.* (VAE),
//     conditioner.embedders.0.transformer.text_model.* (CLIP-L, HF layout),
//     conditioner.embedders.1.model.* (OpenCLIP bigG);
//   - a diffusers folder: unet/, vae/, text_encoder/, text_encoder_2/,
//     scheduler/ (and tokenizer/).
//
// The CLIP tokenizer (one BPE vocabulary serves both towers) is found as
// for SD1 (clip.FindTokenizer: opts.TokenizerDir, the folder's tokenizer/,
// beside the file, the cache). What a single file's shapes cannot tell
// comes from opts, with real SDXL values by default: TextHeads (CLIP-L,
// 12), TextHeads2 (bigG, width/64 = 20), UNetHeadDim (64), NormGroups
// (32). opts.ClipL replaces the CLIP-L tower; FreeTextEncoder and
// SkipTextEncoder work as for SD1 (without text encoders every request
// must carry Cond/CondY and, with CFG, Uncond/UncondY). A model of another
// family is an error naming it. Close the pipeline to release the files.
func Load(path string, opts pipeline.Options) (*pipeline.Pipeline, error) {
	info, err := detect.Path(path)
	if err != nil {
		return nil, err
	}
	if info.Family != detect.SDXL {
		return nil, fmt.Errorf("%s: a %s model, not SDXL (%s)", path, info.Family, info.Reason)
	}
	diffusers := info.Layout == detect.Diffusers
	var (
		u    *unet.UNet
		v    *vae.VAE
		cond *Conditioner
	)
	ok := false
	defer func() {
		if !ok {
			closeAll(u, v, cond)
		}
	}()
	sched, err := pipeline.ModelSchedule(path, diffusers)
	if err != nil {
		return nil, err
	}
	if diffusers {
		if u, err = unet.LoadDiffusersFolder(filepath.Join(path, "unet"), ""); err != nil {
			return nil, err
		}
		if v, err = vae.Load(path, nil); err != nil {
			return nil, err
		}
	} else {
		timeDim, err := sizeEmbedWidth(path)
		if err != nil {
			return nil, err
		}
		io := unet.InferOptions{NormGroups: opts.NormGroups, HeadDim: opts.UNetHeadDim, AdditionTimeEmbedDim: timeDim}
		if u, err = unet.LoadSingleFile(path, io); err != nil {
			return nil, err
		}
		if v, err = vae.Load(path, &vae.Options{Groups: opts.NormGroups, ScalingFactor: ScalingFactor}); err != nil {
			return nil, err
		}
	}
	if u.Config.AdditionEmbedType != "text_time" {
		return nil, fmt.Errorf("%s: the UNet has no SDXL added conditioning (addition_embed_type %q)", path, u.Config.AdditionEmbedType)
	}
	if !opts.SkipTextEncoder {
		if cond, err = loadConditioner(path, diffusers, opts, u.Config); err != nil {
			return nil, err
		}
	}
	p := &pipeline.Pipeline{Family: string(detect.SDXL), Model: &pipeline.EPSModel{Net: u, Schedule: sched}, VAE: v}
	if cond != nil { // a nil *Conditioner in the interface would not be nil
		p.Conditioner = cond
	}
	ok = true
	return p, nil
}

// closeAll releases what a failed Load had opened.
func closeAll(u *unet.UNet, v *vae.VAE, c *Conditioner) {
	if u != nil {
		u.Close()
	}
	if v != nil {
		v.Close()
	}
	if c != nil {
		c.Close()
	}
}

// sizeEmbedWidth infers, for a single file, the width of each size
// sinusoid in y from y's width and the pooled width: (adm − proj)/6, where
// adm is label_emb.0.0.weight's input width and proj bigG's
// text_projection width (SDXL base: (2816 − 1280)/6 = 256). It returns 0
// (let the UNet loader decide) when the file lacks either tensor.
func sizeEmbedWidth(path string) (int, error) {
	p, err := nn.OpenParams(path)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	label := p.Shape(unet.LDMPrefix + "label_emb.0.0.weight")
	proj := p.Shape(clip.PrefixSDXLBigG + "text_projection")
	if len(label) != 2 || len(proj) != 2 {
		return 0, nil
	}
	rest := label[1] - proj[1]
	if rest <= 0 || rest%6 != 0 {
		return 0, fmt.Errorf("%s: the UNet's y is %d wide, which is not the bigG pooled width %d plus six equal size sinusoids",
			path, label[1], proj[1])
	}
	return rest / 6, nil
}

// loadConditioner loads the tokenizer and both text towers of the
// checkpoint at path and checks that they fit the UNet configuration cfg.
func loadConditioner(path string, diffusers bool, opts pipeline.Options, cfg *unet.Config) (*Conditioner, error) {
	dir, err := clip.FindTokenizer(path, opts.TokenizerDir)
	if err != nil {
		return nil, err
	}
	tok, err := clip.OpenTokenizer(dir)
	if err != nil {
		return nil, err
	}
	c := &Conditioner{Tokenizer: tok, UNet: cfg}
	c.clipL = &tower{load: clipLLoader(path, diffusers, opts), free: opts.FreeTextEncoder}
	c.bigG = &tower{load: bigGLoader(path, diffusers, opts), free: opts.FreeTextEncoder}
	var errs []error
	for _, t := range []*tower{c.clipL, c.bigG} {
		t.model, t.release, err = t.load()
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.check(c.clipL.model, c.bigG.model); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if opts.FreeTextEncoder {
		// Keep nothing until the first prompt needs the towers.
		c.clipL.close()
		c.bigG.close()
	}
	return c, nil
}

// clipLLoader returns the loader of the CLIP-L tower: text_encoder/ of a
// folder or the conditioner.embedders.0 keys of a single file, replaced by
// opts.ClipL when given.
func clipLLoader(path string, diffusers bool, opts pipeline.Options) func() (*clip.TextModel, func() error, error) {
	src, lo := filepath.Join(path, "text_encoder"), clip.LoadOptions{}
	if !diffusers {
		src, lo = path, clip.LoadOptions{Heads: opts.TextHeads, Prefix: clip.PrefixSDXLClipL}
	}
	return func() (*clip.TextModel, func() error, error) {
		base, err := clip.LoadTextEncoder(src, lo)
		if err != nil {
			return nil, nil, fmt.Errorf("sdxl CLIP-L: %w", err)
		}
		if opts.ClipL == "" {
			return base, nil, nil
		}
		m, err := clip.LoadReplacement(base, opts.ClipL)
		base.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", pipeline.ErrClipL, err)
		}
		return m, nil, nil
	}
}

// bigGLoader returns the loader of the bigG tower: text_encoder_2/ of a
// folder (HF CLIPTextModelWithProjection) or the OpenCLIP keys
// conditioner.embedders.1.model.* of a single file.
func bigGLoader(path string, diffusers bool, opts pipeline.Options) func() (*clip.TextModel, func() error, error) {
	if diffusers {
		return func() (*clip.TextModel, func() error, error) {
			m, err := clip.LoadTextEncoder(filepath.Join(path, "text_encoder_2"), clip.LoadOptions{})
			if err != nil {
				return nil, nil, fmt.Errorf("sdxl bigG: %w", err)
			}
			return m, nil, nil
		}
	}
	return func() (*clip.TextModel, func() error, error) {
		p, err := nn.OpenParams(path)
		if err != nil {
			return nil, nil, err
		}
		m, err := clip.LoadOpenCLIPTextModel(p, clip.PrefixSDXLBigG, opts.TextHeads2)
		if err != nil {
			p.Close()
			return nil, nil, fmt.Errorf("sdxl bigG (%s): %w", path, err)
		}
		return m, p.Close, nil
	}
}
