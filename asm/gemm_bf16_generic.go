package asm

import (
	"math"
	"unsafe"
)

// Tile of the pure-Go bf16 twin, as the fp32 one.
const genericBF16MR, genericBF16NR = 4, 4

// FloatToBFloat rounds f to bfloat16 the way VCVTNE2PS2BF16 does: to
// nearest, ties to even; a denormal becomes a zero of its sign (DAZ); a NaN
// stays a quiet NaN. (safetensors.F32ToBF16 keeps denormals: it writes
// files, this feeds the kernels.)
func FloatToBFloat(f float32) uint16 {
	x := math.Float32bits(f)
	switch {
	case x&0x7fffffff > 0x7f800000:
		return uint16(x>>16) | 0x40
	case x&0x7f800000 == 0:
		return uint16(x>>16) & 0x8000
	}
	return uint16((x + 0x7fff + (x>>16)&1) >> 16)
}

// pairsBF16Generic is PackPairsBF16 for qn whole pairs of rows.
func pairsBF16Generic(dst []uint32, src []float32, qn, tile int) {
	for q := 0; q < qn; q++ {
		lo, hi, out := src[2*q*tile:(2*q+1)*tile], src[(2*q+1)*tile:(2*q+2)*tile], dst[q*tile:(q+1)*tile]
		for i := range out {
			out[i] = uint32(FloatToBFloat(lo[i])) | uint32(FloatToBFloat(hi[i]))<<16
		}
	}
}

// roundPairsGeneric is RoundPairsBF16 in Go.
func roundPairsGeneric(dst []uint32, src []float32) {
	for q := 0; 2*q < len(src); q++ {
		p := uint32(FloatToBFloat(src[2*q]))
		if 2*q+1 < len(src) {
			p |= uint32(FloatToBFloat(src[2*q+1])) << 16
		}
		dst[q] = p
	}
}

// bf16In widens a bfloat16 (the low 16 bits of h) to float32 with a
// denormal read as zero (DAZ).
func bf16In(h uint32) float32 {
	if h&0x7f80 == 0 {
		h &= 0x8000
	}
	return math.Float32frombits(h << 16)
}

// ftz flushes a denormal result to a zero of its sign (FTZ).
func ftz(x float32) float32 {
	if b := math.Float32bits(x); b&0x7f800000 == 0 {
		return math.Float32frombits(b & 0x80000000)
	}
	return x
}

// dotPairBF16 is one VDPBF16PS lane: acc plus the products of the two
// bf16 pairs a and b, the high halves first. A product of two bf16 values
// (8-bit significands) is exact in float32 (barring underflow), so the
// explicit float32 product followed by the addition is the FMA's result.
func dotPairBF16(acc float32, a, b uint32) float32 {
	acc = ftz(acc + float32(bf16In(a>>16)*bf16In(b>>16)))
	return ftz(acc + float32(bf16In(a&0xffff)*bf16In(b&0xffff)))
}

// sgemmKernelBF16Generic is the pure-Go bf16 micro-kernel, 4×4:
// C[i][j] (+)= Σ_q dotPair(Ã[q·4+i], B̃[q·4+j]) in VDPBF16PS's order.
func sgemmKernelBF16Generic(kp int, a, b []uint32, c []float32, ldc int, accumulate bool) {
	var t [genericBF16MR][genericBF16NR]float32
	a, b = a[:4*kp], b[:4*kp]
	for q := 0; q < kp; q++ {
		aq, bq := a[4*q:4*q+4], b[4*q:4*q+4]
		for i, av := range aq {
			for j, bv := range bq {
				t[i][j] = dotPairBF16(t[i][j], av, bv)
			}
		}
	}
	storeBF16Tile(&t, c, ldc, accumulate)
}

func sgemmKernelBF16GenericPtr(kp int, a, b *uint32, c *float32, ldc int, accumulate bool) {
	sgemmKernelBF16Generic(kp, unsafe.Slice(a, 4*kp), unsafe.Slice(b, 4*kp), unsafe.Slice(c, 3*ldc+4), ldc, accumulate)
}

// sgemmKernelBF16StridedAGeneric is the pure-Go strided-A bf16 kernel,
// 4×4: A's pairs are read from rows a[i·lda:], in the same order as the
// packed twin.
func sgemmKernelBF16StridedAGeneric(kp int, a []uint32, lda int, b []uint32, c []float32, ldc int, accumulate bool) {
	var t [genericBF16MR][genericBF16NR]float32
	b = b[:4*kp]
	for i := range t {
		row := a[i*lda : i*lda+kp]
		for q, av := range row {
			bq := b[4*q : 4*q+4]
			for j, bv := range bq {
				t[i][j] = dotPairBF16(t[i][j], av, bv)
			}
		}
	}
	storeBF16Tile(&t, c, ldc, accumulate)
}

func sgemmKernelBF16StridedAGenericPtr(kp int, a *uint32, lda int, b *uint32, c *float32, ldc int, accumulate bool) {
	sgemmKernelBF16StridedAGeneric(kp, unsafe.Slice(a, 3*lda+kp), lda, unsafe.Slice(b, 4*kp), unsafe.Slice(c, 3*ldc+4), ldc, accumulate)
}

const genericBF16PeakFlops = 8 * 2 * 2

// bf16PeakGeneric is the pure-Go bf16 peak loop: 8 independent dot-pair
// lanes per iteration.
func bf16PeakGeneric(n int) {
	var acc [8]float32
	x, y := uint32(0x3f803f80), uint32(0x33d633d6) // (1, 1) and (1e-7, 1e-7)
	for range n {
		for i := range acc {
			acc[i] = dotPairBF16(acc[i], x, y)
		}
	}
	peakSink = acc[0] + acc[7]
}

// storeBF16Tile writes (or, accumulating, adds) the generic kernels' 4×4
// accumulator into C at row stride ldc.
func storeBF16Tile(t *[genericBF16MR][genericBF16NR]float32, c []float32, ldc int, accumulate bool) {
	for i := range t {
		row := c[i*ldc : i*ldc+genericBF16NR]
		for j := range row {
			if accumulate {
				row[j] += t[i][j]
			} else {
				row[j] = t[i][j]
			}
		}
	}
}
