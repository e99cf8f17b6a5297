package sampling

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// Call is what an Observer sees at every model evaluation of a CFG guider.
type Call struct {
	// Index counts the model evaluations of this guider from 0.
	Index int
	// X is the sampler's latent at this call (before any input scaling).
	X *tensor.Tensor
	// Sigma is the noise level of X.
	Sigma float64
	// Scale is the guidance scale used at this call (Scale, or the
	// per-step schedule's value).
	Scale float64
	// Cond is the model's denoised estimate under the positive conditioning.
	Cond *tensor.Tensor
	// Uncond is the denoised estimate under the negative conditioning, nil
	// when it was not computed (scale 1, or σ outside the guidance interval).
	Uncond *tensor.Tensor
	// Empty is the denoised estimate under the empty prompt, computed only
	// by Perp-Neg; nil otherwise.
	Empty *tensor.Tensor
	// Guided is what the sampler receives.
	Guided *tensor.Tensor
}

// Observer is called once per model evaluation (e.g. by gen --trace).
type Observer func(c Call)

// CFG is classifier-free guidance (Ho & Salimans 2022) as ComfyUI's
// CFGGuider computes it: a Denoiser that runs the model with the positive
// conditioning (cond) and the negative one (uncond, the encoding of the
// negative prompt, "" by default) and extrapolates from uncond towards cond:
//
//	guided = uncond + (cond − uncond)·Scale
//
// on the DENOISED predictions (which is the same as guiding ε, since
// denoised = x − σ·ε is affine in ε). Scale 1 returns cond exactly; it is
// detected with math.isclose and then the unconditional pass is never run.
// When both are needed they are evaluated as one batch ordered
// [uncond, cond]. With pos == neg, cond == uncond and guided == cond.
//
// The same guider runs every guidance rule (rules.go: cfg, apg, perpneg),
// a guidance interval and a per-step scale schedule (GuidanceOptions,
// which sets the fields below); with those fields at their zero values it
// is plain CFG.
type CFG struct {
	Model  BatchModel
	Cond   Cond
	Uncond Cond
	Scale  float64
	// RescaleMultiplier, when > 0, applies ComfyUI's RescaleCFG node
	// (see RescaleCFG) with this multiplier.
	RescaleMultiplier float64
	// Observer, if set, sees every call.
	Observer Observer

	// Rule combines the predictions; nil means plain CFG (CFGRule).
	Rule Rule
	// Empty is the conditioning of the empty prompt "", needed by rules
	// whose Needs asks for it (Perp-Neg).
	Empty Cond
	// Interval, when set, applies guidance only for σ in
	// [IntervalLo, IntervalHi] (Kynkäänniemi et al. 2024); elsewhere the
	// model runs on cond alone and guided = cond.
	Interval               bool
	IntervalLo, IntervalHi float64
	// ScaleAt, when set, gives the guidance scale at noise level σ (a
	// per-step schedule, GuidanceOptions); nil means Scale at every call.
	ScaleAt func(sigma float64) float64

	calls int
}

// Calls returns how many model evaluations the guider has made.
func (g *CFG) Calls() int { return g.calls }

// SkipsUncond reports whether the scale is 1 in the sense of Python's
// math.isclose (relative tolerance 1e-9), so the unconditional branch is not
// evaluated.
func SkipsUncond(scale float64) bool {
	return math.Abs(scale-1) <= 1e-9*math.Max(math.Abs(scale), 1)
}

// Denoise evaluates the model and combines the predictions.
func (g *CFG) Denoise(x *tensor.Tensor, sigma float64) (*tensor.Tensor, error) {
	guided, _, err := g.evaluate(x, sigma, false)
	return guided, err
}

// DenoiseUncond is Denoise that also returns the unconditional prediction,
// for the CFG++ samplers. Like ComfyUI's disable_cfg1_optimization it
// computes uncond even at scale 1. Outside the guidance interval no uncond
// is computed and cond is returned in its place (plain sampling there).
func (g *CFG) DenoiseUncond(x *tensor.Tensor, sigma float64) (guided, uncond *tensor.Tensor, err error) {
	guided, p, err := g.evaluate(x, sigma, true)
	if err != nil {
		return nil, nil, err
	}
	if p.Uncond == nil {
		return guided, p.Cond, nil
	}
	return guided, p.Uncond, nil
}

// evaluate runs one batch [empty?, uncond?, cond] (the predictions the
// rule needs at this σ) and combines them.
func (g *CFG) evaluate(x *tensor.Tensor, sigma float64, forceUncond bool) (*tensor.Tensor, Predictions, error) {
	p := Predictions{X: x, Sigma: sigma, Scale: g.Scale, Rescale: g.RescaleMultiplier}
	if g.Model == nil {
		return nil, p, fmt.Errorf("sampling: CFG has no model")
	}
	if g.ScaleAt != nil {
		p.Scale = g.ScaleAt(sigma)
	}
	rule := g.Rule
	if rule == nil {
		rule = CFGRule{}
	}
	needUncond, needEmpty := false, false
	if !g.Interval || (sigma >= g.IntervalLo && sigma <= g.IntervalHi) {
		needUncond, needEmpty = rule.Needs(p.Scale, forceUncond)
	}
	conds := make([]Cond, 0, 3)
	if needEmpty {
		if g.Empty.Context == nil {
			return nil, p, fmt.Errorf("sampling: the guidance rule needs the empty prompt's conditioning (CFG.Empty)")
		}
		conds = append(conds, g.Empty)
	}
	if needUncond {
		conds = append(conds, g.Uncond)
	}
	conds = append(conds, g.Cond)
	out, err := g.Model.DenoiseBatch(x, sigma, conds)
	if err != nil {
		return nil, p, err
	}
	if len(out) != len(conds) {
		return nil, p, fmt.Errorf("sampling: model returned %d predictions for %d conditionings", len(out), len(conds))
	}
	if needEmpty {
		p.Empty, out = out[0], out[1:]
	}
	if needUncond {
		p.Uncond, out = out[0], out[1:]
	}
	p.Cond = out[0]
	guided := p.Cond
	if needUncond || needEmpty {
		guided = rule.Combine(p)
	}
	if g.Observer != nil {
		g.Observer(Call{Index: g.calls, X: x, Sigma: sigma, Scale: p.Scale, Cond: p.Cond, Uncond: p.Uncond, Empty: p.Empty, Guided: guided})
	}
	g.calls++
	return guided, p, nil
}

// Guide returns uncond + (cond − uncond)·scale elementwise, in this
// operation order (ComfyUI cfg_function), in float32.
func Guide(cond, uncond *tensor.Tensor, scale float64) *tensor.Tensor {
	s := float32(scale)
	out := tensor.New(cond.Shape...)
	for i, c := range cond.Data {
		u := uncond.Data[i]
		out.Data[i] = u + float32((c-u)*s)
	}
	return out
}

// RescaleCFG is ComfyUI's RescaleCFG node (after Lin et al. 2023, "Common
// Diffusion Noise Schedules and Sample Steps are Flawed", §3.4): a high
// guidance scale inflates the standard deviation of the prediction; this
// pulls it back towards that of the conditional prediction. In ComfyUI's
// v-prediction-style variables, with xs = x/(σ²+1):
//
//	c       = (xs − cond)·sqrt(σ²+1)/σ        (u likewise from uncond)
//	x_cfg   = u + scale·(c − u)
//	x_final = m·x_cfg·std(c)/std(x_cfg) + (1 − m)·x_cfg
//	guided  = xs − x_final·σ/sqrt(σ²+1)
//
// with std the unbiased standard deviation over all of C, H, W (torch.std
// over dims 1..), per batch item. cond and uncond are denoised predictions.
func RescaleCFG(x *tensor.Tensor, sigma float64, cond, uncond *tensor.Tensor, scale, multiplier float64) *tensor.Tensor {
	s := float32(sigma)
	s2 := s*s + 1
	sq := float32(math.Sqrt(float64(s2)))
	n := len(x.Data)
	xs := make([]float32, n)
	c := make([]float32, n)
	u := make([]float32, n)
	xcfg := make([]float32, n)
	for i, xv := range x.Data {
		xs[i] = xv / s2
		// ComfyUI passes args["cond"] = x − cond_pred and forms
		// xs − (x − args["cond"]), i.e. xs − cond_pred up to rounding.
		condArg := xv - cond.Data[i]
		uncArg := xv - uncond.Data[i]
		c[i] = float32((xs[i]-(xv-condArg))*sq) / s
		u[i] = float32((xs[i]-(xv-uncArg))*sq) / s
		xcfg[i] = u[i] + float32(float32(scale)*(c[i]-u[i]))
	}
	out := tensor.New(x.Shape...)
	per := n
	if len(x.Shape) > 0 && x.Shape[0] > 0 {
		per = n / x.Shape[0]
	}
	m := float32(multiplier)
	for b := 0; b+per <= n; b += per {
		ratio := float32(stdUnbiased(c[b:b+per]) / stdUnbiased(xcfg[b:b+per]))
		for i := b; i < b+per; i++ {
			xr := float32(xcfg[i] * ratio)
			final := float32(m*xr) + float32((1-m)*xcfg[i])
			// ComfyUI returns x − (xs − final·σ/sqrt(σ²+1)) as the "noise",
			// and cfg_function then forms denoised = x − that.
			eps := x.Data[i] - (xs[i] - float32(final*s)/sq)
			out.Data[i] = x.Data[i] - eps
		}
	}
	return out
}

// stdUnbiased is the sample standard deviation sqrt(Σ(v − mean)²/(n − 1)),
// accumulated in float64.
func stdUnbiased(v []float32) float64 {
	if len(v) < 2 {
		return 0
	}
	var sum float64
	for _, a := range v {
		sum += float64(a)
	}
	mean := sum / float64(len(v))
	var ss float64
	for _, a := range v {
		d := float64(a) - mean
		ss += d * d
	}
	return math.Sqrt(ss / float64(len(v)-1))
}

// RescaleNoiseCFG is diffusers' guidance_rescale (rescale_noise_cfg), which
// works on ε rather than on the denoised prediction: with guided ε_cfg and
// conditional ε_cond,
//
//	ε_rescaled = ε_cfg·std(ε_cond)/std(ε_cfg)
//	ε          = φ·ε_rescaled + (1 − φ)·ε_cfg
//
// std over all non-batch dimensions (unbiased, as torch.std).
func RescaleNoiseCFG(epsCFG, epsCond *tensor.Tensor, phi float64) *tensor.Tensor {
	out := tensor.New(epsCFG.Shape...)
	n := len(epsCFG.Data)
	per := n
	if len(epsCFG.Shape) > 0 && epsCFG.Shape[0] > 0 {
		per = n / epsCFG.Shape[0]
	}
	p := float32(phi)
	for b := 0; b+per <= n; b += per {
		ratio := float32(stdUnbiased(epsCond.Data[b:b+per]) / stdUnbiased(epsCFG.Data[b:b+per]))
		for i := b; i < b+per; i++ {
			r := float32(epsCFG.Data[i] * ratio)
			out.Data[i] = float32(p*r) + float32((1-p)*epsCFG.Data[i])
		}
	}
	return out
}
