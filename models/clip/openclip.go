package clip

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// PrefixSDXLBigG is where SDXL single-file checkpoints keep the OpenCLIP
// ViT-bigG text tower.
const PrefixSDXLBigG = "conditioner.embedders.1.model."

var resblockKey = regexp.MustCompile(`^transformer\.resblocks\.(\d+)\.`)

// LoadOpenCLIPTextModel loads a text tower stored in OpenCLIP's layout
// under prefix (SDXL's bigG: PrefixSDXLBigG):
//
//	token_embedding.weight [V, D], positional_embedding [P, D],
//	transformer.resblocks.N.{ln_1, attn.in_proj_weight [3D, D] (q ‖ k ‖ v rows),
//	attn.in_proj_bias [3D], attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj},
//	ln_final, text_projection [D, proj] (applied as x·text_projection)
//
// into the same TextModel as the HF layout (the fused projection is split
// into Q, K, V; text_projection becomes Projection). The activation is
// exact GELU and the epsilon 1e-5 (OpenCLIP's defaults); heads as in
// InferConfig (0 = HeadsForWidth).
func LoadOpenCLIPTextModel(p *nn.Params, prefix string, heads int) (*TextModel, error) {
	q := p.Sub(prefix)
	tok, pos, fc := q.Shape("token_embedding.weight"), q.Shape("positional_embedding"), q.Shape("transformer.resblocks.0.mlp.c_fc.weight")
	if len(tok) != 2 || len(pos) != 2 || len(fc) != 2 {
		return nil, fmt.Errorf("clip: no OpenCLIP text model under prefix %q (need token_embedding.weight, positional_embedding, transformer.resblocks.0.mlp.c_fc.weight)", p.Prefix()+prefix)
	}
	c := Config{VocabSize: tok[0], MaxPositions: pos[0], Hidden: tok[1], Intermediate: fc[0], Heads: heads, Act: "gelu", Eps: 1e-5}
	for _, name := range allNames(q) {
		if full := q.Prefix(); len(name) > len(full) && name[:len(full)] == full {
			if m := resblockKey.FindStringSubmatch(name[len(full):]); m != nil {
				i, _ := strconv.Atoi(m[1])
				c.Layers = max(c.Layers, i+1)
			}
		}
	}
	if c.Heads <= 0 {
		c.Heads = HeadsForWidth(c.Hidden)
	}
	if c.Heads <= 0 {
		return nil, fmt.Errorf("clip: cannot tell the number of attention heads of an OpenCLIP text model of width %d under %q: pass it explicitly", c.Hidden, p.Prefix()+prefix)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	D := c.Hidden
	m := &TextModel{
		Config:            c,
		TokenEmbedding:    nn.LoadEmbedding(q, "token_embedding.", c.VocabSize, D),
		PositionEmbedding: &nn.Embedding{W: q.Weight("positional_embedding", c.MaxPositions, D)},
	}
	for i := range c.Layers {
		l := q.Sub(fmt.Sprintf("transformer.resblocks.%d.", i))
		qkv := splitRows(l, l.Weight("attn.in_proj_weight", 3*D, D), 3)
		bias := l.F32("attn.in_proj_bias", 3*D)
		attn := &nn.Attention{Out: nn.LoadLinear(l, "attn.out_proj.", D, D, true), Heads: c.Heads}
		if qkv != nil && bias != nil {
			attn.Q = &nn.Linear{W: qkv[0], B: bias[:D]}
			attn.K = &nn.Linear{W: qkv[1], B: bias[D : 2*D]}
			attn.V = &nn.Linear{W: qkv[2], B: bias[2*D:]}
		}
		m.Layers = append(m.Layers, &EncoderLayer{
			Norm1: nn.LoadLayerNorm(l, "ln_1.", D, c.Eps),
			Attn:  attn,
			Norm2: nn.LoadLayerNorm(l, "ln_2.", D, c.Eps),
			FC1:   nn.LoadLinear(l, "mlp.c_fc.", D, c.Intermediate, true),
			FC2:   nn.LoadLinear(l, "mlp.c_proj.", c.Intermediate, D, true),
			Act:   c.Act,
		})
	}
	m.FinalNorm = nn.LoadLayerNorm(q, "ln_final.", D, c.Eps)
	if s := q.Shape("text_projection"); len(s) == 2 && s[0] == D {
		if w := q.Weight("text_projection", D, s[1]); w != nil {
			// x·P with P [D, proj] is a Linear with weight Pᵀ [proj, D].
			m.Projection = &nn.Linear{W: tensor.WeightFromFloat32(transpose(w.Float32(), D, s[1]), s[1], D)}
		}
	}
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("clip OpenCLIP text model: %w", err)
	}
	return m, nil
}

// splitRows cuts w [n·rows, cols] into n weights of [rows, cols] that share
// its storage. nil in, nil out.
func splitRows(p *nn.Params, w *tensor.Weight, n int) []*tensor.Weight {
	if w == nil {
		return nil
	}
	rows, cols := w.Shape[0]/n, w.Shape[1]
	out := make([]*tensor.Weight, n)
	for i := range out {
		if w.Raw == nil {
			out[i] = tensor.WeightFromFloat32(w.Float32()[i*rows*cols:(i+1)*rows*cols], rows, cols)
			continue
		}
		sz := rows * cols * w.DType.Size()
		v, err := tensor.NewWeight(w.DType, []int{rows, cols}, w.Raw[i*sz:(i+1)*sz])
		if err != nil {
			p.Fail(err)
			return nil
		}
		out[i] = v
	}
	return out
}

// transpose returns the [cols, rows] transpose of a row-major [rows, cols] matrix.
func transpose(a []float32, rows, cols int) []float32 {
	t := make([]float32, len(a))
	for r := range rows {
		for c := range cols {
			t[c*rows+r] = a[r*cols+c]
		}
	}
	return t
}
