// Package asm holds the SIMD kernels of godiffusion: GEMM micro-kernels,
// f16/bf16/f8 to f32 conversion and vector helpers. Every kernel has a
// pure-Go reference (files *_generic.go), used on other architectures and
// under the build tag purego, and tests compare the two.
package asm
