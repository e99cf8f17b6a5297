package sampling

import "math"

// float32 logarithm and sine/cosine exactly as "avx_mathfun" (Giovanni
// Garberoglio's AVX port of Julien Pommier's sse_mathfun, itself the Cephes
// logf/sinf/cosf), which torch's AVX2 normal kernel uses. They are not
// correctly rounded, so reproducing torch.randn bit for bit needs the same
// sequence of float32 operations — including the fused multiply-adds that
// GCC forms when it compiles these intrinsics with -mfma (a product whose
// only use is an addition becomes one FMA, rounded once). fma32 reproduces
// those; every other product is converted to float32 before use so that the
// Go compiler cannot fuse it on its own (it may on arm64).

const (
	cephesSQRTHF = float32(0.707106781186547524)
	cephesLogP0  = float32(7.0376836292e-2)
	cephesLogP1  = float32(-1.1514610310e-1)
	cephesLogP2  = float32(1.1676998740e-1)
	cephesLogP3  = float32(-1.2420140846e-1)
	cephesLogP4  = float32(+1.4249322787e-1)
	cephesLogP5  = float32(-1.6668057665e-1)
	cephesLogP6  = float32(+2.0000714765e-1)
	cephesLogP7  = float32(-2.4999993993e-1)
	cephesLogP8  = float32(+3.3333331174e-1)
	cephesLogQ1  = float32(-2.12194440e-4)
	cephesLogQ2  = float32(0.693359375)

	minusCephesDP1 = float32(-0.78515625)
	minusCephesDP2 = float32(-2.4187564849853515625e-4)
	minusCephesDP3 = float32(-3.77489497744594108e-8)
	sincofP0       = float32(-1.9515295891e-4)
	sincofP1       = float32(8.3321608736e-3)
	sincofP2       = float32(-1.6666654611e-1)
	coscofP0       = float32(2.443315711809948e-005)
	coscofP1       = float32(-1.388731625493765e-003)
	coscofP2       = float32(4.166664568298827e-002)
	cephesFOPI     = float32(1.27323954473516) // 4/π
)

// mul rounds a product to float32 (see the file comment).
func mul(a, b float32) float32 { return float32(a * b) }

// fma32 returns a·b + c rounded once to float32. The product of two float32
// is exact in float64; the sum is formed in float64 with its rounding error
// (Knuth's TwoSum) so that a float64 result lying exactly halfway between
// two float32 values can be nudged toward the exact value before the final
// rounding: no double-rounding error.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	bp := s - float64(c)
	err := (p - bp) + (float64(c) - (s - bp))
	if err != 0 {
		// A float64 is halfway between float32 neighbours when its 29
		// extra mantissa bits are exactly 1000…0.
		if math.Float64bits(s)&(1<<29-1) == 1<<28 {
			s = math.Nextafter(s, s+err)
		}
	}
	return float32(s)
}

// logf is avx_mathfun log256_ps for x > 0: x = m·2^e with m ∈ [0.5, 1);
// if m < √½ then e −= 1 and m doubles; with f = m − 1,
// log x = f − f²/2 + f³·P(f) + e·log 2, log 2 split as q2 + q1.
func logf(x float32) float32 {
	if x <= 0 {
		return float32(math.NaN())
	}
	if x < math.SmallestNonzeroFloat32*(1<<23) { // below the smallest normal
		x = math.Float32frombits(0x00800000)
	}
	bits := math.Float32bits(x)
	e := float32(int32(bits>>23)-0x7f) + 1
	x = math.Float32frombits(bits&^0x7f800000 | math.Float32bits(0.5))
	var tmp float32
	if x < cephesSQRTHF {
		tmp = x
		e -= 1
	}
	x = x - 1
	x = x + tmp
	z := mul(x, x)
	y := cephesLogP0
	for _, p := range []float32{cephesLogP1, cephesLogP2, cephesLogP3, cephesLogP4, cephesLogP5, cephesLogP6, cephesLogP7, cephesLogP8} {
		y = fma32(y, x, p)
	}
	y = mul(y, x)
	y = fma32(y, z, mul(e, cephesLogQ1))
	y = fma32(-z, 0.5, y)
	x = x + y
	x = fma32(e, cephesLogQ2, x)
	return x
}

// sincosf is avx_mathfun sincos256_ps: reduce |x| by multiples of π/4
// (j = (trunc(|x|·4/π) + 1) &^ 1, x −= j·π/4 in three parts), evaluate the
// Cephes cosine and sine polynomials on the reduced argument, and pick and
// sign them by j's octant.
func sincosf(x float32) (sin, cos float32) {
	signSin := math.Float32bits(x) & 0x80000000
	x = float32(math.Abs(float64(x)))
	j := int32(mul(x, cephesFOPI))
	j = (j + 1) &^ 1
	y := float32(j)
	swapSignSin := uint32(j&4) << 29
	polyMask := j&2 == 0
	x = fma32(y, minusCephesDP1, x)
	x = fma32(y, minusCephesDP2, x)
	x = fma32(y, minusCephesDP3, x)
	signCos := uint32((^(j - 2))&4) << 29
	signSin ^= swapSignSin

	z := mul(x, x)
	yc := coscofP0
	yc = fma32(yc, z, coscofP1)
	yc = fma32(yc, z, coscofP2)
	yc = mul(yc, z)
	yc = fma32(yc, z, -mul(z, 0.5))
	yc = yc + 1

	ys := sincofP0
	ys = fma32(ys, z, sincofP1)
	ys = fma32(ys, z, sincofP2)
	ys = mul(ys, z)
	ys = fma32(ys, x, x)

	var s, c float32
	if polyMask {
		s, c = 0+ys, yc+0
	} else {
		s, c = yc+0, 0+ys
	}
	return math.Float32frombits(math.Float32bits(s) ^ signSin), math.Float32frombits(math.Float32bits(c) ^ signCos)
}
