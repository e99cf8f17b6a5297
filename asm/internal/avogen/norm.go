package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The kernels of GroupNorm and LayerNorm (tensor/norm.go). The statistics
// kernels reproduce the pure-Go summation order exactly: per block of 64
// values, eight float32 partial sums, one per position j of eight, each
// adding its eight values in order. That is one 8-lane vector per step,
// so they use YMM registers at every level (with 16 lanes a vector would
// hold two steps and change the order).

// sumBlocks64 emits, for blocks blocks of 64 values,
//
//	dst[8b + j] = Σ_{k<8} (src[64b + 8k + j] − shift)      (in order of k)
func sumBlocks64() {
	text("sumBlocks64AVX2", "func(dst, src *float32, shift float32, blocks int)")
	Doc("sumBlocks64AVX2 writes the eight partial sums of (x − shift) of each block of 64 values (see avogen).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	blocks := Load(Param("blocks"), GP64())
	sh := YMM()
	VBROADCASTSS(NewParamAddr("shift", 16), sh)
	TESTQ(blocks, blocks)
	JZ(LabelRef("doneSumBlocks"))
	Label("sumBlocks")
	acc := YMM()
	VXORPS(acc, acc, acc)
	for k := 0; k < 8; k++ {
		t := YMM()
		VMOVUPS(Mem{Base: src, Disp: 32 * k}, t)
		VSUBPS(sh, t, t)
		VADDPS(t, acc, acc)
	}
	VMOVUPS(acc, Mem{Base: dst})
	ADDQ(U32(256), src)
	ADDQ(U8(32), dst)
	DECQ(blocks)
	JNZ(LabelRef("sumBlocks"))
	Label("doneSumBlocks")
	VZEROUPPER()
	RET()
}

// devBlocks64 emits, for blocks blocks of 64 values, with e = x − m,
//
//	q[8b + j] = Σ_{k<8} e[8k+j]·e[8k+j]              (j < 8)
//	c[4b + j] = Σ_{k<8} (e[8k+j] + e[8k+j+4])        (j < 4)
//
// each product and sum rounded on its own (no fused multiply-add), in
// order of k: the squared deviations and the correction term of meanVar.
func devBlocks64() {
	text("devBlocks64AVX2", "func(q, c, src *float32, m float32, blocks int)")
	Doc("devBlocks64AVX2 writes the partial sums of squared deviations and of deviations of each block of 64 values (see avogen).")
	q := Load(Param("q"), GP64())
	c := Load(Param("c"), GP64())
	src := Load(Param("src"), GP64())
	blocks := Load(Param("blocks"), GP64())
	mv := YMM()
	VBROADCASTSS(NewParamAddr("m", 24), mv)
	TESTQ(blocks, blocks)
	JZ(LabelRef("doneDevBlocks"))
	Label("devBlocks")
	qa, ca := YMM(), XMM()
	VXORPS(qa, qa, qa)
	VXORPS(ca, ca, ca)
	for k := 0; k < 8; k++ {
		e := YMM()
		VMOVUPS(Mem{Base: src, Disp: 32 * k}, e)
		VSUBPS(mv, e, e)
		sq := YMM()
		VMULPS(e, e, sq)
		VADDPS(sq, qa, qa)
		hi, s := XMM(), XMM()
		VEXTRACTF128(U8(1), e, hi)
		VADDPS(hi, e.AsX(), s)
		VADDPS(s, ca, ca)
	}
	VMOVUPS(qa, Mem{Base: q})
	VMOVUPS(ca, Mem{Base: c})
	ADDQ(U32(256), src)
	ADDQ(U8(32), q)
	ADDQ(U8(16), c)
	DECQ(blocks)
	JNZ(LabelRef("devBlocks"))
	Label("doneDevBlocks")
	VZEROUPPER()
	RET()
}

// shiftScale emits GroupNorm's per-channel affine map, for n a multiple
// of lanes:
//
//	dst[i] = (src[i] − m)·a + b      (subtract, multiply, add: each rounded)
func shiftScale(s isa) {
	text("shiftScale"+s.name, "func(dst, src *float32, m, a, b float32, n int)")
	Doc(fmt.Sprintf("shiftScale%s computes dst = (src − m)·a + b for n a multiple of %d.", s.name, s.lanes))
	var mv, av, bv VecVirtual
	unaryLoop(s, "shiftScale", 4, func() {
		mv, av, bv = s.vec(), s.vec(), s.vec()
		VBROADCASTSS(NewParamAddr("m", 16), mv)
		VBROADCASTSS(NewParamAddr("a", 20), av)
		VBROADCASTSS(NewParamAddr("b", 24), bv)
	}, func(dst, src Register) {
		t := s.vec()
		VMOVUPS(Mem{Base: src}, t)
		VSUBPS(mv, t, t)
		VMULPS(av, t, t)
		VADDPS(bv, t, t)
		VMOVUPS(t, Mem{Base: dst})
	})
}

// layerNormRow emits LayerNorm's map of one row with gamma and beta, for
// n a multiple of lanes:
//
//	dst[i] = ((src[i] − m) − rest)·inv·g[i] + b[i]      (each step rounded)
func layerNormRow(s isa) {
	text("layerNormRow"+s.name, "func(dst, src, gamma, beta *float32, m, rest, inv float32, n int)")
	Doc(fmt.Sprintf("layerNormRow%s computes dst = ((src − m) − rest)·inv·g + b for n a multiple of %d.", s.name, s.lanes))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	g := Load(Param("gamma"), GP64())
	b := Load(Param("beta"), GP64())
	n := Load(Param("n"), GP64())
	mv, rv, iv := s.vec(), s.vec(), s.vec()
	VBROADCASTSS(NewParamAddr("m", 32), mv)
	VBROADCASTSS(NewParamAddr("rest", 36), rv)
	VBROADCASTSS(NewParamAddr("inv", 40), iv)
	SHRQ(U8(log2(s.lanes)), n)
	JZ(LabelRef("done" + s.name + "layerNorm"))
	Label("layerNorm" + s.name)
	t := s.vec()
	VMOVUPS(Mem{Base: src}, t)
	VSUBPS(mv, t, t)
	VSUBPS(rv, t, t)
	VMULPS(iv, t, t)
	VMULPS(Mem{Base: g}, t, t)
	VADDPS(Mem{Base: b}, t, t)
	VMOVUPS(t, Mem{Base: dst})
	for _, p := range []Register{src, g, b, dst} {
		ADDQ(U32(4*s.lanes), p)
	}
	DECQ(n)
	JNZ(LabelRef("layerNorm" + s.name))
	Label("done" + s.name + "layerNorm")
	VZEROUPPER()
	RET()
}
