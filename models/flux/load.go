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
	if err := checkVAE(p.VAE.Config, cfg); err != nil {
		return nil, err
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

// loadVAE opens the autoencoder (see vaeSource).
func loadVAE(path string, diffusers bool, names []string, opts pipeline.Options) (*vae.VAE, error) {
	src, err := vaeSource(path, diffusers, names, opts)
	if err != nil {
		return nil, err
	}
	v, err := vae.Load(src, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrVAE, err)
	}
	return v, nil
}

// vaeSource returns where the autoencoder is: opts.VAE, else the folder's
// vae/, else the all-in-one file's vae.* keys.
func vaeSource(path string, diffusers bool, names []string, opts pipeline.Options) (string, error) {
	switch {
	case opts.VAE != "":
		return opts.VAE, nil
	case diffusers, hasPrefix(names, ComfyVAEPrefix):
		return path, nil
	}
	return "", fmt.Errorf("%w: %s holds only the transformer; give the autoencoder (ae.safetensors from black-forest-labs/FLUX.1-schnell)", pipeline.ErrVAE, path)
}

// checkVAE reports an autoencoder whose latent does not fit the
// transformer's input.
func checkVAE(c vae.Config, net fluxnet.Config) error {
	if 4*c.LatentChannels != net.InChannels {
		return fmt.Errorf("%w: %d latent channels, the transformer takes %d (4 per 2×2 patch): not a Flux autoencoder", pipeline.ErrVAE, c.LatentChannels, net.InChannels)
	}
	return nil
}

// newConditioner finds the two encoders and tokenizers, opens each encoder
// once to check that it fits the transformer (T5 width = context_in_dim,
// CLIP width = vec_in_dim), and returns the conditioner.
func newConditioner(path string, diffusers bool, names []string, opts pipeline.Options, cfg fluxnet.Config) (*Conditioner, error) {
	t5Src, err := t5Source(path, diffusers, names, opts)
	if err != nil {
		return nil, err
	}
	clipSrc, err := clipSource(path, diffusers, names, opts)
	if err != nil {
		return nil, err
	}
	tokPath, err := t5.FindTokenizer(opts.T5Tokenizer, path, t5Src.path)
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
		LoadT5: t5Src.open, LoadClip: clipSrc.open, Free: opts.FreeTextEncoder}
	if cfg.GuidanceEmbed {
		c.MaxLength = MaxLengthDev
	}
	if c.t5Model, err = t5Src.open(); err != nil {
		return nil, err
	}
	if c.clipModel, err = clipSrc.open(); err != nil {
		c.Close()
		return nil, err
	}
	if err := checkT5(c.t5Model.Config, t5Src.path, cfg); err != nil {
		c.Close()
		return nil, err
	}
	if err := checkClip(c.clipModel.Config, cfg); err != nil {
		c.Close()
		return nil, err
	}
	if opts.FreeTextEncoder {
		if err := c.Close(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// t5Part is where the T5 encoder is: a file with its keys under prefix, or
// a text_encoder_2/ folder.
type t5Part struct{ path, prefix string }

// open loads the encoder; errors wrap pipeline.ErrT5.
func (s t5Part) open() (*t5.Encoder, error) {
	e, err := t5.Open(s.path, s.prefix)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrT5, err)
	}
	return e, nil
}

// t5Source returns where T5 is: opts.T5XXL, the folder's
// text_encoder_2/, or the all-in-one file's T5 keys.
func t5Source(path string, diffusers bool, names []string, opts pipeline.Options) (t5Part, error) {
	src := t5Part{path: opts.T5XXL}
	switch {
	case src.path != "":
		f, err := safetensors.Open(src.path)
		if err == nil {
			src.prefix, _ = t5.DetectPrefix(f.Names())
			f.Close()
		} else if st, serr := os.Stat(src.path); serr != nil || !st.IsDir() {
			return src, fmt.Errorf("%w: %w", pipeline.ErrT5, err)
		}
	case diffusers:
		src.path = filepath.Join(path, "text_encoder_2")
	default:
		var ok bool
		if src.prefix, ok = t5.DetectPrefix(names); !ok {
			return src, fmt.Errorf("%w: %s holds no T5 encoder; give T5-XXL (t5xxl_fp16.safetensors or t5xxl_fp8_e4m3fn.safetensors from comfyanonymous/flux_text_encoders)", pipeline.ErrT5, path)
		}
		src.path = path
	}
	return src, nil
}

// checkT5 reports a T5 encoder (read from path) whose width is not the
// transformer's text token width.
func checkT5(c t5.Config, path string, net fluxnet.Config) error {
	if c.DModel != net.ContextInDim {
		return fmt.Errorf("%w: %s is %d wide, the transformer takes %d-wide text tokens (T5-XXL: 4096)", pipeline.ErrT5, path, c.DModel, net.ContextInDim)
	}
	return nil
}

// clipPart is where the CLIP-L text model is and how to read it.
type clipPart struct {
	path string
	lo   clip.LoadOptions
}

// open loads the text model; errors wrap pipeline.ErrClipL.
func (s clipPart) open() (*clip.TextModel, error) {
	m, err := clip.LoadTextEncoder(s.path, s.lo)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrClipL, err)
	}
	return m, nil
}

// clipSource returns where CLIP-L is: opts.ClipL, the folder's
// text_encoder/, or the all-in-one file's CLIP-L keys.
func clipSource(path string, diffusers bool, names []string, opts pipeline.Options) (clipPart, error) {
	src := clipPart{path: opts.ClipL, lo: clip.LoadOptions{Heads: opts.TextHeads}}
	switch {
	case src.path != "":
	case diffusers:
		src = clipPart{path: path}
	case hasPrefix(names, ComfyClipLPrefix):
		src.path, src.lo.Prefix = path, ComfyClipLPrefix
	default:
		return src, fmt.Errorf("%w: %s holds no CLIP-L text encoder; give it (clip_l.safetensors from comfyanonymous/flux_text_encoders)", pipeline.ErrClipL, path)
	}
	return src, nil
}

// checkClip reports a CLIP text model whose width is not the transformer's
// pooled vector width.
func checkClip(c clip.Config, net fluxnet.Config) error {
	if c.Hidden != net.VecInDim {
		return fmt.Errorf("%w: the CLIP text model is %d wide, the transformer takes a %d-wide pooled vector (CLIP-L: 768)", pipeline.ErrClipL, c.Hidden, net.VecInDim)
	}
	return nil
}

func hasPrefix(names []string, prefix string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) })
}
