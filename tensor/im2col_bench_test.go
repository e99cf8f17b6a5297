package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkIm2col packs the whole B operand of a 3×3, stride 1, pad 1
// convolution (the UNet's and VAE's common case) in the GEMM's blocks:
// kcMax deep, ncMax pixels, panels of 32 pixels.
func BenchmarkIm2col(b *testing.B) {
	for _, s := range []struct{ c, hw int }{{320, 64}, {1280, 16}, {1280, 8}, {128, 256}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.c, s.hw, s.hw), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			in := randFloats(r, s.c*s.hw*s.hw)
			pix, k, tile := s.hw*s.hw, s.c*9, 32
			pack := packIm2col(in, s.hw, s.hw, 3, 3, 1, 1, s.hw)
			dst := make([]float32, (ncMax+tile)*kcMax)
			for b.Loop() {
				for j0 := 0; j0 < pix; j0 += ncMax {
					rows := min(ncMax, pix-j0)
					for p0 := 0; p0 < k; p0 += kcMax {
						pack(dst, j0, rows, p0, min(kcMax, k-p0), tile, nil)
					}
				}
			}
			b.ReportMetric(float64(pix*k*4)/1e9/(b.Elapsed().Seconds()/float64(b.N)), "GB/s")
		})
	}
}
