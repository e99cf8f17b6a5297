package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX512-BF16 kernels. avo v0.5.0 (and the Go assembler) do not know
// the AVX512_BF16 instructions, so VDPBF16PS, VCVTNE2PS2BF16 are emitted as
// raw EVEX encodings (LONG + WORD directives, the mnemonic in a comment
// above), which is the way avo allows: an ir.Instruction with a directive
// opcode. Raw bytes name physical registers, so these kernels use physical
// registers only (avo then has nothing to allocate).

// The bf16 micro-tile: 12 rows × 32 columns, as the fp32 AVX-512 kernel.
const bf16MR, bf16NV = 12, 2

// evex512 encodes an EVEX.512.W0 instruction of the 0F38 opcode map with
// three ZMM register operands (Intel order: dst = ModRM.reg, src1 = EVEX.vvvv,
// src2 = ModRM.rm). pp selects the implied prefix: 1 = 66, 2 = F3, 3 = F2.
// The four-bit register fields are stored inverted, their fifth bits in
// EVEX.R' (dst), EVEX.V' (src1) and EVEX.X (src2) (Intel SDM vol. 2, 2.7).
func evex512(pp, opcode byte, dst, src1, src2 int) []byte {
	p0 := byte(0x02) // mmm = 010: the 0F38 map
	if dst&8 == 0 {
		p0 |= 0x80 // R̄
	}
	if src2&16 == 0 {
		p0 |= 0x40 // X̄: bit 4 of a register rm
	}
	if src2&8 == 0 {
		p0 |= 0x20 // B̄
	}
	if dst&16 == 0 {
		p0 |= 0x10 // R̄'
	}
	p1 := byte(^src1&15)<<3 | 0x04 | pp // W0, v̄v̄v̄v̄, 1, pp
	p2 := byte(0x40)                    // z=0, L'L = 10 (512 bits), b=0, aaa=000
	if src1&16 == 0 {
		p2 |= 0x08 // V̄'
	}
	modrm := 0xC0 | byte(dst&7)<<3 | byte(src2&7)
	return []byte{0x62, p0, p1, p2, opcode, modrm}
}

// vdpbf16ps encodes VDPBF16PS zmm(acc), zmm(x), zmm(y):
//
//	acc[i] += x.bf16[2i+1]·y.bf16[2i+1];  acc[i] += x.bf16[2i]·y.bf16[2i]
//
// (EVEX.512.F3.0F38.W0 52 /r).
func vdpbf16ps(acc, x, y int) []byte { return evex512(2, 0x52, acc, x, y) }

// vcvtne2ps2bf16 encodes VCVTNE2PS2BF16 zmm(dst), zmm(hi), zmm(lo): the 16
// floats of lo rounded to bf16 (nearest even) become the low 16 words of
// dst, those of hi the high 16 (EVEX.512.F2.0F38.W0 72 /r).
func vcvtne2ps2bf16(dst, hi, lo int) []byte { return evex512(3, 0x72, dst, hi, lo) }

// raw emits an instruction given as its encoding, with its mnemonic as a
// comment: LONG for the first four bytes, WORD for the last two.
func raw(mnemonic string, enc []byte) {
	if len(enc) != 6 {
		panic("raw: expected a 6-byte encoding")
	}
	Comment(mnemonic)
	long := uint32(enc[0]) | uint32(enc[1])<<8 | uint32(enc[2])<<16 | uint32(enc[3])<<24
	Instruction(&ir.Instruction{Opcode: "LONG", Operands: []Op{U32(long)}})
	Instruction(&ir.Instruction{Opcode: "WORD", Operands: []Op{U16(uint16(enc[4]) | uint16(enc[5])<<8)}})
}

var zmm = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
	Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}

// sgemmKernelBF16 emits the AVX512-BF16 micro-kernel
//
//	C[12×32] (+)= Σ_{q<kp} Ã_q·B̃_q
//
// over panels of bf16 pairs: Ã[q·12 + i] holds A(i, 2q) in its low and
// A(i, 2q+1) in its high 16 bits, B̃[q·32 + j] likewise B(2q, j) and
// B(2q+1, j). Each step loads one pair-row of B̃ (two ZMM of 16 pairs),
// broadcasts the pair of each of the 12 rows of Ã and issues 24 VDPBF16PS,
// each adding the two products of 16 lanes to the fp32 accumulators
// Z0..Z23 (Z24, Z25 hold B̃, Z26..Z31 the broadcasts). The store is the
// fp32 kernel's: overwrite C or add to it.
//
// With strided, A is read in place from a row-major matrix of pairs
// instead (pair q of row i at a[i·lda + q], i.e. A rounded to bf16 and
// stored row by row, as RoundPairsBF16 writes it): the twelve row
// addresses are one base pointer per three rows (R8..R11) plus
// lda·{0, 1, 2}, as the fp32 strided kernel forms them.
func sgemmKernelBF16(strided bool) {
	name, sig := "sgemmKernelBF16AVX512", "func(kp int, a, b *uint32, c *float32, ldc int, accumulate bool)"
	if strided {
		name, sig = "sgemmKernelBF16StridedAAVX512", "func(kp int, a *uint32, lda int, b *uint32, c *float32, ldc int, accumulate bool)"
	}
	text(name, sig)
	if strided {
		Doc(fmt.Sprintf("%s computes the %d×%d tile C (+)= A·B̃ with A row-major bf16 pairs (stride lda) and B̃ packed, with VDPBF16PS (see avogen).", name, bf16MR, 16*bf16NV))
	} else {
		Doc(fmt.Sprintf("%s computes the %d×%d tile C (+)= Ã·B̃ from panels of bf16 pairs with VDPBF16PS (see avogen).", name, bf16MR, 16*bf16NV))
	}
	suffix := "BF16"
	if strided {
		suffix = "BF16S"
	}
	k, a, b, c, ldc := RAX, RSI, RDX, RDI, RBX
	Load(Param("kp"), k)
	Load(Param("b"), b)
	Load(Param("c"), c)
	Load(Param("ldc"), ldc)
	SHLQ(U8(2), ldc)
	MOVQ(c, R8)
	for i := 0; i < bf16MR; i++ {
		PREFETCHT0(Mem{Base: R8})
		PREFETCHT0(Mem{Base: R8, Disp: 64})
		PREFETCHT0(Mem{Base: R8, Disp: 127})
		ADDQ(ldc, R8)
	}
	var aAt func(i int) Mem
	var step func()
	if strided {
		lda := R12
		bases := []Register{R8, R9, R10, R11}
		Load(Param("a"), bases[0])
		Load(Param("lda"), lda)
		SHLQ(U8(2), lda)
		for t := 1; t < len(bases); t++ {
			LEAQ(Mem{Base: bases[t-1], Index: lda, Scale: 2}, bases[t])
			ADDQ(lda, bases[t])
		}
		aAt = func(i int) Mem {
			if i%3 == 0 {
				return Mem{Base: bases[i/3]}
			}
			return Mem{Base: bases[i/3], Index: lda, Scale: uint8(i % 3)}
		}
		step = func() {
			for _, p := range bases {
				ADDQ(U8(4), p)
			}
		}
	} else {
		Load(Param("a"), a)
		aAt = func(i int) Mem { return Mem{Base: a, Disp: 4 * i} }
		step = func() { ADDQ(U32(4*bf16MR), a) }
	}
	acc := func(i, v int) int { return i*bf16NV + v }
	for r := 0; r < bf16MR*bf16NV; r++ {
		VXORPS(zmm[r], zmm[r], zmm[r])
	}
	TESTQ(k, k)
	JZ(LabelRef("store" + suffix))
	Label("loop" + suffix)
	const bReg, aReg = 24, 26
	for v := 0; v < bf16NV; v++ {
		VMOVUPS(Mem{Base: b, Disp: 64 * v}, zmm[bReg+v])
	}
	for i := 0; i < bf16MR; i++ {
		t := aReg + i%6
		VPBROADCASTD(aAt(i), zmm[t])
		for v := 0; v < bf16NV; v++ {
			d := acc(i, v)
			raw(fmt.Sprintf("VDPBF16PS Z%d, Z%d, Z%d", t, bReg+v, d), vdpbf16ps(d, bReg+v, t))
		}
	}
	step()
	ADDQ(U32(4*16*bf16NV), b)
	DECQ(k)
	JNZ(LabelRef("loop" + suffix))

	Label("store" + suffix)
	accum := Load(Param("accumulate"), CL)
	TESTB(accum, accum)
	JZ(LabelRef("overwrite" + suffix))
	for i := 0; i < bf16MR; i++ {
		for v := 0; v < bf16NV; v++ {
			m := Mem{Base: c, Disp: 64 * v}
			VADDPS(m, zmm[acc(i, v)], zmm[acc(i, v)])
			VMOVUPS(zmm[acc(i, v)], m)
		}
		ADDQ(ldc, c)
	}
	VZEROUPPER()
	RET()
	Label("overwrite" + suffix)
	for i := 0; i < bf16MR; i++ {
		for v := 0; v < bf16NV; v++ {
			VMOVUPS(zmm[acc(i, v)], Mem{Base: c, Disp: 64 * v})
		}
		ADDQ(ldc, c)
	}
	VZEROUPPER()
	RET()
}

// bf16Peak emits a register-only loop of n·24 independent VDPBF16PS: the
// bf16 dot-product throughput (each instruction is 16 lanes × 2 products
// × 2 flops = 64 flops).
func bf16Peak() {
	text("bf16PeakAVX512", "func(n int)")
	Doc("bf16PeakAVX512 runs n iterations of 24 independent 16-lane VDPBF16PS.")
	n := RAX
	Load(Param("n"), n)
	for r := 0; r < 26; r++ {
		VXORPS(zmm[r], zmm[r], zmm[r])
	}
	TESTQ(n, n)
	JZ(LabelRef("doneBF16peak"))
	Label("peakBF16")
	for r := 0; r < 24; r++ {
		raw(fmt.Sprintf("VDPBF16PS Z25, Z24, Z%d", r), vdpbf16ps(r, 24, 25))
	}
	DECQ(n)
	JNZ(LabelRef("peakBF16"))
	Label("doneBF16peak")
	VZEROUPPER()
	RET()
}

// pairInterleave is the VPERMW index that turns VCVTNE2PS2BF16's
// [lo0..lo15, hi0..hi15] into pairs [lo0, hi0, lo1, hi1, ...].
var pairInterleave Mem

// pairsBF16 emits the bf16 pair packing of a float32 panel whose width is
// a multiple of 16 (the B panels, 32 wide):
//
//	dst[q·w + i] = bf16(src[2q·w + i]) | bf16(src[(2q+1)·w + i]) << 16
//
// for qn pairs of rows and w = 16·nv, rounding to nearest even with
// VCVTNE2PS2BF16 and interleaving with VPERMW. An odd last row is the Go
// wrapper's.
func pairsBF16() {
	text("pairsBF16AVX512", "func(dst *uint32, src *float32, qn, nv int)")
	Doc("pairsBF16AVX512 rounds qn pairs of float32 panel rows of 16·nv values to bf16 pairs (see avogen).")
	dst, src, qn, nv, w := RDI, RSI, RAX, RCX, RDX
	Load(Param("dst"), dst)
	Load(Param("src"), src)
	Load(Param("qn"), qn)
	Load(Param("nv"), nv)
	MOVQ(nv, w)
	SHLQ(U8(6), w) // row width in bytes
	VMOVDQU64(pairInterleave, Z31)
	TESTQ(qn, qn)
	JZ(LabelRef("donePairs"))
	Label("rowPairs")
	MOVQ(nv, R8)
	MOVQ(src, R9)
	Label("vecPairs")
	VMOVUPS(Mem{Base: R9}, Z0)
	VMOVUPS(Mem{Base: R9, Index: w, Scale: 1}, Z1)
	raw("VCVTNE2PS2BF16 Z2, Z1, Z0", vcvtne2ps2bf16(2, 1, 0))
	VPERMW(Z2, Z31, Z2)
	VMOVDQU32(Z2, Mem{Base: dst})
	ADDQ(U8(64), R9)
	ADDQ(U8(64), dst)
	DECQ(R8)
	JNZ(LabelRef("vecPairs"))
	LEAQ(Mem{Base: src, Index: w, Scale: 2}, src)
	DECQ(qn)
	JNZ(LabelRef("rowPairs"))
	Label("donePairs")
	VZEROUPPER()
	RET()
}

// pairs12BF16 emits the same pair packing for panels 12 wide (the A
// panels of the 12×32 kernel: weights of convolutions and of GemmWLeft),
// one pair of rows per step: the two rows are loaded into the low 12
// lanes (K1 = 0x0FFF, the rest zeroed), converted and interleaved as in
// pairsBF16, and the 12 pairs stored under the same mask.
func pairs12BF16() {
	text("pairs12BF16AVX512", "func(dst *uint32, src *float32, qn int)")
	Doc("pairs12BF16AVX512 rounds qn pairs of float32 panel rows of 12 values to bf16 pairs (see avogen).")
	dst, src, qn := RDI, RSI, RAX
	Load(Param("dst"), dst)
	Load(Param("src"), src)
	Load(Param("qn"), qn)
	MOVL(U32(0x0FFF), EDX)
	KMOVW(EDX, K1)
	VMOVDQU64(pairInterleave, Z31)
	TESTQ(qn, qn)
	JZ(LabelRef("donePairs12"))
	Label("rowPairs12")
	VMOVUPS_Z(Mem{Base: src}, K1, Z0)
	VMOVUPS_Z(Mem{Base: src, Disp: 48}, K1, Z1)
	raw("VCVTNE2PS2BF16 Z2, Z1, Z0", vcvtne2ps2bf16(2, 1, 0))
	VPERMW(Z2, Z31, Z2)
	VMOVDQU32(Z2, K1, Mem{Base: dst})
	ADDQ(U8(96), src)
	ADDQ(U8(48), dst)
	DECQ(qn)
	JNZ(LabelRef("rowPairs12"))
	Label("donePairs12")
	VZEROUPPER()
	RET()
}

// roundPairsBF16 emits the rounding of a row-major float32 row to bf16
// pairs in place order, 32 floats (16 pairs) per step:
//
//	dst[q] = bf16(src[2q]) | bf16(src[2q+1]) << 16      (q < 16·n)
//
// VCVTNE2PS2BF16 with the first 16 floats as its low source and the next
// 16 as its high one writes exactly these 16 pairs, in order: no permute
// (unlike pairsBF16, which pairs two rows of a panel). Each step also
// prefetches the two cache lines ahead bytes past the ones it reads into
// L2 (a hint, which never faults): the GEMM points it at the next block's
// rows, so that they arrive from memory while the kernel runs.
func roundPairsBF16() {
	text("roundPairsBF16AVX512", "func(dst *uint32, src *float32, n, ahead int)")
	Doc("roundPairsBF16AVX512 rounds n blocks of 32 consecutive floats to 16 bf16 pairs each, prefetching src+ahead bytes into L2 (see avogen).")
	dst, src, n, ahead := RDI, RSI, RAX, RDX
	Load(Param("dst"), dst)
	Load(Param("src"), src)
	Load(Param("n"), n)
	Load(Param("ahead"), ahead)
	TESTQ(n, n)
	JZ(LabelRef("doneRound"))
	Label("loopRound")
	PREFETCHT1(Mem{Base: src, Index: ahead, Scale: 1})
	PREFETCHT1(Mem{Base: src, Index: ahead, Scale: 1, Disp: 64})
	VMOVUPS(Mem{Base: src}, Z0)
	VMOVUPS(Mem{Base: src, Disp: 64}, Z1)
	raw("VCVTNE2PS2BF16 Z2, Z1, Z0", vcvtne2ps2bf16(2, 1, 0))
	VMOVDQU32(Z2, Mem{Base: dst})
	ADDQ(U32(128), src)
	ADDQ(U8(64), dst)
	DECQ(n)
	JNZ(LabelRef("loopRound"))
	Label("doneRound")
	VZEROUPPER()
	RET()
}

// bf16Kernels emits the AVX512-BF16 kernels and their constant.
func bf16Kernels() {
	pairInterleave = GLOBL("pairinterleave", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(uint32(i)|uint32(i+16)<<16))
	}
	sgemmKernelBF16(false)
	sgemmKernelBF16(true)
	bf16Peak()
	pairsBF16()
	pairs12BF16()
	roundPairsBF16()
}
