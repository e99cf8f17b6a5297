package vae

import (
	"fmt"
	"math"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/tensor"
)

// TestTiledDecode compares a tiled decode of the real (tiny) network with
// the whole decode. Every tile normalises with its own GroupNorm statistics
// and attends only within itself, so the two differ; the difference shrinks
// as tiles grow (measured on a 24×32 latent, |image| rms 0.73: tile 8 → max
// 1.0, tile 12 → 0.63, tile 16 → 0.36, tile 24 → 0.12). The bound below is
// that measurement with a margin; placement and blending themselves are
// checked exactly by TestBlendTilesExact.
func TestTiledDecode(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes several tiles; blending is covered by TestBlendTilesExact")
	}
	f := golden.Open(t, "sd1/vae.safetensors")
	v := loadAll(t)[0].vae
	// A 12×20 latent built from the fixture latent, tiled by 12 with overlap 4.
	src := fixture(t, f, "dec_8x8.latent_scaled")
	lat := tensor.New(1, 4, 12, 20)
	for c := 0; c < 4; c++ {
		for y := 0; y < 12; y++ {
			for x := 0; x < 20; x++ {
				lat.Data[(c*12+y)*20+x] = src.Data[(c*8+(y*5)%8)*8+(x*3)%8]
			}
		}
	}
	whole := v.DecodeWhole(lat)
	tiled := v.DecodeTiled(lat, 12, 4)
	maxAbs, _, _ := golden.Diff(tiled.Data, whole.Data, 0, 0)
	var meanAbs float64
	for i := range whole.Data {
		meanAbs += math.Abs(float64(tiled.Data[i] - whole.Data[i]))
	}
	meanAbs /= float64(len(whole.Data))
	t.Logf("tiled (12, overlap 4) vs whole decode of a 12×20 latent: max |diff| %.3g, mean |diff| %.3g", maxAbs, meanAbs)
	if maxAbs > 0.8 || meanAbs > 0.08 {
		t.Errorf("tiled decode too far from whole decode: max %.3g, mean %.3g", maxAbs, meanAbs)
	}
	// A tile covering the whole latent goes through the blending code and
	// must reproduce the whole decode exactly.
	one := v.DecodeTiled(lat, 32, 8)
	assertTensor(t, "single-tile DecodeTiled vs DecodeWhole", one, whole, 0)
	// Decode tiles on its own only above the threshold.
	auto := Tiling{Mode: TileAuto, TileSize: 12, Overlap: 4, AutoArea: 12 * 20}
	if auto.use(12, 20) || !auto.use(12, 21) || (Tiling{Mode: TileNever}).use(1000, 1000) || !(Tiling{Mode: TileAlways}).use(1, 1) {
		t.Error("Tiling.use: wrong decision")
	}
}

// TestBlendTilesExact checks tile placement and blending with a local,
// translation-equivariant stand-in for the decoder (nearest ×8 upsampling
// of a latent channel mix): tiling it must reproduce the whole result up to
// the rounding of the weight normalisation.
func TestBlendTilesExact(t *testing.T) {
	const f = 8
	up := func(x *tensor.Tensor) *tensor.Tensor {
		b, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		out := tensor.New(b, 3, f*h, f*w)
		for n := 0; n < b; n++ {
			for o := 0; o < 3; o++ {
				for y := 0; y < f*h; y++ {
					for xx := 0; xx < f*w; xx++ {
						var s float32
						for ch := 0; ch < c; ch++ {
							s += float32(o+ch+1) * x.Data[((n*c+ch)*h+y/f)*w+xx/f]
						}
						out.Data[((n*3+o)*f*h+y)*f*w+xx] = s
					}
				}
			}
		}
		return out
	}
	lat := tensor.New(2, 4, 13, 22)
	for i := range lat.Data {
		lat.Data[i] = float32(math.Sin(float64(i) * 0.37))
	}
	want := up(lat)
	for _, c := range [][2]int{{8, 3}, {5, 1}, {13, 4}, {22, 0}, {4, 2}} {
		got := blendTiles(lat, c[0], c[1], f, 3, up)
		if !tensor.SameShape(got, want) {
			t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
		}
		// Σ w·x / Σ w of equal x: exact up to a few ulps.
		golden.AssertClose(t, fmt.Sprintf("tile %d overlap %d", c[0], c[1]), got.Data, want.Data, 0, 1e-6)
	}
}

func TestTileStarts(t *testing.T) {
	for _, c := range []struct{ n, tile, overlap int }{{12, 8, 3}, {20, 8, 3}, {64, 64, 16}, {100, 64, 16}, {57, 32, 8}, {200, 64, 16}, {65, 64, 16}} {
		s := tileStarts(c.n, c.tile, c.overlap)
		if s[0] != 0 || s[len(s)-1]+min(c.tile, c.n) != c.n {
			t.Errorf("%+v: starts %v do not cover [0, %d)", c, s, c.n)
		}
		for i := 1; i < len(s); i++ {
			if ov := s[i-1] + c.tile - s[i]; ov < c.overlap {
				t.Errorf("%+v: starts %v overlap only %d", c, s, ov)
			}
		}
		w := rampWeights(s, min(c.tile, c.n))
		sum := make([]float32, c.n)
		for i, a := range s {
			for j, x := range w[i] {
				sum[a+j] += x
			}
		}
		for p, x := range sum {
			if x <= 0 {
				t.Errorf("%+v: zero weight at %d", c, p)
			}
		}
	}
}
