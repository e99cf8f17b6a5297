package tensor

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godiffusion/godiffusion/asm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Benchmarks of the shapes Stable Diffusion's UNet and CLIP spend their time
// in (M×K×N: tokens × in-features × out-features). Each reports GFLOP/s,
// the percentage of the FMA peak measured in this process with the same
// number of threads (asm.PeakFMA, one goroutine per thread), and the speed-up
// over gonum's pure-Go blas32.Sgemm on one thread (x_gonum).

var benchShapes = [][3]int{
	{4096, 320, 320}, {4096, 320, 1280}, {4096, 1280, 320}, {1024, 640, 640},
	{256, 1280, 1280}, {77, 768, 768}, {1, 768, 3072},
}

var peakCache, peakBF16Cache sync.Map // threads -> GFLOP/s

// peakGFLOPS measures the register-only FMA throughput with th goroutines.
func peakGFLOPS(th int) float64 { return measurePeak(&peakCache, th, 1<<21, asm.PeakFMA) }

// peakBF16GFLOPS measures asm.PeakBF16's throughput with th goroutines.
func peakBF16GFLOPS(th int) float64 { return measurePeak(&peakBF16Cache, th, 1<<20, asm.PeakBF16) }

// measurePeak runs peak (which returns the flops it did) iters times on th
// goroutines at once, best of three, cached per thread count.
func measurePeak(cache *sync.Map, th, iters int, peak func(n int) int) float64 {
	if v, ok := cache.Load(th); ok {
		return v.(float64)
	}
	best := 0.0
	for range 3 {
		var wg sync.WaitGroup
		var flops atomic.Int64
		start := time.Now()
		for range th {
			wg.Add(1)
			go func() { defer wg.Done(); flops.Add(int64(peak(iters))) }()
		}
		wg.Wait()
		best = max(best, float64(flops.Load())/time.Since(start).Seconds()/1e9)
	}
	cache.Store(th, best)
	return best
}

var gonumCache sync.Map // shape -> seconds per call

func gonumSeconds(m, k, n int, a, b, c []float32) float64 {
	key := [3]int{m, k, n}
	if v, ok := gonumCache.Load(key); ok {
		return v.(float64)
	}
	// gonum's Sgemm splits the work over GOMAXPROCS goroutines; pin it to
	// one so x_gonum compares single-threaded code with single-threaded code.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	start := time.Now()
	blas32.Gemm(blas.NoTrans, blas.Trans, 1, blas32.General{Rows: m, Cols: k, Stride: k, Data: a},
		blas32.General{Rows: n, Cols: k, Stride: k, Data: b}, 0, blas32.General{Rows: m, Cols: n, Stride: n, Data: c})
	s := time.Since(start).Seconds()
	gonumCache.Store(key, s)
	return s
}

// BenchmarkMatMul: BenchmarkMatMul/<dtype>/<M>x<K>x<N>/t<threads>, C = A·Wᵀ
// through GemmW with the weight W [N, K] stored as dtype (f32 or f16), and
// BenchmarkMatMul/f16-bf16/...: the f16 weight in precision bf16, whose
// %peak is relative to asm.PeakBF16 (the bf16 unit's own peak).
func BenchmarkMatMul(b *testing.B) {
	defer SetThreads(0)
	for _, mode := range []string{"f32", "f16", "f16-bf16"} {
		dt := map[string]DType{"f32": F32, "f16": F16, "f16-bf16": F16}[mode]
		for _, s := range benchShapes {
			m, k, n := s[0], s[1], s[2]
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%dx%dx%d/t%d", mode, m, k, n, th), func(b *testing.B) {
					r := rand.New(rand.NewPCG(1, 2))
					w, wf := randWeight(r, dt, n, k)
					a, c := randFloats(r, m*k), make([]float32, m*n)
					peak := peakGFLOPS(th)
					if mode == "f16-bf16" {
						w.Precision = PrecisionBF16
						peak = peakBF16GFLOPS(th)
					}
					var gonum float64
					if th == 1 && dt == F32 {
						gonum = gonumSeconds(m, k, n, a, wf, c)
					}
					SetThreads(th)
					GemmW(m, n, k, a, k, w, c, n, false) // warm the scratch pool
					start := time.Now()
					for b.Loop() {
						GemmW(m, n, k, a, k, w, c, n, false)
					}
					per := time.Since(start).Seconds() / float64(b.N)
					g := 2 * float64(m) * float64(n) * float64(k) / per / 1e9
					b.ReportMetric(g, "GFLOP/s")
					b.ReportMetric(100*g/peak, "%peak")
					if gonum > 0 {
						b.ReportMetric(gonum/per, "x_gonum")
					}
				})
			}
		}
	}
}

// BenchmarkConv2d: a SD UNet 3×3 convolution, 320 -> 320 channels at 64×64.
func BenchmarkConv2d(b *testing.B) {
	defer SetThreads(0)
	for _, dt := range []DType{F32, F16} {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/3x3_320x320_64x64/t%d", dt, th), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				w, _ := randWeight(r, dt, 320, 320*9)
				w.Shape = []int{320, 320, 3, 3}
				x := FromData(randFloats(r, 320*64*64), 1, 320, 64, 64)
				bias := randFloats(r, 320)
				peak := peakGFLOPS(th)
				SetThreads(th)
				Conv2d(x, w, bias, 1, 1)
				start := time.Now()
				for b.Loop() {
					Conv2d(x, w, bias, 1, 1)
				}
				per := time.Since(start).Seconds() / float64(b.N)
				g := 2 * 320 * 320 * 9 * 64 * 64 / per / 1e9
				b.ReportMetric(g, "GFLOP/s")
				b.ReportMetric(100*g/peak, "%peak")
			})
		}
	}
}

// BenchmarkMatMulBF16Ratio: BenchmarkMatMulBF16Ratio/<dtype>/<M>x<K>x<N>,
// the speed of GemmW in bf16 over fp32 on the large UNet shapes, one
// thread, measured by alternating the two precisions call by call in this
// process (so that both see the same load on a shared machine): reports
// the median ratio t_fp32/t_bf16 over the rounds with its quartiles (see
// reportRatios), and the median GFLOP/s of each.
func BenchmarkMatMulBF16Ratio(b *testing.B) {
	defer SetThreads(0)
	const rounds = 9
	for _, dt := range []DType{F16, BF16} {
		for _, s := range benchShapes[:5] {
			m, k, n := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("%s/%dx%dx%d", dt, m, k, n), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				w, _ := randWeight(r, dt, n, k)
				a, c := randFloats(r, m*k), make([]float32, m*n)
				SetThreads(1)
				timeOne := func(p Precision) float64 {
					w.Precision = p
					start := time.Now()
					GemmW(m, n, k, a, k, w, c, n, false)
					return time.Since(start).Seconds()
				}
				timeOne(PrecisionFP32) // warm the scratch pools
				timeOne(PrecisionBF16)
				var ratios, t32, t16 []float64
				for range b.N {
					for range rounds {
						f, h := timeOne(PrecisionFP32), timeOne(PrecisionBF16)
						ratios, t32, t16 = append(ratios, f/h), append(t32, f), append(t16, h)
					}
				}
				slices.Sort(ratios)
				slices.Sort(t32)
				slices.Sort(t16)
				flop := 2 * float64(m) * float64(n) * float64(k)
				reportRatios(b, ratios)
				b.ReportMetric(flop/t32[len(t32)/2]/1e9, "GFLOP/s_fp32")
				b.ReportMetric(flop/t16[len(t16)/2]/1e9, "GFLOP/s_bf16")
			})
		}
	}
}

// BenchmarkConv2dBF16Ratio: the 3×3 320→320 convolution at 64×64 of
// BenchmarkConv2d with an f16 weight, fp32 and bf16 alternated call by
// call on one thread (see BenchmarkMatMulBF16Ratio): median ratio
// t_fp32/t_bf16, its quartiles, and the median GFLOP/s of each.
func BenchmarkConv2dBF16Ratio(b *testing.B) {
	defer SetThreads(0)
	const rounds = 9
	r := rand.New(rand.NewPCG(1, 2))
	w, _ := randWeight(r, F16, 320, 320*9)
	w.Shape = []int{320, 320, 3, 3}
	x := FromData(randFloats(r, 320*64*64), 1, 320, 64, 64)
	bias := randFloats(r, 320)
	SetThreads(1)
	timeOne := func(p Precision) float64 {
		w.Precision = p
		start := time.Now()
		Conv2d(x, w, bias, 1, 1)
		return time.Since(start).Seconds()
	}
	timeOne(PrecisionFP32)
	timeOne(PrecisionBF16)
	var ratios, t32, t16 []float64
	for range b.N {
		for range rounds {
			f, h := timeOne(PrecisionFP32), timeOne(PrecisionBF16)
			ratios, t32, t16 = append(ratios, f/h), append(t32, f), append(t16, h)
		}
	}
	slices.Sort(ratios)
	slices.Sort(t32)
	slices.Sort(t16)
	flop := 2.0 * 320 * 320 * 9 * 64 * 64
	reportRatios(b, ratios)
	b.ReportMetric(flop/t32[len(t32)/2]/1e9, "GFLOP/s_fp32")
	b.ReportMetric(flop/t16[len(t16)/2]/1e9, "GFLOP/s_bf16")
}

// reportRatios reports the median of sorted ratios (x_bf16) and its first
// and third quartiles (x_q1, x_q3): the spread of the middle half of the
// rounds, which a round slowed down by another process does not move.
func reportRatios(b *testing.B, ratios []float64) {
	n := len(ratios)
	b.ReportMetric(ratios[n/2], "x_bf16")
	b.ReportMetric(ratios[n/4], "x_q1")
	b.ReportMetric(ratios[(3*n)/4], "x_q3")
}
