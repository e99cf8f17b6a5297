//go:build !purego

package asm

// supportedLevels: every arm64 CPU has Advanced SIMD (NEON) with FMLA.
func supportedLevels() []string { return []string{"neon", "generic"} }

func install(name string) {
	if name != "neon" {
		return
	}
	gemmMR, gemmNR, gemmKernel = 6, 16, sgemmKernelNEON
	peakFlopsPerIter, peakFn = 24*4*2, fmaPeakNEON
	dotBlock, dotFn = 16, dotNEON
	axpyBlock, axpyFn = 8, axpyNEON
	f16Block, f16Fn = 8, f16ToF32NEON
	bf16Block, bf16Fn = 8, bf16ToF32NEON
}
