package sampling

import (
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// Predictions are the model's denoised estimates at one call of a guider,
// the input of a guidance Rule.
type Predictions struct {
	X     *tensor.Tensor // the sampler's latent
	Sigma float64        // its noise level
	Scale float64        // the guidance scale at this call
	// Rescale is ComfyUI's RescaleCFG multiplier (0 = off).
	Rescale float64
	// Cond, Uncond and Empty are the denoised predictions under the prompt,
	// the negative prompt and the empty prompt ""; Uncond and Empty are nil
	// when the rule did not ask for them.
	Cond, Uncond, Empty *tensor.Tensor
}

// Rule is a guidance rule: which predictions it needs at a call and how it
// combines them into the denoised estimate the sampler receives. A Rule may
// keep state across the calls of one sampling run (APG's momentum), so a
// run needs a fresh one (NewGuidanceRule).
type Rule interface {
	// Needs reports whether the rule uses the uncond and empty predictions
	// at this scale. forceUncond is set by samplers that need uncond
	// anyway (CFG++). When neither is needed the guider returns cond
	// without calling Combine.
	Needs(scale float64, forceUncond bool) (uncond, empty bool)
	// Combine returns the guided prediction.
	Combine(p Predictions) *tensor.Tensor
}

// guidanceRules maps the rule names to their constructors.
var guidanceRules = map[string]func(o GuidanceOptions) Rule{
	"cfg": func(GuidanceOptions) Rule { return CFGRule{} },
	"apg": func(o GuidanceOptions) Rule {
		return &APG{Eta: o.APGEta, Momentum: o.APGMomentum, NormThreshold: o.APGNormThreshold}
	},
	"perpneg": func(o GuidanceOptions) Rule { return PerpNeg{NegScale: o.PerpNegScale} },
}

var guidanceRuleAliases = map[string]string{"perp-neg": "perpneg", "perp_neg": "perpneg"}

// GuidanceRuleNames lists the valid rule names, sorted.
func GuidanceRuleNames() []string { return registryNames(guidanceRules, guidanceRuleAliases) }

// CanonicalGuidanceRule returns the name of a rule ("" means "cfg"), or an
// error listing the valid names.
func CanonicalGuidanceRule(name string) (string, error) {
	if name == "" {
		return "cfg", nil
	}
	key, _, err := registryLookup("guidance rule", guidanceRules, guidanceRuleAliases, name)
	return key, err
}

// NewGuidanceRule returns a fresh rule for o.Rule with o's parameters.
func NewGuidanceRule(o GuidanceOptions) (Rule, error) {
	key, err := CanonicalGuidanceRule(o.Rule)
	if err != nil {
		return nil, err
	}
	return guidanceRules[key](o), nil
}

// CFGRule is plain classifier-free guidance: Guide, or RescaleCFG when
// Predictions.Rescale > 0 (see CFG).
type CFGRule struct{}

// Needs asks for uncond unless the scale is 1 (SkipsUncond) and nothing
// forces it.
func (CFGRule) Needs(scale float64, force bool) (uncond, empty bool) {
	return force || !SkipsUncond(scale), false
}

// Combine returns uncond + (cond − uncond)·scale (or RescaleCFG's result).
func (CFGRule) Combine(p Predictions) *tensor.Tensor {
	return combineCFG(p.X, p.Sigma, p.Cond, p.Uncond, p.Scale, p.Rescale)
}

// combineCFG is ComfyUI's cfg_function: RescaleCFG when multiplier > 0,
// else Guide.
func combineCFG(x *tensor.Tensor, sigma float64, cond, uncond *tensor.Tensor, scale, multiplier float64) *tensor.Tensor {
	if multiplier > 0 {
		return RescaleCFG(x, sigma, cond, uncond, scale, multiplier)
	}
	return Guide(cond, uncond, scale)
}

// APG is adaptive projected guidance (Sadat et al. 2024, "Eliminating
// Oversaturation and Artifacts of High Guidance Scales in Diffusion
// Models"), with the arithmetic of ComfyUI's APG node
// (comfy_extras/nodes_apg.py). The guidance direction Δ = cond − uncond is
// smoothed by momentum β, its norm capped at r, and split into the part
// parallel to cond (which mostly raises saturation) and the orthogonal part
// (which mostly adds detail); the parallel part is scaled by η:
//
//	Δ    = cond − uncond
//	Δ    ← m,  m = β·m_prev + Δ             (β ≠ 0; m starts at Δ and resets when σ rises)
//	Δ    ← Δ·min(1, r/‖Δ‖)                  (r > 0)
//	Δ∥   = (Δ·ĉ)·ĉ,  ĉ = cond/‖cond‖,  Δ⊥ = Δ − Δ∥
//	cond' = (uncond + Δ⊥ + η·Δ∥) + (cond − uncond)/w
//	guided = uncond + (cond' − uncond)·w     (CFG, or RescaleCFG, on cond')
//
// so guided = cond + w·(Δ⊥ + η·Δ∥) up to rounding. With η = 1, r = 0 and
// β = 0 that is cond + w·(cond − uncond): ComfyUI's w is the paper's w − 1
// (the paper writes cond + (w − 1)·(Δ⊥ + η·Δ∥)). Norms and dot
// products are per image over C, H, W (accumulated in float64). ComfyUI
// allows β in [0, 1]; the paper recommends a negative β, which the same
// formula takes. At scale 1 the rule is skipped with the unconditional pass,
// as in ComfyUI. Needs a scale > 0 (ComfyUI divides by it).
type APG struct {
	Eta, Momentum, NormThreshold float64

	running   []float32 // the momentum average m, nil before the first call
	prevSigma float64
	started   bool
}

// Needs is CFGRule's.
func (a *APG) Needs(scale float64, force bool) (uncond, empty bool) {
	return CFGRule{}.Needs(scale, force)
}

// Combine applies the rule (see APG).
func (a *APG) Combine(p Predictions) *tensor.Tensor {
	cond, uncond := p.Cond.Data, p.Uncond.Data
	if a.started && p.Sigma > a.prevSigma {
		a.running = nil
	}
	a.started, a.prevSigma = true, p.Sigma
	g := make([]float32, len(cond))
	for i, c := range cond {
		g[i] = c - uncond[i]
	}
	if a.Momentum != 0 {
		if a.running == nil {
			a.running = append([]float32(nil), g...)
		} else {
			m := float32(a.Momentum)
			for i := range g {
				a.running[i] = float32(m*a.running[i]) + g[i]
			}
		}
		copy(g, a.running)
	}
	per := perImage(p.Cond)
	modified := tensor.New(p.Cond.Shape...)
	w := float32(p.Scale)
	eta := float32(a.Eta)
	for b := 0; b+per <= len(g); b += per {
		gb, cb := g[b:b+per], cond[b:b+per]
		if a.NormThreshold > 0 {
			n := norm2(gb)
			if s := a.NormThreshold / n; s < 1 {
				f := float32(s)
				for i := range gb {
					gb[i] *= f
				}
			}
		}
		// torch.nn.functional.normalize: v/max(‖v‖, 1e-12).
		cn := math.Max(norm2(cb), 1e-12)
		var dot float64
		for i, v := range gb {
			dot += float64(v) * float64(float32(float64(cb[i])/cn))
		}
		d := float32(dot)
		for i, v := range gb {
			par := d * float32(float64(cb[i])/cn)
			orth := v - par
			mg := orth + float32(eta*par)
			u := uncond[b+i]
			modified.Data[b+i] = (u + mg) + (cb[i]-u)/w
		}
	}
	return combineCFG(p.X, p.Sigma, modified, p.Uncond, p.Scale, p.Rescale)
}

// perImage is the number of elements of one image of a [N, ...] tensor.
func perImage(t *tensor.Tensor) int {
	if len(t.Shape) > 0 && t.Shape[0] > 0 {
		return len(t.Data) / t.Shape[0]
	}
	return len(t.Data)
}

// norm2 is the Euclidean norm, accumulated in float64.
func norm2(v []float32) float64 {
	var s float64
	for _, a := range v {
		s += float64(a) * float64(a)
	}
	return math.Sqrt(s)
}

// PerpNeg is Perp-Neg guidance (Armandpour et al. 2023, "Re-imagine the
// Negative Prompt Algorithm: Transform 2D Diffusion into 3D, alleviate
// Janus problem and Beyond"), as ComfyUI's PerpNegGuider computes it
// (comfy_extras/nodes_perpneg.py perp_neg): the prompt and the negative
// prompt are both taken relative to the empty prompt, and only the part of
// the negative direction perpendicular to the positive one is subtracted,
// so a negative prompt that overlaps the prompt cannot cancel it:
//
//	pos    = cond − empty,  neg = uncond − empty
//	perp   = neg − (⟨neg, pos⟩/‖pos‖²)·pos
//	guided = empty + w·(pos − NegScale·perp)
//
// The dot product and norm run over the whole tensor (all images), as in
// ComfyUI; ‖pos‖ = 0 (cond == empty) gives perp = neg where ComfyUI gets
// NaN. The three predictions are one batch [empty, uncond, cond]. As in
// ComfyUI the negative pass is skipped when NegScale ≈ 0 (its prediction is
// then zero) and, when also w ≈ 1, the empty one too (guided = cond).
// RescaleCFG does not apply (ComfyUI's guider bypasses cfg_function).
type PerpNeg struct{ NegScale float64 }

// Needs asks for empty and uncond following ComfyUI's cfg1 optimisation.
func (r PerpNeg) Needs(scale float64, force bool) (uncond, empty bool) {
	if force {
		return true, true
	}
	negOff := math.Abs(r.NegScale) <= 1e-9
	return !negOff, !negOff || !SkipsUncond(scale)
}

// Combine applies the rule (see PerpNeg).
func (r PerpNeg) Combine(p Predictions) *tensor.Tensor {
	cond, empty := p.Cond.Data, p.Empty.Data
	n := len(cond)
	uncond := make([]float32, n) // ComfyUI: a skipped conditioning predicts zeros
	if p.Uncond != nil {
		uncond = p.Uncond.Data
	}
	pos := make([]float32, n)
	neg := make([]float32, n)
	var dot, nsq float64
	for i := range cond {
		pos[i] = cond[i] - empty[i]
		neg[i] = uncond[i] - empty[i]
		dot += float64(neg[i]) * float64(pos[i])
		nsq += float64(pos[i]) * float64(pos[i])
	}
	var k float32
	if nsq > 0 {
		k = float32(dot / nsq)
	}
	w, ns := float32(p.Scale), float32(r.NegScale)
	out := tensor.New(p.Cond.Shape...)
	for i := range cond {
		perp := neg[i] - float32(k*pos[i])
		out.Data[i] = empty[i] + float32(w*(pos[i]-float32(perp*ns)))
	}
	return out
}
