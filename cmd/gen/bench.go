package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"time"

	"github.com/godiffusion/godiffusion/asm"
	"github.com/godiffusion/godiffusion/models/sd1"
	"github.com/godiffusion/godiffusion/models/unet"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// sd15UNetGFLOP is the work of one SD1.5 UNet pass on a 64×64 latent
// (512×512 image) at batch 1: 803 GFLOP (multiply and add counted
// separately). Other sizes are scaled by the latent area, which slightly
// underestimates large images (attention grows with the area squared).
const sd15UNetGFLOP = 803.0

// runBench implements `gen bench`: per-stage timings of the SD1 pipeline,
// with random weights of the real SD1.5 shapes (nothing to download) or
// with a real checkpoint (--model). The text encoder is not timed in the
// random mode: the conditioning is random [1, 77, 768] tensors.
func runBench(args []string, stdout, stderr io.Writer) error {
	var arch, model, weights, tokDir, sampler, scheduler string
	var w, h, steps, threads, normGroups int
	var cfg float64
	fs := newFlagSet("gen bench")
	stringFlag(fs, &arch, "sd1", "model family (sd1)", "arch")
	stringFlag(fs, &model, "", "time a real checkpoint instead of random weights", "m", "model")
	stringFlag(fs, &weights, "f16", "random weight storage: f16, bf16 or f32", "weights")
	stringFlag(fs, &tokDir, "", "tokenizer (unused: the bench conditions on random contexts)", "tokenizer")
	stringFlag(fs, &sampler, "euler", "sampler", "sampler")
	stringFlag(fs, &scheduler, "normal", "scheduler", "scheduler")
	intFlag(fs, &w, 512, "width", "W", "width")
	intFlag(fs, &h, 512, "height", "H", "height")
	intFlag(fs, &steps, 2, "sampling steps", "steps")
	intFlag(fs, &threads, 0, "threads", "t", "threads")
	intFlag(fs, &normGroups, 0, "GroupNorm groups of a non-standard single-file model", "norm-groups")
	floatFlag(fs, &cfg, 7, "guidance scale (1 = one UNet pass per step, else a batch of 2)", "cfg-scale", "cfg")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case arch != "sd1":
		return badInput("--arch %q: bench supports sd1 only", arch)
	case w <= 0 || w%8 != 0:
		return badInput("-W/--width %d: must be a positive multiple of 8", w)
	case h <= 0 || h%8 != 0:
		return badInput("-H/--height %d: must be a positive multiple of 8", h)
	case steps <= 0:
		return badInput("--steps %d: must be at least 1", steps)
	case cfg < 0:
		return badInput("--cfg-scale %g: must not be negative", cfg)
	case threads < 0:
		return badInput("--threads %d: must not be negative", threads)
	}
	var dt tensor.DType
	switch weights {
	case "f16":
		dt = tensor.F16
	case "bf16":
		dt = tensor.BF16
	case "f32":
		dt = tensor.F32
	default:
		return badInput("--weights %q: must be f16, bf16 or f32", weights)
	}
	var err error
	if sampler, err = sd1.CanonicalSampler(sampler); err != nil {
		return badInput("--sampler: %v", err)
	}
	if scheduler, err = sd1.CanonicalScheduler(scheduler); err != nil {
		return badInput("--scheduler: %v", err)
	}
	if threads > 0 {
		tensor.SetThreads(threads)
	}

	fmt.Fprintf(stdout, "bench: %dx%d, %d steps, cfg %g, %s/%s, %d threads, kernels %s, GOARCH %s\n",
		w, h, steps, cfg, sampler, scheduler, tensor.Threads(), asm.Level(), runtime.GOARCH)
	t0 := time.Now()
	var pipe *sd1.Pipeline
	var ctxDim int
	if model != "" {
		if _, err := checkModel(model, "sd1"); err != nil {
			return err
		}
		pipe, err = sd1.Load(model, sd1.Options{NormGroups: normGroups, SkipTextEncoder: true})
		if err != nil {
			return badInput("--model: %v", err)
		}
		fmt.Fprintf(stdout, "load %s: %s\n", model, secs(time.Since(t0)))
	} else {
		u, err := unet.NewRandom(unet.SD15Config(), dt, 1)
		if err != nil {
			return err
		}
		v, err := vae.NewRandom(vae.SD1Config(), dt, 2)
		if err != nil {
			return err
		}
		pipe = sd1.New(sd1.Components{UNet: u, VAE: v})
		fmt.Fprintf(stdout, "random weights with the SD1.5 shapes (%s; UNet 320/640/1280/1280, VAE decoder 128/256/512/512): %s\n",
			weights, secs(time.Since(t0)))
	}
	defer pipe.Close()
	ctxDim = pipe.UNet.Config.CrossAttentionDim
	randCtx := func(seed uint64) *tensor.Tensor {
		g := sampling.NewGenerator(seed)
		return tensor.FromData(g.Randn(77*ctxDim), 1, 77, ctxDim)
	}
	req := sd1.Request{Seed: 0, Steps: steps, CFG: cfg, Sampler: sampler, Scheduler: scheduler, Width: w, Height: h,
		Cond: randCtx(10), Uncond: randCtx(11)}
	prog := newProgress(stderr, false)
	bar := prog.bar("")
	var rssSampling uint64
	req.Progress = func(step, total int) {
		bar.step(step, total)
		if step == total {
			rssSampling = peakRSS()
		}
	}
	res, err := pipe.Generate(req)
	bar.done()
	if err != nil {
		return err
	}
	perStepT := res.Sampling.Seconds() / float64(res.Steps)
	passes := float64(res.UNetPasses) // batch elements evaluated, summed over calls
	gflop := sd15UNetGFLOP * float64(w*h) / (512 * 512) * passes
	achieved := gflop / res.Sampling.Seconds()
	var peak float64
	if c := pipe.UNet.Config; c.BlockOutChannels[0] == 320 {
		peak = machinePeakGFLOPS()
	}
	fmt.Fprintf(stdout, "sampling: %s total, %.2f s/step, %d UNet calls (%d batch passes)",
		secs(res.Sampling), perStepT, res.ModelCalls, res.UNetPasses)
	c := pipe.UNet.Config
	if c.BlockOutChannels[0] == 320 && c.CrossAttentionDim == 768 {
		fmt.Fprintf(stdout, ", ~%.0f GFLOP/s = %.1f%% of the fp32 FMA peak %.0f GFLOP/s (%d threads × asm.PeakFMA)\n",
			achieved, 100*achieved/peak, peak, tensor.Threads())
	} else {
		fmt.Fprintln(stdout, " (GFLOP/s only for SD1.5-shaped UNets)")
	}
	fmt.Fprintf(stdout, "decode: %s\n", secs(res.Decode))
	fmt.Fprintf(stdout, "peak RSS: %s after sampling, %s after decoding\n", formatBytes(rssSampling), formatBytes(peakRSS()))
	return nil
}

// machinePeakGFLOPS measures the fp32 FMA peak of all worker threads
// together: asm.PeakFMA's register-only loop on every thread at once.
func machinePeakGFLOPS() float64 {
	n := tensor.Threads()
	const iters = 20_000_000
	asm.PeakFMA(iters / 10) // warm up
	flops := make([]int, n)
	t0 := time.Now()
	tensor.Parallel(n, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			flops[i] = asm.PeakFMA(iters)
		}
	})
	el := time.Since(t0).Seconds()
	total := 0
	for _, f := range flops {
		total += f
	}
	return math.Max(float64(total)/el/1e9, 1e-9)
}
