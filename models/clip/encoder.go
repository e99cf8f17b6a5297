package clip

import (
	"fmt"

	"github.com/godiffusion/godiffusion/tensor"
)

// Encoder turns prompts into UNet conditioning with one tokenizer and one
// text model.
type Encoder struct {
	Tokenizer *Tokenizer
	Model     *TextModel
	// Split is how weighted prompts longer than 75 tokens are cut (default SplitA1111).
	Split SplitMode
	// ZeroPad pads windows with id 0 instead of <|endoftext|> (OpenCLIP bigG
	// in SDXL); false is the SD1 / CLIP-L convention.
	ZeroPad bool
	// NoFinalNorm takes the clip-skip hidden state without the final
	// LayerNorm (SDXL: both towers give Hidden[Layers−1], i.e. clip skip 2,
	// raw). false is the SD1 / A1111 / ComfyUI convention (SkipState).
	NoFinalNorm bool
}

// encodeWindow encodes one window and returns the clip-skip context and
// the pooled output (projected when the model has a Projection).
func (e *Encoder) encodeWindow(ids []int, clipSkip int) (hidden, pooled *tensor.Tensor, err error) {
	o, err := e.Model.Forward(ids)
	if err != nil {
		return nil, nil, err
	}
	pooled = o.Pooled
	if o.TextEmbeds != nil {
		pooled = o.TextEmbeds
	}
	if !e.NoFinalNorm {
		hidden, err = e.Model.SkipState(o, clipSkip)
		return hidden, pooled, err
	}
	i := len(o.Hidden) - max(clipSkip, 1)
	if i < 0 {
		return nil, nil, fmt.Errorf("clip: clip skip %d exceeds the %d layers (+ embeddings) of the text model", clipSkip, len(o.Hidden)-1)
	}
	return o.Hidden[i], pooled, nil
}

func (e *Encoder) pad() int {
	if e.ZeroPad {
		return 0
	}
	return EOS
}

// EncodePrompt returns the context for prompt, [1, 77·chunks, D], and the
// pooled output [1, D] of the first chunk (Projection(pooled) [1, proj]
// when the model has a Projection), using clip skip clipSkip (see
// TextModel.SkipState; 0 or 1 = last layer; NoFinalNorm).
//
// raw: the text is tokenised literally into one window truncated to 75
// tokens (diffusers, and the reference fixtures). Otherwise the A1111
// syntax is parsed (ParsePrompt), the fragments are packed into 75-token
// chunks (Tokenizer.Chunks), each chunk is encoded on its own, and the
// weights are applied per chunk as A1111's "Original" emphasis:
//
//	z'[t] = z[t] · w[t];   z'' = z' · mean(z) / mean(z')
//
// (means over the whole [1, 77, D] chunk), then the chunks are
// concatenated along the tokens.
func (e *Encoder) EncodePrompt(prompt string, clipSkip int, raw bool) (hidden, pooled *tensor.Tensor, err error) {
	if raw {
		return e.encodeWindow(Window(e.Tokenizer.Encode(prompt), e.pad()), clipSkip)
	}
	chunks := e.Tokenizer.Chunks(ParsePrompt(prompt), e.Split, e.pad())
	zs := make([]*tensor.Tensor, len(chunks))
	for i, c := range chunks {
		z, p, err := e.encodeWindow(c.IDs, clipSkip)
		if err != nil {
			return nil, nil, fmt.Errorf("clip: chunk %d of %q: %w", i, prompt, err)
		}
		if i == 0 {
			pooled = p
		}
		ApplyEmphasis(z, c.Weights)
		zs[i] = z
	}
	if len(zs) == 1 {
		return zs[0], pooled, nil
	}
	return tensor.Concat(1, zs...), pooled, nil
}

// ApplyEmphasis weights a chunk's hidden states z [1, L, D] in place by
// per-token weights (len L), then rescales z so its mean is unchanged
// (A1111's "Original" emphasis). All-ones weights leave z untouched.
func ApplyEmphasis(z *tensor.Tensor, weights []float32) {
	allOne := true
	for _, w := range weights {
		allOne = allOne && w == 1
	}
	if allOne {
		return
	}
	D := z.Shape[len(z.Shape)-1]
	before := mean(z.Data)
	for t, w := range weights {
		row := z.Data[t*D : (t+1)*D]
		for i := range row {
			row[i] *= w
		}
	}
	after := mean(z.Data)
	if after == 0 {
		return
	}
	tensor.ScaleInPlace(z, float32(before/after))
}

// mean is the average of v, accumulated in float64.
func mean(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(len(v))
}
