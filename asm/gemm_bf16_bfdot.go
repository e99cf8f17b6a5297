package asm

import "math"

// # Arm BFDOT arithmetic
//
// Arm's BFDOT and BFMMLA (FEAT_BF16, without FEAT_EBF16's FPCR.EBF) do not
// round as VDPBF16PS: for each pair they add the two products first, then
// add that sum to the accumulator, and both additions round to odd (an
// inexact result is truncated toward zero and its last bit set; an
// overflow becomes an infinity), with denormal inputs and results flushed
// to zero and every NaN the default NaN (Arm ARM, "BFDOT (by element)",
// pseudo-code BFDotAdd):
//
//	acc = ro(acc + ro(A(i,2q)·B(2q,j) + A(i,2q+1)·B(2q+1,j)))
//
// The products of two bf16 values are exact in float32. dotPairBFDOT is
// this in Go, the twin of the neonbf16 kernel; BF16Rounding tells which of
// the two arithmetics the installed bf16 kernel uses.

// BF16Rounding names the arithmetic of the installed bf16 kernel:
// "fma-rne" (two fused multiply-adds per pair, high half first, rounded to
// nearest even: VDPBF16PS and the pure-Go twin) or "bfdot-odd" (Arm
// BFDOT: the pair's products summed, then accumulated, each addition
// rounded to odd). Results of the bf16 GEMM are bit-identical between
// levels with the same arithmetic.
func BF16Rounding() string { return bf16Rounding }

// dotPairBFDOT is one BFDOT lane: acc plus the two products of the bf16
// pairs a and b, in Arm's arithmetic (see above).
func dotPairBFDOT(acc, a, b uint32) uint32 {
	lo := bfdotMul(a<<16, b<<16)
	hi := bfdotMul(a&0xffff0000, b&0xffff0000)
	return addRoundOdd(acc, addRoundOdd(lo, hi))
}

// bfdotMul multiplies two float32 values (bf16 widened: 8-bit
// significands, so the product is exact unless it overflows or
// underflows) with denormal inputs and results flushed to zero.
func bfdotMul(x, y uint32) uint32 {
	fx, fy := daz(x), daz(y)
	if fx != fx || fy != fy {
		return defaultNaN
	}
	p := float64(fx) * float64(fy) // exact
	if p != p {
		return defaultNaN // 0 · ∞
	}
	return roundOdd(p, 0)
}

// addRoundOdd adds two float32 values (given as bits) rounding to odd,
// with denormal inputs and results flushed to zero and the default NaN.
func addRoundOdd(x, y uint32) uint32 {
	fx, fy := daz(x), daz(y)
	s := float64(fx) + float64(fy)
	if s != s {
		return defaultNaN
	}
	if math.IsInf(s, 0) {
		return math.Float32bits(float32(s))
	}
	// TwoSum: s + e is the exact sum.
	bb := s - float64(fx)
	e := (float64(fx) - (s - bb)) + (float64(fy) - bb)
	if s == 0 {
		return math.Float32bits(float32(s)) // exact zero, IEEE sign
	}
	return roundOdd(s, e)
}

// defaultNaN is Arm's default NaN.
const defaultNaN = 0x7fc00000

// daz reads float32 bits with a denormal flushed to a zero of its sign.
func daz(x uint32) float32 {
	if x&0x7f800000 == 0 {
		x &= 0x80000000
	}
	return math.Float32frombits(x)
}

// roundOdd rounds the exact value v + e (v a finite float64, e its small
// error term of opposite or equal sign, |e| ≤ ulp(v)/2) to float32 by
// round to odd: truncate toward zero, set the last bit when inexact; an
// overflow is an infinity, a result below the smallest normal (before
// rounding) a zero of its sign.
func roundOdd(v, e float64) uint32 {
	sign := uint32(0)
	if v < 0 || (v == 0 && math.Signbit(v)) {
		sign = 0x80000000
		v, e = -v, -e
	}
	if v < 0x1p-126 || (v == 0x1p-126 && e < 0) {
		return sign
	}
	if v >= 0x1p128 {
		return sign | 0x7f800000
	}
	t := float64(math.Float32frombits(math.Float32bits(float32(v)))) // nearest
	bits := math.Float32bits(float32(v))
	if t > v || (t == v && e < 0) { // rounded up: step back toward zero
		bits--
	}
	if float64(math.Float32frombits(bits)) != v || e != 0 {
		bits |= 1
	}
	return sign | bits
}

// bf16TileBFDOT computes an mr×nr tile in BFDOT arithmetic, element by
// element:
// the reference the neonbf16 kernel is tested against.
func bf16TileBFDOT(mr, nr, kp int, a, b []uint32, c []float32, ldc int, accumulate bool) {
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var s uint32
			for q := 0; q < kp; q++ {
				s = dotPairBFDOT(s, a[q*mr+i], b[q*nr+j])
			}
			if accumulate {
				c[i*ldc+j] += math.Float32frombits(s)
			} else {
				c[i*ldc+j] = math.Float32frombits(s)
			}
		}
	}
}
