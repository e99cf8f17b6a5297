package safetensors

import (
	"encoding/binary"
	"math"
)

// NewF32Tensor returns an F32 tensor holding data (copied, little-endian)
// with the given shape (copied). A shape that does not match len(data) is
// reported by Write, not here.
func NewF32Tensor(name string, shape []int, data []float32) Tensor {
	return encode(name, F32, shape, data, func(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) })
}

// NewF16Tensor returns an F16 tensor holding data rounded to binary16
// (nearest, ties to even, as torch's .half()).
func NewF16Tensor(name string, shape []int, data []float32) Tensor {
	return encode(name, F16, shape, data, func(b []byte, v float32) { binary.LittleEndian.PutUint16(b, F32ToF16(v)) })
}

// NewBF16Tensor returns a BF16 tensor holding data rounded to bfloat16
// (nearest, ties to even).
func NewBF16Tensor(name string, shape []int, data []float32) Tensor {
	return encode(name, BF16, shape, data, func(b []byte, v float32) { binary.LittleEndian.PutUint16(b, F32ToBF16(v)) })
}

// NewF64Tensor returns an F64 tensor holding data.
func NewF64Tensor(name string, shape []int, data []float64) Tensor {
	return encode(name, F64, shape, data, func(b []byte, v float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(v)) })
}

// NewI64Tensor returns an I64 tensor holding data.
func NewI64Tensor(name string, shape []int, data []int64) Tensor {
	return encode(name, I64, shape, data, func(b []byte, v int64) { binary.LittleEndian.PutUint64(b, uint64(v)) })
}

// NewI32Tensor returns an I32 tensor holding data.
func NewI32Tensor(name string, shape []int, data []int32) Tensor {
	return encode(name, I32, shape, data, func(b []byte, v int32) { binary.LittleEndian.PutUint32(b, uint32(v)) })
}

// NewU8Tensor returns a U8 tensor holding data (copied), e.g. an NHWC
// image.
func NewU8Tensor(name string, shape []int, data []uint8) Tensor {
	return Tensor{Name: name, DType: U8, Shape: cloneShape(shape), Data: append([]byte{}, data...)}
}

// encode lays data out as the dtype's little-endian bytes, put writing
// one value into its dt.Size() bytes.
func encode[T any](name string, dt DType, shape []int, data []T, put func(b []byte, v T)) Tensor {
	size := dt.Size()
	b := make([]byte, size*len(data))
	for i, v := range data {
		put(b[size*i:], v)
	}
	return Tensor{Name: name, DType: dt, Shape: cloneShape(shape), Data: b}
}

func cloneShape(s []int) []int { return append([]int{}, s...) }

// NewF8E4M3Tensor returns an F8_E4M3 (OCP E4M3FN) tensor holding data
// rounded by F32ToF8E4M3.
func NewF8E4M3Tensor(name string, shape []int, data []float32) Tensor {
	return encode(name, F8E4M3, shape, data, func(b []byte, v float32) { b[0] = F32ToF8E4M3(v) })
}
