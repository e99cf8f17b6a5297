//go:build !purego

package asm

// Declarations of the hand-written NEON kernels in kernels_arm64.s.

//go:noescape
func sgemmKernelNEON(k int, a, b, c *float32, ldc int, accumulate bool)

//go:noescape
func fmaPeakNEON(n int)

//go:noescape
func dotNEONPartial(x, y *float32, n int, partial *[16]float32)

//go:noescape
func axpyNEON(alpha float32, x, y *float32, n int)

//go:noescape
func bf16ToF32NEON(dst *float32, src *byte, n int)

//go:noescape
func f16ToF32NEON(dst *float32, src *byte, n int)

// dotNEON returns Σ x[i]·y[i] for n a multiple of 16.
func dotNEON(x, y *float32, n int) float32 {
	var p [16]float32
	dotNEONPartial(x, y, n, &p)
	return ((p[0] + p[4]) + (p[8] + p[12])) + ((p[1] + p[5]) + (p[9] + p[13])) +
		((p[2] + p[6]) + (p[10] + p[14])) + ((p[3] + p[7]) + (p[11] + p[15]))
}

//go:noescape
func sgemmKernelBF16NEON(kp int, a, b *uint32, c *float32, ldc int, accumulate bool)

//go:noescape
func bf16PeakNEON(n int)

// storeTile6x16NEON is the common store of the 6×16 kernels, reached from
// them by a tail jump with the tile in registers (see kernels_arm64.s);
// declared for the assembler's sake only, never called from Go.
func storeTile6x16NEON()
