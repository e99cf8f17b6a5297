package clip

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// TextModel is the CLIP text transformer (HF CLIPTextModel semantics).
type TextModel struct {
	Config            Config
	TokenEmbedding    *nn.Embedding // [vocab, D]
	PositionEmbedding *nn.Embedding // [positions, D]
	Layers            []*EncoderLayer
	FinalNorm         *nn.LayerNorm
	// Projection maps the pooled output to the joint image-text space
	// (HF CLIPTextModelWithProjection text_projection, OpenCLIP
	// text_projection; SDXL's bigG pooled conditioning). nil when the
	// checkpoint has none or the model does not use it (SD1).
	Projection *nn.Linear

	params *nn.Params // set when the model opened its own files (see Close)
}

// EncoderLayer is one pre-LN transformer block:
//
//	h = h + out_proj(causal_self_attention(q_proj, k_proj, v_proj of layer_norm1(h)))
//	h = h + fc2(act(fc1(layer_norm2(h))))
type EncoderLayer struct {
	Norm1, Norm2 *nn.LayerNorm
	Attn         *nn.Attention // Q, K, V, Out with biases; causal
	FC1, FC2     *nn.Linear
	Act          string // "quick_gelu" or "gelu"
}

// Forward applies the block to h [1, L, D] and returns the new state.
func (l *EncoderLayer) Forward(h *tensor.Tensor) *tensor.Tensor {
	h = tensor.Add(h, l.Attn.Forward(l.Norm1.Forward(h), nil, true))
	m := l.FC1.Forward(l.Norm2.Forward(h))
	if l.Act == "gelu" {
		tensor.GELUInPlace(m)
	} else {
		tensor.QuickGELUInPlace(m) // x·σ(1.702x)
	}
	tensor.AddInPlace(h, l.FC2.Forward(m))
	return h
}

// Output holds what one forward pass computes.
type Output struct {
	// Hidden[0] is token + position embedding, Hidden[i] the output of
	// layer i (before the final LayerNorm), i = 1..Layers; each [1, L, D].
	Hidden []*tensor.Tensor
	// Last = final_layer_norm(Hidden[Layers]), HF last_hidden_state: SD1's context.
	Last *tensor.Tensor
	// EOSIndex is the position of the first largest id (the first
	// <|endoftext|>); Pooled [1, D] is Last at that position (HF pooler_output).
	EOSIndex int
	Pooled   *tensor.Tensor
	// TextEmbeds = Projection(Pooled) [1, proj] when the model has a
	// Projection (SDXL's pooled bigG conditioning), else nil.
	TextEmbeds *tensor.Tensor
}

// Forward runs the transformer on one token sequence (length ≤
// MaxPositions; SD uses 77-token windows from Window).
func (m *TextModel) Forward(ids []int) (*Output, error) {
	c := m.Config
	if len(ids) == 0 || len(ids) > c.MaxPositions {
		return nil, fmt.Errorf("clip: %d token ids, the model takes 1 to %d", len(ids), c.MaxPositions)
	}
	eos := 0
	positions := make([]int, len(ids))
	for i, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return nil, fmt.Errorf("clip: token id %d at position %d outside the vocabulary of %d", id, i, c.VocabSize)
		}
		if id > ids[eos] {
			eos = i
		}
		positions[i] = i
	}
	h := m.TokenEmbedding.Forward(ids)
	tensor.AddInPlace(h, m.PositionEmbedding.Forward(positions))
	h = h.Reshape(1, len(ids), c.Hidden)
	out := &Output{Hidden: []*tensor.Tensor{h}, EOSIndex: eos}
	for _, l := range m.Layers {
		h = l.Forward(h)
		out.Hidden = append(out.Hidden, h)
	}
	out.Last = m.FinalNorm.Forward(h)
	out.Pooled = tensor.FromData(append([]float32(nil), out.Last.Data[eos*c.Hidden:(eos+1)*c.Hidden]...), 1, c.Hidden)
	if m.Projection != nil {
		out.TextEmbeds = m.Projection.Forward(out.Pooled)
	}
	return out, nil
}

// SkipState returns the context for "CLIP skip" n as A1111 and ComfyUI
// define it: final_layer_norm(Hidden[Layers+1−n]). n ≤ 1 gives Last (the
// last layer), n = 2 the penultimate layer with the final LayerNorm
// applied. (SDXL instead uses Hidden[Layers−1] without the final norm.)
func (m *TextModel) SkipState(o *Output, n int) (*tensor.Tensor, error) {
	if n <= 1 {
		return o.Last, nil
	}
	i := len(o.Hidden) - n
	if i < 0 {
		return nil, fmt.Errorf("clip: clip skip %d exceeds the %d layers (+ embeddings) of the text model", n, len(o.Hidden)-1)
	}
	return m.FinalNorm.Forward(o.Hidden[i]), nil
}

// Encode runs Forward and returns the context for clip skip n ([1, L, D],
// see SkipState) and the pooled output [1, D].
func (m *TextModel) Encode(ids []int, clipSkip int) (hidden, pooled *tensor.Tensor, err error) {
	o, err := m.Forward(ids)
	if err != nil {
		return nil, nil, err
	}
	hidden, err = m.SkipState(o, clipSkip)
	return hidden, o.Pooled, err
}

// Close releases the files the model was loaded from when it opened them
// itself (LoadTextEncoder, LoadReplacement); the model must not be used
// afterwards. It is a no-op for models loaded from caller-owned Params.
func (m *TextModel) Close() error {
	if m.params == nil {
		return nil
	}
	err := m.params.Close()
	m.params = nil
	return err
}
