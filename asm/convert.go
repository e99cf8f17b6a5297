package asm

// F16BytesToF32 converts len(dst) little-endian binary16 values (2*len(dst)
// bytes of src) to float32, exactly (subnormals, ±Inf and NaN included).
// Uses VCVTPH2PS (F16C/AVX-512) or FCVTL (NEON) where available.
func F16BytesToF32(dst []float32, src []byte) {
	n := len(dst)
	if n == 0 {
		return
	}
	_ = src[2*n-1]
	v := n - n%f16Block
	if v > 0 {
		f16Fn(&dst[0], &src[0], v)
	}
	f16BytesToF32Generic(dst[v:], src[2*v:2*n])
}

// BF16BytesToF32 converts len(dst) little-endian bfloat16 values to float32:
// each value is the top 16 bits of a float32 (f32 = uint32(bf16) << 16).
func BF16BytesToF32(dst []float32, src []byte) {
	n := len(dst)
	if n == 0 {
		return
	}
	_ = src[2*n-1]
	v := n - n%bf16Block
	if v > 0 {
		bf16Fn(&dst[0], &src[0], v)
	}
	bf16BytesToF32Generic(dst[v:], src[2*v:2*n])
}

// F8E4M3ToF32 converts len(dst) FP8 E4M3FN bytes (the OCP format of fp8
// checkpoints: 1 sign, 4 exponent bits with bias 7, 3 mantissa bits, no
// infinities, 0x7F and 0xFF NaN) to float32, exactly. Uses the AVX2 or
// AVX-512 kernel where available (bit arithmetic, see the generator),
// else a 256-entry table.
func F8E4M3ToF32(dst []float32, src []byte) {
	n := len(dst)
	if n == 0 {
		return
	}
	_ = src[n-1]
	v := n - n%f8Block
	if v > 0 {
		f8Fn(&dst[0], &src[0], v)
	}
	f8E4M3ToF32Generic(dst[v:], src[v:n])
}
