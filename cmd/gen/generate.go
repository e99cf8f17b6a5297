package main

import (
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"image"
	_ "image/jpeg" // --init-img may be a JPEG
	_ "image/png"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/godiffusion/godiffusion/asm"
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
	quiet                   bool
	verbose                 bool
	initImg                 string
	strength                float64
	sizeSet                 bool // -W or -H given explicitly
	guidance                float64
	emptyNegative           string
	vae, t5xxl, t5Tokenizer string
	given                   map[string]bool // flags given on the command line, by every name they were given under
	cfgRule                 guidanceFlags
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
	stringFlag(fs, &f.precision, "fp32", "arithmetic of matrix products and convolutions: fp32 or bf16", "precision")
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
	boolFlag(fs, &f.verbose, "debug messages on stderr (e.g. checkpoint tensors no component uses)", "v", "verbose")
	stringFlag(fs, &f.initImg, "", "init image (PNG or JPEG) for image-to-image", "i", "init-img")
	floatFlag(fs, &f.strength, 0.75, "img2img denoising strength in (0, 1]", "strength")
	floatFlag(fs, &f.guidance, 0, "distilled guidance of a guidance-distilled model (Flux.1-dev; default 3.5)", "guidance")
	stringFlag(fs, &f.emptyNegative, "encode", "the negative conditioning without a negative prompt: encode (the encoding of \"\") or zeros", "empty-negative")
	stringFlag(fs, &f.vae, "", "autoencoder file when the model has none (Flux: ae.safetensors)", "vae")
	stringFlag(fs, &f.t5xxl, "", "T5-XXL text encoder file (Flux: t5xxl_fp16.safetensors, t5xxl_fp8_e4m3fn[_scaled].safetensors)", "t5xxl")
	stringFlag(fs, &f.t5Tokenizer, "", "T5 tokenizer: spiece.model, tokenizer.json, or a folder with either", "t5-tokenizer")
	f.cfgRule.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	f.given = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) {
		f.given[fl.Name] = true
		switch fl.Name {
		case "W", "H", "width", "height":
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
	info, err := detect.Path(path)
	if err != nil {
		return info, badInput("--model: %v", err)
	}
	if arch != "auto" && string(info.Family) != arch {
		return info, badInput("--arch %s: %s is a %s model (%s)", arch, path, info.Family, info.Reason)
	}
	if _, ok := families[info.Family]; ok {
		return info, nil
	}
	if info.Family == detect.SD2 {
		return info, badInput("--model %s: %s models are not supported yet (sd1, sdxl and flux are)", path, info.Family)
	}
	return info, badInput("--model %s: unknown model family", path)
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

// checkOutput makes sure path can be written: its folder exists and, unless
// overwrite, the file does not.
func checkOutput(flagName, path string, overwrite bool) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return badInput("%s %s: folder %s does not exist", flagName, path, dir)
	}
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return badInput("%s %s: is a folder", flagName, path)
		}
		if !overwrite {
			return badInput("%s %s: file exists (use --overwrite to replace it)", flagName, path)
		}
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
	fam       family
	tokDir    string
	t5Tok     string
	initImage *tensor.Tensor
}

// setupGenerate parses and checks args as the default command does, up to
// (not including) the output files, reporting bad input naming the flag.
// Warnings about unused settings go to stderr (nil: none).
func setupGenerate(args []string, stderr io.Writer) (*genSetup, error) {
	f, err := parseGenFlags(args)
	if err != nil {
		return nil, err
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	info, err := checkModel(f.model, f.arch)
	if err != nil {
		return nil, err
	}
	s := &genSetup{f: f, info: info, fam: families[info.Family]}
	if err := f.applyDefaults(s.fam.defaults(info), info.Family); err != nil {
		return nil, err
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
	if stderr != nil {
		warnUnused(f, info, stderr)
	}
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

// request is the pipeline request for the image with seed s.
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

// encodePNG encodes an image's pixels with its A1111 parameters chunk.
func (s *genSetup) encodePNG(rgb []uint8, seed uint64) ([]byte, error) {
	f := s.f
	params := pngmeta.Parameters{
		Prompt: f.prompt, Negative: f.negative, Steps: f.steps,
		Sampler: a1111Name(a1111Samplers, f.sampler), Schedule: a1111Name(a1111Schedules, f.scheduler),
		CFG: f.cfg, Seed: seed, Width: f.width, Height: f.height, Model: modelName(f.model),
		ClipSkip: f.clipSkip, GuidanceRescale: f.rescale, Extra: familyParameters(f, s.info),
	}
	params.Extra = append(params.Extra, f.cfgRule.pngExtra()...)
	if s.initImage != nil {
		params.Extra = append(params.Extra, [2]string{"Denoising strength", strconv.FormatFloat(f.strength, 'g', -1, 64)})
	}
	img, err := pngmeta.RGB8(rgb, f.width, f.height)
	if err != nil {
		return nil, err
	}
	return pngmeta.Encode(img, [2]string{pngmeta.Keyword, params.String()})
}

func runGenerate(args []string, stdout, stderr io.Writer) error {
	s, err := setupGenerate(args, stderr)
	if err != nil {
		return err
	}
	f, fam, tokDir, t5Tok := s.f, s.fam, s.tokDir, s.t5Tok
	outs := map[string]string{"-o/--output": f.output, "--save-latent": f.saveLatent, "--trace": f.trace}
	seen := map[string]bool{}
	for _, name := range []string{"-o/--output", "--save-latent", "--trace"} {
		for i := 0; i < f.batch; i++ {
			p := numbered(outs[name], i, f.batch)
			if p == "" {
				continue
			}
			if seen[filepath.Clean(p)] {
				return badInput("%s %s: the same file is named twice", name, p)
			}
			seen[filepath.Clean(p)] = true
			if err := checkOutput(name, p, f.overwrite); err != nil {
				return err
			}
		}
	}
	seed := f.seed.value
	if !f.seed.set {
		seed = randomSeed()
	}
	f.setRuntime(stderr)
	prog := newProgress(stderr, f.quiet)
	t0 := time.Now()
	pipe, err := fam.load(f.model, s.loadOptions())
	if err != nil {
		return badInput("%s: %v", componentFlag(err), err)
	}
	defer pipe.Close()
	loadTime := time.Since(t0)
	rememberTokenizer(f.tokenizer, tokDir, stderr)
	returnMemory()

	var total pipeline.Timings
	for i := 0; i < f.batch; i++ {
		seed := seed + uint64(i)
		fmt.Fprintf(stderr, "seed %d%s\n", seed, batchLabel(i, f.batch)) // always, even with --quiet
		req := s.request(seed)
		// After the last image's sampling the UNet is not needed:
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

		png, err := s.encodePNG(res.RGB, seed)
		if err != nil {
			return err
		}
		out := numbered(f.output, i, f.batch)
		if err := pngmeta.WriteFile(out, png, f.overwrite); err != nil {
			return err
		}
		fmt.Fprintln(stdout, out)
		if p := numbered(f.saveLatent, i, f.batch); p != "" {
			if err := writeTensors(p, f.overwrite, named{"latent", res.Latent}); err != nil {
				return err
			}
		}
		if p := numbered(f.trace, i, f.batch); p != "" {
			sig := make([]float32, len(res.Sigmas))
			for j, v := range res.Sigmas {
				sig[j] = float32(v)
			}
			ts := append(tr.tensors, named{"sigmas", tensor.FromData(sig, len(sig))})
			if err := writeTensors(p, f.overwrite, ts...); err != nil {
				return err
			}
		}
	}
	imgEnc := ""
	if total.ImageEncode > 0 {
		imgEnc = ", image encode " + secs(total.ImageEncode)
	}
	if t5Tok != "" && f.t5Tokenizer != "" {
		rememberT5Tokenizer(t5Tok, stderr)
	}
	prog.printf("timings: load %s, text encode %s%s, sampling %s (%s/step), decode %s; peak RSS %s\n",
		secs(loadTime), secs(total.TextEncode), imgEnc, secs(total.Sampling), secs(perStep(total.Sampling, total.Steps)),
		secs(total.Decode), formatBytes(peakRSS()))
	return nil
}

// setRuntime applies --threads, --precision and --verbose to the process.
func (f *genFlags) setRuntime(stderr io.Writer) {
	if f.threads > 0 {
		tensor.SetThreads(f.threads)
	}
	prec, _ := tensor.ParsePrecision(f.precision) // checked with the flags
	tensor.SetPrecision(prec)
	if f.verbose {
		slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	slog.Debug("kernels", "level", asm.Level(), "precision", prec, "bf16 GEMM kernel", asm.BF16Kernel())
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
