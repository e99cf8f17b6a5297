package sd1

import (
	"fmt"

	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// Conditioner turns a request's prompts into the UNet conditioning: for
// SD1 the CLIP-L context (the default, built from Pipeline.Text); for SDXL
// the two-tower context and the added vector y (models/sdxl). Condition
// returns the positive conditioning and, unless the request's CFG scale
// is 1 (ComfyUI then skips the unconditional branch), the negative one
// (its zero value otherwise). The pipeline equalises the two contexts'
// lengths afterwards. Close releases the encoders' weights.
type Conditioner interface {
	Condition(req *Request) (cond, uncond sampling.Cond, err error)
	Close() error
}

// condCache remembers the last prompt encodings, so that a batch of seeds
// (or a re-run with other sampling settings) encodes its prompts once.
type condCache struct {
	valid          bool
	prompt, neg    string
	clipSkip       int
	raw, hasUncond bool
	cond, uncond   *tensor.Tensor
}

// conditioning returns the UNet conditioning for req: req.Cond/Uncond
// (with CondY/UncondY) when given, else that of the pipeline's
// Conditioner, or of the SD1 text encoder when it has none. uncond is the
// zero value when the scale is 1 (ComfyUI skips the unconditional branch
// then). When the two contexts differ in length (prompts of different
// chunk counts) both are repeated to a common length, as ComfyUI's
// cond_cat does.
func (p *Pipeline) conditioning(req *Request) (cond, uncond sampling.Cond, err error) {
	needUncond := !sampling.SkipsUncond(req.CFG)
	switch {
	case req.Cond != nil:
		cond = sampling.Cond{Context: req.Cond, Y: req.CondY}
		if needUncond {
			if req.Uncond == nil {
				return cond, uncond, fmt.Errorf("request has Cond but no Uncond, and cfg %g needs both", req.CFG)
			}
			uncond = sampling.Cond{Context: req.Uncond, Y: req.UncondY}
		}
	case p.Conditioner != nil:
		if cond, uncond, err = p.Conditioner.Condition(req); err != nil {
			return cond, uncond, err
		}
	default:
		if cond.Context, uncond.Context, err = p.textConditioning(req, needUncond); err != nil {
			return cond, uncond, err
		}
	}
	if !needUncond {
		return cond, sampling.Cond{}, nil
	}
	if cond.Context == nil || uncond.Context == nil {
		return cond, uncond, fmt.Errorf("the conditioner returned no context for the prompt or the negative prompt")
	}
	cond.Context, uncond.Context = commonLength(cond.Context, uncond.Context)
	return cond, uncond, nil
}

// textConditioning is the SD1 conditioner: the (cached) CLIP encodings of
// the prompt and, when needed, of the negative prompt (zeros of the
// prompt's shape with ZeroNegative).
func (p *Pipeline) textConditioning(req *Request, needUncond bool) (cond, uncond *tensor.Tensor, err error) {
	c := &p.cache
	hit := c.valid && c.prompt == req.Prompt && c.clipSkip == req.ClipSkip && c.raw == req.RawPrompt &&
		(!needUncond || req.ZeroNegative || (c.hasUncond && c.neg == req.Negative))
	if !hit {
		if p.Text == nil {
			return nil, nil, fmt.Errorf("the pipeline has no text encoder: pass Cond/Uncond contexts")
		}
		*c = condCache{prompt: req.Prompt, neg: req.Negative, clipSkip: req.ClipSkip, raw: req.RawPrompt}
		if c.cond, _, err = p.Text.Encode(req.Prompt, req.ClipSkip, req.RawPrompt); err != nil {
			return nil, nil, fmt.Errorf("encoding the prompt: %w", err)
		}
		if needUncond && !req.ZeroNegative {
			if c.uncond, _, err = p.Text.Encode(req.Negative, req.ClipSkip, req.RawPrompt); err != nil {
				return nil, nil, fmt.Errorf("encoding the negative prompt: %w", err)
			}
			c.hasUncond = true
		}
		c.valid = true
	}
	if needUncond && req.ZeroNegative {
		return c.cond, tensor.New(c.cond.Shape...), nil
	}
	return c.cond, c.uncond, nil
}

// commonLength repeats a and b along the token axis to the least common
// multiple of their lengths (both unchanged when equal).
func commonLength(a, b *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	la, lb := a.Shape[1], b.Shape[1]
	if la == lb {
		return a, b
	}
	l := la / gcd(la, lb) * lb
	return repeatTokens(a, l/la), repeatTokens(b, l/lb)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// repeatTokens concatenates k copies of t [1, L, D] along L.
func repeatTokens(t *tensor.Tensor, k int) *tensor.Tensor {
	parts := make([]*tensor.Tensor, k)
	for i := range parts {
		parts[i] = t
	}
	return tensor.Concat(1, parts...)
}
