package asm

import (
	"math"
	"unsafe"
)

// expSubColsGeneric is the pure-Go twin of the expSubCols kernels: over the
// row-major tile x [rows, len(m)], with t = x[r, j] − m[j],
//
//	x[r, j] = e^(scale·t),  sum[j] += x[r, j],  tmax[j] = max(tmax[j], t)
//
// using the same Cephes exponential as expGeneric.
func expSubColsGeneric(x []float32, rows int, m, sum, tmax []float32, scale float32) {
	n := len(m)
	sum, tmax = sum[:n], tmax[:n]
	for r := range rows {
		row := x[r*n : (r+1)*n]
		for j, v := range row {
			t := v - m[j]
			if t > tmax[j] {
				tmax[j] = t
			}
			e := expOne(scale * t)
			row[j] = e
			sum[j] += e
		}
	}
}

func expSubColsGenericPtr(x, m, sum, tmax *float32, rows, n int, scale float32) {
	expSubColsGeneric(unsafe.Slice(x, rows*n), rows, unsafe.Slice(m, n), unsafe.Slice(sum, n), unsafe.Slice(tmax, n), scale)
}

// expOne is e^x by the algorithm of expGeneric, for one value.
func expOne(x float32) float32 {
	var d [1]float32
	expGeneric(d[:], []float32{x})
	return d[0]
}

// geluMulGeneric is the pure-Go twin of the geluMul kernels:
// dst[i] = value[i] · g/2 · (1 + erf(g/√2)) with g = gate[i] and erf the
// rational approximation Erf.
func geluMulGeneric(dst, value, gate []float32) {
	dst, gate = dst[:len(value)], gate[:len(value)]
	for i, v := range value {
		g := gate[i]
		dst[i] = v * (g * 0.5 * (1 + Erf(g*(1/math.Sqrt2))))
	}
}

func geluMulGenericPtr(dst, value, gate *float32, n int) {
	geluMulGeneric(unsafe.Slice(dst, n), unsafe.Slice(value, n), unsafe.Slice(gate, n))
}

// Erf is the error function in float32: erf(x) ≈ x·P(x²)/Q(x²) (degrees 6
// and 4 in x²) on x clamped to [−4, 4], beyond which erf is ±1 in float32.
// Its absolute error is below 5e-7 everywhere, a few float32 ulps, at a
// fraction of the cost of float64 math.Erf. The GeluMul kernels evaluate
// the same rational function lane by lane.
func Erf(x float32) float32 {
	x = min(max(x, -4), 4)
	x2 := x * x
	p := x2*-2.72614225801306e-10 + 2.77068142495902e-08
	p = x2*p - 2.10102402082508e-06
	p = x2*p - 5.69250639462346e-05
	p = x2*p - 7.34990630326855e-04
	p = x2*p - 2.95459980854025e-03
	p = x2*p - 1.60960333262415e-02
	q := x2*-1.45660718464996e-05 - 2.13374055278905e-04
	q = x2*q - 1.68282697438203e-03
	q = x2*q - 7.37332916720468e-03
	q = x2*q - 1.42647390514189e-02
	return x * p / q
}

// siluGeneric is the pure-Go twin of the silu kernels:
// dst[i] = x / (1 + e^(−x)), x = src[i], with expGeneric's exponential.
func siluGeneric(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = x / (1 + expOne(-x))
	}
}

func siluGenericPtr(dst, src *float32, n int) {
	siluGeneric(unsafe.Slice(dst, n), unsafe.Slice(src, n))
}
