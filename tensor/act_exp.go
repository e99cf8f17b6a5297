package tensor

import "math"

// Exponentials in float32. Softmax, attention and the sigmoid activations
// spend most of their time in e^x, so it is computed here with a short,
// branch-free sequence instead of float64 math.Exp:
//
//	e^x = 2^(k/64) · e^r,  k = round(64·x/ln2),  r = x − k·ln2/64,  |r| ≤ ln2/128
//
// 2^(k/64) = 2^(k>>6) · T[k&63] with a 64-entry table T[i] = 2^(i/64) (the
// power of two added straight into the exponent bits), and e^r by its
// quadratic Taylor polynomial 1 + r + r²/2, whose relative error r³/6 <
// 2.7e-8 is below float32 rounding. The result is within about 2 ulp of e^x.

const (
	expLog2e64 = 64 * 1.44269504088896341 // 64/ln2
	expLn2Hi64 = 0.693359375 / 64         // ln2/64 split in two so k·hi is exact
	expLn2Lo64 = -2.12194440e-4 / 64
	expMagic   = 12582912 // 1.5·2²³: adding it rounds a float32 to an integer
	expMaxArg  = 88.0     // expCore's valid range is [expMinArg, expMaxArg]
	expMinArg  = -87.33654
)

// exp2Table[i] = 2^(i/64), rounded to float32.
var exp2Table = func() (t [64]float32) {
	for i := range t {
		t[i] = float32(math.Exp2(float64(i) / 64))
	}
	return t
}()

// expCore returns e^v for v in [expMinArg, expMaxArg] (small enough to be
// inlined into the loops below).
func expCore(v float32) float32 {
	fm := v*expLog2e64 + expMagic
	k := int32(math.Float32bits(fm)) - 0x4B400000 // round(64·v/ln2)
	fk := fm - expMagic
	r := v - fk*expLn2Hi64 - fk*expLn2Lo64
	p := (r*0.5+1)*r + 1
	return math.Float32frombits(math.Float32bits(exp2Table[k&63])+uint32(k>>6)<<23) * p
}

// expf32 returns e^x in float32 (about 2 ulp): +Inf above 88.72, 0 below
// −87.33 (subnormal results are flushed), NaN for NaN.
func expf32(x float32) float32 {
	switch {
	case x >= expMinArg && x <= expMaxArg:
		return expCore(x)
	case x > expMaxArg:
		return float32(math.Exp(float64(x))) // +Inf beyond 88.72
	case x != x:
		return x
	}
	return 0
}

// expSubInPlace replaces each x[j] by e^(x[j] − m) and returns their sum.
// It is the inner loop of the softmaxes: m is the row maximum, so every
// argument is ≤ 0 and only underflow needs care (results below 2⁻¹²⁶,
// and −Inf or NaN arguments, give 0).
func expSubInPlace(x []float32, m float32) float32 {
	var sum float32
	for j, v := range x {
		v -= m
		if !(v >= expMinArg) {
			x[j] = 0
			continue
		}
		e := expCore(v)
		x[j] = e
		sum += e
	}
	return sum
}

// exp2SubColsInPlace is the exp pass of the attention softmax over one row
// of a score panel whose scores t are in units of ln2/64 (so e^x is
// 2^(t/64)): for each column j of row it sets row[j] = 2^((row[j] − m[j])/64)
// (0 below 2⁻¹²⁶) and adds it to sum[j]. m and sum must be at least as long
// as row. It stops and returns false at the first row[j] − m[j] above maxT
// (which must be at most expMaxArg·64/ln2), leaving the rest of row as it
// was. With the scale folded into the scores, the reduction of expCore
// needs no multiplications: k = round(t), and the remainder t − k is exact.
func exp2SubColsInPlace(row, m, sum []float32, maxT float32) bool {
	m = m[:len(row)]
	sum = sum[:len(row)]
	const (
		c     = 0.693147180559945309 / 64 // ln2/64: e^(c·r') = 2^(r'/64)
		c2    = c * c / 2
		minT  = expMinArg * expLog2e64 // 2^(minT/64) = 2⁻¹²⁶
		magic = expMagic
	)
	for j, s := range row {
		t := s - m[j]
		if !(t >= minT) {
			row[j] = 0
			continue
		}
		if t > maxT {
			return false
		}
		fm := t + magic
		k := math.Float32bits(fm) - 0x4B400000 // round(t)
		r := t - (fm - magic)                  // exact, |r| ≤ 1/2
		p := (r*c2+c)*r + 1                    // e^(c·r) to second order
		e := math.Float32frombits(math.Float32bits(exp2Table[k&63])+uint32(int32(k)>>6)<<23) * p
		row[j] = e
		sum[j] += e
	}
	return true
}
