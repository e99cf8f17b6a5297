package asm

// ExpSubCols is the exponential pass of a column-wise softmax over the
// row-major tile x [rows, n], n = len(m): with t = x[r, j] − m[j] it sets
//
//	x[r, j] = e^(scale·t),  sum[j] += x[r, j],  tmax[j] = max(tmax[j], t)
//
// (sum and tmax are accumulated, not reset; both at least n long). e^ is
// Exp's (inputs clamped to [−87.33654, 88.37626], relative error < 1e−6).
// tmax lets a caller that uses a reference m instead of the exact maximum
// check afterwards that no t was too large. Attention's softmax runs on it.
func ExpSubCols(x []float32, rows int, m, sum, tmax []float32, scale float32) {
	n := len(m)
	if rows <= 0 || n == 0 {
		return
	}
	_, _, _ = x[rows*n-1], sum[n-1], tmax[n-1]
	if n%expSubColsBlock == 0 {
		expSubColsFn(&x[0], &m[0], &sum[0], &tmax[0], rows, n, scale)
		return
	}
	expSubColsGeneric(x[:rows*n], rows, m, sum, tmax, scale)
}

// GeluMul computes dst[i] = value[i]·gelu(gate[i]) for i < len(value),
// with the exact GELU gelu(g) = g/2·(1 + erf(g/√2)) and erf as a rational
// function (absolute error < 5e−7): the gated activation of GEGLU. dst may
// alias value or gate.
func GeluMul(dst, value, gate []float32) {
	n := len(value)
	if n == 0 {
		return
	}
	_, _ = dst[n-1], gate[n-1]
	v := n - n%geluMulBlock
	if v > 0 {
		geluMulFn(&dst[0], &value[0], &gate[0], v)
	}
	geluMulGeneric(dst[v:n], value[v:], gate[v:n])
}

// SiLU computes dst[i] = x·σ(x) = x / (1 + e^(−x)) with x = src[i], for
// i < len(src) (dst may alias src), e^ as in Exp: the swish activation of
// the UNet and VAE resnets.
func SiLU(dst, src []float32) {
	n := len(src)
	if n == 0 {
		return
	}
	_ = dst[n-1]
	v := n - n%siluBlock
	if v > 0 {
		siluFn(&dst[0], &src[0], v)
	}
	siluGeneric(dst[v:n], src[v:])
}
