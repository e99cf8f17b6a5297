package asm

import (
	"math"
	"unsafe"
)

// expGeneric is the pure-Go twin of the SIMD exp kernels, the same
// Cephes expf algorithm in float32:
//
//	x = clamp(x, −87.33654, 88.37626);  m = round(x·log₂e);  r = x − m·ln2
//	e^x = 2^m · (1 + r + r²·P(r)),  P of degree 5
func expGeneric(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		x = min(max(x, -87.33654), 88.37626)
		t := x * 1.44269504088896341
		mi := int32(t - 0.5) // round to nearest (halves away from zero; r stays within ±ln2/2)
		if t >= 0 {
			mi = int32(t + 0.5)
		}
		m := float32(mi)
		r := x - m*0.693359375
		r -= m * -2.12194440e-4
		p := float32(1.9875691500e-4)
		p = p*r + 1.3981999507e-3
		p = p*r + 8.3334519073e-3
		p = p*r + 4.1665795894e-2
		p = p*r + 1.6666665459e-1
		p = p*r + 5.0000001201e-1
		p = p*(r*r) + r + 1
		dst[i] = p * math.Float32frombits(uint32(mi+127)<<23)
	}
}

func expGenericPtr(dst, src *float32, n int) {
	expGeneric(unsafe.Slice(dst, n), unsafe.Slice(src, n))
}
