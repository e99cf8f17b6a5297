package asm

import "unsafe"

// # bf16 GEMM
//
// The bf16 micro-kernel multiplies panels of bf16 pairs: two consecutive
// depths of one row packed in one uint32, the even depth in the low half,
// as VDPBF16PS and BFDOT consume them:
//
//	a[q·mr + i] = bf16(A(i, 2q)) | bf16(A(i, 2q+1))<<16
//	b[q·nr + j] = bf16(B(2q, j)) | bf16(B(2q+1, j))<<16
//
// (an odd depth is padded with a zero). Every C element then follows the
// VDPBF16PS recipe (Intel SDM: "FP32 FMA with DAZ in, FTZ out and RNE
// rounding"), pair by pair, high half first:
//
//	acc = ftz(acc + A(i,2q+1)·B(2q+1,j));  acc = ftz(acc + A(i,2q)·B(2q,j))
//
// starting from acc = 0; the finished tile overwrites C or is added to it
// with an ordinary float32 addition. The pure-Go twin does exactly this,
// so the assembly is tested against it bit for bit.

// GemmTileBF16 returns the micro-tile of the installed bf16 kernel
// (12×32 with AVX512-BF16, 4×4 for the pure-Go twin).
func GemmTileBF16() (mr, nr int) { return bf16MR, bf16NR }

// BF16Kernel names the installed bf16 micro-kernel, e.g. "avx512bf16
// (VDPBF16PS, 12×32)" or "generic (pure Go, 4×4)": what `gen -v` reports.
func BF16Kernel() string { return bf16Name }

// GemmKernelBF16 computes one mr×nr tile (see GemmTileBF16) from panels
// of kp bf16 pairs (see the layout above):
//
//	C[i·ldc + j] (+)= Σ_{q<kp} Σ_{t∈{1,0}} A(i, 2q+t)·B(2q+t, j)
//
// rounded as VDPBF16PS rounds. It panics if a slice is too short.
func GemmKernelBF16(kp int, a, b []uint32, c []float32, ldc int, accumulate bool) {
	mr, nr := bf16MR, bf16NR
	if kp < 0 || len(a) < kp*mr || len(b) < kp*nr || ldc < nr || len(c) < (mr-1)*ldc+nr {
		panic("asm.GemmKernelBF16: panel or tile slice too short")
	}
	if kp == 0 {
		if !accumulate {
			for i := 0; i < mr; i++ {
				clear(c[i*ldc : i*ldc+nr])
			}
		}
		return
	}
	bf16Kernel(kp, &a[0], &b[0], &c[0], ldc, accumulate)
}

// GemmKernelBF16StridedA is GemmKernelBF16 with A read in place from a
// row-major matrix of bf16 pairs (as RoundPairsBF16 writes a float32 row)
// instead of a packed panel:
//
//	C[i·ldc + j] (+)= Σ_{q<kp} Σ_{t∈{1,0}} A(i, 2q+t)·B(2q+t, j),   A(i, 2q+t) = half t of a[i·lda + q]
//
// rounded exactly as GemmKernelBF16 (the same pairs in the same order, so
// the same bits). It panics if the level lacks it (see
// HasGemmKernelBF16StridedA: AVX512-BF16 and the pure-Go twin have it) or
// a slice is too short.
func GemmKernelBF16StridedA(kp int, a []uint32, lda int, b []uint32, c []float32, ldc int, accumulate bool) {
	mr, nr := bf16MR, bf16NR
	if bf16StridedA == nil {
		panic("asm.GemmKernelBF16StridedA: not available at level " + level)
	}
	if kp <= 0 || lda < kp || len(a) < (mr-1)*lda+kp || len(b) < kp*nr || ldc < nr || len(c) < (mr-1)*ldc+nr {
		panic("asm.GemmKernelBF16StridedA: bad kp or slice too short")
	}
	bf16StridedA(kp, &a[0], lda, &b[0], &c[0], ldc, accumulate)
}

// HasGemmKernelBF16StridedA reports whether the installed level provides
// GemmKernelBF16StridedA (else A is packed into pair panels).
func HasGemmKernelBF16StridedA() bool { return bf16StridedA != nil }

// RoundPairsBF16 rounds a float32 row to bf16 pairs, in place order:
//
//	dst[q] = bf16(src[2q]) | bf16(src[2q+1])<<16      (q < ⌈len(src)/2⌉)
//
// each value rounded by FloatToBFloat, the missing high half of an odd
// length zero. This is A's side of GemmKernelBF16StridedA: a row of
// activations, contiguous along the depth, becomes a row of pairs with no
// transposition. Uses VCVTNE2PS2BF16 with AVX512-BF16.
func RoundPairsBF16(dst []uint32, src []float32) { RoundPairsBF16Prefetch(dst, src, 0) }

// RoundPairsBF16Prefetch is RoundPairsBF16 that also asks for the memory
// ahead floats past each value it reads to be brought into the L2 cache
// (a prefetch hint: it never faults and changes no result; levels without
// the vector kernel ignore it). The bf16 GEMM converts A block by block
// and points this at the next block's rows, so that they arrive from
// memory while the micro-kernel runs on this one.
func RoundPairsBF16Prefetch(dst []uint32, src []float32, ahead int) {
	n := len(src)
	if n == 0 {
		return
	}
	_ = dst[(n+1)/2-1]
	done := 0
	if roundPairsFn != nil && n >= 32 {
		done = n / 32 * 32
		roundPairsFn(&dst[0], &src[0], n/32, 4*ahead)
	}
	roundPairsGeneric(dst[done/2:], src[done:])
}

// PackPairsBF16 rounds a float32 panel of kc rows of tile values (as
// PackPanel writes it: src[p·tile + i]) to a panel of bf16 pairs,
// dst[q·tile + i] = bf16(src[2q·tile + i]) | bf16(src[(2q+1)·tile + i])<<16
// for q < ⌈kc/2⌉ (the missing row of an odd kc is zero), each value rounded
// by FloatToBFloat. Uses VCVTNE2PS2BF16 for tiles of a multiple of 16
// and for tiles of 12 (the 12×32 kernel's A panels) with AVX512-BF16.
func PackPairsBF16(dst []uint32, src []float32, kc, tile int) {
	qn := (kc + 1) / 2
	if qn == 0 {
		return
	}
	_ = dst[qn*tile-1]
	_ = src[kc*tile-1]
	full := kc / 2
	switch {
	case full == 0:
	case pairsFn != nil && tile%16 == 0:
		pairsFn(&dst[0], &src[0], full, tile/16)
	case pairs12Fn != nil && tile == 12:
		pairs12Fn(&dst[0], &src[0], full)
	default:
		pairsBF16Generic(dst[:full*tile], src[:2*full*tile], full, tile)
	}
	if kc%2 == 1 {
		last, row := dst[full*tile:qn*tile], src[(kc-1)*tile:kc*tile]
		for i, v := range row {
			last[i] = uint32(FloatToBFloat(v))
		}
	}
}

// PeakBF16 runs a register-only loop of independent bf16 dot products at
// the installed level (n iterations) and returns the floating-point
// operations it performed (2 per product): the ceiling of the bf16 GEMM,
// as PeakFMA is the fp32 one. Without a bf16 unit it runs the pure-Go twin.
func PeakBF16(n int) (flops int) {
	peakBF16Fn(n)
	return n * peakBF16FlopsPerIter
}

// Uint32s views a float32 buffer as uint32 (same memory): the bf16 panels
// live in the GEMM's float32 scratch buffers.
func Uint32s(f []float32) []uint32 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&f[0])), len(f))
}
