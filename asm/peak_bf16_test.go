package asm

import (
	"testing"
	"time"
)

// BenchmarkPeakBF16Ratio alternates the fp32 FMA peak loop and the bf16
// peak loop on one thread, so that both see the same machine load, and
// reports both rates and their ratio (bf16/fp32; the best of the rounds).
func BenchmarkPeakBF16Ratio(b *testing.B) {
	const iters = 1 << 20
	var bestF, bestB float64
	for b.Loop() {
		t0 := time.Now()
		f := PeakFMA(iters)
		bestF = max(bestF, float64(f)/time.Since(t0).Seconds()/1e9)
		t0 = time.Now()
		g := PeakBF16(iters)
		bestB = max(bestB, float64(g)/time.Since(t0).Seconds()/1e9)
	}
	b.ReportMetric(bestF, "fp32-GFLOP/s")
	b.ReportMetric(bestB, "bf16-GFLOP/s")
	b.ReportMetric(bestB/bestF, "ratio")
}
