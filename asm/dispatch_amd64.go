//go:build !purego

package asm

import "github.com/klauspost/cpuid/v2"

// supportedLevels: AVX512-BF16 (with AVX-512F and BW) > AVX-512F (with
// AVX2, FMA and F16C) > AVX2+FMA+F16C > generic.
func supportedLevels() []string {
	var l []string
	avx2 := cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.F16C)
	if avx2 && cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512BF16) {
		l = append(l, "avx512bf16")
	}
	if avx2 && cpuid.CPU.Supports(cpuid.AVX512F) {
		l = append(l, "avx512")
	}
	if avx2 {
		l = append(l, "avx2")
	}
	return append(l, "generic")
}

func install(name string) {
	switch name {
	case "avx2":
		gemmMR, gemmNR, gemmKernel = 6, 16, sgemmKernelAVX2
		gemmStridedA, packGatherFn, packGatherMRFn = sgemmKernelStridedAAVX2, packGatherAVX2, packGatherMRAVX2
		peakFlopsPerIter, peakFn = 12*8*2, fmaPeakAVX2
		dotBlock, dotFn = 32, dotAVX2
		axpyBlock, axpyFn = 16, axpyAVX2
		f16Block, f16Fn = 8, f16ToF32AVX2
		bf16Block, bf16Fn = 8, bf16ToF32AVX2
		f8Block, f8Fn = 8, f8E4M3ToF32AVX2
		expBlock, expFn = 8, expAVX2
		expSubColsBlock, expSubColsFn = 8, expSubColsAVX2
		geluMulBlock, geluMulFn = 8, geluMulAVX2
		siluBlock, siluFn = 8, siluAVX2
		sumBlocksFn, devBlocksFn = sumBlocks64AVX2, devBlocks64AVX2
		shiftScaleBlock, shiftScaleFn = 8, shiftScaleAVX2
		layerNormBlock, layerNormFn = 8, layerNormRowAVX2
	case "avx512bf16":
		// Everything of avx512, and the bf16 GEMM on VDPBF16PS.
		install("avx512")
		bf16MR, bf16NR, bf16Kernel = 12, 32, sgemmKernelBF16AVX512
		bf16StridedA = sgemmKernelBF16StridedAAVX512
		bf16Name, pairsFn, roundPairsFn = "avx512bf16 (VDPBF16PS, 12×32)", pairsBF16AVX512, roundPairsBF16AVX512
		pairs12Fn = pairs12BF16AVX512
		peakBF16FlopsPerIter, peakBF16Fn = 24*64, bf16PeakAVX512
	case "avx512":
		gemmMR, gemmNR, gemmKernel = 12, 32, sgemmKernelAVX512
		gemmStridedA, packGatherFn, packGatherMRFn = sgemmKernelStridedAAVX512, packGatherAVX512, packGatherMRAVX512
		peakFlopsPerIter, peakFn = 24*16*2, fmaPeakAVX512
		dotBlock, dotFn = 64, dotAVX512
		axpyBlock, axpyFn = 32, axpyAVX512
		f16Block, f16Fn = 16, f16ToF32AVX512
		bf16Block, bf16Fn = 16, bf16ToF32AVX512
		f8Block, f8Fn = 16, f8E4M3ToF32AVX512
		expBlock, expFn = 16, expAVX512
		expSubColsBlock, expSubColsFn = 16, expSubColsAVX512
		geluMulBlock, geluMulFn = 16, geluMulAVX512
		siluBlock, siluFn = 16, siluAVX512
		sumBlocksFn, devBlocksFn = sumBlocks64AVX2, devBlocks64AVX2 // 8 lanes: the twins' order
		shiftScaleBlock, shiftScaleFn = 16, shiftScaleAVX512
		layerNormBlock, layerNormFn = 16, layerNormRowAVX512
	}
}
