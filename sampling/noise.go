package sampling

import (
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// PrepareNoise is ComfyUI's prepare_noise: the initial latent noise is ONE
// torch.randn of the whole latent shape (e.g. [1, 4, H/8, W/8]) from the CPU
// generator seeded with seed. The same seed gives the same noise as ComfyUI
// on any device.
func PrepareNoise(seed uint64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	copy(t.Data, NewGenerator(seed).Randn(len(t.Data)))
	return t
}

// MaxDenoise reports whether sampling starts from pure noise: ComfyUI's
// Sampler.max_denoise, true when σ₀ is within relative 1e-5 of σ_max or
// above it (every txt2img run; not img2img with denoise < 1).
func MaxDenoise(s *DiscreteSchedule, sigma0 float64) bool {
	sigmaMax := s.SigmaMax()
	return math.Abs(sigmaMax-sigma0) <= 1e-5*math.Max(math.Abs(sigmaMax), math.Abs(sigma0)) || sigma0 > sigmaMax
}

// NoiseScaling builds the sampler's starting latent (ComfyUI
// EPS.noise_scaling):
//
//	x_init = noise·sqrt(1 + σ₀²) + latent   if maxDenoise (txt2img),
//	x_init = noise·σ₀ + latent              otherwise (img2img).
//
// sqrt(1 + σ₀²) is the standard deviation of x = x₀ + σ₀·ε when the data
// x₀ has unit variance, so pure noise is scaled to the spread of a real
// noisy latent at σ₀ (14.649 instead of 14.615 at σ_max; A1111 and plain
// k-diffusion use σ₀). latent may be nil (an empty latent, zeros).
func NoiseScaling(sigma0 float64, noise, latent *tensor.Tensor, maxDenoise bool) *tensor.Tensor {
	s := float32(sigma0)
	scale := s
	if maxDenoise {
		scale = float32(math.Sqrt(float64(1 + s*s)))
	}
	out := tensor.New(noise.Shape...)
	for i, n := range noise.Data {
		v := float32(n * scale) // rounded before the add, as torch's two ops (and no FMA on arm64)
		if latent != nil {
			v += latent.Data[i]
		}
		out.Data[i] = v
	}
	return out
}

// NoiseSampler returns fresh standard normal noise shaped like x for an
// ancestral step from sigma to sigmaNext.
type NoiseSampler func(x *tensor.Tensor, sigma, sigmaNext float64) *tensor.Tensor

// TorchNoiseSampler is ComfyUI's default_noise_sampler for a CPU latent: a
// torch generator seeded with seed+1 (ComfyUI increments the KSampler seed
// for CPU tensors) from which each call draws one randn(x.shape),
// consecutively. (ComfyUI on CUDA instead uses the unincremented seed on a
// CUDA generator, so its ancestral samples differ from these.)
func TorchNoiseSampler(seed uint64) NoiseSampler {
	g := NewGenerator(seed + 1)
	return func(x *tensor.Tensor, _, _ float64) *tensor.Tensor {
		t := tensor.New(x.Shape...)
		copy(t.Data, g.Randn(len(t.Data)))
		return t
	}
}
