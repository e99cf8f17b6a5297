package asm

// PeakFMA runs a register-only loop of independent fused multiply-adds at
// the installed level (n iterations) and returns the number of floating-point
// operations it performed (2 per lane per FMA). Timing it gives the core's
// FMA throughput, the ceiling GEMM performance is quoted against.
func PeakFMA(n int) (flops int) {
	peakFn(n)
	return n * peakFlopsPerIter
}

const genericPeakFlops = 8 * 2

// fmaPeakGeneric is the pure-Go peak loop: 8 independent scalar
// multiply-adds per iteration.
func fmaPeakGeneric(n int) {
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	x, y := float32(0.999), float32(1e-7)
	for range n {
		a0 = a0*x + y
		a1 = a1*x + y
		a2 = a2*x + y
		a3 = a3*x + y
		a4 = a4*x + y
		a5 = a5*x + y
		a6 = a6*x + y
		a7 = a7*x + y
	}
	peakSink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
}

var peakSink float32
