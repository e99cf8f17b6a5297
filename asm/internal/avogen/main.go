// Command avogen generates the amd64 assembly of package asm
// (kernels_amd64.s and its Go declarations kernels_decl_amd64.go) with
// github.com/mmcloughlin/avo. Run it with `go generate ./asm/`.
//
// Every kernel is written once, parameterised by the vector width, and
// emitted for AVX2+FMA (256-bit YMM registers, 8 floats) and AVX-512F
// (512-bit ZMM registers, 16 floats).
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa describes one instruction-set level.
type isa struct {
	name  string            // suffix of the generated function names
	lanes int               // float32 values per vector register
	vec   func() VecVirtual // allocates a vector register of the right width
	mr    int               // GEMM micro-tile rows
	nv    int               // GEMM micro-tile columns, in vectors (NR = nv·lanes)
	peak  int               // independent accumulators in the FMA peak loop
}

var isas = []isa{
	{name: "AVX2", lanes: 8, vec: YMM, mr: 6, nv: 2, peak: 12},
	{name: "AVX512", lanes: 16, vec: ZMM, mr: 12, nv: 2, peak: 24},
}

func main() {
	ConstraintExpr("!purego")
	iota = GLOBL("iota32", RODATA|NOPTR)
	for i := 0; i < 32; i++ {
		DATA(4*i, U32(i))
	}
	laneLimit = GLOBL("lanelimit", RODATA|NOPTR)
	DATA(0, U32(6)) // AVX2 micro-tile rows
	expConsts = GLOBL("expconsts", RODATA|NOPTR)
	for i, c := range expTable {
		DATA(4*i, U32(math.Float32bits(c))) // as bits: avo prints F32(1) as the integer $(1)
	}
	DATA(4*len(expTable), U32(127))
	DATA(4*len(expTable)+4, U32(math.Float32bits(1)))
	f8Consts = GLOBL("f8consts", RODATA|NOPTR)
	for i, c := range f8Table {
		DATA(4*i, U32(c))
	}
	geluConsts = GLOBL("geluconsts", RODATA|NOPTR)
	for i, c := range geluTable {
		DATA(4*i, U32(math.Float32bits(c)))
	}
	for _, s := range isas {
		sgemmKernel(s)
		sgemmKernelStridedA(s)
		peakLoop(s)
		dot(s)
		axpy(s)
		bf16ToF32(s)
		f16ToF32(s)
		f8E4M3ToF32(s)
		packGather(s)
		packGatherMR(s)
		exp(s)
		expSubCols(s)
		geluMul(s)
		silu(s)
		shiftScale(s)
		layerNormRow(s)
	}
	sumBlocks64()
	devBlocks64()
	bf16Kernels()
	Generate()
}

// text starts a function; every kernel only reads and writes through its
// pointer arguments, so they are marked noescape.
func text(name, signature string) {
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
}

// sgemmKernel emits the register-blocked GEMM micro-kernel
//
//	C[mr×nr] (+)= Ã·B̃
//
// where Ã is a packed A micro-panel (k columns of mr values: Ã[p·mr+i]) and
// B̃ a packed B micro-panel (k rows of nr values: B̃[p·nr+j]). The mr×nr
// accumulator tile lives in registers for the whole k loop; each step loads
// one row of B̃ (nv vectors), broadcasts each of the mr values of Ã's column
// and issues mr·nv fused multiply-adds. C has row stride ldc (elements); with
// accumulate the tile is added to C, otherwise it overwrites C.
func sgemmKernel(s isa) { sgemm(s, false) }

// sgemmKernelStridedA emits the same micro-kernel reading A unpacked from a
// row-major matrix: Ã(i, p) = a[i·lda + p]. The mr row addresses are formed
// from one base pointer per three rows plus lda·{0,1,2} (x86 scaled-index
// addressing); all base pointers advance by one float per step. It saves
// packing (transposing) an activation matrix that is already contiguous
// along k, which for narrow outputs costs as much as the multiply.
func sgemmKernelStridedA(s isa) { sgemm(s, true) }

func sgemm(s isa, strided bool) {
	nr := s.nv * s.lanes
	name, sig := "sgemmKernel"+s.name, "func(k int, a, b, c *float32, ldc int, accumulate bool)"
	if strided {
		name, sig = "sgemmKernelStridedA"+s.name, "func(k int, a *float32, lda int, b, c *float32, ldc int, accumulate bool)"
	}
	text(name, sig)
	if strided {
		Doc(fmt.Sprintf("%s computes the %d×%d tile C (+)= A·B̃ with A row-major (stride lda) and B̃ packed.", name, s.mr, nr))
	} else {
		Doc(fmt.Sprintf("%s computes the %d×%d tile C (+)= Ã·B̃ from packed panels (see avogen).", name, s.mr, nr))
	}
	k := Load(Param("k"), GP64())
	b := Load(Param("b"), GP64())
	// Prefetch the C tile now, so that the loads of C after the k loop do
	// not stall on memory latency: each row spans nr floats, which may
	// straddle one more cache line than it fills.
	{
		c := Load(Param("c"), GP64())
		ldc := Load(Param("ldc"), GP64())
		SHLQ(U8(2), ldc)
		for i := 0; i < s.mr; i++ {
			for off := 0; off < 4*nr; off += 64 {
				PREFETCHT0(Mem{Base: c, Disp: off})
			}
			PREFETCHT0(Mem{Base: c, Disp: 4*nr - 1})
			if i+1 < s.mr {
				ADDQ(ldc, c)
			}
		}
	}
	// aAt(i) addresses row i of the current A column; step advances A by one column.
	var aAt func(i int) Mem
	var step func()
	if strided {
		a := Load(Param("a"), GP64())
		lda := Load(Param("lda"), GP64())
		SHLQ(U8(2), lda)
		bases := []Register{a}
		for i := 3; i < s.mr; i += 3 {
			p := GP64()
			LEAQ(Mem{Base: bases[len(bases)-1], Index: lda, Scale: 2}, p)
			ADDQ(lda, p)
			bases = append(bases, p)
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
		a := Load(Param("a"), GP64())
		aAt = func(i int) Mem { return Mem{Base: a, Disp: 4 * i} }
		step = func() { ADDQ(U32(4*s.mr), a) }
	}
	suffix := s.name
	if strided {
		suffix += "S"
	}

	acc := make([][]VecVirtual, s.mr)
	for i := range acc {
		acc[i] = make([]VecVirtual, s.nv)
		for v := range acc[i] {
			acc[i][v] = s.vec()
			VXORPS(acc[i][v], acc[i][v], acc[i][v])
		}
	}

	Comment("Main loop over k: one rank-1 update of the tile per step.")
	TESTQ(k, k)
	JZ(LabelRef("store" + suffix))
	Label("loop" + suffix)
	bv := make([]VecVirtual, s.nv)
	for v := range bv {
		bv[v] = s.vec()
		VMOVUPS(Mem{Base: b, Disp: 4 * s.lanes * v}, bv[v])
	}
	for i := 0; i < s.mr; i++ {
		t := s.vec()
		VBROADCASTSS(aAt(i), t)
		for v := range bv {
			VFMADD231PS(bv[v], t, acc[i][v])
		}
	}
	step()
	ADDQ(U32(4*nr), b)
	DECQ(k)
	JNZ(LabelRef("loop" + suffix))

	Label("store" + suffix)
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	accum := Load(Param("accumulate"), GP8())
	TESTB(accum, accum)
	JZ(LabelRef("overwrite" + suffix))
	row := GP64()
	MOVQ(c, row)
	for i := 0; i < s.mr; i++ {
		for v := 0; v < s.nv; v++ {
			m := Mem{Base: row, Disp: 4 * s.lanes * v}
			VADDPS(m, acc[i][v], acc[i][v])
			VMOVUPS(acc[i][v], m)
		}
		if i+1 < s.mr {
			ADDQ(ldc, row)
		}
	}
	VZEROUPPER()
	RET()

	Label("overwrite" + suffix)
	for i := 0; i < s.mr; i++ {
		for v := 0; v < s.nv; v++ {
			VMOVUPS(acc[i][v], Mem{Base: c, Disp: 4 * s.lanes * v})
		}
		if i+1 < s.mr {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// peakLoop emits a register-only loop of n·peak independent vector FMAs:
// the machine's fused multiply-add throughput, the roofline GEMM is
// measured against. Each iteration performs 2·lanes·peak flops.
func peakLoop(s isa) {
	text("fmaPeak"+s.name, "func(n int)")
	Doc(fmt.Sprintf("fmaPeak%s runs n iterations of %d independent %d-lane FMAs.", s.name, s.peak, s.lanes))
	n := Load(Param("n"), GP64())
	x, y := s.vec(), s.vec()
	VXORPS(x, x, x)
	VXORPS(y, y, y)
	acc := make([]VecVirtual, s.peak)
	for i := range acc {
		acc[i] = s.vec()
		VXORPS(acc[i], acc[i], acc[i])
	}
	TESTQ(n, n)
	JZ(LabelRef("done" + s.name + "peak"))
	Label("peak" + s.name)
	for i := range acc {
		VFMADD231PS(x, y, acc[i])
	}
	DECQ(n)
	JNZ(LabelRef("peak" + s.name))
	Label("done" + s.name + "peak")
	VZEROUPPER()
	RET()
}

// dot emits Σ x[i]·y[i] over n values, n a multiple of 4·lanes (the Go
// wrapper handles the tail), with 4 independent accumulators.
func dot(s isa) {
	text("dot"+s.name, "func(x, y *float32, n int) float32")
	Doc(fmt.Sprintf("dot%s returns Σ x[i]·y[i] for n a multiple of %d.", s.name, 4*s.lanes))
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = s.vec()
		VXORPS(acc[i], acc[i], acc[i])
	}
	SHRQ(U8(2+log2(s.lanes)), n)
	JZ(LabelRef("reduce" + s.name + "dot"))
	Label("dot" + s.name)
	for i := range acc {
		t := s.vec()
		VMOVUPS(Mem{Base: x, Disp: 4 * s.lanes * i}, t)
		VFMADD231PS(Mem{Base: y, Disp: 4 * s.lanes * i}, t, acc[i])
	}
	ADDQ(U32(16*s.lanes), x)
	ADDQ(U32(16*s.lanes), y)
	DECQ(n)
	JNZ(LabelRef("dot" + s.name))
	Label("reduce" + s.name + "dot")
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	sum := acc[0]
	if s.lanes == 16 {
		hi := YMM()
		VEXTRACTF64X4(U8(1), sum, hi)
		VADDPS(hi, sum.AsY(), hi)
		sum = hi
	}
	hi := XMM()
	VEXTRACTF128(U8(1), sum.AsY(), hi)
	lo := sum.AsX()
	VADDPS(hi, lo, lo)
	VHADDPS(lo, lo, lo)
	VHADDPS(lo, lo, lo)
	VZEROUPPER()
	Store(lo, ReturnIndex(0))
	RET()
}

// axpy emits y[i] += alpha·x[i] for n a multiple of 2·lanes.
func axpy(s isa) {
	text("axpy"+s.name, "func(alpha float32, x, y *float32, n int)")
	Doc(fmt.Sprintf("axpy%s computes y += alpha·x for n a multiple of %d.", s.name, 2*s.lanes))
	al := s.vec()
	VBROADCASTSS(NewParamAddr("alpha", 0), al)
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	SHRQ(U8(1+log2(s.lanes)), n)
	JZ(LabelRef("done" + s.name + "axpy"))
	Label("axpy" + s.name)
	for i := 0; i < 2; i++ {
		t := s.vec()
		VMOVUPS(Mem{Base: y, Disp: 4 * s.lanes * i}, t)
		VFMADD231PS(Mem{Base: x, Disp: 4 * s.lanes * i}, al, t)
		VMOVUPS(t, Mem{Base: y, Disp: 4 * s.lanes * i})
	}
	ADDQ(U32(8*s.lanes), x)
	ADDQ(U32(8*s.lanes), y)
	DECQ(n)
	JNZ(LabelRef("axpy" + s.name))
	Label("done" + s.name + "axpy")
	VZEROUPPER()
	RET()
}

// bf16ToF32 emits the bfloat16 -> float32 widening: zero-extend each 16-bit
// value to 32 bits and shift it into the top half. n is a multiple of lanes.
func bf16ToF32(s isa) {
	text("bf16ToF32"+s.name, "func(dst *float32, src *byte, n int)")
	Doc(fmt.Sprintf("bf16ToF32%s widens n bfloat16 values (n a multiple of %d) to float32.", s.name, s.lanes))
	unaryLoop(s, "bf16", 2, nil, func(dst, src Register) {
		t := s.vec()
		VPMOVZXWD(Mem{Base: src}, t)
		VPSLLD(U8(16), t, t)
		VMOVUPS(t, Mem{Base: dst})
	})
}

// f8E4M3ToF32 emits the FP8 E4M3FN -> float32 conversion (the OCP format
// of fp8 checkpoints: bias 7, no infinities, 0x7F and 0xFF NaN), exact,
// for n a multiple of lanes. With each byte b = s·eeee·mmm widened to 32
// bits (VPMOVZXBD):
//
//   - the magnitude bits (b & 0x7F) << 20, read as a float32, are
//     2^(e−127)·(1 + m/8), or for e = 0 the float32 subnormal m·2^−129;
//     one multiply by 2^120 turns both into the E4M3 value exactly;
//   - the sign is b << 24 & 0x80000000;
//   - the NaN magnitude 0x7F: y = ((b & 0x7F) + 1) << 24 has bit 31 set
//     for it alone, so the arithmetic shift y >> 9 masked with 0x7FC00000
//     is 0x7FC00000 there and 0 elsewhere; OR-ed in, it makes 480 a NaN.
//
// Fourteen vector instructions for 16 values, where the scalar table
// lookup (the pure-Go twin) costs a load and a store each.
func f8E4M3ToF32(s isa) {
	text("f8E4M3ToF32"+s.name, "func(dst *float32, src *byte, n int)")
	Doc(fmt.Sprintf("f8E4M3ToF32%s converts n FP8 E4M3FN values (n a multiple of %d) to float32.", s.name, s.lanes))
	and := func(a, b, d Op) { VPAND(a, b, d) }
	or := func(a, b, d Op) { VPOR(a, b, d) }
	if s.lanes == 16 { // AVX-512F spells them with the element size
		and = func(a, b, d Op) { VPANDD(a, b, d) }
		or = func(a, b, d Op) { VPORD(a, b, d) }
	}
	var sign, low7, scale, one, nan VecVirtual
	setup := func() {
		c := func(i int) VecVirtual {
			v := s.vec()
			VPBROADCASTD(f8Consts.Offset(4*i), v)
			return v
		}
		sign, low7, scale, one, nan = c(0), c(1), c(2), c(3), c(4)
	}
	unaryLoop(s, "f8", 1, setup, func(dst, src Register) {
		b := s.vec()
		VPMOVZXBD(Mem{Base: src}, b)
		sg := s.vec()
		VPSLLD(U8(24), b, sg)
		and(sign, sg, sg)
		m := s.vec()
		and(low7, b, m)
		f := s.vec()
		VPSLLD(U8(20), m, f)
		VMULPS(scale, f, f)
		y := s.vec()
		VPADDD(one, m, y)
		VPSLLD(U8(24), y, y)
		VPSRAD(U8(9), y, y)
		and(nan, y, y)
		or(y, f, f)
		or(sg, f, f)
		VMOVUPS(f, Mem{Base: dst})
	})
}

// Constants of f8E4M3ToF32: the sign bit, the magnitude mask, 2^120 (as
// float32 bits), 1 and the quiet-NaN bits.
var (
	f8Consts Mem
	f8Table  = []uint32{0x80000000, 0x7F, 0x7B800000, 1, 0x7FC00000}
)

// f16ToF32 emits the IEEE half -> float32 conversion with VCVTPH2PS (F16C
// for YMM, AVX-512F for ZMM); exact for every input including subnormals,
// infinities and NaNs. n is a multiple of lanes.
func f16ToF32(s isa) {
	text("f16ToF32"+s.name, "func(dst *float32, src *byte, n int)")
	Doc(fmt.Sprintf("f16ToF32%s converts n binary16 values (n a multiple of %d) to float32.", s.name, s.lanes))
	unaryLoop(s, "f16", 2, nil, func(dst, src Register) {
		t := s.vec()
		VCVTPH2PS(Mem{Base: src}, t)
		VMOVUPS(t, Mem{Base: dst})
	})
}

func log2(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	return l
}

// laneLimit holds the AVX2 mr (6) as int32, for packGatherMR's lane mask.
var laneLimit Mem

// iota is the read-only table 0, 1, ..., 31 (int32) used to build gather indices.
var iota Mem

// packGather emits the transposing copy that packs one full GEMM panel of
// nr rows from a matrix stored contiguous along k (row stride ld):
//
//	dst[p·nr + i] = src[i·ld + p]      (i < nr, p < kc)
//
// Each step gathers column p of the nr rows with VGATHERDPS (lane i reads
// src + 4·i·ld) and stores it as one contiguous row of the panel. Needs
// (nr−1)·ld < 2³¹ (the Go wrapper checks).
func packGather(s isa) {
	nr := s.nv * s.lanes
	text("packGather"+s.name, "func(dst, src *float32, ld int, kc int)")
	Doc(fmt.Sprintf("packGather%s packs %d rows of stride ld, kc columns, into a p-major panel (see avogen).", s.name, nr))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	kc := Load(Param("kc"), GP64())
	ldv := s.vec()
	VPBROADCASTD(NewParamAddr("ld", 16), ldv)
	idx := make([]VecVirtual, s.nv)
	for v := range idx {
		idx[v] = s.vec()
		VPMULLD(iota.Offset(4*s.lanes*v), ldv, idx[v])
	}
	TESTQ(kc, kc)
	JZ(LabelRef("done" + s.name + "gather"))
	Label("gather" + s.name)
	for v := range idx {
		t := s.vec()
		m := Mem{Base: src, Index: idx[v], Scale: 4}
		if s.lanes == 16 {
			k := K()
			KXNORW(k, k, k)
			VGATHERDPS(m, k, t)
		} else {
			mask := s.vec()
			VPCMPEQD(mask, mask, mask)
			VGATHERDPS(mask, m, t)
		}
		VMOVUPS(t, Mem{Base: dst, Disp: 4 * s.lanes * v})
	}
	ADDQ(U8(4), src)
	ADDQ(U32(4*nr), dst)
	DECQ(kc)
	JNZ(LabelRef("gather" + s.name))
	Label("done" + s.name + "gather")
	VZEROUPPER()
	RET()
}

// Constants of exp, Cephes' expf: clamp bounds, log2(e), ln 2 split in a
// high part exact in float32 and a low correction, and the degree-5
// polynomial of (e^r − 1 − r)/r² on |r| ≤ ln2/2; then int32 127 and 1.0.
var (
	expConsts Mem
	expTable  = []float32{
		88.37626, -87.33654, 1.44269504088896341, 0.693359375, -2.12194440e-4,
		1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
	}
)

// exp emits dst[i] = e^src[i] for n a multiple of lanes:
//
//	x = clamp(src, −87.34, 88.38);  m = round(x·log₂e);  r = x − m·ln2
//	e^x = 2^m · (1 + r + r²·P(r))
//
// with 2^m built by shifting m + 127 into the exponent field. Relative
// error is within a few ulp on the clamped range (see the tests).
func exp(s isa) {
	text("exp"+s.name, "func(dst, src *float32, n int)")
	Doc(fmt.Sprintf("exp%s computes dst[i] = e^src[i] for n a multiple of %d (inputs clamped to [-87.34, 88.38]).", s.name, s.lanes))
	unaryLoop(s, "exp", 4, nil, func(dst, src Register) {
		x := s.vec()
		VMOVUPS(Mem{Base: src}, x)
		p := expOf(s, x)
		VMOVUPS(p, Mem{Base: dst})
	})
}

// expOf emits the body of exp on the vector x (which it overwrites) and
// returns the register holding e^x. The constants are broadcast from
// expConsts where they are used, which keeps the register count within
// AVX2's sixteen.
func expOf(s isa, x VecVirtual) VecVirtual {
	c := func(i int) VecVirtual {
		v := s.vec()
		VBROADCASTSS(expConsts.Offset(4*i), v)
		return v
	}
	VMINPS(c(0), x, x)
	VMAXPS(c(1), x, x)
	m := s.vec()
	VMULPS(c(2), x, m)
	mi := s.vec()
	VCVTPS2DQ(m, mi) // round to nearest (MXCSR default)
	VCVTDQ2PS(mi, m)
	VFNMADD231PS(c(3), m, x) // x -= m·ln2_hi
	VFNMADD231PS(c(4), m, x) // x -= m·ln2_lo  (x is now r)
	p := c(5)
	for i := 6; i <= 10; i++ {
		VFMADD213PS(c(i), x, p) // p = p·r + c_i
	}
	r2 := s.vec()
	VMULPS(x, x, r2)
	VFMADD213PS(x, r2, p)            // p = p·r² + r
	VADDPS(c(len(expTable)+1), p, p) // + 1
	bias := s.vec()
	VPBROADCASTD(expConsts.Offset(4*len(expTable)), bias)
	VPADDD(bias, mi, mi)
	VPSLLD(U8(23), mi, mi) // 2^m
	VMULPS(mi, p, p)
	return p
}

// expSubCols emits the exponential pass of a softmax over the columns of a
// row-major tile x [rows, n] (n a multiple of lanes): with t = x[r, j] − m[j],
//
//	x[r, j] = e^(scale·t),  sum[j] += x[r, j],  tmax[j] = max(tmax[j], t)
//
// It walks the tile one column vector at a time, keeping that vector's m,
// sum and tmax in registers while it runs down the rows.
func expSubCols(s isa) {
	text("expSubCols"+s.name, "func(x, m, sum, tmax *float32, rows, n int, scale float32)")
	Doc(fmt.Sprintf("expSubCols%s computes x[r,j] = e^(scale·(x[r,j]−m[j])), sum[j] += x[r,j], tmax[j] = max(tmax[j], x[r,j]−m[j]) over a rows×n tile (n a multiple of %d).", s.name, s.lanes))
	x := Load(Param("x"), GP64())
	m := Load(Param("m"), GP64())
	sum := Load(Param("sum"), GP64())
	tmax := Load(Param("tmax"), GP64())
	n := Load(Param("n"), GP64())
	stride := GP64()
	MOVQ(n, stride)
	SHLQ(U8(2), stride) // row stride in bytes
	SHRQ(U8(log2(s.lanes)), n)
	JZ(LabelRef("done" + s.name + "esc"))
	Label("col" + s.name + "esc")
	mv, sv, tv := s.vec(), s.vec(), s.vec()
	VMOVUPS(Mem{Base: m}, mv)
	VMOVUPS(Mem{Base: sum}, sv)
	VMOVUPS(Mem{Base: tmax}, tv)
	rows := Load(Param("rows"), GP64())
	p := GP64()
	MOVQ(x, p)
	TESTQ(rows, rows)
	JZ(LabelRef("store" + s.name + "esc"))
	Label("row" + s.name + "esc")
	t := s.vec()
	VMOVUPS(Mem{Base: p}, t)
	VSUBPS(mv, t, t) // t = x − m
	VMAXPS(t, tv, tv)
	sc := s.vec()
	VBROADCASTSS(NewParamAddr("scale", 48), sc)
	VMULPS(sc, t, t)
	e := expOf(s, t)
	VMOVUPS(e, Mem{Base: p})
	VADDPS(e, sv, sv)
	ADDQ(stride, p)
	DECQ(rows)
	JNZ(LabelRef("row" + s.name + "esc"))
	Label("store" + s.name + "esc")
	VMOVUPS(sv, Mem{Base: sum})
	VMOVUPS(tv, Mem{Base: tmax})
	ADDQ(U32(4*s.lanes), x)
	ADDQ(U32(4*s.lanes), m)
	ADDQ(U32(4*s.lanes), sum)
	ADDQ(U32(4*s.lanes), tmax)
	DECQ(n)
	JNZ(LabelRef("col" + s.name + "esc"))
	Label("done" + s.name + "esc")
	VZEROUPPER()
	RET()
}

// silu emits dst[i] = x / (1 + e^(−x)), x = src[i], for n a multiple of
// lanes (SiLU, the swish activation), with e^ as in exp.
func silu(s isa) {
	text("silu"+s.name, "func(dst, src *float32, n int)")
	Doc(fmt.Sprintf("silu%s computes dst[i] = src[i]/(1 + e^(−src[i])) for n a multiple of %d.", s.name, s.lanes))
	unaryLoop(s, "silu", 4, nil, func(dst, src Register) {
		x := s.vec()
		VMOVUPS(Mem{Base: src}, x)
		t := s.vec()
		VXORPS(t, t, t)
		VSUBPS(x, t, t) // −x
		e := expOf(s, t)
		one := s.vec()
		VBROADCASTSS(expConsts.Offset(4*(len(expTable)+1)), one)
		VADDPS(one, e, e)
		VDIVPS(e, x, x)
		VMOVUPS(x, Mem{Base: dst})
	})
}

// unaryLoop emits the body of an elementwise kernel func(dst *float32,
// src *T, n int), n a multiple of lanes: after setup (constants kept in
// registers, or nil) a loop named tag+s.name runs step on the vector at
// dst and src n/lanes times, advancing src by srcSize·lanes bytes and dst
// by 4·lanes.
func unaryLoop(s isa, tag string, srcSize int, setup func(), step func(dst, src Register)) {
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	if setup != nil {
		setup()
	}
	SHRQ(U8(log2(s.lanes)), n)
	JZ(LabelRef("done" + s.name + tag))
	Label(tag + s.name)
	step(dst, src)
	ADDQ(U32(srcSize*s.lanes), src)
	ADDQ(U32(4*s.lanes), dst)
	DECQ(n)
	JNZ(LabelRef(tag + s.name))
	Label("done" + s.name + tag)
	VZEROUPPER()
	RET()
}

// Constants of geluMul: 1/√2, the clamp ±4 of erf's argument, then the
// numerator (7) and denominator (5) coefficients of erf's rational
// approximation in x² (highest degree first), then 0.5 and 1.
var (
	geluConsts Mem
	geluTable  = []float32{
		0.70710678118654752, 4, -4,
		-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
		-7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02,
		-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
		-1.42647390514189e-02,
		0.5, 1,
	}
)

// geluMul emits the gated GELU of GEGLU, for n a multiple of lanes:
//
//	dst[i] = value[i] · g/2 · (1 + erf(g/√2)),  g = gate[i]
//
// with erf(x) = x·P(x²)/Q(x²) on x clamped to [−4, 4] (the same rational
// function as asm.Erf, the pure-Go twin).
func geluMul(s isa) {
	text("geluMul"+s.name, "func(dst, value, gate *float32, n int)")
	Doc(fmt.Sprintf("geluMul%s computes dst[i] = value[i]·gelu(gate[i]) (exact erf GELU) for n a multiple of %d.", s.name, s.lanes))
	dst := Load(Param("dst"), GP64())
	val := Load(Param("value"), GP64())
	gate := Load(Param("gate"), GP64())
	n := Load(Param("n"), GP64())
	c := func(i int) Mem { return geluConsts.Offset(4 * i) }
	bc := func(i int) VecVirtual {
		v := s.vec()
		VBROADCASTSS(c(i), v)
		return v
	}
	SHRQ(U8(log2(s.lanes)), n)
	JZ(LabelRef("done" + s.name + "gelu"))
	Label("gelu" + s.name)
	g := s.vec()
	VMOVUPS(Mem{Base: gate}, g)
	x := s.vec()
	VMULPS(bc(0), g, x)
	VMINPS(bc(1), x, x)
	VMAXPS(bc(2), x, x)
	x2 := s.vec()
	VMULPS(x, x, x2)
	p := bc(3)
	VFMADD213PS(bc(4), x2, p) // p = p·x² + c
	for i := 5; i <= 9; i++ {
		VFMADD213PS(bc(i), x2, p)
	}
	q := bc(10)
	for i := 11; i <= 14; i++ {
		VFMADD213PS(bc(i), x2, q)
	}
	VMULPS(x, p, p)
	VDIVPS(q, p, p) // erf(x)
	VADDPS(bc(16), p, p)
	VMULPS(bc(15), g, g)
	VMULPS(g, p, p)
	VMULPS(Mem{Base: val}, p, p)
	VMOVUPS(p, Mem{Base: dst})
	ADDQ(U32(4*s.lanes), dst)
	ADDQ(U32(4*s.lanes), val)
	ADDQ(U32(4*s.lanes), gate)
	DECQ(n)
	JNZ(LabelRef("gelu" + s.name))
	Label("done" + s.name + "gelu")
	VZEROUPPER()
	RET()
}

// packGatherMR emits the same transposing copy for an A panel of mr rows
// (12 on AVX-512, 6 on AVX2), fewer than a vector's lanes: the gather and
// the store are masked to the first mr lanes so nothing past a panel row
// is read or written. Conv weights are packed this way.
func packGatherMR(s isa) {
	text("packGatherMR"+s.name, "func(dst, src *float32, ld int, kc int)")
	Doc(fmt.Sprintf("packGatherMR%s packs %d rows of stride ld, kc columns, into a p-major panel.", s.name, s.mr))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	kc := Load(Param("kc"), GP64())
	ldv := s.vec()
	VPBROADCASTD(NewParamAddr("ld", 16), ldv)
	idx := s.vec()
	VPMULLD(iota, ldv, idx)
	label := "gatherMR" + s.name
	if s.lanes == 16 {
		bits := GP32()
		MOVL(U32(1<<s.mr-1), bits)
		store := K()
		KMOVW(bits, store)
		TESTQ(kc, kc)
		JZ(LabelRef("done" + label))
		Label(label)
		k := K()
		KMOVW(bits, k)
		t := s.vec()
		VGATHERDPS(Mem{Base: src, Index: idx, Scale: 4}, k, t)
		VMOVUPS(t, store, Mem{Base: dst})
	} else {
		// lanes < mr are all ones: compare iota with mr.
		lim := s.vec()
		VPBROADCASTD(laneLimit, lim)
		live := s.vec()
		VPCMPGTD(iota, lim, live) // live[i] = (mr > i) ? -1 : 0
		TESTQ(kc, kc)
		JZ(LabelRef("done" + label))
		Label(label)
		mask := s.vec()
		VMOVDQU(live, mask)
		t := s.vec()
		VXORPS(t, t, t)
		VGATHERDPS(mask, Mem{Base: src, Index: idx, Scale: 4}, t)
		VMASKMOVPS(t, live, Mem{Base: dst})
	}
	ADDQ(U8(4), src)
	ADDQ(U32(4*s.mr), dst)
	DECQ(kc)
	JNZ(LabelRef(label))
	Label("done" + label)
	VZEROUPPER()
	RET()
}
