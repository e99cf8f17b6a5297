package unet

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// SDXLVector assembles the added-conditioning input y of an SDXL-style
// ("text_time") UNet: for each sample b,
//
//	y[b] = pooled[b] ‖ emb(timeIDs[b][0]) ‖ … ‖ emb(timeIDs[b][5])
//
// where pooled [B, P] is the pooled text embedding, timeIDs [B, 6] are
// (orig_h, orig_w, crop_top, crop_left, target_h, target_w) in pixels, and
// emb is the AdditionTimeEmbedDim-wide sinusoidal embedding with the
// model's flip/shift (diffusers add_time_proj). The result has
// ProjectionClassEmbeddingsInputDim = P + 6·AdditionTimeEmbedDim columns.
func (c *Config) SDXLVector(pooled *tensor.Tensor, timeIDs [][]float32) (*tensor.Tensor, error) {
	if c.AdditionEmbedType != "text_time" || c.AdditionTimeEmbedDim <= 0 {
		return nil, fmt.Errorf("unet: SDXLVector needs a text_time model with addition_time_embed_dim")
	}
	if len(pooled.Shape) != 2 || pooled.Shape[0] != len(timeIDs) {
		return nil, fmt.Errorf("unet: pooled %v for %d time_ids rows", pooled.Shape, len(timeIDs))
	}
	b, p, d := pooled.Shape[0], pooled.Shape[1], c.AdditionTimeEmbedDim
	if want := p + 6*d; want != c.ProjectionClassEmbeddingsInputDim {
		return nil, fmt.Errorf("unet: pooled width %d + 6·%d = %d, model expects %d", p, d, want, c.ProjectionClassEmbeddingsInputDim)
	}
	flat := make([]float32, 0, 6*b)
	for i, row := range timeIDs {
		if len(row) != 6 {
			return nil, fmt.Errorf("unet: time_ids row %d has %d values, want 6", i, len(row))
		}
		flat = append(flat, row...)
	}
	emb := nn.TimestepEmbedding(flat, d, c.FlipSinToCos, c.FreqShift, 1, 10000) // [6B, d]
	y := tensor.New(b, p+6*d)
	for i := range b {
		row := y.Data[i*(p+6*d) : (i+1)*(p+6*d)]
		copy(row, pooled.Data[i*p:(i+1)*p])
		copy(row[p:], emb.Data[i*6*d:(i+1)*6*d])
	}
	return y, nil
}
