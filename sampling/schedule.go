package sampling

import (
	"fmt"
	"math"
)

// A discrete-time diffusion model (SD1, SDXL) was trained on T = 1000 noise
// levels. Step t adds noise with variance β_t; after t steps the clean image
// x₀ has been scaled and noised to
//
//	x_t = sqrt(ᾱ_t)·x₀ + sqrt(1 − ᾱ_t)·ε,   ᾱ_t = ∏_{s≤t} (1 − β_s).
//
// Dividing by sqrt(ᾱ_t) gives the variance-exploding form the k-diffusion
// samplers use, x = x₀ + σ·ε with
//
//	σ_t = sqrt((1 − ᾱ_t)/ᾱ_t).
//
// For SD1/SDXL, σ runs from 0.0292 (t = 0) to 14.6146 (t = 999).

// DiscreteSchedule is the noise table of a discrete-time model: ᾱ_t, σ_t and
// log σ_t for t = 0 … T−1, as ComfyUI's ModelSamplingDiscrete holds it.
type DiscreteSchedule struct {
	// AlphasCumprod is ᾱ_t (float64).
	AlphasCumprod []float64
	// Sigmas is σ_t = sqrt((1 − ᾱ_t)/ᾱ_t), rounded to float32 (ComfyUI keeps
	// a float32 buffer) and held as float64.
	Sigmas []float64
	// LogSigmas is log σ_t computed from the float64 σ and rounded to
	// float32.
	LogSigmas []float64
}

// Beta schedules, named as in ComfyUI / the LDM configs.
const (
	// BetaScaledLinear is β_t = (linspace(√β₀, √β₁, T))², what SD1 and SDXL
	// were trained with (LDM and ComfyUI call it "linear", diffusers
	// "scaled_linear").
	BetaScaledLinear = "scaled_linear"
	// BetaLinear is β_t = linspace(β₀, β₁, T).
	BetaLinear = "linear"
)

// SD1 training constants: T = 1000, β₀ = 0.00085, β₁ = 0.012 (also SDXL).
const (
	SDTimesteps   = 1000
	SDLinearBeta0 = 0.00085
	SDLinearBeta1 = 0.012
)

// Betas returns β_t in float64 (the LDM / ComfyUI computation).
// kind is BetaScaledLinear or BetaLinear.
func Betas(kind string, T int, beta0, beta1 float64) ([]float64, error) {
	if T < 2 || T > 1<<20 {
		return nil, fmt.Errorf("sampling: beta schedule needs between 2 and 2^20 timesteps, got %d", T)
	}
	if !(beta0 > 0 && beta0 <= beta1 && beta1 < 1) {
		return nil, fmt.Errorf("sampling: betas must satisfy 0 < beta_start <= beta_end < 1, got %g and %g", beta0, beta1)
	}
	b := make([]float64, T)
	switch kind {
	case BetaScaledLinear:
		lo, hi := math.Sqrt(beta0), math.Sqrt(beta1)
		for i, v := range torchLinspace64(lo, hi, T) {
			b[i] = v * v
		}
	case BetaLinear:
		copy(b, torchLinspace64(beta0, beta1, T))
	default:
		return nil, fmt.Errorf("sampling: unknown beta schedule %q (valid: %q, %q)", kind, BetaScaledLinear, BetaLinear)
	}
	return b, nil
}

// BetasFloat32 is the diffusers variant of Betas: the linspace and the
// square are computed in float32 (torch.linspace(..., dtype=float32)**2),
// which differs from the float64 table in the last bits.
func BetasFloat32(kind string, T int, beta0, beta1 float64) ([]float32, error) {
	if T < 2 {
		return nil, fmt.Errorf("sampling: beta schedule needs at least 2 timesteps, got %d", T)
	}
	b := make([]float32, T)
	switch kind {
	case BetaScaledLinear:
		for i, v := range linspace32(float32(math.Sqrt(beta0)), float32(math.Sqrt(beta1)), T) {
			b[i] = v * v
		}
	case BetaLinear:
		copy(b, linspace32(float32(beta0), float32(beta1), T))
	default:
		return nil, fmt.Errorf("sampling: unknown beta schedule %q (valid: %q, %q)", kind, BetaScaledLinear, BetaLinear)
	}
	return b, nil
}

// AlphasCumprod returns ᾱ_t = ∏_{s≤t} (1 − β_s) in float64.
func AlphasCumprod(betas []float64) []float64 {
	acp := make([]float64, len(betas))
	p := 1.0
	for i, b := range betas {
		p *= 1 - b
		acp[i] = p
	}
	return acp
}

// AlphasCumprodFloat32 is diffusers' ᾱ_t: torch.cumprod(1 − β) of a float32
// tensor, which on the CPU accumulates in float64 and rounds each prefix
// product to float32.
func AlphasCumprodFloat32(betas []float32) []float32 {
	acp := make([]float32, len(betas))
	p := 1.0
	for i, b := range betas {
		p *= float64(1 - b)
		acp[i] = float32(p)
	}
	return acp
}

// NewDiscreteSchedule builds the σ table from ᾱ (ComfyUI
// ModelSamplingDiscrete._register_schedule).
func NewDiscreteSchedule(alphasCumprod []float64) *DiscreteSchedule {
	s := &DiscreteSchedule{
		AlphasCumprod: alphasCumprod,
		Sigmas:        make([]float64, len(alphasCumprod)),
		LogSigmas:     make([]float64, len(alphasCumprod)),
	}
	for i, a := range alphasCumprod {
		sigma := math.Sqrt((1 - a) / a)
		s.Sigmas[i] = float64(float32(sigma))
		s.LogSigmas[i] = float64(float32(math.Log(sigma)))
	}
	return s
}

// NewDiscreteScheduleFloat32 builds the σ table from a float32 ᾱ buffer
// with float32 arithmetic, as k-diffusion's CompVisDenoiser does from an LDM
// checkpoint's alphas_cumprod: σ = sqrt((1 − ᾱ)/ᾱ) and log σ in float32.
func NewDiscreteScheduleFloat32(alphasCumprod []float32) *DiscreteSchedule {
	s := &DiscreteSchedule{
		AlphasCumprod: make([]float64, len(alphasCumprod)),
		Sigmas:        make([]float64, len(alphasCumprod)),
		LogSigmas:     make([]float64, len(alphasCumprod)),
	}
	for i, a := range alphasCumprod {
		sigma := float32(math.Sqrt(float64((1 - a) / a)))
		s.AlphasCumprod[i] = float64(a)
		s.Sigmas[i] = float64(sigma)
		s.LogSigmas[i] = float64(float32(math.Log(float64(sigma))))
	}
	return s
}

// SD1Schedule returns the schedule of SD1.x and SDXL: scaled-linear betas
// from 0.00085 to 0.012 over 1000 steps, in float64 (ComfyUI / LDM).
// σ_min = 0.0291672, σ_max = 14.614642.
func SD1Schedule() *DiscreteSchedule {
	b, _ := Betas(BetaScaledLinear, SDTimesteps, SDLinearBeta0, SDLinearBeta1)
	return NewDiscreteSchedule(AlphasCumprod(b))
}

// SigmaMin is σ_0, the smallest noise level of the table.
func (s *DiscreteSchedule) SigmaMin() float64 { return s.Sigmas[0] }

// SigmaMax is σ_{T−1}, the largest noise level of the table.
func (s *DiscreteSchedule) SigmaMax() float64 { return s.Sigmas[len(s.Sigmas)-1] }

// Timestep maps σ to the training timestep the network is told about, as
// ComfyUI does: the index t of the nearest table entry in log σ,
// argmin_t |log σ − log σ_t| (first one on ties), returned as an integer.
func (s *DiscreteSchedule) Timestep(sigma float64) float64 {
	ls := float64(float32(math.Log(float64(float32(sigma)))))
	best, bestD := 0, math.Inf(1)
	for i, l := range s.LogSigmas {
		d := math.Abs(float64(float32(ls - l)))
		if d < bestD {
			best, bestD = i, d
		}
	}
	return float64(best)
}

// TimestepInterp maps σ to a fractional timestep as k-diffusion's
// DiscreteSchedule.sigma_to_t: find the table interval [t, t+1] with
// log σ_t ≤ log σ < log σ_{t+1} and interpolate linearly in log σ,
// t + (log σ_t − log σ)/(log σ_t − log σ_{t+1}) (clamped to the table).
func (s *DiscreteSchedule) TimestepInterp(sigma float64) float64 {
	ls := math.Log(sigma)
	n := len(s.LogSigmas)
	// low = number of entries ≤ log σ, minus one, clamped to [0, n−2].
	low := 0
	for i, l := range s.LogSigmas {
		if ls >= l {
			low = i
		}
	}
	if low > n-2 {
		low = n - 2
	}
	lo, hi := s.LogSigmas[low], s.LogSigmas[low+1]
	w := (lo - ls) / (lo - hi)
	w = math.Max(0, math.Min(1, w))
	return (1-w)*float64(low) + w*float64(low+1)
}

// Sigma maps a (possibly fractional) timestep to σ as ComfyUI's
// ModelSamplingDiscrete.sigma: t is clamped to [0, T−1] and log σ is
// interpolated linearly between the neighbouring table entries,
//
//	σ(t) = exp((1 − w)·log σ_⌊t⌋ + w·log σ_⌈t⌉),  w = t − ⌊t⌋,
//
// in float32 like ComfyUI.
func (s *DiscreteSchedule) Sigma(t float64) float64 {
	tf := float32(math.Max(0, math.Min(float64(len(s.Sigmas)-1), t)))
	lo := int(math.Floor(float64(tf)))
	hi := int(math.Ceil(float64(tf)))
	w := tf - float32(lo)
	logSigma := (1-w)*float32(s.LogSigmas[lo]) + w*float32(s.LogSigmas[hi])
	return float64(float32(math.Exp(float64(logSigma))))
}

// linspace64 is numpy.linspace: start + i·(end − start)/(n − 1), the last
// value set to end exactly.
func linspace64(start, end float64, n int) []float64 {
	out := make([]float64, n)
	if n == 1 {
		out[0] = start
		return out
	}
	step := (end - start) / float64(n-1)
	for i := range out {
		out[i] = start + float64(i)*step
	}
	out[n-1] = end
	return out
}

// torchLinspace64 is torch.linspace for float64 (same two-sided rule as
// linspace32).
func torchLinspace64(start, end float64, n int) []float64 {
	out := make([]float64, n)
	if n == 1 {
		out[0] = start
		return out
	}
	step := (end - start) / float64(n-1)
	half := n / 2
	for i := range out {
		if i < half {
			out[i] = start + step*float64(i)
		} else {
			out[i] = end - step*float64(n-1-i)
		}
	}
	return out
}

// linspace32 is torch.linspace for float32: step = (end − start)/(n − 1);
// the first half counts up from start, the second half down from end
// (start + i·step for i < n/2, end − (n−1−i)·step otherwise).
func linspace32(start, end float32, n int) []float32 {
	out := make([]float32, n)
	if n == 1 {
		out[0] = start
		return out
	}
	step := (end - start) / float32(n-1)
	half := n / 2
	for i := range out {
		if i < half {
			out[i] = start + float32(step*float32(i))
		} else {
			out[i] = end - float32(step*float32(n-1-i))
		}
	}
	return out
}
