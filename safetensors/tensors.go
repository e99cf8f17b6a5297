package safetensors

import (
	"encoding/binary"
	"math"
)

// NewF32Tensor returns an F32 tensor holding data (copied, little-endian)
// with the given shape (copied). A shape that does not match len(data) is
// reported by Write, not here.
func NewF32Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: F32, Shape: cloneShape(shape), Data: b}
}

// NewF16Tensor returns an F16 tensor holding data rounded to binary16
// (nearest, ties to even, as torch's .half()).
func NewF16Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(b[2*i:], F32ToF16(v))
	}
	return Tensor{Name: name, DType: F16, Shape: cloneShape(shape), Data: b}
}

// NewBF16Tensor returns a BF16 tensor holding data rounded to bfloat16
// (nearest, ties to even).
func NewBF16Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(b[2*i:], F32ToBF16(v))
	}
	return Tensor{Name: name, DType: BF16, Shape: cloneShape(shape), Data: b}
}

// NewF64Tensor returns an F64 tensor holding data.
func NewF64Tensor(name string, shape []int, data []float64) Tensor {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return Tensor{Name: name, DType: F64, Shape: cloneShape(shape), Data: b}
}

// NewI64Tensor returns an I64 tensor holding data.
func NewI64Tensor(name string, shape []int, data []int64) Tensor {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Tensor{Name: name, DType: I64, Shape: cloneShape(shape), Data: b}
}

// NewI32Tensor returns an I32 tensor holding data.
func NewI32Tensor(name string, shape []int, data []int32) Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return Tensor{Name: name, DType: I32, Shape: cloneShape(shape), Data: b}
}

// NewU8Tensor returns a U8 tensor holding data (copied), e.g. an NHWC
// image.
func NewU8Tensor(name string, shape []int, data []uint8) Tensor {
	return Tensor{Name: name, DType: U8, Shape: cloneShape(shape), Data: append([]byte{}, data...)}
}

func cloneShape(s []int) []int { return append([]int{}, s...) }
