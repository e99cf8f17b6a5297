package asm

import "unsafe"

func dotGeneric(x, y []float32) float32 {
	var s0, s1, s2, s3 float32
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotGenericPtr(x, y *float32, n int) float32 {
	return dotGeneric(unsafe.Slice(x, n), unsafe.Slice(y, n))
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func axpyGenericPtr(alpha float32, x, y *float32, n int) {
	axpyGeneric(alpha, unsafe.Slice(x, n), unsafe.Slice(y, n))
}
