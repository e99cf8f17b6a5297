// Package bf16drift holds the bf16-vs-fp32 image drift test of the Flux
// family (flux_test.go), kept outside models/flux so that it can be
// changed independently of the family; the SD1 and SDXL drift tests live
// in their packages (TestBF16Drift). It has no code of its own.
package bf16drift
