package asm

// # Normalisation kernels
//
// GroupNorm and LayerNorm (package tensor) take each group's or row's
// mean and variance in two passes whose float32 partial sums follow one
// fixed order (SumBlocks64, DevBlocks64), then map every value with one
// affine step (ShiftScale, LayerNormRow). The vector kernels compute
// exactly what the pure-Go twins compute: the same partial sums in the
// same order, every product and sum rounded on its own (never a fused
// multiply-add), so a level changes the speed and never a bit.

// SumBlocks64 writes the partial sums of the whole blocks of 64 values of
// src (len(src)/64 blocks; the rest is the caller's):
//
//	dst[8b + j] = Σ_{k<8} (src[64b + 8k + j] − shift)      (j < 8, summed in order of k from 0)
//
// dst must hold 8 values per block.
func SumBlocks64(dst, src []float32, shift float32) {
	blocks := len(src) / 64
	if blocks == 0 {
		return
	}
	_ = dst[8*blocks-1]
	sumBlocksFn(&dst[0], &src[0], shift, blocks)
}

// DevBlocks64 writes, for the whole blocks of 64 values of src, with
// deviations e = x − m, the partial sums of squares and of pairs
//
//	q[8b + j] = Σ_{k<8} e[64b+8k+j]²                         (j < 8)
//	c[4b + j] = Σ_{k<8} (e[64b+8k+j] + e[64b+8k+j+4])         (j < 4)
//
// summed in order of k from 0: the two sums of a two-pass variance taken
// from a rounded mean m (Σ(x−μ)² = Σ(x−m)² − (Σ(x−m))²/n). q must hold 8
// values per block, c 4.
func DevBlocks64(q, c, src []float32, m float32) {
	blocks := len(src) / 64
	if blocks == 0 {
		return
	}
	_ = q[8*blocks-1]
	_ = c[4*blocks-1]
	devBlocksFn(&q[0], &c[0], &src[0], m, blocks)
}

// ShiftScale computes dst[i] = (src[i] − m)·a + b for i < len(src), each
// operation rounded: GroupNorm's map of one channel.
func ShiftScale(dst, src []float32, m, a, b float32) {
	n := len(src)
	if n == 0 {
		return
	}
	_ = dst[n-1]
	v := n - n%shiftScaleBlock
	if v > 0 {
		shiftScaleFn(&dst[0], &src[0], m, a, b, v)
	}
	shiftScaleGeneric(dst[v:n], src[v:], m, a, b)
}

// LayerNormRow computes dst[i] = ((src[i] − m) − rest)·inv·g[i] + b[i]
// for i < len(src), each operation rounded: LayerNorm's map of one row,
// with m + rest the row's mean (m rounded to float32, rest the remainder)
// and inv = 1/√(σ² + eps).
func LayerNormRow(dst, src, g, b []float32, m, rest, inv float32) {
	n := len(src)
	if n == 0 {
		return
	}
	_, _, _ = dst[n-1], g[n-1], b[n-1]
	v := n - n%layerNormBlock
	if v > 0 {
		layerNormFn(&dst[0], &src[0], &g[0], &b[0], m, rest, inv, v)
	}
	layerNormRowGeneric(dst[v:n], src[v:], g[v:n], b[v:n], m, rest, inv)
}
