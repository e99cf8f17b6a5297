package asm

// Dot returns Σ_i x[i]·y[i] over len(x) values (y must be at least as long).
// The SIMD versions sum in a different order than a scalar loop, so results
// agree to float32 rounding, not bit for bit.
func Dot(x, y []float32) float32 {
	n := len(x)
	if n == 0 {
		return 0
	}
	_ = y[n-1]
	v := n - n%dotBlock
	var s float32
	if v > 0 {
		s = dotFn(&x[0], &y[0], v)
	}
	return s + dotGeneric(x[v:], y[v:n])
}

// Axpy computes y[i] += alpha·x[i] for i < len(x) (y must be at least as long).
func Axpy(alpha float32, x, y []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	_ = y[n-1]
	v := n - n%axpyBlock
	if v > 0 {
		axpyFn(alpha, &x[0], &y[0], v)
	}
	axpyGeneric(alpha, x[v:], y[v:n])
}

// Scale computes x[i] *= alpha.
func Scale(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// ScaleAdd computes y[i] = alpha·x[i] + beta·y[i] for i < len(x).
func ScaleAdd(alpha float32, x []float32, beta float32, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = alpha*v + beta*y[i]
	}
}

// Exp computes dst[i] = e^src[i] for i < len(src) (dst may alias src), the
// building block of softmax and SiLU. Inputs are clamped to
// [−87.33654, 88.37626] (so the result stays a normal float32: e.g.
// e^−100 gives 1.2e−38 instead of 0, and NaN is not propagated); within
// that range the relative error is below 1e−6 (about 8 ulp, see TestExp).
func Exp(dst, src []float32) {
	n := len(src)
	if n == 0 {
		return
	}
	_ = dst[n-1]
	v := n - n%expBlock
	if v > 0 {
		expFn(&dst[0], &src[0], v)
	}
	expGeneric(dst[v:n], src[v:])
}
