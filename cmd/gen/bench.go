package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/godiffusion/godiffusion/asm"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// benchSetup is what a family brings to `gen bench` (sdBench, fluxBench):
// a pipeline without text encoders, the request with its conditioning
// filled in, what the report says about the network, and the stages timed
// before sampling (Flux's text encoders).
type benchSetup struct {
	pipe                      *pipeline.Pipeline
	req                       pipeline.Request // conditioning set; size, steps and sampler added by runBench
	source, stored, loadLabel string
	loadTime                  time.Duration
	rssLoad                   uint64 // peak RSS of the build or load
	net                       string // "UNet", "transformer"
	netParams, netBytes       int64
	passFLOP                  float64 // one batch item through the network
	flopsFrom                 string  // the function that counted passFLOP
	pre                       []benchStage
}

// benchStage is a timed stage before sampling.
type benchStage struct {
	name  string
	time  time.Duration
	gflop float64 // 0: not counted
	rss   uint64  // peak RSS during the stage
	note  string
}

// runBench implements `gen bench`: per-stage timings of a pipeline, with
// random weights of the real SD1.5, SDXL base or Flux.1 shapes (--arch;
// nothing to download) or with a real checkpoint (--model). The report
// gives the seconds per step, the network's GFLOP per pass counted from
// its shapes and the share of the in-process FMA peak that makes, the
// decode time, and the peak resident set of every stage.
func runBench(args []string, stdout, stderr io.Writer) error {
	f, err := parseBenchFlags(args)
	if err != nil {
		return err
	}
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
	resetPeakRSS()
	var s *benchSetup
	if isFlux(f.arch) {
		s, err = fluxBench(f, stderr)
	} else {
		s, err = sdBench(f)
	}
	if err != nil {
		return err
	}
	defer s.pipe.Close()

	req := s.req
	req.Seed, req.Steps, req.CFG, req.Sampler, req.Scheduler = 0, f.steps, f.cfg, f.sampler, f.scheduler
	req.Width, req.Height, req.Guidance, req.ReleaseModel = f.width, f.height, f.guidance, true
	prog := newProgress(stderr, false)
	bar := prog.bar("")
	var rssSampling uint64
	// stepEnds[i] is when step i+1 ended, from the start of sampling.
	var stepEnds []time.Duration
	var samplingStart time.Time
	req.Progress = func(i, n int) {
		stepEnds = append(stepEnds, time.Since(samplingStart))
		bar.step(i, n)
	}
	req.Stage = func(name string) {
		if name == "sample" {
			samplingStart = time.Now()
		}
		if name == "decode" {
			// The network was released (Request.ReleaseModel): what
			// follows is the decoder's own peak.
			rssSampling = peakRSS()
			resetPeakRSS()
		}
	}
	resetPeakRSS()
	res, err := generateBench(s.pipe, req, f.batch)
	bar.done()
	if err != nil {
		return err
	}
	rssDecode := peakRSS()

	gogc := fmt.Sprint(currentGCPercent())
	if os.Getenv("GOGC") != "" {
		gogc += " (from the environment)"
	}
	w, h, cfg, steps := f.width, f.height, f.cfg, f.steps
	fmt.Fprintf(stdout, "gen bench — %s, %s\n", f.arch, s.source)
	guid := ""
	if f.guidance != 0 {
		guid = fmt.Sprintf(", guidance %g", f.guidance)
	}
	fmt.Fprintf(stdout, "  image       %dx%d, %d steps, cfg %g%s, %s/%s\n", w, h, steps, cfg, guid, f.sampler, f.scheduler)
	fmt.Fprintf(stdout, "  machine     %d threads, kernels %s, GOARCH %s, %s, GOGC %s, load average %s\n",
		tensor.Threads(), asm.Level(), runtime.GOARCH, runtime.Version(), gogc, loadAverage())
	fmt.Fprintf(stdout, "  weights     %s; %s %.1f M params, %s as held\n", s.stored, s.net, float64(s.netParams)/1e6, formatBytes(uint64(s.netBytes)))
	fmt.Fprintf(stdout, "  %-11s %s, peak RSS %s\n", s.loadLabel, secs(s.loadTime), formatBytes(s.rssLoad))
	peakFn, unit := asm.PeakFMA, "fp32 FMA peak: asm.PeakFMA"
	if f.precision == tensor.PrecisionBF16 {
		peakFn, unit = asm.PeakBF16, "bf16 peak: asm.PeakBF16"
	}
	peak := machinePeakGFLOPS(peakFn)
	overall := max(s.rssLoad, rssSampling, rssDecode)
	for _, st := range s.pre {
		line := fmt.Sprintf("  %-11s %s", st.name, secs(st.time))
		if st.gflop > 0 {
			gs := st.gflop / st.time.Seconds()
			line += fmt.Sprintf(", %.4g GFLOP, ~%.0f GFLOP/s = %.1f%% of peak", st.gflop, gs, 100*gs/peak)
		}
		if st.rss > 0 {
			line += ", peak RSS " + formatBytes(st.rss)
			overall = max(overall, st.rss)
		}
		if st.note != "" {
			line += " (" + st.note + ")"
		}
		fmt.Fprintln(stdout, line)
	}
	if f.batch > 1 {
		fmt.Fprintf(stdout, "  batch       %d images as one network batch (%d rows per %s call); times below are per image\n",
			f.batch, f.batch*res.ModelPasses/max(res.ModelCalls, 1), s.net)
	}
	fmt.Fprintf(stdout, "  sampling    %s = %.2f s/step; %d %s calls, %d batch passes (%s), peak RSS %s\n",
		secs(res.Sampling), res.Sampling.Seconds()/float64(res.Steps), res.ModelCalls, s.net, res.ModelPasses, batchNote(cfg), formatBytes(rssSampling))
	if line := laterSteps(stepEnds, f.batch); line != "" {
		fmt.Fprintln(stdout, line)
	}
	achieved := s.passFLOP / 1e9 * float64(res.ModelPasses) / res.Sampling.Seconds()
	if f.precision == tensor.PrecisionBF16 {
		fmt.Fprintf(stdout, "  precision   bf16 (matrix products, convolutions, attention; bf16 GEMM kernel %s)\n", asm.BF16Kernel())
	}
	fmt.Fprintf(stdout, "  compute     %.4g GFLOP/pass (%s), ~%.0f GFLOP/s = %.1f%% of peak %.0f GFLOP/s (%s run in this process on all %d threads at once)\n",
		s.passFLOP/1e9, s.flopsFrom, achieved, 100*achieved/peak, peak, unit, tensor.Threads())
	fmt.Fprintf(stdout, "  decode      %s (VAE, after the %s was released), peak RSS %s\n", secs(res.Decode), s.net, formatBytes(rssDecode))
	fmt.Fprintf(stdout, "  peak RSS    %s overall (VmHWM of each stage, reset between stages; mapped weights count once read)\n", formatBytes(overall))
	return nil
}

// generateBench runs req, or with batch > 1 that many copies with their
// own seeds and scales (as a sweep's cells) through GenerateBatch, one
// network batch per model call; the result's sampling time is then per
// image.
func generateBench(pipe *pipeline.Pipeline, req pipeline.Request, batch int) (*pipeline.Result, error) {
	if batch == 1 {
		return pipe.Generate(req)
	}
	reqs := make([]pipeline.Request, batch)
	for i := range reqs {
		reqs[i] = req
		reqs[i].Seed = uint64(i)
		if !sampling.SkipsUncond(req.CFG) {
			reqs[i].CFG = req.CFG + float64(i)
		}
		if i > 0 {
			reqs[i].Progress, reqs[i].Stage = nil, nil // the first request reports for the batch
		}
	}
	all, err := pipe.GenerateBatch(reqs)
	if err != nil {
		return nil, err
	}
	res := all[0]
	res.Sampling /= time.Duration(batch) // wall time per image
	return res, nil
}

// laterSteps reports the first step apart from the rest: the first pass
// also allocates the activations (which later passes recycle) and
// computes the cross-attention keys and values of the prompt (which
// later passes reuse), so a run of many steps costs about
// first + (steps − 1) × later. Empty for fewer than two steps.
func laterSteps(ends []time.Duration, batch int) string {
	if len(ends) < 2 {
		return ""
	}
	per := float64(max(batch, 1))
	first := ends[0].Seconds() / per
	later := (ends[len(ends)-1] - ends[0]).Seconds() / float64(len(ends)-1) / per
	return fmt.Sprintf("  steps       first %.2f s, later %.2f s/step (mean of %d): a run of N steps takes about first + (N−1) × later", first, later, len(ends)-1)
}

// randn returns a tensor of the given shape with N(0, 1) values from seed.
func randn(seed uint64, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return tensor.FromData(sampling.NewGenerator(seed).Randn(n), shape...)
}

// batchNote explains the batch passes per network call.
func batchNote(cfg float64) string {
	if sampling.SkipsUncond(cfg) {
		return "cfg 1: cond only"
	}
	return "cond + uncond in one batch of 2"
}

// loadAverage returns the 1-minute load average from /proc/loadavg, or
// "unknown": on a shared machine it says how much of the CPU the bench
// could have had.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	var one float64
	if _, err := fmt.Sscan(string(b), &one); err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f", one)
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
