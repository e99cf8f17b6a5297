package main

import (
	"flag"

	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/sdxl"

	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// benchFlags are the settings of `gen bench`, checked and completed by
// parseBenchFlags.
type benchFlags struct {
	arch                 string // "sd1", "sdxl", "flux-schnell" or "flux-dev": the random shapes, or the --model file's family
	model                string // checkpoint to time; "" for random weights
	weights              string // random weight storage, as given ("f16", "f8")
	dtype                tensor.DType
	sampler, scheduler   string // canonical names
	width, height, steps int
	threads              int
	precision            tensor.Precision // --precision fp32|bf16
	noNaNCheck           bool             // --no-nan-check: time the run without the NaN checks
	batch                int              // requests run as one network batch (pipeline.GenerateBatch)
	cfg                  float64
	// Hyper-parameters of a non-standard single-file model (0 = default).
	normGroups, textHeads, textHeads2, unetHeadDim int
	// Flux: the parts a transformer-only file needs (--vae, --t5xxl,
	// --clip-l), the distilled guidance, and whether to time T5 at all.
	vae, t5xxl, clipL string
	guidance          float64
	noT5              bool
}

// isFlux tells whether an --arch value is a Flux variant.
func isFlux(arch string) bool { return arch == "flux-schnell" || arch == "flux-dev" }

// parseBenchFlags reads the bench's flags, validates every setting and,
// with --model, detects the file's family (which --arch, when given, must
// match). Without -W/-H the size is 512×512 for SD1 and 1024×1024 for
// SDXL, as for gen.
func parseBenchFlags(args []string) (*benchFlags, error) {
	f := &benchFlags{}
	var tokDir, prec string
	fs := newFlagSet("gen bench")
	stringFlag(fs, &f.arch, "sd1", "model family of the random weights: sd1 (SD1.5), sdxl (SDXL base), flux-schnell or flux-dev (Flux.1, 12 B); with --model, a family the file must have (sd1, sdxl, flux)", "arch")
	stringFlag(fs, &f.model, "", "time a real checkpoint instead of random weights", "m", "model")
	stringFlag(fs, &f.weights, "", "random weight storage: f16, bf16 or f32, or f8 (e4m3fn) for Flux (default f16; bf16 for Flux)", "weights")
	stringFlag(fs, &f.vae, "", "Flux --model: the autoencoder file (ae.safetensors)", "vae")
	stringFlag(fs, &f.t5xxl, "", "Flux --model: the T5-XXL file (t5xxl_fp16.safetensors, t5xxl_fp8_e4m3fn.safetensors)", "t5xxl")
	stringFlag(fs, &f.clipL, "", "Flux --model: the CLIP-L file (clip_l.safetensors)", "clip-l")
	floatFlag(fs, &f.guidance, 0, "Flux-dev distilled guidance (default 3.5)", "guidance")
	boolFlag(fs, &f.noT5, "Flux: do not build and time T5-XXL (random text tokens instead)", "no-t5")
	stringFlag(fs, &tokDir, "", "tokenizer (unused: the bench conditions on random contexts)", "tokenizer")
	stringFlag(fs, &f.sampler, "euler", "sampler", "sampler")
	stringFlag(fs, &f.scheduler, "normal", "scheduler", "scheduler")
	intFlag(fs, &f.width, 512, "width (default 512; 1024 for SDXL)", "W", "width")
	intFlag(fs, &f.height, 512, "height (default 512; 1024 for SDXL)", "H", "height")
	intFlag(fs, &f.steps, 2, "sampling steps", "steps")
	intFlag(fs, &f.threads, 0, "threads", "t", "threads")
	stringFlag(fs, &prec, "fp32", "arithmetic of matrix products, convolutions and attention: fp32 or bf16", "precision")
	intFlag(fs, &f.normGroups, 0, "GroupNorm groups of a non-standard single-file model", "norm-groups")
	intFlag(fs, &f.textHeads, 0, "CLIP heads of a non-standard single-file model (accepted for symmetry with gen; the bench encodes no text)", "text-heads")
	intFlag(fs, &f.textHeads2, 0, "bigG heads of a non-standard single-file SDXL model (accepted for symmetry with gen; the bench encodes no text)", "text-heads-2")
	intFlag(fs, &f.unetHeadDim, 0, "UNet attention head width of a non-standard single-file model (0 = the family's: 8 heads SD1, 64 SDXL)", "unet-head-dim")
	floatFlag(fs, &f.cfg, 7, "guidance scale (1 = one network pass per step, else a batch of 2; default 7, Flux 1)", "cfg-scale", "cfg")
	fs.BoolVar(&f.noNaNCheck, "no-nan-check", false, "skip the NaN/Inf checks (to measure what they cost)")
	intFlag(fs, &f.batch, 1, "images sampled together as one network batch (gen sweep's batching; 1 = gen)", "batch")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	archSet, sizeSet, stepsSet, schedSet, cfgSet, guidanceSet := false, false, false, false, false, false
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "arch":
			archSet = true
		case "W", "H", "width", "height":
			sizeSet = true
		case "steps":
			stepsSet = true
		case "scheduler":
			schedSet = true
		case "cfg-scale", "cfg":
			cfgSet = true
		case "guidance":
			guidanceSet = true
		}
	})
	if f.model != "" {
		// The file says what it is; --arch, when given, must agree.
		want := "auto"
		if archSet {
			want = f.arch
			if isFlux(f.arch) {
				want = "flux"
			}
		}
		info, err := checkModel(f.model, want)
		if err != nil {
			return nil, err
		}
		fileArch := string(info.Family)
		if info.Family == detect.Flux {
			fileArch = "flux-" + info.Variant
		}
		if archSet && isFlux(f.arch) && f.arch != fileArch {
			return nil, badInput("--arch %s: %s is %s", f.arch, f.model, fileArch)
		}
		f.arch = fileArch
	}
	flux := isFlux(f.arch)
	if !cfgSet {
		f.cfg = 7
		if flux {
			f.cfg = 1
		}
	}
	if f.weights == "" {
		f.weights = "f16"
		if flux {
			f.weights = "bf16"
		}
	}
	switch {
	case f.batch < 1 || f.batch > maxSweepCells:
		return nil, badInput("--batch %d: must be between 1 and %d", f.batch, maxSweepCells)
	case f.arch != "sd1" && f.arch != "sdxl" && !flux:
		return nil, badInput("--arch %q: bench supports sd1, sdxl, flux-schnell and flux-dev", f.arch)
	case flux && !sizeSet:
		f.width, f.height = 1024, 1024
	case f.arch == "sdxl" && !sizeSet:
		f.width, f.height = sdxl.Defaults.Width, sdxl.Defaults.Height
	}
	if flux && !stepsSet {
		f.steps = 1
	}
	if flux && !schedSet {
		f.scheduler = "simple" // one flow schedule; named as gen names it
	}
	mult := 8
	if flux {
		mult = 16
	}
	switch {
	case f.width <= 0 || f.width%mult != 0:
		return nil, badInput("-W/--width %d: must be a positive multiple of %d", f.width, mult)
	case f.height <= 0 || f.height%mult != 0:
		return nil, badInput("-H/--height %d: must be a positive multiple of %d", f.height, mult)
	}
	switch {
	case f.width <= 0 || f.width%8 != 0:
		return nil, badInput("-W/--width %d: must be a positive multiple of 8", f.width)
	case f.height <= 0 || f.height%8 != 0:
		return nil, badInput("-H/--height %d: must be a positive multiple of 8", f.height)
	case f.width > pipeline.MaxSide || f.height > pipeline.MaxSide || f.width*f.height > pipeline.MaxPixels:
		return nil, badInput("-W/-H %dx%d: at most %d on a side and %d pixels in all", f.width, f.height, pipeline.MaxSide, pipeline.MaxPixels)
	case f.steps <= 0 || f.steps > sampling.MaxSteps:
		return nil, badInput("--steps %d: must be between 1 and %d", f.steps, sampling.MaxSteps)
	case f.cfg < 0:
		return nil, badInput("--cfg-scale %g: must not be negative", f.cfg)
	case f.threads < 0 || f.threads > maxThreads:
		return nil, badInput("--threads %d: must be between 0 (all cores) and %d", f.threads, maxThreads)
	}
	switch f.weights {
	case "f16":
		f.dtype = tensor.F16
	case "bf16":
		f.dtype = tensor.BF16
	case "f32":
		f.dtype = tensor.F32
	case "f8":
		f.dtype = tensor.F8E4M3
		if !flux {
			return nil, badInput("--weights f8: only for Flux (the UNets take f16, bf16 or f32)")
		}
	default:
		return nil, badInput("--weights %q: must be f16, bf16 or f32 (or f8 for Flux)", f.weights)
	}
	if !guidanceSet {
		f.guidance = 0
		if f.arch == "flux-dev" {
			f.guidance = 3.5
		}
	}
	switch {
	case f.guidance < 0:
		return nil, badInput("--guidance %g: must not be negative", f.guidance)
	case f.guidance != 0 && f.arch != "flux-dev":
		return nil, badInput("--guidance %g: only Flux.1-dev has a distilled guidance input", f.guidance)
	case !flux && (f.vae != "" || f.t5xxl != "" || f.clipL != ""):
		return nil, badInput("--vae/--t5xxl/--clip-l: only for a Flux --model")
	case flux && f.model == "" && (f.vae != "" || f.t5xxl != "" || f.clipL != ""):
		return nil, badInput("--vae/--t5xxl/--clip-l: give them with --model (random weights need no files)")
	}
	var err error
	if f.precision, err = tensor.ParsePrecision(prec); err != nil {
		return nil, badInput("--precision %q: must be fp32 or bf16", prec)
	}
	if f.sampler, err = pipeline.CanonicalSampler(f.sampler); err != nil {
		return nil, badInput("--sampler: %v", err)
	}
	if f.scheduler, err = pipeline.CanonicalScheduler(f.scheduler); err != nil {
		return nil, badInput("--scheduler: %v", err)
	}
	return f, nil
}
