package asm

import (
	"fmt"
	"os"
	"strings"
)

// The kernels every level provides. install (per architecture) points these
// at the assembly of the chosen level or at the pure-Go twins; the exported
// wrappers in gemm.go, vec.go and convert.go call through them.
var (
	level string // name of the installed level

	gemmMR, gemmNR int
	gemmKernel     func(k int, a, b, c *float32, ldc int, accumulate bool)
	gemmStridedA   func(k int, a *float32, lda int, b, c *float32, ldc int, accumulate bool) // nil: not provided
	packGatherFn   func(dst, src *float32, ld, kc int)                                       // packs nr rows; nil: not provided
	packGatherMRFn func(dst, src *float32, ld, kc int)                                       // packs mr rows; nil: not provided

	peakFlopsPerIter int
	peakFn           func(n int)

	bf16MR, bf16NR       int
	bf16Name             string
	bf16Rounding         string // see BF16Rounding
	bf16Kernel           func(kp int, a, b *uint32, c *float32, ldc int, accumulate bool)
	bf16StridedA         func(kp int, a *uint32, lda int, b *uint32, c *float32, ldc int, accumulate bool) // nil: not provided
	pairsFn              func(dst *uint32, src *float32, qn, nv int)                                       // tiles of 16·nv; nil: not provided
	pairs12Fn            func(dst *uint32, src *float32, qn int)                                           // tiles of 12; nil: not provided
	roundPairsFn         func(dst *uint32, src *float32, n, ahead int)                                     // n blocks of 32 floats; nil: not provided
	peakBF16FlopsPerIter int
	peakBF16Fn           func(n int)

	dotBlock int // dotFn handles n a multiple of dotBlock
	dotFn    func(x, y *float32, n int) float32

	axpyBlock int
	axpyFn    func(alpha float32, x, y *float32, n int)

	expBlock int
	expFn    func(dst, src *float32, n int)

	expSubColsBlock int // expSubColsFn handles rows of n a multiple of it
	expSubColsFn    func(x, m, sum, tmax *float32, rows, n int, scale float32)

	geluMulBlock int
	geluMulFn    func(dst, value, gate *float32, n int)

	siluBlock int
	siluFn    func(dst, src *float32, n int)

	sumBlocksFn     func(dst, src *float32, shift float32, blocks int)
	devBlocksFn     func(q, c, src *float32, m float32, blocks int)
	shiftScaleBlock int
	shiftScaleFn    func(dst, src *float32, m, a, b float32, n int)
	layerNormBlock  int
	layerNormFn     func(dst, src, g, b *float32, m, rest, inv float32, n int)

	f16Block, bf16Block, f8Block int
	f16Fn, bf16Fn, f8Fn          func(dst *float32, src *byte, n int)
)

// Level returns the instruction-set level the kernels run at:
// "avx512bf16", "avx512", "avx2", "neonbf16", "neon" or "generic" (pure Go).
func Level() string { return level }

// Levels lists the levels this machine and build support, best first; the
// last is always "generic".
func Levels() []string { return supportedLevels() }

// SetLevel switches every kernel to the named level (one of Levels()). It is
// meant for tests and benchmarks and must not race with kernel calls. The
// environment variable GODIFFUSION_CPU=generic|avx2|avx512|avx512bf16|neon|neonbf16 sets the
// level at start-up the same way (a level the machine lacks is ignored).
func SetLevel(name string) error {
	for _, l := range supportedLevels() {
		if l == name {
			installGeneric()
			install(name)
			level = name
			return nil
		}
	}
	return fmt.Errorf("asm: CPU level %q not supported here (have %s)", name, strings.Join(supportedLevels(), ", "))
}

func init() {
	best := supportedLevels()[0]
	if env := os.Getenv("GODIFFUSION_CPU"); env != "" {
		if SetLevel(strings.ToLower(env)) == nil {
			return
		}
	}
	_ = SetLevel(best)
}

// installGeneric points every kernel at its pure-Go version; install then
// overrides what the chosen level accelerates.
func installGeneric() {
	gemmMR, gemmNR, gemmKernel = genericMR, genericNR, sgemmKernelGenericPtr
	gemmStridedA, packGatherFn, packGatherMRFn = nil, nil, nil
	peakFlopsPerIter, peakFn = genericPeakFlops, fmaPeakGeneric
	bf16MR, bf16NR, bf16Kernel = genericBF16MR, genericBF16NR, sgemmKernelBF16GenericPtr
	bf16StridedA, bf16Rounding = sgemmKernelBF16StridedAGenericPtr, "fma-rne"
	bf16Name, pairsFn, roundPairsFn = "generic (pure Go, 4×4)", nil, nil
	pairs12Fn = nil
	peakBF16FlopsPerIter, peakBF16Fn = genericBF16PeakFlops, bf16PeakGeneric
	dotBlock, dotFn = 1, dotGenericPtr
	axpyBlock, axpyFn = 1, axpyGenericPtr
	f16Block, f16Fn = 1, f16ToF32GenericPtr
	expBlock, expFn = 1, expGenericPtr
	expSubColsBlock, expSubColsFn = 1, expSubColsGenericPtr
	geluMulBlock, geluMulFn = 1, geluMulGenericPtr
	siluBlock, siluFn = 1, siluGenericPtr
	sumBlocksFn, devBlocksFn = sumBlocks64GenericPtr, devBlocks64GenericPtr
	shiftScaleBlock, shiftScaleFn = 1, shiftScaleGenericPtr
	layerNormBlock, layerNormFn = 1, layerNormRowGenericPtr
	bf16Block, bf16Fn = 1, bf16ToF32GenericPtr
	f8Block, f8Fn = 1, f8E4M3ToF32GenericPtr
}
