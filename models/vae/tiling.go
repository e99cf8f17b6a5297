package vae

import (
	"github.com/godiffusion/godiffusion/tensor"
)

// Tiling says when and how Decode splits a large latent into overlapping
// tiles, so that memory is bounded by the tile size rather than the image
// size. The tiles are decoded independently and blended with linear ramps
// across each overlap. Because every tile normalises with its own GroupNorm
// statistics the result is close to, but not exactly, the whole decode; it
// is exact when one tile covers the whole latent.
type Tiling struct {
	// Mode: TileAuto tiles latents with more than AutoArea positions,
	// TileNever never tiles, TileAlways always does.
	Mode TileMode
	// TileSize is the side of a latent tile (image tile = 8·TileSize).
	TileSize int
	// Overlap is the minimum number of latent rows/columns shared by
	// neighbouring tiles.
	Overlap int
	// AutoArea is the largest latent h·w decoded whole in TileAuto mode.
	AutoArea int
}

// TileMode selects when Decode tiles.
type TileMode int

const (
	TileAuto   TileMode = iota // tile latents with more than Tiling.AutoArea positions
	TileNever                  // always decode whole
	TileAlways                 // always tile (a latent no larger than a tile is still exact)
)

// DefaultTiling: 64×64 latent tiles (512×512 pixels) overlapping by 16,
// used for latents larger than 128×128 (1024×1024 pixels, SDXL's size).
// Up to that size the whole decode is exact and the faster one: at
// 1024×1024 it took 62 s and a 3.3 GB peak, tiled 124 s and 1.0 GB (nine
// overlapping tiles; SDXL VAE, f16, 2 threads) — and an SDXL run has
// already needed more for its UNet.
func DefaultTiling() Tiling {
	return Tiling{Mode: TileAuto, TileSize: 64, Overlap: 16, AutoArea: 128 * 128}
}

func (t Tiling) use(h, w int) bool {
	switch t.Mode {
	case TileNever:
		return false
	case TileAlways:
		return true
	}
	return h*w > t.AutoArea
}

// tileStarts places k = ⌈(n − overlap)/(tile − overlap)⌉ tiles of length
// tile evenly over [0, n), first at 0 and last ending at n, so neighbours
// share at least overlap positions. One tile at 0 when tile ≥ n.
func tileStarts(n, tile, overlap int) []int {
	if tile >= n {
		return []int{0}
	}
	if overlap >= tile {
		overlap = tile - 1
	}
	k := (n - overlap + tile - overlap - 1) / (tile - overlap)
	if k < 2 {
		k = 2
	}
	starts := make([]int, k)
	for i := range starts {
		// round(i·(n−tile)/(k−1)) in integers
		starts[i] = (2*i*(n-tile) + (k - 1)) / (2 * (k - 1))
	}
	return starts
}

// rampWeights returns, for every tile along one axis (image coordinates,
// tiles [starts[i], starts[i]+size)), the blending weight of each of its
// positions: 1 inside, rising linearly as (j+½)/ov over the ov positions it
// shares with the previous tile and falling likewise towards the next, so
// that across a two-tile overlap the weights sum to exactly 1 (a linear
// cross-fade). The decoder normalises by the summed weights anyway.
func rampWeights(starts []int, size int) [][]float32 {
	out := make([][]float32, len(starts))
	for i, a := range starts {
		w := make([]float32, size)
		for j := range w {
			w[j] = 1
		}
		if i > 0 {
			if ov := starts[i-1] + size - a; ov > 0 {
				for j := 0; j < ov && j < size; j++ {
					w[j] = min(w[j], (float32(j)+0.5)/float32(ov))
				}
			}
		}
		if i < len(starts)-1 {
			if ov := a + size - starts[i+1]; ov > 0 {
				for j := 0; j < ov && j < size; j++ {
					w[size-1-j] = min(w[size-1-j], (float32(j)+0.5)/float32(ov))
				}
			}
		}
		out[i] = w
	}
	return out
}

// DecodeTiled decodes latentScaled [B, C, h, w] in overlapping tile×tile
// latent tiles (tile is clipped to the latent's size) and blends them:
//
//	image(p) = Σ_t w_t(p)·decode(tile_t)(p) / Σ_t w_t(p),   w_t = ramp_y · ramp_x
//
// Peak memory is one tile's decode plus the output image and a weight map.
func (v *VAE) DecodeTiled(latentScaled *tensor.Tensor, tile, overlap int) *tensor.Tensor {
	v.checkInput("DecodeTiled", latentScaled, v.Config.LatentChannels)
	return blendTiles(latentScaled, tile, overlap, v.Config.Factor(), v.Config.OutChannels, v.DecodeWhole)
}

// blendTiles runs decode (latent [B, C, th, tw] → image [B, oc, f·th, f·tw])
// on overlapping tiles of latent and blends the results (see DecodeTiled).
func blendTiles(latentScaled *tensor.Tensor, tile, overlap, f, oc int, decode func(*tensor.Tensor) *tensor.Tensor) *tensor.Tensor {
	if tile < 1 {
		tile = DefaultTiling().TileSize
	}
	if overlap < 0 {
		overlap = 0
	}
	b, c, h, w := latentScaled.Shape[0], latentScaled.Shape[1], latentScaled.Shape[2], latentScaled.Shape[3]
	th, tw := min(tile, h), min(tile, w)
	ys, xs := tileStarts(h, th, overlap), tileStarts(w, tw, overlap)
	imgYs, imgXs := scaled(ys, f), scaled(xs, f)
	wy, wx := rampWeights(imgYs, th*f), rampWeights(imgXs, tw*f)

	H, W := h*f, w*f
	out := tensor.New(b, oc, H, W)
	wsum := make([]float32, H*W)
	crop := tensor.New(b, c, th, tw)
	for iy, y0 := range ys {
		for ix, x0 := range xs {
			for n := 0; n < b; n++ {
				for ch := 0; ch < c; ch++ {
					for y := 0; y < th; y++ {
						src := latentScaled.Data[((n*c+ch)*h+y0+y)*w+x0:]
						copy(crop.Data[((n*c+ch)*th+y)*tw:((n*c+ch)*th+y+1)*tw], src[:tw])
					}
				}
			}
			img := decode(crop)
			TH, TW := th*f, tw*f
			Y0, X0 := imgYs[iy], imgXs[ix]
			for y := 0; y < TH; y++ {
				for x := 0; x < TW; x++ {
					wsum[(Y0+y)*W+X0+x] += wy[iy][y] * wx[ix][x]
				}
			}
			tensor.Parallel(b*oc, 1, func(lo, hi int) {
				for nc := lo; nc < hi; nc++ {
					for y := 0; y < TH; y++ {
						dst := out.Data[(nc*H+Y0+y)*W+X0:]
						src := img.Data[(nc*TH+y)*TW:]
						ry := wy[iy][y]
						for x := 0; x < TW; x++ {
							dst[x] += ry * wx[ix][x] * src[x]
						}
					}
				}
			})
		}
	}
	tensor.Parallel(b*oc, 1, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			d := out.Data[nc*H*W : (nc+1)*H*W]
			for i := range d {
				d[i] /= wsum[i]
			}
		}
	})
	return out
}

func scaled(s []int, f int) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = v * f
	}
	return out
}
