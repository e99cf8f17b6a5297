package fluxnet

import (
	"fmt"

	"github.com/godiffusion/godiffusion/tensor"
)

// LatentSize returns the latent height and width for an image of height ×
// width pixels, as BFL get_noise: 2·ceil(H/16) × 2·ceil(W/16) (the
// autoencoder downsamples 8×, the transformer packs 2×2 patches).
func LatentSize(height, width int) (h, w int) {
	return 2 * ((height + 15) / 16), 2 * ((width + 15) / 16)
}

// Pack turns a latent [B, C, h, w] (h, w even) into tokens
// [B, (h/2)·(w/2), 4·C], one per 2×2 patch in row-major order, channel-major
// inside the patch (BFL prepare, rearrange "b c (h ph) (w pw) -> b (h w)
// (c ph pw)"): token (i, j) channel c·4 + ph·2 + pw is latent[c, 2i+ph, 2j+pw].
func Pack(latent *tensor.Tensor) (*tensor.Tensor, error) {
	s := latent.Shape
	if len(s) != 4 || s[2]%2 != 0 || s[3]%2 != 0 {
		return nil, fmt.Errorf("fluxnet: latent %s is not [B, C, h, w] with even h and w", tensor.ShapeString(s))
	}
	b, c, h, w := s[0], s[1], s[2], s[3]
	out := tensor.New(b, (h/2)*(w/2), 4*c)
	patch(latent.Data, out.Data, b, c, h, w, true)
	return out, nil
}

// Unpack is the inverse of Pack: tokens [B, (h/2)·(w/2), 4·C] to the
// latent [B, C, h, w] (BFL unpack, with h, w from LatentSize).
func Unpack(x *tensor.Tensor, h, w int) (*tensor.Tensor, error) {
	s := x.Shape
	if len(s) != 3 || h%2 != 0 || w%2 != 0 || s[1] != (h/2)*(w/2) || s[2]%4 != 0 {
		return nil, fmt.Errorf("fluxnet: tokens %s do not unpack to a %d×%d latent ([B, %d, 4·C] expected)", tensor.ShapeString(s), h, w, (h/2)*(w/2))
	}
	b, c := s[0], s[2]/4
	out := tensor.New(b, c, h, w)
	patch(out.Data, x.Data, b, c, h, w, false)
	return out, nil
}

// patch copies between a latent and its tokens: latent → tokens when
// toTokens, tokens → latent otherwise.
func patch(latent, tokens []float32, b, c, h, w int, toTokens bool) {
	gw := w / 2
	n := (h / 2) * gw
	for bi := range b {
		for ci := range c {
			for y := range h {
				for x := range w {
					li := ((bi*c+ci)*h+y)*w + x
					ti := (bi*n+(y/2)*gw+x/2)*4*c + ci*4 + (y%2)*2 + x%2
					if toTokens {
						tokens[ti] = latent[li]
					} else {
						latent[li] = tokens[ti]
					}
				}
			}
		}
	}
}

// ImageIDs returns the positions of the tokens of an h × w latent,
// [(h/2)·(w/2), 3]: [0, row, col] for patch (row, col), row-major (BFL
// prepare's img_ids).
func ImageIDs(h, w int) *tensor.Tensor {
	gh, gw := h/2, w/2
	ids := tensor.New(gh*gw, 3)
	for i := range gh {
		for j := range gw {
			r := ids.Data[(i*gw+j)*3:]
			r[1], r[2] = float32(i), float32(j)
		}
	}
	return ids
}

// TextIDs returns the positions of l text tokens, [l, 3] zeros: text
// tokens all sit at the origin, so RoPE leaves them unrotated.
func TextIDs(l int) *tensor.Tensor { return tensor.New(l, 3) }

// Velocity runs the model on an unpacked latent [B, C, h, w] at flow time
// t with text tokens txt [B, L, ContextInDim] and pooled vectors
// y [B, VecInDim] (per batch item, e.g. [positive, negative] for true CFG
// in one batch) and distilled guidance g (ignored without a guidance
// embedding): Pack, ImageIDs/TextIDs, Forward, Unpack. It returns the
// velocity as a latent [B, C, h, w].
func (m *Model) Velocity(latent *tensor.Tensor, t float64, txt, y *tensor.Tensor, guidance float64) (*tensor.Tensor, error) {
	img, err := Pack(latent)
	if err != nil {
		return nil, err
	}
	if len(txt.Shape) != 3 {
		return nil, fmt.Errorf("fluxnet: txt is %s, expected [B, L, %d]", tensor.ShapeString(txt.Shape), m.Config.ContextInDim)
	}
	b, h, w := latent.Shape[0], latent.Shape[2], latent.Shape[3]
	ts, gs := make([]float32, b), make([]float32, b)
	for i := range b {
		ts[i], gs[i] = float32(t), float32(guidance)
	}
	out, err := m.Forward(img, ImageIDs(h, w), txt, TextIDs(txt.Shape[1]), y, ts, gs)
	if err != nil {
		return nil, err
	}
	return Unpack(out, h, w)
}
