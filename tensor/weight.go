package tensor

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/asm"
)

// DType is the storage type of a Weight.
type DType uint8

// Storage types a Weight may keep.
const (
	F32 DType = iota
	F16
	BF16
	F8E4M3
	F8E5M2
)

// String returns the dtype's short name (f32, f16, bf16, f8_e4m3, f8_e5m2).
func (d DType) String() string {
	return [...]string{"f32", "f16", "bf16", "f8_e4m3", "f8_e5m2"}[d]
}

// Size is the number of bytes per element.
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	}
	return 1
}

// Weight is a parameter tensor kept in the dtype it was stored in, so an f16
// checkpoint costs f16 memory. Raw holds the little-endian bytes (often a
// slice of a memory-mapped file); F32 data is also available directly as
// float32 without copying when the bytes are suitably aligned.
type Weight struct {
	DType DType
	Shape []int
	Raw   []byte    // nil when F32Data is set directly
	f32   []float32 // the values, when DType == F32
	// Scale multiplies every decoded value when it is not 0 or 1: the
	// per-tensor scale of ComfyUI's "scaled fp8" checkpoints
	// (t5xxl_fp8_e4m3fn_scaled.safetensors), whose layers compute with
	// W = float(W_fp8)·scale_weight. Only quantised (non-F32) weights carry
	// one; see ScaledWeight.
	Scale float32
	// Precision of the products with this weight (GemmW, Conv2d, ...); the
	// zero value follows the process default (SetPrecision). A layer that
	// must stay exact sets PrecisionFP32.
	Precision Precision
}

// NewWeight wraps raw little-endian bytes of the given dtype and shape.
func NewWeight(dt DType, shape []int, raw []byte) (*Weight, error) {
	if n := numel(shape) * dt.Size(); n != len(raw) {
		return nil, fmt.Errorf("weight of shape %v %s needs %d bytes, found %d", shape, dt, n, len(raw))
	}
	w := &Weight{DType: dt, Shape: append([]int(nil), shape...), Raw: raw}
	if dt == F32 {
		w.f32 = bytesAsFloat32(raw)
	}
	return w, nil
}

// WeightFromFloat32 wraps float32 values (not copied) as an F32 weight.
func WeightFromFloat32(data []float32, shape ...int) *Weight {
	if len(data) != numel(shape) {
		panic(fmt.Sprintf("tensor.WeightFromFloat32: %d values for shape %v", len(data), shape))
	}
	return &Weight{DType: F32, Shape: append([]int(nil), shape...), f32: data}
}

// Len returns the number of elements.
func (w *Weight) Len() int { return numel(w.Shape) }

// Bytes returns the memory the weight's values occupy.
func (w *Weight) Bytes() int { return w.Len() * w.DType.Size() }

// Decode converts elements [off, off+len(dst)) to float32 into dst.
func (w *Weight) Decode(dst []float32, off int) {
	n := len(dst)
	switch w.DType {
	case F32:
		copy(dst, w.f32[off:off+n])
	case F16:
		asm.F16BytesToF32(dst, w.Raw[2*off:2*(off+n)])
	case BF16:
		asm.BF16BytesToF32(dst, w.Raw[2*off:2*(off+n)])
	case F8E4M3:
		asm.F8E4M3ToF32(dst, w.Raw[off:off+n])
	case F8E5M2:
		asm.F8E5M2ToF32(dst, w.Raw[off:off+n])
	}
	if w.Scale != 0 && w.Scale != 1 {
		for i := range dst {
			dst[i] *= w.Scale
		}
	}
}

// ScaledWeight returns w with every value multiplied by scale (the
// dequantisation of a scaled-fp8 tensor, W = float(W_stored)·scale). A
// quantised weight keeps its stored bytes and applies the scale as it is
// decoded; an F32 weight, which the GEMM reads without decoding, is
// multiplied out into a new copy.
func ScaledWeight(w *Weight, scale float32) *Weight {
	if scale == 1 {
		return w
	}
	if w.DType == F32 {
		src := w.Float32()
		out := make([]float32, len(src))
		for i, v := range src {
			out[i] = v * scale
		}
		sw := WeightFromFloat32(out, w.Shape...)
		sw.Precision = w.Precision
		return sw
	}
	v := *w
	v.Shape = append([]int(nil), w.Shape...)
	v.Scale = scale
	return &v
}

// Float32 returns all values as float32. For an F32 weight this is the
// weight's own storage (do not modify); otherwise a new converted slice.
func (w *Weight) Float32() []float32 {
	if w.DType == F32 {
		return w.f32
	}
	out := make([]float32, w.Len())
	w.Decode(out, 0)
	return out
}

// Tensor returns the weight as a float32 tensor (see Float32 for aliasing).
func (w *Weight) Tensor() *Tensor {
	return &Tensor{Shape: append([]int(nil), w.Shape...), Data: w.Float32()}
}

// bytesAsFloat32 reinterprets little-endian bytes as float32 values, without
// copying when the slice is 4-byte aligned (on little-endian machines, which
// are all the architectures godiffusion targets), else by copying.
func bytesAsFloat32(b []byte) []float32 {
	n := len(b) / 4
	if n == 0 {
		return []float32{}
	}
	if aligned4(b) && littleEndian {
		return unsafeFloat32s(b, n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
