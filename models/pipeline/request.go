package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// Options configure a family's Load (sd1.Load, sdxl.Load, flux.Load): where
// the parts a checkpoint may not contain come from, and the hyper-parameters
// a single file's shapes cannot tell. Each family reads the fields that
// concern it.
type Options struct {
	// TokenizerDir holds the CLIP tokenizer: Hugging Face's vocab.json and
	// merges.txt, or openai's bpe_simple_vocab_16e6.txt.gz. Empty means
	// FindTokenizer's search: the diffusers folder's tokenizer/, a
	// tokenizer next to a single file, then the user cache.
	TokenizerDir string
	// ClipL is an optional stand-alone CLIP-L text encoder file (HF
	// CLIPTextModel keys, "text_model.*") used instead of the checkpoint's
	// text encoder; it must have the same shapes.
	ClipL string

	// NormGroups overrides the GroupNorm group count of the UNet and the
	// VAE for a single-file checkpoint, whose tensor shapes cannot say it.
	// 0 means 32, the value of every real SD1 model. The tiny test fixture
	// uses 4 and its tests pass NormGroups: 4 (a diffusers folder's
	// configs carry the value, so this is ignored there).
	NormGroups int
	// TextHeads overrides the number of attention heads of a single-file
	// checkpoint's CLIP text encoder (shapes cannot say it). 0 means 12,
	// CLIP ViT-L/14's value; the tiny fixture has 4. For a diffusers
	// folder text_encoder/config.json decides.
	TextHeads int
	// TextHeads2 is TextHeads for a second text tower (SDXL's OpenCLIP
	// ViT-bigG in a single file). 0 means width/64 (bigG: 1280/64 = 20).
	TextHeads2 int
	// UNetHeadDim overrides the attention head width of a single-file
	// checkpoint's UNet (heads = channels/UNetHeadDim). 0 means the
	// model's own convention: 8 heads per level for SD1, 64-wide heads
	// for SDXL. A diffusers folder's unet/config.json decides there.
	UNetHeadDim int

	// FreeTextEncoder drops the text encoder's weights after every prompt
	// encoding (reloading them when a later request brings a new prompt):
	// right for a one-shot command, wasteful for an interactive server.
	FreeTextEncoder bool
	// SkipTextEncoder loads only the denoising network and the VAE (no
	// tokenizer needed); every Request must then carry Cond (and Uncond).
	SkipTextEncoder bool

	// Flux's separate component files, as ComfyUI users keep them (each
	// empty when the model file or folder holds the part itself):
	// VAE is the autoencoder (ae.safetensors), T5XXL the T5 v1.1 XXL
	// encoder (t5xxl_fp16.safetensors, t5xxl_fp8_e4m3fn[_scaled].safetensors),
	// T5Tokenizer its SentencePiece model (spiece.model, tokenizer.json, or
	// a folder with either). ClipL above is Flux's CLIP-L.
	VAE, T5XXL, T5Tokenizer string
}

// Request is one text-to-image (or image-to-image) generation, the same for
// every family; a family ignores the fields it has no use for (SD1 the SDXL
// size conditioning, SD1/SDXL the distilled Guidance).
type Request struct {
	Prompt   string
	Negative string // "" encodes the empty string (not zeros), as ComfyUI and A1111 do
	Seed     uint64 // torch.manual_seed for the initial noise (and seed+1 for ancestral noise)

	Steps int     // sampling steps (> 0)
	CFG   float64 // classifier-free guidance scale (≥ 0; 1 skips the unconditional pass)
	// Guidance is the distilled guidance strength fed to a
	// guidance-distilled model as an input (Flux.1-dev's guidance
	// embedding, Forge's "Distilled CFG Scale"; 3.5 by default there). It
	// is not classifier-free guidance: it costs nothing. Models without a
	// guidance input ignore it.
	Guidance  float64
	Sampler   string // ComfyUI name or sd.cpp alias: euler, euler_ancestral (euler_a), heun, dpmpp_2m (dpm++2m), ddim, lcm …
	Scheduler string // normal (discrete), karras, exponential, simple, sgm_uniform, ddim_uniform

	Width, Height int // image size in pixels, multiples of 8

	// ClipSkip is A1111/ComfyUI's "CLIP skip": 1 (or 0) uses the last
	// layer, 2 the penultimate layer, both through the final LayerNorm.
	ClipSkip int
	// CFGOptions choose the guidance rule (cfg, apg, perpneg), a guidance
	// interval and a per-step scale schedule; the zero value is plain CFG.
	CFGOptions sampling.GuidanceOptions
	// GuidanceRescale φ applies ComfyUI's RescaleCFG with multiplier φ
	// (0 = off).
	GuidanceRescale float64
	// RawPrompt tokenises the prompts literally in one 77-token window
	// (diffusers behaviour) instead of parsing A1111 weights "(word:1.2)"
	// and chunking long prompts.
	RawPrompt bool

	// InitImage, when set, makes this an image-to-image run (ComfyUI
	// VAEEncode → KSampler with denoise < 1): the image [1, 3, Height,
	// Width] in [-1, 1] is encoded to latent = VAE mean·0.18215, the
	// schedule is built for int(Steps/Denoise) steps and only its last
	// Steps+1 sigmas are used, and sampling starts from
	// x = noise·σ₀ + latent.
	InitImage *tensor.Tensor
	// Denoise is the img2img strength in (0, 1] (A1111 "denoising
	// strength"); ignored without InitImage.
	Denoise float64

	// ZeroNegative replaces the negative conditioning by zeros: ComfyUI's
	// ConditioningZeroOut on the negative, diffusers'
	// force_zeros_for_empty_prompt. The context (and SDXL's pooled text
	// embedding) are all zero; SDXL's y still carries the size
	// embedding. Negative is then ignored.
	ZeroNegative bool

	// SDXL size conditioning (ComfyUI CLIPTextEncodeSDXL / SDXL.encode_adm
	// width, height, crop_w, crop_h, target_width, target_height; in
	// pixels). The UNet receives
	//
	//	time_ids = [OrigHeight, OrigWidth, CropH, CropW, TargetHeight, TargetWidth]
	//
	// 0 means the image size (Height, Width) for the original and target
	// sizes and no crop, ComfyUI's CLIPTextEncode defaults. SD1 ignores
	// them.
	OrigWidth, OrigHeight     int
	CropW, CropH              int // crop_left, crop_top
	TargetWidth, TargetHeight int

	// Cond and Uncond, when set, are used as the text conditioning
	// ([1, L, D] each) instead of encoding Prompt and Negative: for
	// benchmarks without a text encoder and for replaying recorded
	// contexts. Uncond may be nil when CFG is 1.
	Cond, Uncond *tensor.Tensor
	// CondY and UncondY are the added conditioning vectors [1, adm] that
	// go with Cond and Uncond for SDXL-style UNets (nil for SD1).
	CondY, UncondY *tensor.Tensor

	// ReleaseModel drops the denoising network (and unmaps its weights)
	// as soon as sampling is done, before the VAE decodes, lowering the
	// peak memory by the network's size (1.7 GB for the SD1.5 UNet at f16,
	// 12 GB for the Flux transformer in fp8). The pipeline cannot sample
	// again afterwards: set it only on the last request, e.g. the last
	// image of a batch (gen does).
	ReleaseModel bool
	// Context, when set, cancels the generation: it is checked before
	// every network evaluation, and Generate returns its error (a server
	// stops a job whose client went away; nil never cancels).
	Context context.Context
	// Observer, when set, is called after every model call (see Call).
	Observer func(Call)
	// Progress, when set, is called after every sampling step.
	Progress func(step, total int)
	// Stage, when set, is called as each stage of Generate (and
	// GenerateBatch) begins: "sample"
	// (after the text encoding and the starting latent) and "decode"
	// (after the network was released, with ReleaseModel), e.g. for a
	// status line or to measure each stage's memory.
	Stage func(name string)
}

// Call is what the observer sees at every model evaluation: the
// sampler's x, σ, the denoised predictions under the prompt (Cond) and the
// negative prompt (Uncond, nil at cfg 1), and the guided result the
// sampler receives. Tensors are latents [1, C, h, w] (C = 4 for SD1/SDXL,
// 16 for Flux) and must not be modified.
type Call = sampling.Call

// Timings are the wall times of the stages of one Generate call (zero for
// stages it skipped, e.g. a cached text encoding).
type Timings struct {
	TextEncode  time.Duration
	ImageEncode time.Duration // VAE encoding of an img2img input
	Sampling    time.Duration
	Decode      time.Duration
	Steps       int // sampling steps run, for seconds per step
	ModelCalls  int // network evaluations (batched cond+uncond counts once)
	ModelPasses int // batch elements the network evaluated, summed over calls (2 per call with CFG)
}

// Result is the output of Generate.
type Result struct {
	Latent *tensor.Tensor // final latent [1, C, H/8, W/8] (the sampler's output, before the VAE's scale and shift)
	Image  *tensor.Tensor // decoded image [1, 3, H, W] in about [-1, 1], unclamped
	RGB    []uint8        // the image as 8-bit RGB, H·W·3 bytes, row-major: round(255·clamp((v+1)/2, 0, 1))
	Sigmas []float64      // the schedule used, steps+1 values ending in 0
	Timings
}

// TimeIDs returns SDXL's size conditioning for the request,
//
//	[orig_h, orig_w, crop_top, crop_left, target_h, target_w]
//
// with the defaults of the Request fields applied (original and target
// size = the image size, crops 0).
func (r *Request) TimeIDs() []float32 {
	or := func(v, def int) float32 {
		if v == 0 {
			return float32(def)
		}
		return float32(v)
	}
	return []float32{or(r.OrigHeight, r.Height), or(r.OrigWidth, r.Width), float32(r.CropH), float32(r.CropW),
		or(r.TargetHeight, r.Height), or(r.TargetWidth, r.Width)}
}

// ErrClipL is wrapped by load errors caused by a replacement CLIP-L text
// encoder file (Options.ClipL), e.g. one whose shapes do not fit, so that
// a command line can name the flag that gave it.
var ErrClipL = errors.New("CLIP-L text encoder")

// Errors wrapped by a family's load error when the cause is the part that
// an Options field (a command-line flag) supplies: missing where the model
// has none, or not fitting the model. A command line names the flag.
var (
	ErrVAE         = errors.New("autoencoder")
	ErrT5          = errors.New("T5 text encoder")
	ErrT5Tokenizer = errors.New("T5 tokenizer")
)

// stage calls r.Stage, if set.
func (r *Request) stage(name string) {
	if r.Stage != nil {
		r.Stage(name)
	}
}
