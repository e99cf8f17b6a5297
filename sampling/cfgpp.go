package sampling

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// UncondDenoiser is a Denoiser that can also return its unconditional
// prediction (CFG does); the CFG++ samplers need it.
type UncondDenoiser interface {
	Denoiser
	DenoiseUncond(x *tensor.Tensor, sigma float64) (guided, uncond *tensor.Tensor, err error)
}

// SampleEulerCFGPP is Euler with CFG++ (Chung et al. 2024, "CFG++:
// Manifold-constrained Classifier Free Guidance for Diffusion Models"), as
// ComfyUI's sample_euler_cfg_pp: SampleEulerAncestralCFGPP with η = 0.
// The step lands on the guided estimate but renoises along the
// unconditional noise direction:
//
//	x = denoised + σ_{i+1}·(x − uncond)/σ_i
//
// (with ComfyUI's α factors, see SampleEulerAncestralCFGPP). CFG++ is meant
// for small scales (about 0.5–2 in ComfyUI's units); with cond == uncond it
// is Euler.
func SampleEulerCFGPP(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options) (*tensor.Tensor, error) {
	return eulerCFGPP(model, x, sigmas, opt, 0, 0)
}

// SampleEulerAncestralCFGPP is ancestral Euler with CFG++ (ComfyUI
// sample_euler_ancestral_cfg_pp, η = 1, s_noise = 1 by default). With
// α(σ) = σ·e^{λ(σ)} for the half-log-SNR λ = −log σ of an ε model (so
// α = 1 up to float32 rounding, kept for bitwise agreement):
//
//	d        = (x − α_i·uncond)/σ_i
//	down, up = AncestralStep(σ_i/α_i, σ_{i+1}/α_{i+1}, η),  down ← α_{i+1}·down
//	x        = α_{i+1}·denoised + down·d + α_{i+1}·s_noise·up·z
//
// and x = denoised on the step to σ = 0. The unconditional prediction comes
// from the guider (UncondDenoiser), which computes it even at scale 1; a
// model without one is its own uncond (the step is then Euler's).
func SampleEulerAncestralCFGPP(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options) (*tensor.Tensor, error) {
	return eulerCFGPP(model, x, sigmas, opt, opt.eta(1), opt.sNoise())
}

func eulerCFGPP(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options, eta, sNoise float64) (*tensor.Tensor, error) {
	if err := checkRun(model, x, sigmas); err != nil {
		return nil, err
	}
	ud, ok := model.(UncondDenoiser)
	x = x.Clone()
	for i := 0; i < len(sigmas)-1; i++ {
		var denoised, uncond *tensor.Tensor
		var err error
		if ok {
			denoised, uncond, err = ud.DenoiseUncond(x, sigmas[i])
		} else {
			denoised, err = model.Denoise(x, sigmas[i])
			uncond = denoised
		}
		if err != nil {
			return nil, err
		}
		if len(denoised.Data) != len(x.Data) || len(uncond.Data) != len(x.Data) {
			return nil, fmt.Errorf("sampling: model returned %v for latent %v", denoised.Shape, x.Shape)
		}
		opt.callback(i, x, denoised)
		if float32(sigmas[i+1]) == 0 {
			copy(x.Data, denoised.Data)
			continue
		}
		sigma, next := float32(sigmas[i]), float32(sigmas[i+1])
		aS, aT := alphaEPS(sigma), alphaEPS(next)
		d := make([]float32, len(x.Data))
		for j, v := range x.Data {
			d[j] = (v - float32(aS*uncond.Data[j])) / sigma
		}
		down, up := AncestralStep(float64(sigma/aS), float64(next/aT), eta)
		down32 := aT * float32(down)
		var z *tensor.Tensor
		if eta > 0 && sNoise > 0 {
			if opt == nil || opt.Noise == nil {
				return nil, fmt.Errorf("sampling: ancestral step needs a noise sampler (Options.Noise)")
			}
			z = opt.Noise(x, sigmas[i], sigmas[i+1])
		}
		sn, u := float32(sNoise), float32(up)
		for j := range x.Data {
			v := float32(aT*denoised.Data[j]) + float32(down32*d[j])
			if z != nil {
				v += float32(float32(float32(aT*z.Data[j])*sn) * u)
			}
			x.Data[j] = v
		}
	}
	return x, nil
}

// alphaEPS is ComfyUI's σ·exp(λ(σ)) with λ = −log σ (sigma_to_half_log_snr
// for ε models), in float32: 1 up to rounding.
func alphaEPS(sigma float32) float32 {
	l := -float32(math.Log(float64(sigma)))
	return sigma * float32(math.Exp(float64(l)))
}

// SamplerNeedsUncond reports whether the sampler called name needs the
// unconditional prediction at every step, even at scale 1 (the CFG++
// samplers), so a pipeline must encode the negative prompt.
func SamplerNeedsUncond(name string) bool {
	key, err := CanonicalSampler(name)
	return err == nil && (key == "euler_cfg_pp" || key == "euler_ancestral_cfg_pp")
}
