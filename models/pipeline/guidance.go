package pipeline

import (
	"fmt"

	"github.com/godiffusion/godiffusion/sampling"
)

// configureGuidance applies req.CFGOptions to the run's guider: the rule,
// interval and scale schedule (sampling.GuidanceOptions.Configure) and,
// for Perp-Neg, the empty prompt's conditioning, encoded as the negative
// prompt "" would be (ComfyUI's PerpNegGuider takes it as a third
// conditioning), and the negative prompt's encoding when the scale is 1
// but CFG++ or Perp-Neg still use it. The contexts are brought to a
// common length.
func (p *Pipeline) configureGuidance(req *Request, g *sampling.CFG, sigmas []float64) error {
	if err := req.CFGOptions.Configure(g, sigmas); err != nil {
		return err
	}
	needEmpty := req.CFGOptions.NeedsEmpty()
	if g.Uncond.Context == nil && (needEmpty || sampling.SamplerNeedsUncond(req.Sampler)) {
		// Scale 1 encoded no negative prompt; CFG++ and Perp-Neg use it.
		nr := *req
		nr.CFG = 2
		var err error
		if _, g.Uncond, err = p.conditioning(&nr); err != nil {
			return err
		}
		g.Cond.Context, g.Uncond.Context = commonLength(g.Cond.Context, g.Uncond.Context)
	}
	if !needEmpty {
		return nil
	}
	if req.Cond != nil {
		return fmt.Errorf("perpneg needs the empty prompt's encoding: not available with precomputed Cond/Uncond")
	}
	er := *req
	er.Negative, er.ZeroNegative, er.CFG = "", false, 2 // any scale ≠ 1 asks for the negative encoding
	_, empty, err := p.conditioning(&er)
	if err != nil {
		return fmt.Errorf("encoding the empty prompt for perpneg: %w", err)
	}
	g.Empty = empty
	g.Cond.Context, g.Empty.Context = commonLength(g.Cond.Context, g.Empty.Context)
	g.Uncond.Context, g.Empty.Context = commonLength(g.Uncond.Context, g.Empty.Context)
	g.Cond.Context, g.Uncond.Context = commonLength(g.Cond.Context, g.Uncond.Context)
	return nil
}
