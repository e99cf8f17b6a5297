package sampling

import (
	"fmt"

	"github.com/godiffusion/godiffusion/tensor"
)

// KSampler bundles one ComfyUI KSampler run for an ε-predicting model
// (SD1, SDXL): the sigma schedule, the seeded initial noise, the start
// latent, classifier-free guidance and the sampler. It is the composition
// a pipeline needs; each piece is also usable on its own.
type KSampler struct {
	// Sampler and Scheduler are ComfyUI names or aliases (LookupSampler,
	// LookupScheduler), e.g. "euler", "euler_a", "dpmpp_2m"; "normal",
	// "karras", "discrete".
	Sampler   string
	Scheduler string
	Steps     int
	// CFG is the guidance scale; 1 skips the unconditional pass.
	CFG float64
	// Denoise is the img2img strength in (0, 1]; 0 means 1 (txt2img).
	Denoise float64
	// Seed seeds the initial noise (and, +1, the ancestral noise).
	Seed uint64
	// RescaleCFG > 0 applies ComfyUI's RescaleCFG with this multiplier.
	RescaleCFG float64
	// Guidance chooses the guidance rule, interval and scale schedule
	// (the zero value is plain CFG).
	Guidance GuidanceOptions
	// Schedule is the model's noise table; nil means SD1Schedule().
	Schedule *DiscreteSchedule
	// Observer sees every guided model call; Callback every sampler step.
	Observer Observer
	Callback func(i int, x, denoised *tensor.Tensor)
}

// Sample runs the sampler and returns the final latent. latent is the
// starting latent [N, C, H, W]: all zeros for txt2img (ComfyUI's
// EmptyLatentImage), the VAE encoding × scale factor for img2img. As in
// ComfyUI, the noise of all N images is one randn of the whole shape, so
// image i of a batch is not the image of seed+i. cond is
// the prompt's conditioning, uncond the negative prompt's (the encoding of
// "" when there is none; unused when CFG is 1).
func (k *KSampler) Sample(net EpsNet, cond, uncond Cond, latent *tensor.Tensor) (*tensor.Tensor, error) {
	if net == nil {
		return nil, fmt.Errorf("sampling: KSampler has no network")
	}
	if latent == nil || len(latent.Shape) != 4 {
		return nil, fmt.Errorf("sampling: KSampler needs a start latent [N, C, H, W]")
	}
	sampler, err := LookupSampler(k.Sampler)
	if err != nil {
		return nil, err
	}
	s := k.Schedule
	if s == nil {
		s = SD1Schedule()
	}
	denoise := k.Denoise
	if denoise == 0 {
		denoise = 1
	}
	sigmas, err := CalculateSigmas(s, k.Scheduler, k.Steps, denoise)
	if err != nil {
		return nil, err
	}
	noise := PrepareNoise(k.Seed, latent.Shape...)
	x := NoiseScaling(sigmas[0], noise, latent, MaxDenoise(s, sigmas[0]))
	guider := &CFG{
		Model:             &EPS{Net: net, Schedule: s},
		Cond:              cond,
		Uncond:            uncond,
		Scale:             k.CFG,
		RescaleMultiplier: k.RescaleCFG,
		Observer:          k.Observer,
	}
	if err := k.Guidance.Configure(guider, sigmas); err != nil {
		return nil, err
	}
	opt := &Options{Noise: TorchNoiseSampler(k.Seed), Callback: k.Callback}
	return sampler(guider, x, sigmas, opt)
}
