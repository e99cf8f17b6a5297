package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNormKernels checks the normalisation kernels at every level bit for
// bit against their pure-Go twins (the same partial sums in the same
// order, no fused multiply-add), on lengths around the vector and block
// sizes, with values far from zero (the case the shifted sums are for),
// and the twins against float64 sums.
func TestNormKernels(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, n := range []int{0, 1, 7, 16, 63, 64, 65, 100, 640, 1027, 4096 + 37} {
			src := randSlice(r, n)
			for i := range src {
				src[i] = 3 + src[i]*0.25
			}
			g, b := randSlice(r, n), randSlice(r, n)
			shift, m, a, bb, rest, inv := float32(2.9), float32(3.01), float32(1.7), float32(-0.3), float32(1e-8), float32(3.9)
			blocks := n / 64

			got, want := make([]float32, 8*blocks+1), make([]float32, 8*blocks+1)
			SumBlocks64(got, src, shift)
			sumBlocks64Generic(want, src, shift)
			same(t, "SumBlocks64", n, got, want)
			for bl := 0; bl < blocks; bl++ {
				var s32, s64 float64
				for j := 0; j < 8; j++ {
					s32 += float64(want[8*bl+j])
				}
				for _, x := range src[64*bl : 64*bl+64] {
					s64 += float64(x - shift)
				}
				if math.Abs(s32-s64) > 1e-4 {
					t.Fatalf("SumBlocks64 n=%d block %d: partial sums add to %g, float64 sum %g", n, bl, s32, s64)
				}
			}

			gq, gc := make([]float32, 8*blocks+1), make([]float32, 4*blocks+1)
			wq, wc := make([]float32, 8*blocks+1), make([]float32, 4*blocks+1)
			DevBlocks64(gq, gc, src, m)
			devBlocks64Generic(wq, wc, src, m)
			same(t, "DevBlocks64 q", n, gq, wq)
			same(t, "DevBlocks64 c", n, gc, wc)
			for bl := 0; bl < blocks; bl++ {
				var q32, c32, q64, c64 float64
				for j := 0; j < 8; j++ {
					q32 += float64(wq[8*bl+j])
				}
				for j := 0; j < 4; j++ {
					c32 += float64(wc[4*bl+j])
				}
				for _, x := range src[64*bl : 64*bl+64] {
					e := float64(x - m)
					q64 += e * e
					c64 += e
				}
				if math.Abs(q32-q64) > 1e-4*q64 || math.Abs(c32-c64) > 1e-4 {
					t.Fatalf("DevBlocks64 n=%d block %d: q %g c %g, float64 %g %g", n, bl, q32, c32, q64, c64)
				}
			}

			got, want = make([]float32, n+1), make([]float32, n+1)
			ShiftScale(got, src, m, a, bb)
			shiftScaleGeneric(want, src, m, a, bb)
			same(t, "ShiftScale", n, got, want)
			for i, x := range src {
				if d := math.Abs(float64(want[i]) - ((float64(x)-float64(m))*float64(a) + float64(bb))); d > 1e-6 {
					t.Fatalf("ShiftScale n=%d: element %d off by %g", n, i, d)
				}
			}

			got, want = make([]float32, n+1), make([]float32, n+1)
			LayerNormRow(got, src, g, b, m, rest, inv)
			layerNormRowGeneric(want, src, g, b, m, rest, inv)
			same(t, "LayerNormRow", n, got, want)
			for i, x := range src {
				def := (float64(x)-float64(m)-float64(rest))*float64(inv)*float64(g[i]) + float64(b[i])
				if d := math.Abs(float64(want[i]) - def); d > 1e-5 {
					t.Fatalf("LayerNormRow n=%d: element %d off by %g", n, i, d)
				}
			}
		}
	})
}

func same(t *testing.T, what string, n int, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s n=%d: element %d = %v, twin %v", what, n, i, got[i], want[i])
		}
	}
}
