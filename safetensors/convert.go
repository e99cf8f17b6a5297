package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/asm"
)

// Float32 converts the tensor's elements to a new float32 slice. F16, BF16
// and the fp8 types convert exactly (every value is representable); F64
// rounds to nearest; integer and BOOL types convert by value, rounding
// integers above 2^24 in magnitude to the nearest float32.
func (t *Tensor) Float32() ([]float32, error) {
	out, err := t.float32()
	if err != nil {
		return nil, &FormatError{Tensor: t.Name, Msg: err.Error()}
	}
	return out, nil
}

// Int64 converts an integer or BOOL tensor to a new int64 slice. U64 values
// above math.MaxInt64 are an error rather than wrapping around.
func (t *Tensor) Int64() ([]int64, error) {
	out, err := t.int64()
	if err != nil {
		return nil, &FormatError{Tensor: t.Name, Msg: err.Error()}
	}
	return out, nil
}

func (t *Tensor) float32() ([]float32, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	out := make([]float32, len(t.Data)/t.DType.Size())
	b := t.Data
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case F16:
		asm.F16BytesToF32(out, b)
	case BF16:
		asm.BF16BytesToF32(out, b)
	case F8E4M3:
		asm.F8E4M3ToF32(out, b)
	case F8E5M2:
		asm.F8E5M2ToF32(out, b)
	case F8E8M0:
		for i, v := range b {
			out[i] = e8m0ToFloat(v)
		}
	case U64:
		for i := range out {
			out[i] = float32(binary.LittleEndian.Uint64(b[8*i:]))
		}
	default:
		v, err := t.int64()
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = float32(v[i])
		}
	}
	return out, nil
}

func (t *Tensor) int64() ([]int64, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if !t.DType.IsInteger() {
		return nil, fmt.Errorf("dtype %s is not an integer type", t.DType)
	}
	out := make([]int64, len(t.Data)/t.DType.Size())
	b := t.Data
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case U64:
		for i := range out {
			v := binary.LittleEndian.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("U64 element %d = %d does not fit in int64", i, v)
			}
			out[i] = int64(v)
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case U32:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case U16:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case U8, BOOL:
		for i := range out {
			out[i] = int64(b[i])
		}
	}
	return out, nil
}

// e8m0ToFloat decodes an F8_E8M0 scale: 2^(b−127), with 0xFF = NaN (the OCP
// MX "E8M0" format: exponent only, no sign, no zero).
func e8m0ToFloat(b uint8) float32 {
	if b == 0xff {
		return float32(math.NaN())
	}
	if b == 0 { // 2^-127 is a float32 subnormal
		return math.Float32frombits(1 << 22)
	}
	return math.Float32frombits(uint32(b) << 23)
}

// F32ToF16 rounds a float32 to the nearest IEEE 754 binary16, ties to even
// (what torch's .half() does): overflow gives ±Inf, NaN stays NaN (quiet),
// tiny values become subnormals or ±0.
func F32ToF16(f float32) uint16 {
	x := math.Float32bits(f)
	sign := uint16(x>>16) & 0x8000
	exp := int(x>>23) & 0xff
	mant := x & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	case exp > 142: // ≥ 2^16: overflows binary16 even before rounding
		return sign | 0x7c00
	case exp < 102: // < 2^-25: rounds to zero
		return sign
	}
	// Value = 1.mant × 2^(exp−127). Target exponent e = exp−127+15.
	e := exp - 112
	m := mant | 0x800000 // 24 significant bits
	var shift int        // bits to drop from m
	if e <= 0 {          // subnormal in binary16: fixed point of 2^-24
		shift = 14 - e
		e = 0
	} else {
		shift = 13
	}
	half := uint32(1) << (shift - 1)
	r := m >> shift
	rest := m & (half<<1 - 1)
	if rest > half || (rest == half && r&1 == 1) {
		r++ // may carry into the exponent, which is the right result
	}
	if e == 0 {
		return sign | uint16(r)
	}
	return sign | (uint16(e)<<10 + uint16(r-0x400)) // r includes the implicit 1 (0x400)
}

// F32ToBF16 rounds a float32 to the nearest bfloat16, ties to even; NaN
// stays NaN (quiet).
func F32ToBF16(f float32) uint16 {
	x := math.Float32bits(f)
	if x&0x7fffffff > 0x7f800000 {
		return uint16(x>>16) | 0x40
	}
	x += 0x7fff + (x>>16)&1
	return uint16(x >> 16)
}

// F32ToF8E4M3 rounds f to the nearest OCP E4M3FN value (1 sign, 4 exponent
// bits with bias 7, 3 mantissa bits; no infinities, largest finite ±448),
// ties to an even mantissa, saturating beyond ±448 as ComfyUI's fp8
// conversion clamps before casting; NaN stays NaN (0x7F). Normal values
// round the float32 mantissa to 3 bits in place (add half an ulp of the
// target, less one unless the kept part is odd, and truncate); below the
// smallest normal 2⁻⁶ the value is a multiple of 2⁻⁹.
func F32ToF8E4M3(f float32) uint8 {
	b := math.Float32bits(f)
	sign := uint8(b>>24) & 0x80
	b &^= 1 << 31
	a := math.Float32frombits(b)
	switch {
	case b > 0x7f800000: // NaN
		return sign | 0x7f
	case a >= 448:
		return sign | 0x7e
	case a < 1.0/64: // subnormal: m·2⁻⁹, m = 0..8 (8 is the smallest normal, 0x08)
		return sign | uint8(math.RoundToEven(float64(a)*512))
	}
	r := (b + 0x7ffff + (b>>20)&1) >> 20 // float32 exponent and top 3 mantissa bits, rounded
	e := int(r>>3) - 127 + 7
	if e > 15 || (e == 15 && r&7 == 7) {
		return sign | 0x7e
	}
	return sign | uint8(e)<<3 | uint8(r&7)
}
