package sd1

import (
	"fmt"

	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// condCache remembers the last prompt encodings, so that a batch of seeds
// (or a re-run with other sampling settings) encodes its prompts once.
type condCache struct {
	valid          bool
	prompt, neg    string
	clipSkip       int
	raw, hasUncond bool
	cond, uncond   *tensor.Tensor
}

// conditioning returns the UNet contexts for req: req.Cond/Uncond when
// given, else the (cached) encodings of the prompt and the negative
// prompt. uncond is nil when the scale is 1 (ComfyUI skips the
// unconditional branch then). When the two differ in length (prompts of
// different chunk counts) both are repeated to a common length, as
// ComfyUI's cond_cat does.
func (p *Pipeline) conditioning(req *Request) (cond, uncond *tensor.Tensor, err error) {
	needUncond := !sampling.SkipsUncond(req.CFG)
	if req.Cond != nil {
		cond, uncond = req.Cond, req.Uncond
		if needUncond && uncond == nil {
			return nil, nil, fmt.Errorf("request has Cond but no Uncond, and cfg %g needs both", req.CFG)
		}
	} else {
		c := &p.cache
		hit := c.valid && c.prompt == req.Prompt && c.clipSkip == req.ClipSkip && c.raw == req.RawPrompt &&
			(!needUncond || (c.hasUncond && c.neg == req.Negative))
		if !hit {
			if p.Text == nil {
				return nil, nil, fmt.Errorf("the pipeline has no text encoder: pass Cond/Uncond contexts")
			}
			*c = condCache{prompt: req.Prompt, neg: req.Negative, clipSkip: req.ClipSkip, raw: req.RawPrompt}
			if c.cond, _, err = p.Text.Encode(req.Prompt, req.ClipSkip, req.RawPrompt); err != nil {
				return nil, nil, fmt.Errorf("encoding the prompt: %w", err)
			}
			if needUncond {
				if c.uncond, _, err = p.Text.Encode(req.Negative, req.ClipSkip, req.RawPrompt); err != nil {
					return nil, nil, fmt.Errorf("encoding the negative prompt: %w", err)
				}
				c.hasUncond = true
			}
			c.valid = true
		}
		cond, uncond = c.cond, c.uncond
	}
	if !needUncond {
		return cond, nil, nil
	}
	cond, uncond = commonLength(cond, uncond)
	return cond, uncond, nil
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
