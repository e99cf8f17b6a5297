package sd1

import (
	"errors"
	"fmt"

	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// TextEncoder is SD1's prompt encoder: the CLIP tokenizer and the CLIP-L
// text transformer (the checkpoint's, or a replacement file's). With free
// set, the transformer's weights are released after every Encode and
// loaded again by the next one.
type TextEncoder struct {
	Tokenizer *clip.Tokenizer
	model     *clip.TextModel
	load      func() (*clip.TextModel, error)
	free      bool
	hidden    int
}

// LoadTextEncoder loads only the text side of the SD1 checkpoint at path
// (single file or diffusers folder), as Load would: tokenizer from
// opts.TokenizerDir or FindTokenizer's search, replacement from
// opts.ClipL, head count from opts.TextHeads for a single file.
func LoadTextEncoder(path string, opts pipeline.Options) (*TextEncoder, error) {
	info, err := detect.Path(path)
	if err != nil {
		return nil, err
	}
	if info.Family != detect.SD1 {
		return nil, fmt.Errorf("%s: a %s model, not SD1 (%s)", path, info.Family, info.Reason)
	}
	return loadText(path, info.Layout, opts)
}

// loadText builds the TextEncoder of the checkpoint at path. The
// transformer opens its own mapping of the file (not the pipeline's
// shared one) so that freeing it really releases its pages.
func loadText(path string, layout detect.Layout, opts pipeline.Options) (*TextEncoder, error) {
	dir, err := clip.FindTokenizer(path, opts.TokenizerDir)
	if err != nil {
		return nil, err
	}
	tok, err := clip.OpenTokenizer(dir)
	if err != nil {
		return nil, err
	}
	lo := clip.LoadOptions{}
	if layout == detect.SingleFile {
		// Heads 0: clip.HeadsForWidth (768 → 12, CLIP-L's value).
		lo = clip.LoadOptions{Heads: opts.TextHeads, Prefix: clip.PrefixSD1}
	}
	load := func() (*clip.TextModel, error) {
		base, err := clip.LoadTextEncoder(path, lo)
		if err != nil {
			return nil, err
		}
		if opts.ClipL == "" {
			return base, nil
		}
		m, err := clip.LoadReplacement(base, opts.ClipL)
		base.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", pipeline.ErrClipL, err)
		}
		return m, nil
	}
	m, err := load()
	if err != nil {
		return nil, err
	}
	return &TextEncoder{Tokenizer: tok, model: m, load: load, free: opts.FreeTextEncoder, hidden: m.Config.Hidden}, nil
}

// Hidden returns the width of the hidden states (768 for CLIP-L).
func (te *TextEncoder) Hidden() int { return te.hidden }

// Encode returns the UNet context for prompt, [1, 77·chunks, D], and the
// pooled output [1, D] (see clip.Encoder.EncodePrompt): clipSkip 0 or 1
// takes the last layer, 2 the penultimate (through the final LayerNorm);
// raw tokenises literally into one window.
func (te *TextEncoder) Encode(prompt string, clipSkip int, raw bool) (hidden, pooled *tensor.Tensor, err error) {
	if te.model == nil {
		if te.model, err = te.load(); err != nil {
			return nil, nil, fmt.Errorf("reloading the text encoder: %w", err)
		}
	}
	enc := clip.Encoder{Tokenizer: te.Tokenizer, Model: te.model}
	hidden, pooled, err = enc.EncodePrompt(prompt, clipSkip, raw)
	if te.free {
		te.release()
	}
	return hidden, pooled, err
}

// release drops the transformer's weights.
func (te *TextEncoder) release() error {
	if te.model == nil {
		return nil
	}
	err := te.model.Close()
	te.model = nil
	return err
}

// Close releases the text encoder's files.
func (te *TextEncoder) Close() error { return errors.Join(te.release()) }

// FirstWindow returns the ids of the first 77-token model input for
// prompt: raw = literal tokenisation ([BOS] + 75 ids + [EOS], padded with
// EOS); otherwise the A1111 weighting syntax is parsed first and the first
// chunk's ids are returned (weights stripped).
func FirstWindow(tok *clip.Tokenizer, prompt string, raw bool) ([]int, error) {
	if raw {
		return clip.Window(tok.Encode(prompt), clip.EOS), nil
	}
	chunks := tok.Chunks(clip.ParsePrompt(prompt), clip.SplitA1111, clip.EOS)
	if len(chunks) == 0 {
		return nil, fmt.Errorf("prompt gave no tokens")
	}
	return chunks[0].IDs, nil
}

// Conditioner is SD1's pipeline.Conditioner: the CLIP-L context of the
// prompt and of the negative prompt (zeros of the prompt's shape with
// Request.ZeroNegative). The last encodings are cached, so a batch of
// seeds (or a re-run with other sampling settings) encodes its prompts
// once.
type Conditioner struct {
	Text  *TextEncoder
	cache condCache
}

// condCache remembers the last prompt encodings.
type condCache struct {
	valid          bool
	prompt, neg    string
	clipSkip       int
	raw, hasUncond bool
	cond, uncond   *tensor.Tensor
}

// Condition returns the (cached) CLIP contexts of req's prompts; uncond is
// the zero value when the CFG scale is 1.
func (c *Conditioner) Condition(req *pipeline.Request) (cond, uncond sampling.Cond, err error) {
	needUncond := !sampling.SkipsUncond(req.CFG)
	k := &c.cache
	hit := k.valid && k.prompt == req.Prompt && k.clipSkip == req.ClipSkip && k.raw == req.RawPrompt &&
		(!needUncond || req.ZeroNegative || (k.hasUncond && k.neg == req.Negative))
	if !hit {
		*k = condCache{prompt: req.Prompt, neg: req.Negative, clipSkip: req.ClipSkip, raw: req.RawPrompt}
		if k.cond, _, err = c.Text.Encode(req.Prompt, req.ClipSkip, req.RawPrompt); err != nil {
			return cond, uncond, fmt.Errorf("encoding the prompt: %w", err)
		}
		if needUncond && !req.ZeroNegative {
			if k.uncond, _, err = c.Text.Encode(req.Negative, req.ClipSkip, req.RawPrompt); err != nil {
				return cond, uncond, fmt.Errorf("encoding the negative prompt: %w", err)
			}
			k.hasUncond = true
		}
		k.valid = true
	}
	cond = sampling.Cond{Context: k.cond}
	switch {
	case !needUncond:
	case req.ZeroNegative:
		uncond = pipeline.ZeroCond(cond)
	default:
		uncond = sampling.Cond{Context: k.uncond}
	}
	return cond, uncond, nil
}

// Close releases the text encoder.
func (c *Conditioner) Close() error { return c.Text.Close() }
