package asm

import (
	"math"
	"unsafe"
)

// HalfToFloat converts an IEEE 754 binary16 value to float32 (exact).
func HalfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// subnormal: mant * 2^-24
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// BFloatToFloat converts a bfloat16 value (the top half of a float32) to float32.
func BFloatToFloat(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// E4M3ToFloat converts an OCP FP8 E4M3FN value (bias 7, no infinities,
// S.1111.111 is NaN) to float32.
func E4M3ToFloat(b uint8) float32 {
	sign := b >> 7
	exp := int(b>>3) & 0xf
	mant := int(b) & 7
	var f float32
	switch {
	case exp == 0xf && mant == 7:
		f = float32(math.NaN())
	case exp == 0:
		f = float32(mant) * (1.0 / 512) // mant * 2^-9
	default:
		f = float32(8+mant) * float32(math.Ldexp(1, exp-10))
	}
	if sign != 0 {
		f = -f
	}
	return f
}

// E5M2ToFloat converts an FP8 E5M2 value (bias 15, IEEE-like, the top byte
// of a binary16) to float32.
func E5M2ToFloat(b uint8) float32 { return HalfToFloat(uint16(b) << 8) }

func f16BytesToF32Generic(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = HalfToFloat(uint16(src[2*i]) | uint16(src[2*i+1])<<8)
	}
}

func bf16BytesToF32Generic(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(src[2*i])<<16 | uint32(src[2*i+1])<<24)
	}
}

// f8E4M3ToF32Generic converts len(dst) FP8 E4M3FN bytes to float32 via a
// 256-entry table: the pure-Go twin of the f8E4M3ToF32 kernels.
func f8E4M3ToF32Generic(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = e4m3Table[src[i]]
	}
}

func f8E4M3ToF32GenericPtr(dst *float32, src *byte, n int) {
	f8E4M3ToF32Generic(unsafe.Slice(dst, n), unsafe.Slice(src, n))
}

// F8E5M2ToF32 converts len(dst) FP8 E5M2 bytes to float32 via a 256-entry table.
func F8E5M2ToF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = e5m2Table[src[i]]
	}
}

var e4m3Table, e5m2Table [256]float32

func init() {
	for i := range 256 {
		e4m3Table[i] = E4M3ToFloat(uint8(i))
		e5m2Table[i] = E5M2ToFloat(uint8(i))
	}
}

func f16ToF32GenericPtr(dst *float32, src *byte, n int) {
	f16BytesToF32Generic(unsafe.Slice(dst, n), unsafe.Slice(src, 2*n))
}

func bf16ToF32GenericPtr(dst *float32, src *byte, n int) {
	bf16BytesToF32Generic(unsafe.Slice(dst, n), unsafe.Slice(src, 2*n))
}
