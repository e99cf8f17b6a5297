package tensor

import (
	"fmt"
	"sync/atomic"
)

// Precision is the arithmetic of a matrix product or convolution:
//
//	PrecisionFP32  float32 operands, float32 fused multiply-adds (the exact
//	               reference path, bit for bit what it always was)
//	PrecisionBF16  both operands rounded to bfloat16 (round to nearest even,
//	               denormals to zero), products accumulated in float32 as
//	               VDPBF16PS does (asm.GemmKernelBF16); about twice the
//	               throughput on CPUs with a bf16 unit (AVX512-BF16), at
//	               bfloat16's 8-bit significand for the operands
//
// A Weight carries its own Precision (per layer: e.g. the VAE's last
// convolutions stay fp32); its zero value, PrecisionDefault, follows the
// process default set by SetPrecision. Products with a weight (GemmW,
// GemmWLeft, GemmWTransA, Conv2d), Gemm and the two products of attention
// (AttentionOptions.Precision) change: norms, softmax and everything
// elementwise stay float32.
type Precision uint8

// The precisions; see Precision.
const (
	PrecisionDefault Precision = iota // follow SetPrecision
	PrecisionFP32
	PrecisionBF16
)

// String returns "default", "fp32" or "bf16".
func (p Precision) String() string {
	switch p {
	case PrecisionFP32:
		return "fp32"
	case PrecisionBF16:
		return "bf16"
	}
	return "default"
}

// ParsePrecision reads "fp32" or "bf16" (the --precision flag).
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "fp32":
		return PrecisionFP32, nil
	case "bf16":
		return PrecisionBF16, nil
	}
	return PrecisionDefault, fmt.Errorf("unknown precision %q (want fp32 or bf16)", s)
}

var defaultPrecision atomic.Uint32 // a Precision; 0 reads as fp32

// SetPrecision sets the process default of every product whose weight does
// not choose its own (PrecisionDefault restores fp32). Safe to call at any
// time; products already running keep the precision they started with.
func SetPrecision(p Precision) { defaultPrecision.Store(uint32(p)) }

// DefaultPrecision returns the process default: PrecisionFP32 unless
// SetPrecision chose PrecisionBF16.
func DefaultPrecision() Precision { return resolve(PrecisionDefault) }

// resolve maps PrecisionDefault to the process default.
func resolve(p Precision) Precision {
	if p == PrecisionDefault {
		p = Precision(defaultPrecision.Load())
	}
	if p == PrecisionDefault {
		return PrecisionFP32
	}
	return p
}
