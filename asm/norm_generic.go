package asm

import "unsafe"

// The pure-Go twins of the normalisation kernels (norm.go). Explicit
// float32 conversions keep every product rounded on its own: the Go
// compiler may otherwise fuse a multiply and an add (it does with
// GOAMD64=v3 and on arm64), which the vector kernels never do.

func sumBlocks64Generic(dst, src []float32, shift float32) {
	for b := 0; b < len(src)/64; b++ {
		var s [8]float32
		for k := 0; k < 8; k++ {
			x := src[64*b+8*k : 64*b+8*k+8 : 64*b+8*k+8]
			for j := range s {
				s[j] += x[j] - shift
			}
		}
		copy(dst[8*b:8*b+8], s[:])
	}
}

func sumBlocks64GenericPtr(dst, src *float32, shift float32, blocks int) {
	sumBlocks64Generic(unsafe.Slice(dst, 8*blocks), unsafe.Slice(src, 64*blocks), shift)
}

func devBlocks64Generic(q, c, src []float32, m float32) {
	for b := 0; b < len(src)/64; b++ {
		var qs [8]float32
		var cs [4]float32
		for k := 0; k < 8; k++ {
			x := src[64*b+8*k : 64*b+8*k+8 : 64*b+8*k+8]
			var e [8]float32
			for j := range e {
				e[j] = x[j] - m
				qs[j] += float32(e[j] * e[j])
			}
			for j := range cs {
				cs[j] += e[j] + e[j+4]
			}
		}
		copy(q[8*b:8*b+8], qs[:])
		copy(c[4*b:4*b+4], cs[:])
	}
}

func devBlocks64GenericPtr(q, c, src *float32, m float32, blocks int) {
	devBlocks64Generic(unsafe.Slice(q, 8*blocks), unsafe.Slice(c, 4*blocks), unsafe.Slice(src, 64*blocks), m)
}

func shiftScaleGeneric(dst, src []float32, m, a, b float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = float32((x-m)*a) + b
	}
}

func shiftScaleGenericPtr(dst, src *float32, m, a, b float32, n int) {
	shiftScaleGeneric(unsafe.Slice(dst, n), unsafe.Slice(src, n), m, a, b)
}

func layerNormRowGeneric(dst, src, g, b []float32, m, rest, inv float32) {
	dst, g, b = dst[:len(src)], g[:len(src)], b[:len(src)]
	for i, x := range src {
		dst[i] = float32(((x-m)-rest)*inv*g[i]) + b[i]
	}
}

func layerNormRowGenericPtr(dst, src, g, b *float32, m, rest, inv float32, n int) {
	layerNormRowGeneric(unsafe.Slice(dst, n), unsafe.Slice(src, n), unsafe.Slice(g, n), unsafe.Slice(b, n), m, rest, inv)
}
