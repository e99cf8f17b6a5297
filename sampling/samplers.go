package sampling

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// The samplers below are the k-diffusion ones (Karras et al. 2022;
// k-diffusion / ComfyUI comfy/k_diffusion/sampling.py with default options).
// They all treat sampling as solving the probability-flow ODE
//
//	dx/dσ = (x − D(x, σ))/σ = d,
//
// where D is the Denoiser: d is the direction from the clean estimate to x,
// i.e. the predicted noise ε̂. Walking σ down the schedule to 0 removes the
// noise. Every sampler takes x already scaled to σ₀ (NoiseScaling) and
// returns the final latent. Arithmetic is float32 like the reference.

// Options are the per-run settings of a sampler. A nil *Options means the
// defaults.
type Options struct {
	// Eta scales the fresh noise of ancestral steps (AncestralStep): 1 is
	// full ancestral sampling, 0 deterministic. It is read only when EtaSet
	// is true; otherwise each sampler uses its default (euler_ancestral 1,
	// ddim 0).
	Eta    float64
	EtaSet bool
	// SNoise multiplies the ancestral noise (0 means the default, 1).
	SNoise float64
	// Noise supplies fresh noise; euler_ancestral, lcm and ddim with η > 0
	// need it. TorchNoiseSampler(seed) reproduces ComfyUI's.
	Noise NoiseSampler
	// Callback, if set, is called at each step i with the x the step starts
	// from and the denoised estimate it uses.
	Callback func(i int, x, denoised *tensor.Tensor)
}

func (o *Options) eta(def float64) float64 {
	if o == nil || !o.EtaSet {
		return def
	}
	return o.Eta
}

func (o *Options) sNoise() float64 {
	if o == nil || o.SNoise == 0 {
		return 1
	}
	return o.SNoise
}

func (o *Options) callback(i int, x, denoised *tensor.Tensor) {
	if o != nil && o.Callback != nil {
		o.Callback(i, x, denoised)
	}
}

// SamplerFunc runs a sampler from x (at sigmas[0]) down the schedule.
type SamplerFunc func(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options) (*tensor.Tensor, error)

// Samplers maps ComfyUI sampler names to their functions.
var Samplers = map[string]SamplerFunc{
	"euler":           SampleEuler,
	"euler_ancestral": SampleEulerAncestral,
	"heun":            SampleHeun,
	"dpmpp_2m":        SampleDPMPP2M,
	"ddim":            SampleDDIM,
	"lcm":             SampleLCM,
	// CFG++ (cfgpp.go): need a CFG guider as the model.
	"euler_cfg_pp":           SampleEulerCFGPP,
	"euler_ancestral_cfg_pp": SampleEulerAncestralCFGPP,
}

// samplerAliases maps stable-diffusion.cpp / A1111 spellings to ComfyUI names.
var samplerAliases = map[string]string{
	"euler_a":        "euler_ancestral",
	"euler a":        "euler_ancestral",
	"k_euler":        "euler",
	"k_euler_a":      "euler_ancestral",
	"dpm++2m":        "dpmpp_2m",
	"dpm++_2m":       "dpmpp_2m",
	"dpmpp2m":        "dpmpp_2m",
	"dpm++ 2m":       "dpmpp_2m",
	"ddim_trailing":  "ddim",
	"k_heun":         "heun",
	"k_dpmpp_2m":     "dpmpp_2m",
	"euler_discrete": "euler",
}

// SamplerNames lists the valid sampler names (ComfyUI names and aliases),
// sorted.
func SamplerNames() []string { return registryNames(Samplers, samplerAliases) }

// CanonicalSampler returns the ComfyUI name for name (itself or an alias), or
// an error listing the valid names.
func CanonicalSampler(name string) (string, error) {
	key, _, err := registryLookup("sampler", Samplers, samplerAliases, name)
	return key, err
}

// LookupSampler returns the sampler called name, or an error listing the
// valid names.
func LookupSampler(name string) (SamplerFunc, error) {
	key, err := CanonicalSampler(name)
	if err != nil {
		return nil, err
	}
	return Samplers[key], nil
}

// toD is the ODE derivative d = (x − denoised)/σ.
func toD(x, denoised *tensor.Tensor, sigma float32) []float32 {
	d := make([]float32, len(x.Data))
	for i, v := range x.Data {
		d[i] = (v - denoised.Data[i]) / sigma
	}
	return d
}

func checkRun(model Denoiser, x *tensor.Tensor, sigmas []float64) error {
	if model == nil {
		return fmt.Errorf("sampling: no model")
	}
	if x == nil {
		return fmt.Errorf("sampling: no start latent")
	}
	if len(sigmas) < 2 {
		return fmt.Errorf("sampling: need at least 2 sigmas (one step), got %d", len(sigmas))
	}
	return nil
}

func denoise(model Denoiser, x *tensor.Tensor, sigma float64) (*tensor.Tensor, error) {
	d, err := model.Denoise(x, sigma)
	if err != nil {
		return nil, err
	}
	if len(d.Data) != len(x.Data) {
		return nil, fmt.Errorf("sampling: model returned %v for latent %v", d.Shape, x.Shape)
	}
	return d, nil
}

// SampleEuler is Euler's method on the ODE (Karras et al. 2022, Alg. 1
// without churn): for each step
//
//	denoised = D(x, σ_i)
//	d        = (x − denoised)/σ_i
//	x        = x + d·(σ_{i+1} − σ_i)
//
// The last step (to σ = 0) lands exactly on denoised up to rounding.
func SampleEuler(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options) (*tensor.Tensor, error) {
	if err := checkRun(model, x, sigmas); err != nil {
		return nil, err
	}
	x = x.Clone()
	for i := 0; i < len(sigmas)-1; i++ {
		sigma := float32(sigmas[i])
		denoised, err := denoise(model, x, sigmas[i])
		if err != nil {
			return nil, err
		}
		opt.callback(i, x, denoised)
		d := toD(x, denoised, sigma)
		dt := float32(sigmas[i+1]) - sigma
		for j := range x.Data {
			x.Data[j] += float32(d[j] * dt)
		}
	}
	return x, nil
}

// AncestralStep splits a step from σ to σ_next into a deterministic part
// down to sigmaDown and fresh noise of size sigmaUp, with
// sigmaDown² + sigmaUp² = σ_next² (k-diffusion get_ancestral_step):
//
//	sigmaUp   = min(σ_next, η·sqrt(σ_next²(σ² − σ_next²)/σ²))
//	sigmaDown = sqrt(σ_next² − sigmaUp²)
//
// η = 0 gives sigmaDown = σ_next, sigmaUp = 0 (no noise).
func AncestralStep(sigma, sigmaNext, eta float64) (sigmaDown, sigmaUp float64) {
	if eta == 0 {
		return sigmaNext, 0
	}
	s, sn := float32(sigma), float32(sigmaNext)
	up := float32(eta) * float32(math.Sqrt(float64(sn*sn*(s*s-sn*sn)/(s*s))))
	if sn < up {
		up = sn
	}
	down := float32(math.Sqrt(float64(sn*sn - up*up)))
	return float64(down), float64(up)
}

// SampleEulerAncestral is Euler with ancestral noise (k-diffusion
// sample_euler_ancestral, η = 1 by default): each step goes
// deterministically to sigmaDown and then adds fresh noise of scale
// sigmaUp (AncestralStep):
//
//	denoised = D(x, σ_i)
//	x = x + d·(sigmaDown − σ_i) + s_noise·sigmaUp·z,   z ~ N(0, I)
//
// When sigmaDown = 0 (the last step) x = denoised exactly and no noise is
// drawn.
func SampleEulerAncestral(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options) (*tensor.Tensor, error) {
	return ancestralEuler(model, x, sigmas, opt, opt.eta(1))
}

func ancestralEuler(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options, eta float64) (*tensor.Tensor, error) {
	if err := checkRun(model, x, sigmas); err != nil {
		return nil, err
	}
	sNoise := float32(opt.sNoise())
	x = x.Clone()
	for i := 0; i < len(sigmas)-1; i++ {
		sigma := float32(sigmas[i])
		denoised, err := denoise(model, x, sigmas[i])
		if err != nil {
			return nil, err
		}
		opt.callback(i, x, denoised)
		down, up := AncestralStep(sigmas[i], sigmas[i+1], eta)
		if down == 0 {
			copy(x.Data, denoised.Data)
			continue
		}
		d := toD(x, denoised, sigma)
		dt := float32(down) - sigma
		var z *tensor.Tensor
		if up > 0 {
			if opt == nil || opt.Noise == nil {
				return nil, fmt.Errorf("sampling: ancestral step needs a noise sampler (Options.Noise)")
			}
			z = opt.Noise(x, sigmas[i], sigmas[i+1])
		}
		u := float32(up)
		for j := range x.Data {
			v := x.Data[j] + float32(d[j]*dt)
			if z != nil {
				v += float32(float32(z.Data[j]*sNoise) * u)
			}
			x.Data[j] = v
		}
	}
	return x, nil
}

// SampleHeun is Heun's second-order method (Karras et al. 2022, Alg. 1):
// an Euler step to σ_{i+1} gives x₂; the slope there, d₂, is averaged with
// d:
//
//	x₂ = x + d·(σ_{i+1} − σ_i),  d₂ = (x₂ − D(x₂, σ_{i+1}))/σ_{i+1}
//	x  = x + (d + d₂)/2·(σ_{i+1} − σ_i)
//
// Two model calls per step, except the last one (σ_{i+1} = 0, where d₂ is
// undefined), which is a plain Euler step.
func SampleHeun(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options) (*tensor.Tensor, error) {
	if err := checkRun(model, x, sigmas); err != nil {
		return nil, err
	}
	x = x.Clone()
	for i := 0; i < len(sigmas)-1; i++ {
		sigma := float32(sigmas[i])
		denoised, err := denoise(model, x, sigmas[i])
		if err != nil {
			return nil, err
		}
		opt.callback(i, x, denoised)
		d := toD(x, denoised, sigma)
		next := float32(sigmas[i+1])
		dt := next - sigma
		if next == 0 {
			for j := range x.Data {
				x.Data[j] += float32(d[j] * dt)
			}
			continue
		}
		x2 := tensor.New(x.Shape...)
		for j := range x.Data {
			x2.Data[j] = x.Data[j] + float32(d[j]*dt)
		}
		denoised2, err := denoise(model, x2, sigmas[i+1])
		if err != nil {
			return nil, err
		}
		d2 := toD(x2, denoised2, next)
		for j := range x.Data {
			dPrime := (d[j] + d2[j]) / 2
			x.Data[j] += float32(dPrime * dt)
		}
	}
	return x, nil
}

// SampleDPMPP2M is DPM-Solver++(2M) (Lu et al. 2022, Alg. 2), a multistep
// solver in t = −log σ that reuses the previous step's denoised estimate
// as a second-order correction:
//
//	h = t_{i+1} − t_i,  x = (σ_{i+1}/σ_i)·x − (e^{−h} − 1)·D'
//
// with D' = denoised on the first step and on the step to σ = 0
// (first order), otherwise, with r = h_{i−1}/h,
//
//	D' = (1 + 1/(2r))·denoised_i − (1/(2r))·denoised_{i−1}.
//
// The step to σ = 0 returns denoised exactly (σ_{i+1}/σ_i = 0, e^{−h} = 0).
func SampleDPMPP2M(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options) (*tensor.Tensor, error) {
	if err := checkRun(model, x, sigmas); err != nil {
		return nil, err
	}
	tFn := func(s float64) float32 { return -float32(math.Log(float64(float32(s)))) }
	x = x.Clone()
	var oldDenoised *tensor.Tensor
	for i := 0; i < len(sigmas)-1; i++ {
		denoised, err := denoise(model, x, sigmas[i])
		if err != nil {
			return nil, err
		}
		opt.callback(i, x, denoised)
		if float32(sigmas[i+1]) == 0 {
			// t_next = ∞: the update is exactly x = denoised.
			copy(x.Data, denoised.Data)
			oldDenoised = denoised
			continue
		}
		t, tNext := tFn(sigmas[i]), tFn(sigmas[i+1])
		h := tNext - t
		ratio := float32(math.Exp(float64(-tNext))) / float32(math.Exp(float64(-t))) // σ_{i+1}/σ_i
		expm1 := float32(math.Expm1(float64(-h)))                                    // e^{−h} − 1
		if oldDenoised == nil {
			for j := range x.Data {
				x.Data[j] = float32(ratio*x.Data[j]) - float32(expm1*denoised.Data[j])
			}
		} else {
			hLast := t - tFn(sigmas[i-1])
			r := hLast / h
			a := 1 + 1/(2*r)
			b := 1 / (2 * r)
			for j := range x.Data {
				dd := float32(a*denoised.Data[j]) - float32(b*oldDenoised.Data[j])
				x.Data[j] = float32(ratio*x.Data[j]) - float32(expm1*dd)
			}
		}
		oldDenoised = denoised
	}
	return x, nil
}

// SampleDDIM is DDIM (Song et al. 2021) written in σ space. With η = 0
// (the default) the DDIM update
//
//	x_{i+1} = denoised + σ_{i+1}·ε̂,   ε̂ = (x − denoised)/σ_i
//
// is exactly the Euler step, which is how ComfyUI runs "ddim" (Euler on the
// ddim_uniform schedule). With η > 0 (Options.Eta, EtaSet) the step keeps
// only part of ε̂ and adds fresh noise as the ancestral Euler step does:
// σ_{i+1}² = sigmaDown² + sigmaUp².
func SampleDDIM(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options) (*tensor.Tensor, error) {
	eta := opt.eta(0)
	if eta == 0 {
		return SampleEuler(model, x, sigmas, opt)
	}
	return ancestralEuler(model, x, sigmas, opt, eta)
}

// SampleLCM is the Latent Consistency Model sampler (Luo et al. 2023,
// k-diffusion/ComfyUI sample_lcm): a consistency model maps any noisy x
// straight to its clean estimate, so each step takes denoised and re-noises
// it to the next level with fresh noise:
//
//	x = denoised + σ_{i+1}·z,  z ~ N(0, I)   (no noise on the last step)
func SampleLCM(model Denoiser, x *tensor.Tensor, sigmas []float64, opt *Options) (*tensor.Tensor, error) {
	if err := checkRun(model, x, sigmas); err != nil {
		return nil, err
	}
	x = x.Clone()
	for i := 0; i < len(sigmas)-1; i++ {
		denoised, err := denoise(model, x, sigmas[i])
		if err != nil {
			return nil, err
		}
		opt.callback(i, x, denoised)
		copy(x.Data, denoised.Data)
		if float32(sigmas[i+1]) > 0 {
			if opt == nil || opt.Noise == nil {
				return nil, fmt.Errorf("sampling: lcm needs a noise sampler (Options.Noise)")
			}
			z := opt.Noise(x, sigmas[i], sigmas[i+1])
			x = NoiseScaling(sigmas[i+1], z, x, false)
		}
	}
	return x, nil
}
