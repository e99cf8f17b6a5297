//go:build !purego

#include "textflag.h"

// NEON (Advanced SIMD) kernels for arm64, written by hand. Go's assembler
// spells three-operand vector instructions "OP Vm, Vn, Vd", so
// VFMLA Vm.S4, Vn.S4, Vd.S4 computes Vd += Vn·Vm lane by lane.

// func sgemmKernelNEON(k int, a, b, c *float32, ldc int, accumulate bool)
//
// The 6×16 GEMM micro-kernel C (+)= Ã·B̃ over packed panels (see
// GemmKernel). The 24 accumulators V8..V31 hold the tile, four vectors per
// row, starting from zero. Each step of the k loop loads one 16-wide row
// of B̃ into V0..V3 and, for each of the 6 rows, broadcasts Ã's value
// (VLD1R) and issues 4 FMLAs; storeTile6x16NEON then writes or adds the
// tile to C.
TEXT ·sgemmKernelNEON(SB), NOSPLIT, $0-41
	MOVD	k+0(FP), R0
	MOVD	a+8(FP), R1
	MOVD	b+16(FP), R2
	MOVD	c+24(FP), R3
	MOVD	ldc+32(FP), R4
	MOVBU	accumulate+40(FP), R5
	LSL	$2, R4, R4
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
	JMP	·storeTile6x16NEON(SB)

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

// func sgemmKernelBF16NEON(kp int, a, b *uint32, c *float32, ldc int, accumulate bool)
//
// The 6×16 bf16 micro-kernel (level neonbf16) over panels of bf16 pairs
// (see GemmKernelBF16): each step of the kp loop loads one pair-row of B̃
// (16 pairs) into V0..V3 and the 6 pairs of Ã into V4 (rows 0-3) and the
// low half of V5 (rows 4-5), then issues 24 BFDOT (by element), Vd.4S +=
// Σ of the two products of 4 columns' pairs with one row's pair,
// broadcast from its 32-bit lane. The accumulators V8..V31 start at zero;
// storeTile6x16NEON overwrites C with the tile or adds it (FADD). BFDOT (ARMv8.6
// FEAT_BF16) and FADD (vector) are not known to Go's assembler: they are
// spelled as WORDs, the instruction in the comment (checked by
// TestNEONBF16Encodings against an encoder tested with llvm-mc).
TEXT ·sgemmKernelBF16NEON(SB), NOSPLIT, $0-41
	MOVD	kp+0(FP), R0
	MOVD	a+8(FP), R1
	MOVD	b+16(FP), R2
	MOVD	c+24(FP), R3
	MOVD	ldc+32(FP), R4
	MOVBU	accumulate+40(FP), R5
	LSL	$2, R4, R4
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
	CBZ	R0, storebf16
loopbf16:
	VLD1.P	64(R2), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1	(R1), [V4.S4]
	FMOVD	16(R1), F5
	ADD	$24, R1, R1
	WORD	$0x4f44f008 // BFDOT V8.4S, V0.8H, V4.2H[0]
	WORD	$0x4f44f029 // BFDOT V9.4S, V1.8H, V4.2H[0]
	WORD	$0x4f44f04a // BFDOT V10.4S, V2.8H, V4.2H[0]
	WORD	$0x4f44f06b // BFDOT V11.4S, V3.8H, V4.2H[0]
	WORD	$0x4f64f00c // BFDOT V12.4S, V0.8H, V4.2H[1]
	WORD	$0x4f64f02d // BFDOT V13.4S, V1.8H, V4.2H[1]
	WORD	$0x4f64f04e // BFDOT V14.4S, V2.8H, V4.2H[1]
	WORD	$0x4f64f06f // BFDOT V15.4S, V3.8H, V4.2H[1]
	WORD	$0x4f44f810 // BFDOT V16.4S, V0.8H, V4.2H[2]
	WORD	$0x4f44f831 // BFDOT V17.4S, V1.8H, V4.2H[2]
	WORD	$0x4f44f852 // BFDOT V18.4S, V2.8H, V4.2H[2]
	WORD	$0x4f44f873 // BFDOT V19.4S, V3.8H, V4.2H[2]
	WORD	$0x4f64f814 // BFDOT V20.4S, V0.8H, V4.2H[3]
	WORD	$0x4f64f835 // BFDOT V21.4S, V1.8H, V4.2H[3]
	WORD	$0x4f64f856 // BFDOT V22.4S, V2.8H, V4.2H[3]
	WORD	$0x4f64f877 // BFDOT V23.4S, V3.8H, V4.2H[3]
	WORD	$0x4f45f018 // BFDOT V24.4S, V0.8H, V5.2H[0]
	WORD	$0x4f45f039 // BFDOT V25.4S, V1.8H, V5.2H[0]
	WORD	$0x4f45f05a // BFDOT V26.4S, V2.8H, V5.2H[0]
	WORD	$0x4f45f07b // BFDOT V27.4S, V3.8H, V5.2H[0]
	WORD	$0x4f65f01c // BFDOT V28.4S, V0.8H, V5.2H[1]
	WORD	$0x4f65f03d // BFDOT V29.4S, V1.8H, V5.2H[1]
	WORD	$0x4f65f05e // BFDOT V30.4S, V2.8H, V5.2H[1]
	WORD	$0x4f65f07f // BFDOT V31.4S, V3.8H, V5.2H[1]
	SUBS	$1, R0, R0
	BNE	loopbf16
storebf16:
	JMP	·storeTile6x16NEON(SB)

// func bf16PeakNEON(n int)
//
// n iterations of 24 independent BFDOT (vector), 16 flops each (4 lanes ×
// 2 products × 2), registers only: the bf16 ceiling as fmaPeakNEON is
// the fp32 one.
TEXT ·bf16PeakNEON(SB), NOSPLIT, $0-8
	MOVD	n+0(FP), R0
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
	VEOR	V0.B16, V0.B16, V0.B16
	VEOR	V1.B16, V1.B16, V1.B16
	CBZ	R0, donebf16peak
peakbf16:
	WORD	$0x6e41fc08 // BFDOT V8.4S, V0.8H, V1.8H
	WORD	$0x6e41fc09 // BFDOT V9.4S, V0.8H, V1.8H
	WORD	$0x6e41fc0a // BFDOT V10.4S, V0.8H, V1.8H
	WORD	$0x6e41fc0b // BFDOT V11.4S, V0.8H, V1.8H
	WORD	$0x6e41fc0c // BFDOT V12.4S, V0.8H, V1.8H
	WORD	$0x6e41fc0d // BFDOT V13.4S, V0.8H, V1.8H
	WORD	$0x6e41fc0e // BFDOT V14.4S, V0.8H, V1.8H
	WORD	$0x6e41fc0f // BFDOT V15.4S, V0.8H, V1.8H
	WORD	$0x6e41fc10 // BFDOT V16.4S, V0.8H, V1.8H
	WORD	$0x6e41fc11 // BFDOT V17.4S, V0.8H, V1.8H
	WORD	$0x6e41fc12 // BFDOT V18.4S, V0.8H, V1.8H
	WORD	$0x6e41fc13 // BFDOT V19.4S, V0.8H, V1.8H
	WORD	$0x6e41fc14 // BFDOT V20.4S, V0.8H, V1.8H
	WORD	$0x6e41fc15 // BFDOT V21.4S, V0.8H, V1.8H
	WORD	$0x6e41fc16 // BFDOT V22.4S, V0.8H, V1.8H
	WORD	$0x6e41fc17 // BFDOT V23.4S, V0.8H, V1.8H
	WORD	$0x6e41fc18 // BFDOT V24.4S, V0.8H, V1.8H
	WORD	$0x6e41fc19 // BFDOT V25.4S, V0.8H, V1.8H
	WORD	$0x6e41fc1a // BFDOT V26.4S, V0.8H, V1.8H
	WORD	$0x6e41fc1b // BFDOT V27.4S, V0.8H, V1.8H
	WORD	$0x6e41fc1c // BFDOT V28.4S, V0.8H, V1.8H
	WORD	$0x6e41fc1d // BFDOT V29.4S, V0.8H, V1.8H
	WORD	$0x6e41fc1e // BFDOT V30.4S, V0.8H, V1.8H
	WORD	$0x6e41fc1f // BFDOT V31.4S, V0.8H, V1.8H
	SUBS	$1, R0, R0
	BNE	peakbf16
donebf16peak:
	RET

// func storeTile6x16NEON()
//
// The common end of the 6×16 kernels (fp32 and bf16), reached by a tail
// jump with the finished tile in V8..V31 (four vectors per row), C in R3,
// ldc in bytes in R4 and accumulate in R5: the tile overwrites C, or is
// added to it (FADD) when accumulate. Both kernels sum their products
// from zero and add C once at the end, as every level does: folding C
// into the FMA chain instead rounds each step at C's magnitude, which
// costs accuracy where C already holds much more than the new products
// (attention's running output over key blocks: 3x the error, measured).
// V0..V3 and R6 are scratch. Not callable from Go.
TEXT ·storeTile6x16NEON(SB), NOSPLIT, $0-0
	MOVD	R3, R6
	CBZ	R5, overwrite
	VLD1	(R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	WORD	$0x4e20d508 // FADD V8.4S, V8.4S, V0.4S
	WORD	$0x4e21d529 // FADD V9.4S, V9.4S, V1.4S
	WORD	$0x4e22d54a // FADD V10.4S, V10.4S, V2.4S
	WORD	$0x4e23d56b // FADD V11.4S, V11.4S, V3.4S
	VST1	[V8.S4, V9.S4, V10.S4, V11.S4], (R6)
	ADD	R4, R6, R6
	VLD1	(R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	WORD	$0x4e20d58c // FADD V12.4S, V12.4S, V0.4S
	WORD	$0x4e21d5ad // FADD V13.4S, V13.4S, V1.4S
	WORD	$0x4e22d5ce // FADD V14.4S, V14.4S, V2.4S
	WORD	$0x4e23d5ef // FADD V15.4S, V15.4S, V3.4S
	VST1	[V12.S4, V13.S4, V14.S4, V15.S4], (R6)
	ADD	R4, R6, R6
	VLD1	(R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	WORD	$0x4e20d610 // FADD V16.4S, V16.4S, V0.4S
	WORD	$0x4e21d631 // FADD V17.4S, V17.4S, V1.4S
	WORD	$0x4e22d652 // FADD V18.4S, V18.4S, V2.4S
	WORD	$0x4e23d673 // FADD V19.4S, V19.4S, V3.4S
	VST1	[V16.S4, V17.S4, V18.S4, V19.S4], (R6)
	ADD	R4, R6, R6
	VLD1	(R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	WORD	$0x4e20d694 // FADD V20.4S, V20.4S, V0.4S
	WORD	$0x4e21d6b5 // FADD V21.4S, V21.4S, V1.4S
	WORD	$0x4e22d6d6 // FADD V22.4S, V22.4S, V2.4S
	WORD	$0x4e23d6f7 // FADD V23.4S, V23.4S, V3.4S
	VST1	[V20.S4, V21.S4, V22.S4, V23.S4], (R6)
	ADD	R4, R6, R6
	VLD1	(R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	WORD	$0x4e20d718 // FADD V24.4S, V24.4S, V0.4S
	WORD	$0x4e21d739 // FADD V25.4S, V25.4S, V1.4S
	WORD	$0x4e22d75a // FADD V26.4S, V26.4S, V2.4S
	WORD	$0x4e23d77b // FADD V27.4S, V27.4S, V3.4S
	VST1	[V24.S4, V25.S4, V26.S4, V27.S4], (R6)
	ADD	R4, R6, R6
	VLD1	(R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	WORD	$0x4e20d79c // FADD V28.4S, V28.4S, V0.4S
	WORD	$0x4e21d7bd // FADD V29.4S, V29.4S, V1.4S
	WORD	$0x4e22d7de // FADD V30.4S, V30.4S, V2.4S
	WORD	$0x4e23d7ff // FADD V31.4S, V31.4S, V3.4S
	VST1	[V28.S4, V29.S4, V30.S4, V31.S4], (R6)
	RET
overwrite:
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
