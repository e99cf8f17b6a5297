package sampling

import "math"

// torch's float64 Box-Muller (and its scalar path, used by randn of fewer
// than 16 elements even for float32) calls glibc's double log, log1p, sin
// and cos. Those are accurate to about 0.52 units in the last place: almost
// always the correctly rounded result. Go's math package is only accurate
// to about one unit, which changes one float64 normal in five by an ulp.
// The functions here are evaluated in double-double arithmetic (a value is
// hi + lo, about 106 bits) and rounded once: correctly rounded, so they
// differ from glibc only where glibc itself is off (about 1 value in 1000,
// always by one ulp; matching those would mean copying glibc's tables).

// dd is an unevaluated sum hi + lo with |lo| ≤ ulp(hi)/2.
type dd struct{ hi, lo float64 }

// twoSum returns s = fl(a+b) and the exact error a + b − s (Knuth).
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return
}

// twoProd returns p = fl(a·b) and the exact error a·b − p (one FMA).
//
// Every product in this file is wrapped in float64(…): Go may otherwise
// fuse a product with a following addition into one FMA (it does on
// arm64), which would break the error bookkeeping of these algorithms.
func twoProd(a, b float64) (p, e float64) {
	p = float64(a * b)
	e = math.FMA(a, b, -p)
	return
}

func norm(hi, lo float64) dd {
	s := hi + lo
	return dd{s, lo - (s - hi)}
}

func ddAdd(x, y dd) dd {
	s, e := twoSum(x.hi, y.hi)
	t, f := twoSum(x.lo, y.lo)
	n := norm(s, e+t)
	return norm(n.hi, n.lo+f)
}

func ddMul(x, y dd) dd {
	p, e := twoProd(x.hi, y.hi)
	e += float64(x.hi*y.lo) + float64(x.lo*y.hi)
	return norm(p, e)
}

func ddMulF(x dd, f float64) dd {
	p, e := twoProd(x.hi, f)
	e += float64(x.lo * f)
	return norm(p, e)
}

func ddDiv(x, y dd) dd {
	q1 := x.hi / y.hi
	r := ddAdd(x, ddMulF(y, -q1))
	q2 := r.hi / y.hi
	r = ddAdd(r, ddMulF(y, -q2))
	q3 := r.hi / y.hi
	return ddAdd(norm(q1, q2), dd{q3, 0})
}

var (
	ddLn2 = dd{0.6931471805599453, 2.3190468138462996e-17}
	// π/2 in three parts (hi + mid is the double-double, lo the next bits).
	pio2Hi  = 1.5707963267948966
	pio2Mid = 6.123233995736766e-17
	pio2Lo  = -1.4973849048591698e-33
)

// logCR returns log x rounded to the nearest double, for x > 0.
func logCR(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 1) {
		return math.Log(x)
	}
	r := logDD(dd{x, 0})
	return r.hi + r.lo
}

// log1pCR returns log(1 + x) rounded to the nearest double, for x > −1:
// 1 + x is formed exactly as a double-double first.
func log1pCR(x float64) float64 {
	if x <= -1 || math.IsNaN(x) || math.IsInf(x, 1) {
		return math.Log1p(x)
	}
	r := logDD(norm(twoSum(1, x)))
	return r.hi + r.lo
}

// logDD is log x for a positive double-double: x = m·2^e with
// m ∈ [√½, √2), log m = 2·atanh(s), s = (m−1)/(m+1),
// atanh s = s + s³/3 + s⁵/5 + … (|s| ≤ 0.172), plus e·log 2.
func logDD(x dd) dd {
	_, e := math.Frexp(x.hi) // x.hi = f·2^e, f ∈ [0.5, 1)
	m := dd{math.Ldexp(x.hi, -e), math.Ldexp(x.lo, -e)}
	if m.hi+m.lo < math.Sqrt2/2 {
		m = dd{2 * m.hi, 2 * m.lo}
		e--
	}
	s := ddDiv(ddAdd(m, dd{-1, 0}), ddAdd(m, dd{1, 0}))
	s2 := ddMul(s, s)
	// Horner on 1 + s²/3 + s⁴/5 + … (24 terms; s⁴⁸ < 1e-36).
	sum := atanhCoef[len(atanhCoef)-1]
	for k := len(atanhCoef) - 2; k >= 0; k-- {
		sum = ddAdd(ddMul(sum, s2), atanhCoef[k])
	}
	r := ddMulF(ddMul(s, sum), 2)
	return ddAdd(r, ddMulF(ddLn2, float64(e)))
}

// sincosCR returns sin x and cos x rounded to the nearest double for
// moderate |x| (the Box-Muller angle is in [0, 2π)): x = k·π/2 + r with
// |r| ≤ π/4, Taylor series for sin r and cos r in double-double, then the
// quadrant's signs and swap.
func sincosCR(x float64) (sin, cos float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e6 {
		return math.Sin(x), math.Cos(x)
	}
	k := math.RoundToEven(x / pio2Hi)
	// r = x − k·π/2, each product exact (k is a small integer).
	p1, e1 := twoProd(k, pio2Hi)
	r := ddAdd(dd{x, 0}, dd{-p1, -e1})
	p2, e2 := twoProd(k, pio2Mid)
	r = ddAdd(r, dd{-p2, -e2})
	r = ddAdd(r, dd{float64(-k * pio2Lo), 0})
	r2 := ddMul(r, r)
	// sin r = r·(1 − r²/3! + r⁴/5! − …), cos r = 1 − r²/2! + r⁴/4! − …
	// with 15 terms each (r^30/30! < 1e-40 for |r| ≤ π/4).
	sinSum, cosSum := sinCoef[len(sinCoef)-1], cosCoef[len(cosCoef)-1]
	for n := len(sinCoef) - 2; n >= 0; n-- {
		sinSum = ddAdd(ddMul(sinSum, r2), sinCoef[n])
		cosSum = ddAdd(ddMul(cosSum, r2), cosCoef[n])
	}
	s := ddMul(sinSum, r)
	c := cosSum
	switch int(k) & 3 {
	case 0:
		return s.hi + s.lo, c.hi + c.lo
	case 1:
		return c.hi + c.lo, -(s.hi + s.lo)
	case 2:
		return -(s.hi + s.lo), -(c.hi + c.lo)
	default:
		return -(c.hi + c.lo), s.hi + s.lo
	}
}

func ddNeg(x dd) dd { return dd{-x.hi, -x.lo} }

// Series coefficients: atanhCoef[k] = 1/(2k+1); sinCoef[n] = (−1)ⁿ/(2n+1)!,
// cosCoef[n] = (−1)ⁿ/(2n)!, as double-doubles.
var atanhCoef, sinCoef, cosCoef = seriesCoefficients()

func seriesCoefficients() (atanh, sin, cos []dd) {
	one := dd{1, 0}
	for k := 0; k < 24; k++ {
		atanh = append(atanh, ddDiv(one, dd{float64(2*k + 1), 0}))
	}
	fact := one // n! as a double-double, built up step by step
	facts := []dd{one}
	for i := 1; i <= 33; i++ {
		fact = ddMulF(fact, float64(i))
		facts = append(facts, fact)
	}
	for n := 0; n < 16; n++ {
		sc, cc := ddDiv(one, facts[2*n+1]), ddDiv(one, facts[2*n])
		if n%2 == 1 {
			sc, cc = ddNeg(sc), ddNeg(cc)
		}
		sin = append(sin, sc)
		cos = append(cos, cc)
	}
	return atanh, sin, cos
}
