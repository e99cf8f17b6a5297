//go:build !purego

package asm

import "github.com/klauspost/cpuid/v2"

// supportedLevels: every arm64 CPU has Advanced SIMD (NEON) with FMLA;
// ARMv8.6 cores with FEAT_BF16 (HWCAP2_BF16: Neoverse V1/V2/N2, Graviton
// 3/4, Apple M2 and later) also get the BFDOT kernel (level neonbf16).
func supportedLevels() []string {
	if cpuid.CPU.Supports(cpuid.BF16) {
		return []string{"neonbf16", "neon", "generic"}
	}
	return []string{"neon", "generic"}
}

func install(name string) {
	switch name {
	case "neonbf16":
		// Everything of neon, and the bf16 GEMM on BFDOT, whose arithmetic
		// is Arm's (BF16Rounding). A is always packed (no strided kernel).
		install("neon")
		bf16MR, bf16NR, bf16Kernel, bf16StridedA = 6, 16, sgemmKernelBF16NEON, nil
		bf16Name, bf16Rounding = "neonbf16 (BFDOT, 6×16)", "bfdot-odd"
		peakBF16FlopsPerIter, peakBF16Fn = 24*16, bf16PeakNEON
	case "neon":
		gemmMR, gemmNR, gemmKernel = 6, 16, sgemmKernelNEON
		peakFlopsPerIter, peakFn = 24*4*2, fmaPeakNEON
		dotBlock, dotFn = 16, dotNEON
		axpyBlock, axpyFn = 8, axpyNEON
		f16Block, f16Fn = 8, f16ToF32NEON
		bf16Block, bf16Fn = 8, bf16ToF32NEON
	}
}
