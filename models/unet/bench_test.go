//go:build linux

package unet

import (
	"os"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/godiffusion/godiffusion/tensor"
)

// BenchmarkForwardSD15 runs one SD1.5 UNet pass at 512×512 (latent 64×64)
// on a CFG batch of 2 with random fp16 weights: the unit of work of one
// sampling step. Profile it with -cpuprofile.
func BenchmarkForwardSD15(b *testing.B) {
	u, err := NewRandom(SD15Config(), tensor.F16, 1)
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.New(2, 4, 64, 64)
	for i := range x.Data {
		x.Data[i] = float32(i%17)*0.1 - 0.8
	}
	ctx := tensor.New(2, 77, 768)
	for i := range ctx.Data {
		ctx.Data[i] = float32(i%11)*0.05 - 0.25
	}
	// UNET_PRECISION=bf16 runs the passes in bf16 (tensor.SetPrecision).
	if p := os.Getenv("UNET_PRECISION"); p != "" {
		prec, err := tensor.ParsePrecision(p)
		if err != nil {
			b.Fatal(err)
		}
		defer tensor.SetPrecision(tensor.DefaultPrecision())
		tensor.SetPrecision(prec)
	}
	// UNET_WARMUP=1 runs one pass before timing (and profiling): the
	// first pass allocates the activations that later passes recycle and
	// computes the cross-attention K and V they reuse.
	if os.Getenv("UNET_WARMUP") == "1" {
		u.Forward(x, []float32{500, 500}, ctx)
	}
	// UNET_PROFILE=file profiles the passes only, not building the weights.
	if path := os.Getenv("UNET_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	for range b.N {
		u0, s0 := cpuTimes()
		t0 := time.Now()
		u.Forward(x, []float32{500, 500}, ctx)
		u1, s1 := cpuTimes()
		b.Logf("pass: wall %.2fs, user %.2fs, sys %.2fs", time.Since(t0).Seconds(), u1-u0, s1-s0)
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/pass")
}

// cpuTimes returns the process's user and system CPU seconds so far: on a
// shared machine CPU time is steadier than wall time.
func cpuTimes() (user, sys float64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds()
}
