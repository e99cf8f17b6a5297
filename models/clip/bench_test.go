package clip

import (
	"math/rand/v2"
	"testing"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// randomTextModel builds a model of the given config with random weights
// in memory (for benchmarks of real sizes without the real weights).
func randomTextModel(c Config) *TextModel {
	r := rand.New(rand.NewPCG(1, 2))
	vec := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = scale * float32(r.NormFloat64())
		}
		return v
	}
	lin := func(in, out int) *nn.Linear {
		return &nn.Linear{W: tensor.WeightFromFloat32(vec(in*out, 0.02), out, in), B: vec(out, 0.01)}
	}
	ln := func() *nn.LayerNorm {
		return &nn.LayerNorm{Gamma: vec(c.Hidden, 1), Beta: vec(c.Hidden, 0), Eps: c.Eps}
	}
	m := &TextModel{
		Config:            c,
		TokenEmbedding:    &nn.Embedding{W: tensor.WeightFromFloat32(vec(c.VocabSize*c.Hidden, 0.02), c.VocabSize, c.Hidden)},
		PositionEmbedding: &nn.Embedding{W: tensor.WeightFromFloat32(vec(c.MaxPositions*c.Hidden, 0.01), c.MaxPositions, c.Hidden)},
		FinalNorm:         ln(),
	}
	for range c.Layers {
		m.Layers = append(m.Layers, &EncoderLayer{
			Norm1: ln(), Norm2: ln(), Act: c.Act,
			Attn: &nn.Attention{Q: lin(c.Hidden, c.Hidden), K: lin(c.Hidden, c.Hidden), V: lin(c.Hidden, c.Hidden), Out: lin(c.Hidden, c.Hidden), Heads: c.Heads},
			FC1:  lin(c.Hidden, c.Intermediate), FC2: lin(c.Intermediate, c.Hidden),
		})
	}
	return m
}

// BenchmarkCLIPLForward times one 77-token window through a CLIP-L-sized
// model (12 layers, width 768; vocabulary cut to 1000 rows: the lookup
// cost does not depend on it).
func BenchmarkCLIPLForward(b *testing.B) {
	c := CLIPLConfig()
	c.VocabSize = 1000
	m := randomTextModel(c)
	ids := Window([]int{320, 500, 998}, 0)
	ids[0], ids[4] = 1, 999 // BOS/EOS ids of the reduced vocabulary
	for b.Loop() {
		if _, err := m.Forward(ids); err != nil {
			b.Fatal(err)
		}
	}
}
