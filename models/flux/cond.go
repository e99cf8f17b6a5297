package flux

import (
	"errors"
	"fmt"
	"slices"

	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/t5"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// Conditioner is Flux's pipeline.Conditioner: for each prompt
//
//	txt = T5-XXL(t5 ids)   [1, MaxLength, 4096]   (last_hidden_state, no attention mask)
//	y   = CLIP-L(clip ids) pooled                  [1, 768]    (no text projection)
//
// with the T5 ids padded to exactly MaxLength (512 dev, 256 schnell) and the
// CLIP ids one 77-token window ([BOS] + 75 tokens + [EOS], padded with EOS;
// longer prompts are cut, as BFL and diffusers do; prompts are taken
// literally, without A1111 weighting). The negative prompt is encoded the
// same way ("" is a prompt like any other) unless Request.ZeroNegative asks
// for zeros. The encoders are loaded when needed and, with Free, released
// after each encoding, so they never coexist with the transformer's
// activations; the last encodings are cached.
type Conditioner struct {
	T5Tokenizer   *t5.Tokenizer
	ClipTokenizer *clip.Tokenizer
	MaxLength     int // T5 sequence length
	// LoadT5 and LoadClip (re)open the encoders.
	LoadT5   func() (*t5.Encoder, error)
	LoadClip func() (*clip.TextModel, error)
	// Free releases the encoders after every encoding.
	Free bool

	t5Model   *t5.Encoder
	clipModel *clip.TextModel
	cache     map[string]sampling.Cond
}

// maxCached bounds the prompt cache.
const maxCached = 4

// Condition returns the conditioning of req's prompt and, unless the CFG
// scale is 1, of its negative prompt.
func (c *Conditioner) Condition(req *pipeline.Request) (cond, uncond sampling.Cond, err error) {
	texts := []string{req.Prompt}
	needUncond := !sampling.SkipsUncond(req.CFG)
	if needUncond && !req.ZeroNegative {
		texts = append(texts, req.Negative)
	}
	conds, err := c.encode(texts)
	if err != nil {
		return cond, uncond, err
	}
	cond = conds[0]
	switch {
	case !needUncond:
	case req.ZeroNegative:
		uncond = pipeline.ZeroCond(cond)
	default:
		uncond = conds[1]
	}
	return cond, uncond, nil
}

// encode returns the conditioning of each text, from the cache or by
// running T5 over all missing texts, then CLIP-L over them (so each
// encoder is loaded at most once).
func (c *Conditioner) encode(texts []string) ([]sampling.Cond, error) {
	if c.cache == nil {
		c.cache = map[string]sampling.Cond{}
	}
	var missing []string
	for _, s := range texts {
		if _, ok := c.cache[s]; !ok && !slices.Contains(missing, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		if len(c.cache)+len(missing) > maxCached {
			clear(c.cache)
		}
		txt, err := c.encodeT5(missing)
		if err != nil {
			return nil, err
		}
		y, err := c.encodeClip(missing)
		if err != nil {
			return nil, err
		}
		for i, s := range missing {
			c.cache[s] = sampling.Cond{Context: txt[i], Y: y[i]}
		}
	}
	out := make([]sampling.Cond, len(texts))
	for i, s := range texts {
		out[i] = c.cache[s]
	}
	return out, nil
}

// encodeT5 returns T5's last_hidden_state [1, MaxLength, D] for each text.
func (c *Conditioner) encodeT5(texts []string) (out []*tensor.Tensor, err error) {
	if c.t5Model == nil {
		if c.t5Model, err = c.LoadT5(); err != nil {
			return nil, err
		}
	}
	if c.Free {
		defer func() { err = errors.Join(err, c.closeT5()) }()
	}
	for _, s := range texts {
		ids, err := c.T5Tokenizer.Encode(s, c.MaxLength)
		if err != nil {
			return nil, err
		}
		h, err := c.t5Model.Forward(ids)
		if err != nil {
			return nil, fmt.Errorf("T5 encoding of %q: %w", s, err)
		}
		out = append(out, h)
	}
	return out, nil
}

// ClipIDs returns CLIP-L's input for Flux: one 77-token window of the
// literal prompt, [BOS] + first 75 BPE tokens + [EOS], padded with EOS
// (Hugging Face CLIPTokenizer, max_length 77, truncation).
func ClipIDs(tok *clip.Tokenizer, text string) []int { return tok.Window77(text) }

// encodeClip returns CLIP-L's pooled output [1, D] (the final-norm hidden
// state at the first EOS) for each text.
func (c *Conditioner) encodeClip(texts []string) (out []*tensor.Tensor, err error) {
	if c.clipModel == nil {
		if c.clipModel, err = c.LoadClip(); err != nil {
			return nil, err
		}
	}
	if c.Free {
		defer func() { err = errors.Join(err, c.closeClip()) }()
	}
	for _, s := range texts {
		o, err := c.clipModel.Forward(ClipIDs(c.ClipTokenizer, s))
		if err != nil {
			return nil, fmt.Errorf("CLIP-L encoding of %q: %w", s, err)
		}
		out = append(out, o.Pooled)
	}
	return out, nil
}

func (c *Conditioner) closeT5() error {
	if c.t5Model == nil {
		return nil
	}
	err := c.t5Model.Close()
	c.t5Model = nil
	return err
}

func (c *Conditioner) closeClip() error {
	if c.clipModel == nil {
		return nil
	}
	err := c.clipModel.Close()
	c.clipModel = nil
	return err
}

// Close releases both encoders.
func (c *Conditioner) Close() error { return errors.Join(c.closeT5(), c.closeClip()) }
