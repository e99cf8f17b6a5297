package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/godiffusion/godiffusion/asm"
	"github.com/godiffusion/godiffusion/models/sd1"
	"github.com/godiffusion/godiffusion/models/unet"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/safetensors"
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
	var w, h, steps, threads, normGroups, textHeads int
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
	intFlag(fs, &textHeads, 0, "CLIP heads of a non-standard single-file model (accepted for symmetry with gen; the bench encodes no text)", "text-heads")
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

	// Everything is printed at the end as one block, easy to paste into
	// an issue; progress goes to stderr meanwhile.
	t0 := time.Now()
	var pipe *sd1.Pipeline
	var source, stored string
	loadLabel := "build"
	if model != "" {
		if _, err := checkModel(model, "sd1"); err != nil {
			return err
		}
		pipe, err = sd1.Load(model, sd1.Options{NormGroups: normGroups, TextHeads: textHeads, SkipTextEncoder: true})
		if err != nil {
			return badInput("--model: %v", err)
		}
		source, stored, loadLabel = model, storedDType(model), "load"
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
		source, stored = "random weights, SD1.5 shapes (UNet 320/640/1280/1280, VAE decoder 128/256/512/512)", weights
	}
	defer pipe.Close()
	loadTime := time.Since(t0)
	returnMemory() // the build's garbage must not set the heap target
	rssLoad := peakRSS()
	// The UNet is released after sampling (Request.ReleaseUNet): keep what
	// the report needs.
	c := pipe.UNet.Config
	unetParams, unetBytes := pipe.UNet.NumParams(), pipe.UNet.WeightBytes()
	sd15 := c.BlockOutChannels[0] == 320 && c.CrossAttentionDim == 768
	ctxDim := c.CrossAttentionDim
	randCtx := func(seed uint64) *tensor.Tensor {
		g := sampling.NewGenerator(seed)
		return tensor.FromData(g.Randn(77*ctxDim), 1, 77, ctxDim)
	}
	req := sd1.Request{Seed: 0, Steps: steps, CFG: cfg, Sampler: sampler, Scheduler: scheduler, Width: w, Height: h,
		Cond: randCtx(10), Uncond: randCtx(11), ReleaseUNet: true}
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
	rssEnd := peakRSS()

	gogc := fmt.Sprint(currentGCPercent())
	if os.Getenv("GOGC") != "" {
		gogc += " (from the environment)"
	}
	fmt.Fprintf(stdout, "gen bench — sd1, %s\n", source)
	fmt.Fprintf(stdout, "  image       %dx%d, %d steps, cfg %g, %s/%s\n", w, h, steps, cfg, sampler, scheduler)
	fmt.Fprintf(stdout, "  machine     %d threads, kernels %s, GOARCH %s, %s, GOGC %s\n", tensor.Threads(), asm.Level(), runtime.GOARCH, runtime.Version(), gogc)
	fmt.Fprintf(stdout, "  weights     %s; UNet %.1f M params, %s as held\n", stored, float64(unetParams)/1e6, formatBytes(uint64(unetBytes)))
	fmt.Fprintf(stdout, "  %-11s %s\n", loadLabel, secs(loadTime))
	fmt.Fprintf(stdout, "  sampling    %s = %.2f s/step; %d UNet calls, %d batch passes (%s)\n",
		secs(res.Sampling), res.Sampling.Seconds()/float64(res.Steps), res.ModelCalls, res.UNetPasses, batchNote(cfg))
	if sd15 {
		// 803 GFLOP per 64×64 pass, scaled by the latent area.
		gflop := sd15UNetGFLOP * float64(w*h) / (512 * 512) * float64(res.UNetPasses)
		achieved := gflop / res.Sampling.Seconds()
		peak := machinePeakGFLOPS()
		fmt.Fprintf(stdout, "  compute     ~%.0f GFLOP/s = %.1f%% of peak %.0f GFLOP/s (fp32 FMA peak: asm.PeakFMA run in this process on all %d threads at once)\n",
			achieved, 100*achieved/peak, peak, tensor.Threads())
	} else {
		fmt.Fprintln(stdout, "  compute     (GFLOP/s only for SD1.5-shaped UNets)")
	}
	fmt.Fprintf(stdout, "  decode      %s (VAE, after the UNet was released)\n", secs(res.Decode))
	fmt.Fprintf(stdout, "  peak RSS    %s after %s, %s after sampling, %s overall (VmHWM, includes mapped weights read)\n",
		formatBytes(rssLoad), loadLabel, formatBytes(rssSampling), formatBytes(rssEnd))
	return nil
}

// batchNote explains the batch passes per UNet call.
func batchNote(cfg float64) string {
	if sampling.SkipsUncond(cfg) {
		return "cfg 1: cond only"
	}
	return "cond + uncond in one batch of 2"
}

// storedDType names the dtypes the UNet weights of the checkpoint at path
// are stored in, most bytes first (e.g. "f16", or "f16 + f32" when the
// biases are f32). It reads only the safetensors headers.
func storedDType(path string) string {
	files := []string{path}
	prefix := "model.diffusion_model."
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		fs, err := unet.DiffusersWeightFiles(filepath.Join(path, "unet"), "")
		if err != nil {
			return "unknown"
		}
		files, prefix = fs, ""
	}
	bytes := map[safetensors.DType]int{}
	for _, name := range files {
		f, err := safetensors.Open(name)
		if err != nil {
			return "unknown"
		}
		for _, t := range f.Tensors() {
			if strings.HasPrefix(t.Name, prefix) {
				bytes[t.DType] += len(t.Data)
			}
		}
		f.Close()
	}
	kinds := make([]safetensors.DType, 0, len(bytes))
	for k := range bytes {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return bytes[kinds[i]] > bytes[kinds[j]] })
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = strings.ToLower(string(k))
	}
	if len(names) == 0 {
		return "unknown"
	}
	return strings.Join(names, " + ") + " (as stored in the file)"
}

// machinePeakGFLOPS measures the fp32 FMA peak of all worker threads
// together: asm.PeakFMA's register-only loop on every thread at once, in
// this process and with the thread count the bench used. The best of three
// runs is kept, so that a moment of contention on a shared machine does
// not lower the peak (and inflate the percentage).
func machinePeakGFLOPS() float64 {
	n := tensor.Threads()
	const iters = 20_000_000
	asm.PeakFMA(iters / 10) // warm up
	best := 1e-9
	for range 3 {
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
		best = math.Max(best, float64(total)/el/1e9)
	}
	return best
}
