//go:build !purego

#include "textflag.h"

// NEON (Advanced SIMD) kernels for arm64, written by hand. Go's assembler
// spells three-operand vector instructions "OP Vm, Vn, Vd", so
// VFMLA Vm.S4, Vn.S4, Vd.S4 computes Vd += Vn·Vm lane by lane.

// func sgemmKernelNEON(k int, a, b, c *float32, ldc int, accumulate bool)
//
// The 6×16 GEMM micro-kernel C (+)= Ã·B̃ over packed panels (see
// GemmKernel). The 24 accumulators V8..V31 hold the tile, four vectors per
// row; they start from C when accumulating, else from zero. Each step of
// the k loop loads one 16-wide row of B̃ into V0..V3 and, for each of the 6
// rows, broadcasts Ã's value (VLD1R) and issues 4 FMLAs.
TEXT ·sgemmKernelNEON(SB), NOSPLIT, $0-41
	MOVD	k+0(FP), R0
	MOVD	a+8(FP), R1
	MOVD	b+16(FP), R2
	MOVD	c+24(FP), R3
	MOVD	ldc+32(FP), R4
	MOVBU	accumulate+40(FP), R5
	LSL	$2, R4, R4
	CBZ	R5, zero
	MOVD	R3, R6
	VLD1	(R6), [V8.S4, V9.S4, V10.S4, V11.S4]
	ADD	R4, R6, R6
	VLD1	(R6), [V12.S4, V13.S4, V14.S4, V15.S4]
	ADD	R4, R6, R6
	VLD1	(R6), [V16.S4, V17.S4, V18.S4, V19.S4]
	ADD	R4, R6, R6
	VLD1	(R6), [V20.S4, V21.S4, V22.S4, V23.S4]
	ADD	R4, R6, R6
	VLD1	(R6), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD	R4, R6, R6
	VLD1	(R6), [V28.S4, V29.S4, V30.S4, V31.S4]
	B	check
zero:
	VEOR	V8.B16, V8.B16, V8.B16
	VEOR	V9.B16, V9.B16, V9.B16
	VEOR	V10.B16, V10.B16, V10.B16
	VEOR	V11.B16, V11.B16, V11.B16
	VEOR	V12.B16, V12.B16, V12.B16
	VEOR	V13.B16, V13.B16, V13.B16
	VEOR	V14.B16, V14.B16, V14.B16
	VEOR	V15.B16, V15.B16, V15.B16
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V17.B16, V17.B16, V17.B16
	VEOR	V18.B16, V18.B16, V18.B16
	VEOR	V19.B16, V19.B16, V19.B16
	VEOR	V20.B16, V20.B16, V20.B16
	VEOR	V21.B16, V21.B16, V21.B16
	VEOR	V22.B16, V22.B16, V22.B16
	VEOR	V23.B16, V23.B16, V23.B16
	VEOR	V24.B16, V24.B16, V24.B16
	VEOR	V25.B16, V25.B16, V25.B16
	VEOR	V26.B16, V26.B16, V26.B16
	VEOR	V27.B16, V27.B16, V27.B16
	VEOR	V28.B16, V28.B16, V28.B16
	VEOR	V29.B16, V29.B16, V29.B16
	VEOR	V30.B16, V30.B16, V30.B16
	VEOR	V31.B16, V31.B16, V31.B16
check:
	CBZ	R0, store
loop:
	VLD1.P	64(R2), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1R.P	4(R1), [V4.S4]
	VFMLA	V0.S4, V4.S4, V8.S4
	VFMLA	V1.S4, V4.S4, V9.S4
	VFMLA	V2.S4, V4.S4, V10.S4
	VFMLA	V3.S4, V4.S4, V11.S4
	VLD1R.P	4(R1), [V5.S4]
	VFMLA	V0.S4, V5.S4, V12.S4
	VFMLA	V1.S4, V5.S4, V13.S4
	VFMLA	V2.S4, V5.S4, V14.S4
	VFMLA	V3.S4, V5.S4, V15.S4
	VLD1R.P	4(R1), [V4.S4]
	VFMLA	V0.S4, V4.S4, V16.S4
	VFMLA	V1.S4, V4.S4, V17.S4
	VFMLA	V2.S4, V4.S4, V18.S4
	VFMLA	V3.S4, V4.S4, V19.S4
	VLD1R.P	4(R1), [V5.S4]
	VFMLA	V0.S4, V5.S4, V20.S4
	VFMLA	V1.S4, V5.S4, V21.S4
	VFMLA	V2.S4, V5.S4, V22.S4
	VFMLA	V3.S4, V5.S4, V23.S4
	VLD1R.P	4(R1), [V4.S4]
	VFMLA	V0.S4, V4.S4, V24.S4
	VFMLA	V1.S4, V4.S4, V25.S4
	VFMLA	V2.S4, V4.S4, V26.S4
	VFMLA	V3.S4, V4.S4, V27.S4
	VLD1R.P	4(R1), [V5.S4]
	VFMLA	V0.S4, V5.S4, V28.S4
	VFMLA	V1.S4, V5.S4, V29.S4
	VFMLA	V2.S4, V5.S4, V30.S4
	VFMLA	V3.S4, V5.S4, V31.S4
	SUBS	$1, R0, R0
	BNE	loop
store:
	MOVD	R3, R6
	VST1	[V8.S4, V9.S4, V10.S4, V11.S4], (R6)
	ADD	R4, R6, R6
	VST1	[V12.S4, V13.S4, V14.S4, V15.S4], (R6)
	ADD	R4, R6, R6
	VST1	[V16.S4, V17.S4, V18.S4, V19.S4], (R6)
	ADD	R4, R6, R6
	VST1	[V20.S4, V21.S4, V22.S4, V23.S4], (R6)
	ADD	R4, R6, R6
	VST1	[V24.S4, V25.S4, V26.S4, V27.S4], (R6)
	ADD	R4, R6, R6
	VST1	[V28.S4, V29.S4, V30.S4, V31.S4], (R6)
	RET

// func fmaPeakNEON(n int)
//
// n iterations of 24 independent 4-lane FMLAs (192 flops), registers only.
TEXT ·fmaPeakNEON(SB), NOSPLIT, $0-8
	MOVD	n+0(FP), R0
	VEOR	V0.B16, V0.B16, V0.B16
	VEOR	V1.B16, V1.B16, V1.B16
	VEOR	V8.B16, V8.B16, V8.B16
	VEOR	V9.B16, V9.B16, V9.B16
	VEOR	V10.B16, V10.B16, V10.B16
	VEOR	V11.B16, V11.B16, V11.B16
	VEOR	V12.B16, V12.B16, V12.B16
	VEOR	V13.B16, V13.B16, V13.B16
	VEOR	V14.B16, V14.B16, V14.B16
	VEOR	V15.B16, V15.B16, V15.B16
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V17.B16, V17.B16, V17.B16
	VEOR	V18.B16, V18.B16, V18.B16
	VEOR	V19.B16, V19.B16, V19.B16
	VEOR	V20.B16, V20.B16, V20.B16
	VEOR	V21.B16, V21.B16, V21.B16
	VEOR	V22.B16, V22.B16, V22.B16
	VEOR	V23.B16, V23.B16, V23.B16
	VEOR	V24.B16, V24.B16, V24.B16
	VEOR	V25.B16, V25.B16, V25.B16
	VEOR	V26.B16, V26.B16, V26.B16
	VEOR	V27.B16, V27.B16, V27.B16
	VEOR	V28.B16, V28.B16, V28.B16
	VEOR	V29.B16, V29.B16, V29.B16
	VEOR	V30.B16, V30.B16, V30.B16
	VEOR	V31.B16, V31.B16, V31.B16
	CBZ	R0, peakdone
peakloop:
	VFMLA	V0.S4, V1.S4, V8.S4
	VFMLA	V0.S4, V1.S4, V9.S4
	VFMLA	V0.S4, V1.S4, V10.S4
	VFMLA	V0.S4, V1.S4, V11.S4
	VFMLA	V0.S4, V1.S4, V12.S4
	VFMLA	V0.S4, V1.S4, V13.S4
	VFMLA	V0.S4, V1.S4, V14.S4
	VFMLA	V0.S4, V1.S4, V15.S4
	VFMLA	V0.S4, V1.S4, V16.S4
	VFMLA	V0.S4, V1.S4, V17.S4
	VFMLA	V0.S4, V1.S4, V18.S4
	VFMLA	V0.S4, V1.S4, V19.S4
	VFMLA	V0.S4, V1.S4, V20.S4
	VFMLA	V0.S4, V1.S4, V21.S4
	VFMLA	V0.S4, V1.S4, V22.S4
	VFMLA	V0.S4, V1.S4, V23.S4
	VFMLA	V0.S4, V1.S4, V24.S4
	VFMLA	V0.S4, V1.S4, V25.S4
	VFMLA	V0.S4, V1.S4, V26.S4
	VFMLA	V0.S4, V1.S4, V27.S4
	VFMLA	V0.S4, V1.S4, V28.S4
	VFMLA	V0.S4, V1.S4, V29.S4
	VFMLA	V0.S4, V1.S4, V30.S4
	VFMLA	V0.S4, V1.S4, V31.S4
	SUBS	$1, R0, R0
	BNE	peakloop
peakdone:
	RET

// func dotNEONPartial(x, y *float32, n int, partial *[16]float32)
//
// Four vector accumulators of x[i]·y[i] for n a multiple of 16, stored to
// partial; the Go wrapper adds the 16 lanes (NEON has FADDP, but Go's
// assembler does not spell it).
TEXT ·dotNEONPartial(SB), NOSPLIT, $0-32
	MOVD	x+0(FP), R0
	MOVD	y+8(FP), R1
	MOVD	n+16(FP), R2
	MOVD	partial+24(FP), R3
	VEOR	V8.B16, V8.B16, V8.B16
	VEOR	V9.B16, V9.B16, V9.B16
	VEOR	V10.B16, V10.B16, V10.B16
	VEOR	V11.B16, V11.B16, V11.B16
	LSR	$4, R2, R2
	CBZ	R2, dotdone
dotloop:
	VLD1.P	64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P	64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA	V0.S4, V4.S4, V8.S4
	VFMLA	V1.S4, V5.S4, V9.S4
	VFMLA	V2.S4, V6.S4, V10.S4
	VFMLA	V3.S4, V7.S4, V11.S4
	SUBS	$1, R2, R2
	BNE	dotloop
dotdone:
	VST1	[V8.S4, V9.S4, V10.S4, V11.S4], (R3)
	RET

// func axpyNEON(alpha float32, x, y *float32, n int)
//
// y += alpha·x for n a multiple of 8.
TEXT ·axpyNEON(SB), NOSPLIT, $0-32
	FMOVS	alpha+0(FP), F6
	VDUP	V6.S[0], V6.S4
	MOVD	x+8(FP), R0
	MOVD	y+16(FP), R1
	MOVD	n+24(FP), R2
	LSR	$3, R2, R2
	CBZ	R2, axpydone
axpyloop:
	VLD1.P	32(R0), [V0.S4, V1.S4]
	VLD1	(R1), [V2.S4, V3.S4]
	VFMLA	V0.S4, V6.S4, V2.S4
	VFMLA	V1.S4, V6.S4, V3.S4
	VST1.P	[V2.S4, V3.S4], 32(R1)
	SUBS	$1, R2, R2
	BNE	axpyloop
axpydone:
	RET

// func bf16ToF32NEON(dst *float32, src *byte, n int)
//
// bfloat16 -> float32 for n a multiple of 8: interleaving a zero halfword
// below each value (ZIP1/ZIP2 with a zero vector) is exactly bits << 16.
TEXT ·bf16ToF32NEON(SB), NOSPLIT, $0-24
	MOVD	dst+0(FP), R0
	MOVD	src+8(FP), R1
	MOVD	n+16(FP), R2
	VEOR	V7.B16, V7.B16, V7.B16
	LSR	$3, R2, R2
	CBZ	R2, bf16done
bf16loop:
	VLD1.P	16(R1), [V0.H8]
	VZIP1	V0.H8, V7.H8, V1.H8
	VZIP2	V0.H8, V7.H8, V2.H8
	VST1.P	[V1.S4, V2.S4], 32(R0)
	SUBS	$1, R2, R2
	BNE	bf16loop
bf16done:
	RET

// func f16ToF32NEON(dst *float32, src *byte, n int)
//
// binary16 -> float32 for n a multiple of 8 with FCVTL/FCVTL2 (exact).
// Go's assembler has no mnemonic for them, so they are encoded by hand:
// FCVTL Vd.4S, Vn.4H = 0x0E217800 | n<<5 | d, FCVTL2 (upper half) sets bit 30.
TEXT ·f16ToF32NEON(SB), NOSPLIT, $0-24
	MOVD	dst+0(FP), R0
	MOVD	src+8(FP), R1
	MOVD	n+16(FP), R2
	LSR	$3, R2, R2
	CBZ	R2, f16done
f16loop:
	VLD1.P	16(R1), [V0.H8]
	WORD	$0x0E217801 // FCVTL  V1.4S, V0.4H
	WORD	$0x4E217802 // FCVTL2 V2.4S, V0.8H
	VST1.P	[V1.S4, V2.S4], 32(R0)
	SUBS	$1, R2, R2
	BNE	f16loop
f16done:
	RET
