package t5

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// Block is one T5 encoder layer: pre-norm self-attention with the shared
// relative bias, then a pre-norm gated-GELU feed-forward, each added to
// the residual stream.
type Block struct {
	AttnNorm   *nn.RMSNorm // layer.0.layer_norm
	Q, K, V, O *nn.Linear  // layer.0.SelfAttention.{q,k,v,o}, no biases
	FFNNorm    *nn.RMSNorm // layer.1.layer_norm
	Wi0, Wi1   *nn.Linear  // layer.1.DenseReluDense.wi_0 (gate), wi_1 (value)
	Wo         *nn.Linear  // layer.1.DenseReluDense.wo
}

// Encoder is the T5 v1.1 encoder stack (T5EncoderModel) that turns token
// ids into Flux's text context.
type Encoder struct {
	Config    Config
	Shared    *nn.Embedding // shared.weight [vocab, d_model]
	RelBias   []float32     // block 0's relative_attention_bias [buckets, heads], used by every block
	Blocks    []Block
	FinalNorm *nn.RMSNorm // encoder.final_layer_norm

	params *nn.Params // the mapped files, nil for NewRandom
}

// Close releases the mapped weight files; the Encoder must not be used
// afterwards.
func (e *Encoder) Close() error {
	if e.params == nil {
		return nil
	}
	err := e.params.Close()
	e.params = nil
	return err
}

// Forward returns last_hidden_state [1, L, d_model] for ids (L = len(ids)),
// with no attention mask: every token, padding included, attends to every
// other (the Flux convention of BFL's HFEmbedder and diffusers'
// FluxPipeline).
func (e *Encoder) Forward(ids []int) (*tensor.Tensor, error) {
	return e.forward(ids, nil)
}

// forward runs the encoder, calling each (when not nil) with the residual
// stream after every block.
func (e *Encoder) forward(ids []int, each func(block int, x *tensor.Tensor)) (*tensor.Tensor, error) {
	c := e.Config
	if len(ids) == 0 {
		return nil, fmt.Errorf("t5: no token ids (Encode gives at least </s>)")
	}
	for i, id := range ids {
		if id < 0 || id >= c.Vocab {
			return nil, fmt.Errorf("t5: token id %d at position %d outside the vocabulary of %d", id, i, c.Vocab)
		}
	}
	L := len(ids)
	x := e.Shared.Forward(ids).Reshape(1, L, c.DModel)
	opt := tensor.AttentionOptions{Scale: 1, RelBias: e.positionBias(L)}
	for i := range e.Blocks {
		e.Blocks[i].forward(x, c.Heads, opt)
		if each != nil {
			each(i, x)
		}
	}
	return e.FinalNorm.Forward(x), nil
}

// forward updates the residual stream x [1, L, d_model] in place:
//
//	x += O(Attention(Q h, K h, V h; scale 1, relative bias)),  h = RMSNorm₀(x)
//	x += Wo(gelu_tanh(Wi0 h) ⊙ Wi1 h),                         h = RMSNorm₁(x)
func (b *Block) forward(x *tensor.Tensor, heads int, opt tensor.AttentionOptions) {
	h := b.AttnNorm.Forward(x)
	a := tensor.AttentionWith(b.Q.Forward(h), b.K.Forward(h), b.V.Forward(h), heads, opt)
	tensor.AddInPlace(x, b.O.Forward(a))

	h = b.FFNNorm.Forward(x)
	g := b.Wi0.Forward(h)
	tensor.GELUTanhInPlace(g)
	tensor.MulInPlace(g, b.Wi1.Forward(h))
	tensor.AddInPlace(x, b.Wo.Forward(g))
}

// GFLOPs is the work of one forward pass over L tokens, in 10⁹ floating
// point operations (a multiply-add counts 2): per layer the four
// projections 4·2·L·d_model·H·d_kv, the scores and the weighted sum
// 2·2·L²·H·d_kv, and the feed-forward 3·2·L·d_model·d_ff. Norms, softmax
// and activations are left out.
func (c Config) GFLOPs(L int) float64 {
	l, d, inner, ff := float64(L), float64(c.DModel), float64(c.Heads*c.DKV), float64(c.DFF)
	perLayer := 8*l*d*inner + 4*l*l*inner + 6*l*d*ff
	return float64(c.Layers) * perLayer / 1e9
}
