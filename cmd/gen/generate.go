package main

import (
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"github.com/godiffusion/godiffusion/hub"
	"github.com/godiffusion/godiffusion/models/families"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"image"
	_ "image/jpeg" // --init-img may be a JPEG
	_ "image/png"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/godiffusion/godiffusion/asm"
	"github.com/godiffusion/godiffusion/internal/infotext"
	"github.com/godiffusion/godiffusion/internal/pngmeta"
	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// genFlags are the flags of the default command.
type genFlags struct {
	model, prompt, negative string
	seed                    seedFlag
	steps                   int
	cfg                     float64
	sampler, scheduler      string
	width, height           int
	clipSkip                int
	clipL, tokenizer        string
	rescale                 float64
	arch                    string
	batch, threads          int
	precision               string // --precision: fp32 or bf16 (tensor.SetPrecision)
	output                  string
	overwrite               bool
	saveLatent, trace       string
	raw                     bool
	normGroups, textHeads   int
	textHeads2, unetHeadDim int
	quiet, noNaNCheck       bool
	verbose                 bool
	initImg                 string
	strength                float64
	sizeSet                 bool // -W or -H given explicitly
	guidance                float64
	emptyNegative           string
	vae, t5xxl, t5Tokenizer string
	given                   map[string]bool // flags given on the command line, by every name they were given under
	cfgRule                 guidanceFlags
	recommended             bool       // --recommended: apply the model card's settings
	card                    *hub.Model // the registry entry -m named, if any
}

func parseGenFlags(args []string) (*genFlags, error) {
	f := &genFlags{}
	fs := newFlagSet("gen")
	stringFlag(fs, &f.model, "", "checkpoint: a .safetensors file or a diffusers folder", "m", "model")
	stringFlag(fs, &f.prompt, "", "prompt (A1111 weighting syntax unless --raw)", "p", "prompt")
	stringFlag(fs, &f.negative, "", "negative prompt", "n", "negative-prompt")
	fs.Var(&f.seed, "seed", "noise seed (random when absent or -1)")
	fs.Var(&f.seed, "s", "noise seed (random when absent or -1)")
	intFlag(fs, &f.steps, 20, "sampling steps", "steps")
	// The defaults are ComfyUI's KSampler node (euler, normal, 20 steps,
	// cfg 8.0) with its EmptyLatentImage of 512×512, so that a seed gives
	// the picture ComfyUI gives for it.
	floatFlag(fs, &f.cfg, 8.0, "classifier-free guidance scale", "cfg-scale", "cfg")
	stringFlag(fs, &f.sampler, "euler", "sampler", "sampler", "sampling-method")
	stringFlag(fs, &f.scheduler, "normal", "schedule", "scheduler", "schedule")
	intFlag(fs, &f.width, 512, "image width (multiple of 8)", "W", "width")
	intFlag(fs, &f.height, 512, "image height (multiple of 8)", "H", "height")
	intFlag(fs, &f.clipSkip, 0, "CLIP skip (1 = last layer, 2 = penultimate)", "clip-skip")
	stringFlag(fs, &f.clipL, "", "replacement CLIP-L text encoder .safetensors", "clip-l", "clip_l")
	stringFlag(fs, &f.tokenizer, "", "CLIP tokenizer folder (vocab.json + merges.txt)", "tokenizer")
	floatFlag(fs, &f.rescale, 0, "guidance rescale (ComfyUI RescaleCFG multiplier, 0..1)", "guidance-rescale")
	stringFlag(fs, &f.arch, "auto", "model family: auto, sd1, sdxl, flux", "arch")
	intFlag(fs, &f.batch, 1, "number of images (seeds seed, seed+1, …)", "b", "batch-count")
	intFlag(fs, &f.threads, 0, "worker threads (0 = all cores)", "t", "threads")
	stringFlag(fs, &f.precision, "fp32", "arithmetic of matrix products, convolutions and attention: fp32 or bf16", "precision")
	stringFlag(fs, &f.output, "output.png", "output PNG", "o", "output")
	fs.BoolVar(&f.overwrite, "overwrite", false, "replace existing output files")
	stringFlag(fs, &f.saveLatent, "", "also write the final latent (tensor `latent`) to this .safetensors", "save-latent")
	stringFlag(fs, &f.trace, "", "write every model call's tensors to this .safetensors", "trace")
	fs.BoolVar(&f.raw, "raw", false, "tokenise the prompts literally (no weights, one 77-token window)")
	intFlag(fs, &f.normGroups, 0, "GroupNorm groups of a single-file model (0 = 32, real SD1)", "norm-groups")
	intFlag(fs, &f.textHeads, 0, "CLIP attention heads of a single-file model (0 = 12, CLIP-L)", "text-heads")
	intFlag(fs, &f.textHeads2, 0, "attention heads of a single-file SDXL model's bigG tower (0 = width/64 = 20)", "text-heads-2")
	intFlag(fs, &f.unetHeadDim, 0, "UNet attention head width of a single-file model (0 = the family's: 8 heads SD1, 64 SDXL)", "unet-head-dim")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress output")
	fs.BoolVar(&f.noNaNCheck, "no-nan-check", false, "skip the checks for NaN/Inf in weights, latents and the image (A1111's --disable-nan-check)")
	boolFlag(fs, &f.verbose, "debug messages on stderr (e.g. checkpoint tensors no component uses)", "v", "verbose")
	stringFlag(fs, &f.initImg, "", "init image (PNG or JPEG) for image-to-image", "i", "init-img")
	floatFlag(fs, &f.strength, 0.75, "img2img denoising strength in (0, 1]", "strength")
	floatFlag(fs, &f.guidance, 0, "distilled guidance of a guidance-distilled model (Flux.1-dev; default 3.5)", "guidance")
	stringFlag(fs, &f.emptyNegative, "encode", "the negative conditioning without a negative prompt: encode (the encoding of \"\") or zeros", "empty-negative")
	stringFlag(fs, &f.vae, "", "autoencoder file when the model has none (Flux: ae.safetensors)", "vae")
	stringFlag(fs, &f.t5xxl, "", "T5-XXL text encoder file (Flux: t5xxl_fp16.safetensors, t5xxl_fp8_e4m3fn[_scaled].safetensors)", "t5xxl")
	stringFlag(fs, &f.t5Tokenizer, "", "T5 tokenizer: spiece.model, tokenizer.json, or a folder with either", "t5-tokenizer")
	f.cfgRule.register(fs)
	fs.BoolVar(&f.recommended, "recommended", false, "use the settings the model card recommends (registry models)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	f.given = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) {
		f.given[fl.Name] = true
		switch fl.Name {
		case "W", "width", "H", "height":
			f.sizeSet = true
		}
	})
	return f, nil
}

// isGiven reports whether any of the names of one flag was given.
func (f *genFlags) isGiven(names ...string) bool {
	for _, n := range names {
		if f.given[n] {
			return true
		}
	}
	return false
}

// applyDefaults fills what the user left out with the model family's
// defaults (the sizes it was trained at, its sampling settings), and checks
// the settings that depend on the family.
func (f *genFlags) applyDefaults(d pipeline.Defaults, family detect.Family) error {
	if !f.isGiven("steps") {
		f.steps = d.Steps
	}
	if !f.isGiven("cfg-scale", "cfg") {
		f.cfg = d.CFG
	}
	if !f.isGiven("sampler", "sampling-method") {
		f.sampler = d.Sampler
	}
	if !f.isGiven("scheduler", "schedule") {
		f.scheduler = d.Scheduler
	}
	if !f.isGiven("guidance") {
		f.guidance = d.Guidance
	}
	if f.initImg == "" {
		// One side given keeps the family's other side (SDXL -W 768 is
		// 768×1024, not 768×512).
		if !f.isGiven("W", "width") {
			f.width = d.Width
		}
		if !f.isGiven("H", "height") {
			f.height = d.Height
		}
	}
	if m := d.SizeMultiple; m > 0 && (f.width%m != 0 || f.height%m != 0) {
		return badInput("-W/-H %dx%d: %s models need multiples of %d", f.width, f.height, family, m)
	}
	if f.isGiven("guidance") && d.Guidance == 0 {
		return badInput("--guidance %g: this %s model has no distilled guidance input (use --cfg-scale for classifier-free guidance)", f.guidance, family)
	}
	return nil
}

// Bounds of the count flags: generous, but a mistyped number is an error
// rather than hours of work or an allocation failure.
const (
	maxBatch   = 10000
	maxThreads = 4096
)

// validate checks every setting that needs no file, naming the flag.
func (f *genFlags) validate() error {
	switch {
	case f.model == "":
		return badInput("--model: no model given (a .safetensors checkpoint or a diffusers folder)")
	case f.steps <= 0 || f.steps > sampling.MaxSteps:
		return badInput("--steps %d: must be between 1 and %d", f.steps, sampling.MaxSteps)
	case f.cfg < 0:
		return badInput("--cfg-scale %g: must not be negative", f.cfg)
	case f.width <= 0 || f.width%8 != 0:
		return badInput("-W/--width %d: must be a positive multiple of 8", f.width)
	case f.height <= 0 || f.height%8 != 0:
		return badInput("-H/--height %d: must be a positive multiple of 8", f.height)
	case f.width > pipeline.MaxSide || f.height > pipeline.MaxSide || f.width*f.height > pipeline.MaxPixels:
		return badInput("-W/-H %dx%d: at most %d on a side and %d pixels in all", f.width, f.height, pipeline.MaxSide, pipeline.MaxPixels)
	case f.clipSkip < 0:
		return badInput("--clip-skip %d: must be 0, 1 (last layer) or more", f.clipSkip)
	case f.rescale < 0 || f.rescale > 1:
		return badInput("--guidance-rescale %g: must be between 0 and 1", f.rescale)
	case f.batch < 1 || f.batch > maxBatch:
		return badInput("--batch-count %d: must be between 1 and %d", f.batch, maxBatch)
	case f.threads < 0 || f.threads > maxThreads:
		return badInput("--threads %d: must be between 0 (all cores) and %d", f.threads, maxThreads)
	case f.precision != "fp32" && f.precision != "bf16":
		return badInput("--precision %q: must be fp32 or bf16", f.precision)
	case f.isGiven("strength") && f.initImg == "":
		return badInput("--strength: only img2img uses it; give the init image with -i/--init-img")
	case f.seed.set && f.seed.value > math.MaxUint64-uint64(f.batch-1):
		return badInput("--seed %d with --batch-count %d: the seeds seed..seed+%d would pass 18446744073709551615", f.seed.value, f.batch, f.batch-1)
	case f.initImg != "" && !(f.strength > 0 && f.strength <= 1):
		return badInput("--strength %g: must be in (0, 1]", f.strength)
	case f.guidance < 0:
		return badInput("--guidance %g: must not be negative", f.guidance)
	case f.emptyNegative != "encode" && f.emptyNegative != "zeros":
		return badInput("--empty-negative %q: must be encode (the encoding of \"\") or zeros (an all-zero negative conditioning)", f.emptyNegative)
	case f.emptyNegative == "zeros" && f.negative != "":
		return badInput("--empty-negative zeros: a negative prompt is given (-n); zeros replaces the negative conditioning only when there is none")
	case f.initImg != "" && float64(f.steps)/f.strength > sampling.MaxSteps:
		return badInput("--strength %g with --steps %d: img2img would need a %.0f-step schedule, more than %d", f.strength, f.steps, float64(f.steps)/f.strength, sampling.MaxSteps)
	case f.normGroups < 0 || f.textHeads < 0 || f.textHeads2 < 0 || f.unetHeadDim < 0:
		return badInput("--norm-groups/--text-heads/--text-heads-2/--unet-head-dim must not be negative")
	}
	var err error
	if f.sampler, err = pipeline.CanonicalSampler(f.sampler); err != nil {
		return badInput("--sampler: %v", err)
	}
	if f.scheduler, err = pipeline.CanonicalScheduler(f.scheduler); err != nil {
		return badInput("--scheduler: %v", err)
	}
	return f.cfgRule.validate(f.cfg, f.rescale)
}

// checkModel detects the model family and checks it against --arch.
func checkModel(path, arch string) (detect.Info, error) {
	switch arch {
	case "auto", "sd1", "sdxl", "flux":
	default:
		return detect.Info{}, badInput("--arch %q: must be auto, sd1, sdxl or flux", arch)
	}
	if err := checkModelFile(path); err != nil {
		return detect.Info{}, err
	}
	info, err := detect.Path(path)
	if err != nil {
		return info, badInput("--model: %v", err)
	}
	if arch != "auto" && string(info.Family) != arch {
		return info, badInput("--arch %s: %s is a %s model (%s)", arch, path, info.Family, info.Reason)
	}
	if _, err := families.Lookup(info); err != nil {
		return info, badInput("--model %s: %v", path, err)
	}
	return info, nil
}

// checkClipL makes sure a --clip-l file is a readable safetensors file
// holding one CLIP text model (whether its shapes fit the checkpoint is
// checked when loading).
func checkClipL(path string) error {
	if path == "" {
		return nil
	}
	p, err := nn.OpenParams(path)
	if err != nil {
		return badInput("--clip-l: %v", err)
	}
	defer p.Close()
	if _, err := clip.DetectPrefix(p); err != nil {
		return badInput("--clip-l: %v", err)
	}
	return nil
}

// numbered returns path for image i of n: path itself when n == 1, else
// the name with "-<i+1>" before the extension (out.png → out-1.png, out-2.png).
func numbered(path string, i, n int) string {
	if path == "" || n == 1 {
		return path
	}
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%d%s", strings.TrimSuffix(path, ext), i+1, ext)
}

// readInitImage decodes --init-img (PNG or JPEG) to a [1, 3, H, W] tensor
// in [-1, 1]. Its size sets -W/-H; explicit -W/-H must match it (the image
// is not resized).
func readInitImage(f *genFlags) (*tensor.Tensor, error) {
	if st, err := os.Stat(f.initImg); err == nil && st.IsDir() {
		return nil, badInput("--init-img %s: is a folder; give a PNG or JPEG file", f.initImg)
	}
	r, err := os.Open(f.initImg)
	if err != nil {
		return nil, badInput("--init-img: %v", err)
	}
	defer r.Close()
	// Check the declared size before decoding, so a huge image is refused
	// without allocating its pixels.
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return nil, badInput("--init-img %s: not a PNG or JPEG image: %v", f.initImg, err)
	}
	if cfg.Width > pipeline.MaxSide || cfg.Height > pipeline.MaxSide || cfg.Width*cfg.Height > pipeline.MaxPixels {
		return nil, badInput("--init-img %s: %dx%d is larger than %d on a side or %d pixels in all", f.initImg, cfg.Width, cfg.Height, pipeline.MaxSide, pipeline.MaxPixels)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, badInput("--init-img: %v", err)
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, badInput("--init-img %s: not a PNG or JPEG image: %v", f.initImg, err)
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	switch {
	case w%8 != 0 || h%8 != 0:
		return nil, badInput("--init-img %s: size %dx%d is not a multiple of 8", f.initImg, w, h)
	case f.sizeSet && (w != f.width || h != f.height):
		return nil, badInput("--init-img %s: size %dx%d differs from -W/-H %dx%d (the image is not resized)", f.initImg, w, h, f.width, f.height)
	}
	f.width, f.height = w, h
	return vae.FromImage(img), nil
}

// randomSeed draws a seed from the operating system; seeds stay below 2³²
// so they are easy to type (torch only uses the low 32 bits anyway).
func randomSeed() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return uint64(time.Now().UnixNano()) & math.MaxUint32
	}
	return binary.LittleEndian.Uint64(b[:]) & math.MaxUint32
}

// modelName is the model's name for the PNG parameters: the file name
// without extension, or the folder name.
func modelName(path string) string {
	base := filepath.Base(filepath.Clean(path))
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// genSetup is a validated command line: the flags with the family's
// defaults applied, the detected model, the tokenizers found and the init
// image read. Nothing is loaded yet.
type genSetup struct {
	f         *genFlags
	info      detect.Info
	fam       families.Family
	tokDir    string
	t5Tok     string
	initImage *tensor.Tensor
}

// setupGenerate parses and checks args as the default command does, up to
// (not including) the output files, reporting bad input naming the flag:
// a model named by -m is resolved (downloaded) first, the family's
// defaults and the model card's recommendations applied. Warnings about
// unused settings go to stderr (nil: nowhere).
func setupGenerate(args []string, stderr io.Writer) (*genSetup, error) {
	if stderr == nil {
		stderr = io.Discard
	}
	f, err := parseGenFlags(args)
	if err != nil {
		return nil, err
	}
	if err := resolveModel(f, stderr); err != nil {
		return nil, err
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	info, err := checkModel(f.model, f.arch)
	if err != nil {
		return nil, err
	}
	s := &genSetup{f: f, info: info}
	s.fam, _ = families.Lookup(info) // checkModel found it
	if err := f.applyDefaults(s.fam.Defaults(info), info.Family); err != nil {
		return nil, err
	}
	if f.card != nil {
		recommend(f, f.card, stderr)
	}
	if err := checkFamilySettings(f, info); err != nil {
		return nil, err
	}
	if s.tokDir, err = clip.FindTokenizer(f.model, f.tokenizer); err != nil {
		return nil, badInput("--tokenizer: %v", err)
	}
	if info.Family == detect.Flux {
		if s.t5Tok, err = findT5Tokenizer(f); err != nil {
			return nil, err
		}
	}
	warnUnused(f, info, stderr)
	if err := checkClipL(f.clipL); err != nil {
		return nil, err
	}
	if f.initImg != "" {
		if s.initImage, err = readInitImage(f); err != nil {
			return nil, err
		}
	}
	if f.output == "" {
		return nil, badInput("-o/--output: empty file name")
	}
	return s, nil
}

// loadOptions are the pipeline.Options the flags ask for.
func (s *genSetup) loadOptions() pipeline.Options {
	f := s.f
	return pipeline.Options{
		TokenizerDir: s.tokDir, ClipL: f.clipL,
		NormGroups: f.normGroups, TextHeads: f.textHeads, TextHeads2: f.textHeads2, UNetHeadDim: f.unetHeadDim,
		VAE: f.vae, T5XXL: f.t5xxl, T5Tokenizer: s.t5Tok,
		FreeTextEncoder: true, // one prompt per command: the encodings are cached, the weights are not needed again
	}
}

// request is the pipeline request for the image with seed seed.
func (s *genSetup) request(seed uint64) pipeline.Request {
	f := s.f
	return pipeline.Request{
		Prompt: f.prompt, Negative: f.negative, Seed: seed,
		Steps: f.steps, CFG: f.cfg, Sampler: f.sampler, Scheduler: f.scheduler,
		Width: f.width, Height: f.height, ClipSkip: f.clipSkip, GuidanceRescale: f.rescale,
		Guidance: f.guidance, ZeroNegative: f.emptyNegative == "zeros",
		RawPrompt: f.raw, InitImage: s.initImage, Denoise: f.strength, CFGOptions: f.cfgRule.opts,
	}
}

// parameters are the A1111 "parameters" of the image with seed seed.
func (s *genSetup) parameters(seed uint64) pngmeta.Parameters {
	f := s.f
	params := pngmeta.Parameters{
		Prompt: f.prompt, Negative: f.negative, Steps: f.steps,
		Sampler: infotext.Label(infotext.Samplers, f.sampler), Schedule: infotext.Label(infotext.Schedules, f.scheduler),
		CFG: f.cfg, Seed: seed, Width: f.width, Height: f.height, Model: modelName(f.model),
		ClipSkip: f.clipSkip, GuidanceRescale: f.rescale, Extra: familyParameters(f, s.info),
	}
	params.Extra = append(params.Extra, f.cfgRule.pngExtra()...)
	if s.initImage != nil {
		var d string
		params.Steps, d = infotext.Img2ImgSteps(f.steps, f.strength) // A1111's Steps is the schedule's length
		params.Extra = append(params.Extra, [2]string{"Denoising strength", d})
	}
	return params
}

// encodeImage encodes an image's pixels in format (PNG or JPEG by the
// output's extension) with its A1111 parameters.
func (s *genSetup) encodeImage(format string, rgb []uint8, seed uint64) ([]byte, error) {
	img, err := pngmeta.RGB8(rgb, s.f.width, s.f.height)
	if err != nil {
		return nil, err
	}
	return encodeImage(format, img, s.parameters(seed).String())
}

// setRuntime applies --threads, --precision, --no-nan-check and --verbose
// to the process; the returned function restores the NaN checks.
func (f *genFlags) setRuntime(stderr io.Writer) (restore func()) {
	if f.threads > 0 {
		tensor.SetThreads(f.threads)
	}
	restore = func() {}
	if f.noNaNCheck {
		tensor.NaNChecks = false
		restore = func() { tensor.NaNChecks = true }
	}
	prec, _ := tensor.ParsePrecision(f.precision) // checked with the flags
	tensor.SetPrecision(prec)
	if f.verbose {
		slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	slog.Debug("kernels", "level", asm.Level(), "precision", prec, "bf16 GEMM kernel", asm.BF16Kernel())
	return restore
}

func runGenerate(args []string, stdout, stderr io.Writer) error {
	gs, err := setupGenerate(args, stderr)
	if err != nil {
		return err
	}
	f := gs.f
	format, err := imageFormat(f.output)
	if err != nil {
		return err
	}
	files, err := prepareImageFiles(f) // every output proven writable before any work
	if err != nil {
		return err
	}
	defer discardAll(files) // temporary files of outputs not committed
	seed := f.seed.value
	if !f.seed.set {
		seed = randomSeed()
	}
	defer f.setRuntime(stderr)()
	prog := newProgress(stderr, f.quiet)
	t0 := time.Now()
	pipe, err := gs.fam.Load(f.model, gs.loadOptions())
	if err != nil {
		return badInput("%s: %v", componentFlag(err), err)
	}
	defer pipe.Close()
	loadTime := time.Since(t0)
	returnMemory()

	var total pipeline.Timings
	for i := 0; i < f.batch; i++ {
		s := seed + uint64(i)
		fmt.Fprintf(stderr, "seed %d%s\n", s, batchLabel(i, f.batch)) // always, even with --quiet
		req := gs.request(s)
		// After the last image's sampling the network is not needed:
		// dropping it before the VAE decodes lowers the peak memory by
		// its size. Earlier images of a batch keep it.
		req.ReleaseModel = i == f.batch-1
		var tr *trace
		if f.trace != "" {
			tr = &trace{}
			req.Observer = tr.observe
		}
		bar := prog.bar(batchLabel(i, f.batch))
		req.Progress = bar.step
		res, err := pipe.Generate(req)
		bar.done()
		if err != nil {
			return err
		}
		total.TextEncode += res.TextEncode
		total.ImageEncode += res.ImageEncode
		total.Sampling += res.Sampling
		total.Decode += res.Decode
		total.Steps += res.Steps

		img, err := gs.encodeImage(format, res.RGB, s)
		if err != nil {
			return err
		}
		if err := files[i].image.Write(img); err != nil {
			return err
		}
		if files[i].latent != nil {
			if err := writeTensors(files[i].latent, named{"latent", res.Latent}); err != nil {
				return err
			}
		}
		if files[i].trace != nil {
			sig := make([]float32, len(res.Sigmas))
			for j, v := range res.Sigmas {
				sig[j] = float32(v)
			}
			ts := append(tr.tensors, named{"sigmas", tensor.FromData(sig, len(sig))})
			if err := writeTensors(files[i].trace, ts...); err != nil {
				return err
			}
		}
		if err := files[i].commit(); err != nil {
			return err
		}
		fmt.Fprintln(stdout, files[i].image.Path)
	}
	rememberTokenizer(f.tokenizer, gs.tokDir, stderr) // only after a successful run (#14 item 4)
	imgEnc := ""
	if total.ImageEncode > 0 {
		imgEnc = ", image encode " + secs(total.ImageEncode)
	}
	if gs.t5Tok != "" && f.t5Tokenizer != "" {
		rememberT5Tokenizer(gs.t5Tok, stderr)
	}
	prog.printf("timings: load %s, text encode %s%s, sampling %s (%s/step), decode %s; peak RSS %s\n",
		secs(loadTime), secs(total.TextEncode), imgEnc, secs(total.Sampling), secs(perStep(total.Sampling, total.Steps)),
		secs(total.Decode), formatBytes(peakRSS()))
	return nil
}

func batchLabel(i, n int) string {
	if n == 1 {
		return ""
	}
	return fmt.Sprintf(" (image %d/%d)", i+1, n)
}

func perStep(d time.Duration, steps int) time.Duration {
	if steps == 0 {
		return 0
	}
	return d / time.Duration(steps)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// trace collects the tensors of every model call for --trace.
type trace struct{ tensors []named }

func (t *trace) observe(c pipeline.Call) {
	add := func(name string, x *tensor.Tensor) {
		if x != nil {
			t.tensors = append(t.tensors, named{fmt.Sprintf("%s.%d", name, c.Index), x.Clone()})
		}
	}
	add("x", c.X)
	add("sigma", tensor.FromData([]float32{float32(c.Sigma)}, 1))
	add("cond", c.Cond)
	add("uncond", c.Uncond)
	add("empty", c.Empty)
	add("guided", c.Guided)
}
