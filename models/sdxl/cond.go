package sdxl

import (
	"errors"
	"fmt"

	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/unet"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// DefaultClipSkip is SDXL's layer choice for both towers: the penultimate
// hidden state (clip skip 2), taken without the final LayerNorm.
const DefaultClipSkip = 2

// Conditioner is SDXL's pipeline.Conditioner: it encodes prompts with CLIP-L
// and OpenCLIP bigG and builds the UNet's context and y vector (see the
// package comment). Encodings of recent prompts are cached, so a batch of
// seeds encodes its prompts once.
type Conditioner struct {
	Tokenizer *clip.Tokenizer
	// UNet is the configuration of the UNet the conditioning is for: its
	// SDXLVector builds y (sinusoid width, flip, shift).
	UNet *unet.Config

	clipL, bigG *tower
	cache       map[encodingKey]encoding
}

// encodingKey identifies one prompt encoding.
type encodingKey struct {
	text     string
	clipSkip int
	raw      bool
}

// encoding is one prompt's context [1, 77·k, D_L + D_G] and pooled bigG
// embedding [1, proj].
type encoding struct {
	context, pooled *tensor.Tensor
}

// maxCached bounds the prompt cache (a positive and a negative prompt of a
// batch, with room to alternate).
const maxCached = 4

// NewConditioner builds the conditioner from loaded towers: clipL (HF
// CLIP-L semantics) and bigG (which must have its text projection). cfg is
// the UNet's configuration. The conditioner owns the models: Close closes
// them.
func NewConditioner(tok *clip.Tokenizer, clipL, bigG *clip.TextModel, cfg *unet.Config) (*Conditioner, error) {
	c := &Conditioner{Tokenizer: tok, UNet: cfg, clipL: &tower{model: clipL}, bigG: &tower{model: bigG}}
	if err := c.check(clipL, bigG); err != nil {
		return nil, err
	}
	return c, nil
}

// check verifies that the towers fit each other and the UNet: widths add up
// to the context width, the projected pooled width plus six size sinusoids
// to y's width.
func (c *Conditioner) check(clipL, bigG *clip.TextModel) error {
	if c.Tokenizer == nil {
		return errors.New("sdxl: no tokenizer")
	}
	if bigG.Projection == nil {
		return errors.New("sdxl: the bigG text tower has no text_projection (needed for the pooled embedding)")
	}
	cfg := c.UNet
	if d := clipL.Config.Hidden + bigG.Config.Hidden; d != cfg.CrossAttentionDim {
		return fmt.Errorf("sdxl: text towers are %d (CLIP-L) + %d (bigG) = %d wide, the UNet's context is %d",
			clipL.Config.Hidden, bigG.Config.Hidden, d, cfg.CrossAttentionDim)
	}
	if cfg.AdditionEmbedType != "text_time" {
		return fmt.Errorf("sdxl: the UNet has no text_time added conditioning (addition_embed_type %q)", cfg.AdditionEmbedType)
	}
	proj := bigG.Projection.W.Shape[0]
	if want := proj + 6*cfg.AdditionTimeEmbedDim; want != cfg.ProjectionClassEmbeddingsInputDim {
		return fmt.Errorf("sdxl: pooled width %d + 6·%d (size sinusoids) = %d, the UNet's y is %d wide",
			proj, cfg.AdditionTimeEmbedDim, want, cfg.ProjectionClassEmbeddingsInputDim)
	}
	return nil
}

// Condition returns the positive conditioning of req and, unless its CFG
// scale is 1, the negative one: context = CLIP-L ‖ bigG penultimate
// states, y = pooled ‖ emb(req.TimeIDs()); cond and uncond share the
// size conditioning. With req.ZeroNegative the negative context and
// pooled embedding are zeros.
func (c *Conditioner) Condition(req *pipeline.Request) (cond, uncond sampling.Cond, err error) {
	timeIDs := [][]float32{req.TimeIDs()}
	pos, err := c.encode(req.Prompt, req.ClipSkip, req.RawPrompt)
	if err != nil {
		return cond, uncond, fmt.Errorf("sdxl: encoding the prompt: %w", err)
	}
	if cond, err = c.cond(pos, timeIDs); err != nil {
		return cond, uncond, err
	}
	if sampling.SkipsUncond(req.CFG) {
		return cond, uncond, nil
	}
	var neg encoding
	if req.ZeroNegative {
		neg = encoding{context: tensor.New(pos.context.Shape...), pooled: tensor.New(pos.pooled.Shape...)}
	} else if neg, err = c.encode(req.Negative, req.ClipSkip, req.RawPrompt); err != nil {
		return cond, uncond, fmt.Errorf("sdxl: encoding the negative prompt: %w", err)
	}
	uncond, err = c.cond(neg, timeIDs)
	return cond, uncond, err
}

// cond assembles one half of the batch's conditioning.
func (c *Conditioner) cond(e encoding, timeIDs [][]float32) (sampling.Cond, error) {
	y, err := c.UNet.SDXLVector(e.pooled, timeIDs)
	if err != nil {
		return sampling.Cond{}, fmt.Errorf("sdxl: %w", err)
	}
	return sampling.Cond{Context: e.context, Y: y}, nil
}

// encode returns the (cached) context and pooled embedding of text.
// clipSkip 0 means DefaultClipSkip; both towers use the same layer.
func (c *Conditioner) encode(text string, clipSkip int, raw bool) (encoding, error) {
	if clipSkip == 0 {
		clipSkip = DefaultClipSkip
	}
	key := encodingKey{text, clipSkip, raw}
	if e, ok := c.cache[key]; ok {
		return e, nil
	}
	hL, _, err := c.clipL.encode(&clip.Encoder{Tokenizer: c.Tokenizer, NoFinalNorm: true}, text, clipSkip, raw)
	if err != nil {
		return encoding{}, fmt.Errorf("CLIP-L: %w", err)
	}
	hG, pooled, err := c.bigG.encode(&clip.Encoder{Tokenizer: c.Tokenizer, NoFinalNorm: true, ZeroPad: true}, text, clipSkip, raw)
	if err != nil {
		return encoding{}, fmt.Errorf("bigG: %w", err)
	}
	if hL.Shape[1] != hG.Shape[1] {
		return encoding{}, fmt.Errorf("CLIP-L gave %d tokens, bigG %d", hL.Shape[1], hG.Shape[1])
	}
	e := encoding{context: tensor.Concat(2, hL, hG), pooled: pooled}
	if c.cache == nil || len(c.cache) >= maxCached {
		c.cache = map[encodingKey]encoding{}
	}
	c.cache[key] = e
	return e, nil
}

// Close releases both towers.
func (c *Conditioner) Close() error {
	c.cache = nil
	c.clipL.load, c.bigG.load = nil, nil
	return errors.Join(c.clipL.close(), c.bigG.close())
}

// tower is one text encoder, optionally loaded on demand and released
// after every encoding (pipeline.Options.FreeTextEncoder).
type tower struct {
	model *clip.TextModel
	// load (re)opens the model; release, when set, closes what load
	// opened besides the model itself (the OpenCLIP tower's file).
	load    func() (*clip.TextModel, func() error, error)
	release func() error
	free    bool
}

// encode runs enc with the tower's model, loading it first if needed.
func (t *tower) encode(enc *clip.Encoder, text string, clipSkip int, raw bool) (hidden, pooled *tensor.Tensor, err error) {
	if t.model == nil {
		if t.load == nil {
			return nil, nil, errors.New("the text encoder was closed")
		}
		if t.model, t.release, err = t.load(); err != nil {
			return nil, nil, fmt.Errorf("reloading the text encoder: %w", err)
		}
	}
	enc.Model = t.model
	hidden, pooled, err = enc.EncodePrompt(text, clipSkip, raw)
	if t.free {
		if cerr := t.close(); err == nil {
			err = cerr
		}
	}
	return hidden, pooled, err
}

// close drops the model's weights (it can be reloaded if load is set).
func (t *tower) close() error {
	var errs []error
	if t.model != nil {
		errs = append(errs, t.model.Close())
		t.model = nil
	}
	if t.release != nil {
		errs = append(errs, t.release())
		t.release = nil
	}
	return errors.Join(errs...)
}
