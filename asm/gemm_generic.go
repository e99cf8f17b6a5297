package asm

import "unsafe"

// Tile of the pure-Go micro-kernel: 4×4 scalar accumulators, few enough for
// the compiler to keep in registers on amd64 and arm64.
const genericMR, genericNR = 4, 4

// sgemmKernelGeneric is the pure-Go micro-kernel: the 4×4 tile
//
//	C[i][j] (+)= Σ_p Ã[p·4+i] · B̃[p·4+j]
//
// over packed panels Ã (k columns of 4) and B̃ (k rows of 4).
func sgemmKernelGeneric(k int, a, b, c []float32, ldc int, accumulate bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a, b = a[:4*k], b[:4*k]
	for p := 0; p < k; p++ {
		ap, bp := a[4*p:4*p+4], b[4*p:4*p+4]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	tile := [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	for i := range 4 {
		row := c[i*ldc : i*ldc+4]
		if accumulate {
			for j := range row {
				row[j] += tile[i][j]
			}
		} else {
			copy(row, tile[i][:])
		}
	}
}

func sgemmKernelGenericPtr(k int, a, b, c *float32, ldc int, accumulate bool) {
	sgemmKernelGeneric(k, unsafe.Slice(a, 4*k), unsafe.Slice(b, 4*k), unsafe.Slice(c, 3*ldc+4), ldc, accumulate)
}

// sgemmTileRef is the plain reference of any micro-kernel of tile mr×nr,
// used by the tests: C[i·ldc+j] (+)= Σ_p a[p·mr+i]·b[p·nr+j].
func sgemmTileRef(mr, nr, k int, a, b, c []float32, ldc int, accumulate bool) {
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var s float32
			for p := 0; p < k; p++ {
				s += a[p*mr+i] * b[p*nr+j]
			}
			if accumulate {
				c[i*ldc+j] += s
			} else {
				c[i*ldc+j] = s
			}
		}
	}
}
