package asm

// F16BytesToF32 converts len(dst) little-endian binary16 values (2*len(dst)
// bytes of src) to float32, exactly (subnormals, ±Inf and NaN included).
// Uses VCVTPH2PS (F16C/AVX-512) or FCVTL (NEON) where available.
func F16BytesToF32(dst []float32, src []byte) {
	widen(dst, src, 2, f16Block, f16Fn, f16BytesToF32Generic)
}

// BF16BytesToF32 converts len(dst) little-endian bfloat16 values to float32:
// each value is the top 16 bits of a float32 (f32 = uint32(bf16) << 16).
func BF16BytesToF32(dst []float32, src []byte) {
	widen(dst, src, 2, bf16Block, bf16Fn, bf16BytesToF32Generic)
}

// F8E4M3ToF32 converts len(dst) FP8 E4M3FN bytes (the OCP format of fp8
// checkpoints: 1 sign, 4 exponent bits with bias 7, 3 mantissa bits, no
// infinities, 0x7F and 0xFF NaN) to float32, exactly. Uses the AVX2 or
// AVX-512 kernel where available (bit arithmetic, see the generator),
// else a 256-entry table.
func F8E4M3ToF32(dst []float32, src []byte) {
	widen(dst, src, 1, f8Block, f8Fn, f8E4M3ToF32Generic)
}

// widen converts the n = len(dst) values of src (size bytes each) to
// float32: whole blocks of block values with the installed kernel fn, the
// rest with its pure-Go twin generic.
func widen(dst []float32, src []byte, size, block int, fn func(dst *float32, src *byte, n int), generic func(dst []float32, src []byte)) {
	n := len(dst)
	if n == 0 {
		return
	}
	_ = src[size*n-1]
	v := n - n%block
	if v > 0 {
		fn(&dst[0], &src[0], v)
	}
	generic(dst[v:], src[size*v:size*n])
}
