package flux

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/fluxnet"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/t5"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/safetensors"
)

// Key prefixes of the parts of a ComfyUI all-in-one Flux checkpoint
// (e.g. flux1-dev-fp8.safetensors): the transformer under
// fluxnet.ComfyPrefix, the autoencoder under "vae.", and the text encoders
// under these.
const (
	ComfyClipLPrefix = "text_encoders.clip_l.transformer.text_model."
	ComfyVAEPrefix   = "vae."
)

// T5 sequence lengths (BFL cli.py): the prompt's T5 ids are padded to
// exactly this many tokens.
const (
	MaxLengthDev     = 512
	MaxLengthSchnell = 256
)

// Defaults returns the settings of a Flux.1 variant (detect.FluxDev or
// detect.FluxSchnell): 1024×1024, the flow Euler sampler, no classifier-free
// guidance (CFG 1: one transformer pass per step); dev 20 steps with
// distilled guidance 3.5, schnell 4 steps without guidance.
func Defaults(variant string) pipeline.Defaults {
	d := pipeline.Defaults{Steps: 20, CFG: 1, Guidance: 3.5, Sampler: "euler", Scheduler: "simple", Width: 1024, Height: 1024, SizeMultiple: 16}
	if variant == detect.FluxSchnell {
		d.Steps, d.Guidance = 4, 0
	}
	return d
}

// Load reads a Flux.1 model into a pipeline:
//
//   - a single .safetensors file with the transformer (BFL's
//     flux1-dev.safetensors / flux1-schnell.safetensors, or a ComfyUI file
//     under model.diffusion_model.) and the other parts from opts: VAE
//     (ae.safetensors), ClipL (clip_l.safetensors), T5XXL
//     (t5xxl_fp16.safetensors, t5xxl_fp8_e4m3fn[_scaled].safetensors) —
//     unless the file is an all-in-one ComfyUI checkpoint that holds them
//     (vae.*, text_encoders.clip_l.*, text_encoders.t5xxl.*);
//   - a diffusers FluxPipeline folder: transformer/, vae/, text_encoder/
//     (CLIP-L), text_encoder_2/ (T5), tokenizer/, tokenizer_2/ (each of
//     the separate files in opts replaces the folder's part).
//
// The CLIP tokenizer comes from opts.TokenizerDir (see clip.FindTokenizer);
// the T5 tokenizer from t5.FindTokenizer(opts.T5Tokenizer, …). Every
// hyper-parameter is read from the shapes except the CLIP head count of a
// single file (opts.TextHeads; 12 for CLIP-L). A part that is missing or
// does not fit the transformer is an error wrapping pipeline.ErrVAE,
// pipeline.ErrClipL, pipeline.ErrT5 or pipeline.ErrT5Tokenizer. Weights
// stay in their stored dtype, mapped from the files; the text encoders are
// opened to check them and, with opts.FreeTextEncoder, closed until the
// first prompt. Close the pipeline to release everything.
func Load(path string, opts pipeline.Options) (*pipeline.Pipeline, error) {
	info, err := detect.Path(path)
	if err != nil {
		return nil, err
	}
	if info.Family != detect.Flux {
		return nil, fmt.Errorf("%s: a %s model, not Flux (%s)", path, info.Family, info.Reason)
	}
	diffusers := info.Layout == detect.Diffusers
	var names []string // the single file's tensor names, for the all-in-one parts
	if !diffusers {
		f, err := safetensors.Open(path)
		if err != nil {
			return nil, err
		}
		names = f.Names()
		f.Close()
	}
	p := &pipeline.Pipeline{Family: string(detect.Flux)}
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	net, err := fluxnet.Load(path)
	if err != nil {
		return nil, err
	}
	cfg := net.Config
	p.Model = &pipeline.FlowModel{Net: velocityNet{net}, Shift: cfg.GuidanceEmbed, PatchSize: 2}
	if p.VAE, err = loadVAE(path, diffusers, names, opts); err != nil {
		return nil, err
	}
	if c := p.VAE.Config.LatentChannels; 4*c != cfg.InChannels {
		return nil, fmt.Errorf("%w: %d latent channels, the transformer takes %d (4 per 2×2 patch): not a Flux autoencoder", pipeline.ErrVAE, c, cfg.InChannels)
	}
	if opts.SkipTextEncoder {
		ok = true
		return p, nil
	}
	cond, err := newConditioner(path, diffusers, names, opts, cfg)
	if err != nil {
		return nil, err
	}
	p.Conditioner = cond
	ok = true
	return p, nil
}

// loadVAE opens the autoencoder: opts.VAE, else the folder's vae/, else
// the all-in-one file's vae.* keys.
func loadVAE(path string, diffusers bool, names []string, opts pipeline.Options) (*vae.VAE, error) {
	src := opts.VAE
	switch {
	case src != "":
	case diffusers:
		src = path
	case hasPrefix(names, ComfyVAEPrefix):
		src = path
	default:
		return nil, fmt.Errorf("%w: %s holds only the transformer; give the autoencoder (ae.safetensors from black-forest-labs/FLUX.1-schnell)", pipeline.ErrVAE, path)
	}
	v, err := vae.Load(src, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrVAE, err)
	}
	return v, nil
}

// newConditioner finds the two encoders and tokenizers, opens each encoder
// once to check that it fits the transformer (T5 width = context_in_dim,
// CLIP width = vec_in_dim), and returns the conditioner.
func newConditioner(path string, diffusers bool, names []string, opts pipeline.Options, cfg fluxnet.Config) (*Conditioner, error) {
	loadT5, t5Path, err := t5Source(path, diffusers, names, opts)
	if err != nil {
		return nil, err
	}
	loadClip, err := clipSource(path, diffusers, names, opts)
	if err != nil {
		return nil, err
	}
	tokPath, err := t5.FindTokenizer(opts.T5Tokenizer, path, t5Path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrT5Tokenizer, err)
	}
	t5Tok, err := t5.LoadTokenizer(tokPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrT5Tokenizer, err)
	}
	if opts.TokenizerDir == "" {
		return nil, fmt.Errorf("no CLIP tokenizer given (pipeline.Options.TokenizerDir; see clip.FindTokenizer)")
	}
	clipTok, err := clip.OpenTokenizer(opts.TokenizerDir)
	if err != nil {
		return nil, err
	}
	c := &Conditioner{T5Tokenizer: t5Tok, ClipTokenizer: clipTok, MaxLength: MaxLengthSchnell,
		LoadT5: loadT5, LoadClip: loadClip, Free: opts.FreeTextEncoder}
	if cfg.GuidanceEmbed {
		c.MaxLength = MaxLengthDev
	}
	if c.t5Model, err = loadT5(); err != nil {
		return nil, err
	}
	if c.clipModel, err = loadClip(); err != nil {
		c.Close()
		return nil, err
	}
	if d := c.t5Model.Config.DModel; d != cfg.ContextInDim {
		c.Close()
		return nil, fmt.Errorf("%w: %s is %d wide, the transformer takes %d-wide text tokens (T5-XXL: 4096)", pipeline.ErrT5, t5Path, d, cfg.ContextInDim)
	}
	if d := c.clipModel.Config.Hidden; d != cfg.VecInDim {
		c.Close()
		return nil, fmt.Errorf("%w: the CLIP text model is %d wide, the transformer takes a %d-wide pooled vector (CLIP-L: 768)", pipeline.ErrClipL, d, cfg.VecInDim)
	}
	if opts.FreeTextEncoder {
		if err := c.Close(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// t5Source returns the T5 loader and the path it reads: opts.T5XXL, the
// folder's text_encoder_2/, or the all-in-one file's T5 keys.
func t5Source(path string, diffusers bool, names []string, opts pipeline.Options) (func() (*t5.Encoder, error), string, error) {
	src, prefix := opts.T5XXL, ""
	switch {
	case src != "":
		f, err := safetensors.Open(src)
		if err == nil {
			prefix, _ = t5.DetectPrefix(f.Names())
			f.Close()
		} else if st, serr := os.Stat(src); serr != nil || !st.IsDir() {
			return nil, src, fmt.Errorf("%w: %w", pipeline.ErrT5, err)
		}
	case diffusers:
		src = filepath.Join(path, "text_encoder_2")
	default:
		var ok bool
		if prefix, ok = t5.DetectPrefix(names); !ok {
			return nil, "", fmt.Errorf("%w: %s holds no T5 encoder; give T5-XXL (t5xxl_fp16.safetensors or t5xxl_fp8_e4m3fn.safetensors from comfyanonymous/flux_text_encoders)", pipeline.ErrT5, path)
		}
		src = path
	}
	return func() (*t5.Encoder, error) {
		e, err := t5.Open(src, prefix)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", pipeline.ErrT5, err)
		}
		return e, nil
	}, src, nil
}

// clipSource returns the CLIP-L loader: opts.ClipL, the folder's
// text_encoder/, or the all-in-one file's CLIP-L keys.
func clipSource(path string, diffusers bool, names []string, opts pipeline.Options) (func() (*clip.TextModel, error), error) {
	src, lo := opts.ClipL, clip.LoadOptions{Heads: opts.TextHeads}
	switch {
	case src != "":
	case diffusers:
		src, lo = path, clip.LoadOptions{}
	case hasPrefix(names, ComfyClipLPrefix):
		src, lo.Prefix = path, ComfyClipLPrefix
	default:
		return nil, fmt.Errorf("%w: %s holds no CLIP-L text encoder; give it (clip_l.safetensors from comfyanonymous/flux_text_encoders)", pipeline.ErrClipL, path)
	}
	return func() (*clip.TextModel, error) {
		m, err := clip.LoadTextEncoder(src, lo)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", pipeline.ErrClipL, err)
		}
		return m, nil
	}, nil
}

func hasPrefix(names []string, prefix string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) })
}
