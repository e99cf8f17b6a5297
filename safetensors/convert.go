package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/asm"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// Float32 converts the tensor's elements to float32. Floating types convert
// exactly (f16, bf16 and f8 values are all representable); f64 rounds;
// integer and bool types convert by value.
func (t *Tensor) Float32() ([]float32, error) {
	n := t.NumElements()
	out := make([]float32, n)
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
	case I64, I32, I16, I8, U8, BOOL:
		v, err := t.Int64()
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = float32(v[i])
		}
	default:
		return nil, fmt.Errorf("safetensors: tensor %q: cannot convert dtype %s to float32", t.Name, t.DType)
	}
	return out, nil
}

// Int64 converts an integer or bool tensor to int64.
func (t *Tensor) Int64() ([]int64, error) {
	n := t.NumElements()
	out := make([]int64, n)
	b := t.Data
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case U8, BOOL:
		for i := range out {
			out[i] = int64(b[i])
		}
	default:
		return nil, fmt.Errorf("safetensors: tensor %q: dtype %s is not an integer type", t.Name, t.DType)
	}
	return out, nil
}
