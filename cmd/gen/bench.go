package main

import (
	"fmt"
	"github.com/godiffusion/godiffusion/models/pipeline"
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
	"github.com/godiffusion/godiffusion/models/sdxl"
	"github.com/godiffusion/godiffusion/models/unet"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// runBench implements `gen bench`: per-stage timings of the Stable
// Diffusion pipeline, with random weights of the real SD1.5 or SDXL base
// shapes (--arch; nothing to download) or with a real checkpoint
// (--model, SD1 or SDXL). The text encoders are not timed: the
// conditioning is random tensors of the UNet's shapes (contexts
// [1, 77, cross_attention_dim] and, for SDXL, added vectors y [1, 2816]).
func runBench(args []string, stdout, stderr io.Writer) error {
	f, err := parseBenchFlags(args)
	if err != nil {
		return err
	}
	w, h, cfg, steps := f.width, f.height, f.cfg, f.steps
	if f.threads > 0 {
		tensor.SetThreads(f.threads)
	}
	tensor.SetPrecision(f.precision)
	if f.noNaNCheck {
		tensor.NaNChecks = false
		defer func() { tensor.NaNChecks = true }()
	}

	// Everything is printed at the end as one block, easy to paste into
	// an issue; progress goes to stderr meanwhile.
	t0 := time.Now()
	var pipe *pipeline.Pipeline
	var source, stored string
	loadLabel := "build"
	if f.model != "" {
		load := sd1.Load
		if f.arch == "sdxl" {
			load = sdxl.Load
		}
		pipe, err = load(f.model, pipeline.Options{NormGroups: f.normGroups, TextHeads: f.textHeads, TextHeads2: f.textHeads2,
			UNetHeadDim: f.unetHeadDim, SkipTextEncoder: true})
		if err != nil {
			return badInput("--model: %v", err)
		}
		source, stored, loadLabel = f.model, storedDType(f.model), "load"
	} else {
		if pipe, source, err = randomPipeline(f.arch, f.dtype); err != nil {
			return err
		}
		stored = f.weights
	}
	defer pipe.Close()
	loadTime := time.Since(t0)
	returnMemory() // the build's garbage must not set the heap target
	rssLoad := peakRSS()
	// The UNet is released after sampling (Request.ReleaseModel): keep what
	// the report needs.
	u := pipe.Model.(*pipeline.EPSModel).Net.(*unet.UNet)
	c := u.Config
	unetParams, unetBytes := u.NumParams(), u.WeightBytes()
	const ctxLen = 77
	passFLOP := c.FLOPs(1, h/8, w/8, ctxLen) // one latent through the UNet
	randn := func(seed uint64, shape ...int) *tensor.Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return tensor.FromData(sampling.NewGenerator(seed).Randn(n), shape...)
	}
	req := pipeline.Request{Seed: 0, Steps: steps, CFG: cfg, Sampler: f.sampler, Scheduler: f.scheduler, Width: w, Height: h,
		Cond: randn(10, 1, ctxLen, c.CrossAttentionDim), Uncond: randn(11, 1, ctxLen, c.CrossAttentionDim), ReleaseModel: true}
	if c.AdditionEmbedType != "" {
		// SDXL's y: pooled text embedding ‖ size sinusoids, here random.
		req.CondY = randn(12, 1, c.ProjectionClassEmbeddingsInputDim)
		req.UncondY = randn(13, 1, c.ProjectionClassEmbeddingsInputDim)
	}
	prog := newProgress(stderr, false)
	bar := prog.bar("")
	var rssSampling uint64
	req.Progress = func(step, total int) {
		bar.step(step, total)
		if step == total {
			rssSampling = peakRSS()
		}
	}
	var res *pipeline.Result
	if f.batch == 1 {
		res, err = pipe.Generate(req)
	} else {
		// f.batch requests with their own seeds and scales (as a sweep's
		// cells), one network batch per model call; the report is per image.
		reqs := make([]pipeline.Request, f.batch)
		for i := range reqs {
			reqs[i] = req
			reqs[i].Seed = uint64(i)
			if !sampling.SkipsUncond(cfg) {
				reqs[i].CFG = cfg + float64(i)
			}
			if i > 0 {
				reqs[i].Progress = nil
			}
		}
		var all []*pipeline.Result
		if all, err = pipe.GenerateBatch(reqs); err == nil {
			res = all[0]
			res.Sampling /= time.Duration(f.batch) // wall time per image
		}
	}
	bar.done()
	if err != nil {
		return err
	}
	rssEnd := peakRSS()

	gogc := fmt.Sprint(currentGCPercent())
	if os.Getenv("GOGC") != "" {
		gogc += " (from the environment)"
	}
	fmt.Fprintf(stdout, "gen bench — %s, %s\n", f.arch, source)
	fmt.Fprintf(stdout, "  image       %dx%d, %d steps, cfg %g, %s/%s\n", w, h, steps, cfg, f.sampler, f.scheduler)
	fmt.Fprintf(stdout, "  machine     %d threads, kernels %s, GOARCH %s, %s, GOGC %s\n", tensor.Threads(), asm.Level(), runtime.GOARCH, runtime.Version(), gogc)
	fmt.Fprintf(stdout, "  weights     %s; UNet %.1f M params, %s as held\n", stored, float64(unetParams)/1e6, formatBytes(uint64(unetBytes)))
	fmt.Fprintf(stdout, "  %-11s %s\n", loadLabel, secs(loadTime))
	if f.batch > 1 {
		fmt.Fprintf(stdout, "  batch       %d images as one network batch (%d rows per UNet call); times below are per image\n", f.batch, f.batch*res.ModelPasses/max(res.ModelCalls, 1))
	}
	fmt.Fprintf(stdout, "  sampling    %s = %.2f s/step; %d UNet calls, %d batch passes (%s)\n",
		secs(res.Sampling), res.Sampling.Seconds()/float64(res.Steps), res.ModelCalls, res.ModelPasses, batchNote(cfg))
	achieved := passFLOP / 1e9 * float64(res.ModelPasses) / res.Sampling.Seconds()
	peakFn, unit := asm.PeakFMA, "fp32 FMA peak: asm.PeakFMA"
	if f.precision == tensor.PrecisionBF16 {
		peakFn, unit = asm.PeakBF16, "bf16 peak: asm.PeakBF16"
		fmt.Fprintf(stdout, "  precision   bf16 (matrix products and convolutions; bf16 GEMM kernel %s)\n", asm.BF16Kernel())
	}
	peak := machinePeakGFLOPS(peakFn)
	fmt.Fprintf(stdout, "  compute     %.4g GFLOP/pass (unet.Config.FLOPs), ~%.0f GFLOP/s = %.1f%% of peak %.0f GFLOP/s (%s run in this process on all %d threads at once)\n",
		passFLOP/1e9, achieved, 100*achieved/peak, peak, unit, tensor.Threads())
	fmt.Fprintf(stdout, "  decode      %s (VAE, after the UNet was released)\n", secs(res.Decode))
	fmt.Fprintf(stdout, "  peak RSS    %s after %s, %s after sampling, %s overall (VmHWM, includes mapped weights read)\n",
		formatBytes(rssLoad), loadLabel, formatBytes(rssSampling), formatBytes(rssEnd))
	return nil
}

// randomPipeline builds the UNet and VAE of arch ("sd1": SD1.5, "sdxl":
// SDXL base) with random weights stored as dt, and describes them for the
// report's header.
func randomPipeline(arch string, dt tensor.DType) (*pipeline.Pipeline, string, error) {
	uc, vc := unet.SD15Config(), vae.SD1Config()
	source := "random weights, SD1.5 shapes (UNet 320/640/1280/1280, VAE decoder 128/256/512/512)"
	if arch == "sdxl" {
		uc, vc = unet.SDXLBaseConfig(), vae.SDXLConfig()
		source = "random weights, SDXL base shapes (UNet 320/640/1280, transformer depths 0/2/10, context 2048, y 2816; VAE decoder 128/256/512/512)"
	}
	u, err := unet.NewRandom(uc, dt, 1)
	if err != nil {
		return nil, "", err
	}
	v, err := vae.NewRandom(vc, dt, 2)
	if err != nil {
		return nil, "", err
	}
	return sd1.New(sd1.Components{UNet: u, VAE: v}), source, nil
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

// machinePeakGFLOPS measures the peak of all worker threads together:
// peak's register-only loop (asm.PeakFMA, or asm.PeakBF16 for the bf16
// unit) on every thread at once, in
// this process and with the thread count the bench used. The best of three
// runs is kept, so that a moment of contention on a shared machine does
// not lower the peak (and inflate the percentage).
func machinePeakGFLOPS(peak func(n int) int) float64 {
	n := tensor.Threads()
	const iters = 20_000_000
	peak(iters / 10) // warm up
	best := 1e-9
	for range 3 {
		flops := make([]int, n)
		t0 := time.Now()
		tensor.Parallel(n, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				flops[i] = peak(iters)
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
