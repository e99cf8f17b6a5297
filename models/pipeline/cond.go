package pipeline

import (
	"fmt"

	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// Conditioner turns a request's prompts into the network's conditioning:
// SD1's CLIP-L context (models/sd1), SDXL's two-tower context and added
// vector y (models/sdxl), Flux's T5-XXL context and CLIP-L pooled vector
// (models/flux). Condition returns the positive conditioning and, unless
// the request's CFG scale is 1 (the unconditional branch is then skipped),
// the negative one (its zero value otherwise); with Request.ZeroNegative
// the negative is all zeros (ZeroCond). The pipeline equalises the two
// contexts' lengths afterwards. Close releases the encoders' weights.
type Conditioner interface {
	Condition(req *Request) (cond, uncond sampling.Cond, err error)
	Close() error
}

// ZeroCond returns a conditioning of c's shapes with every value zero
// (ComfyUI's ConditioningZeroOut, diffusers' force_zeros_for_empty_prompt):
// the "zeros" meaning of an empty negative prompt.
func ZeroCond(c sampling.Cond) sampling.Cond {
	z := sampling.Cond{Context: tensor.New(c.Context.Shape...)}
	if c.Y != nil {
		z.Y = tensor.New(c.Y.Shape...)
	}
	return z
}

// conditioning returns the network conditioning for req: req.Cond/Uncond
// (with CondY/UncondY) when given, else the pipeline's Conditioner's.
// uncond is the zero value when the scale is 1 (the unconditional branch
// is skipped then). When the two contexts differ in length (prompts of
// different chunk counts) both are repeated to a common length, as
// ComfyUI's cond_cat does.
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
		return cond, uncond, fmt.Errorf("the pipeline has no text encoder: pass Cond/Uncond conditioning")
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
