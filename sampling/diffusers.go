package sampling

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// The diffusers convention is a second, independent way to run the same
// models: the loop walks integer (or fractional) training timesteps
// instead of sigmas, the network gets the timestep directly, guidance is
// applied to ε, and each scheduler has its own timestep spacing. The
// functions here reproduce diffusers' DDIMScheduler and
// EulerDiscreteScheduler (and the timestep lists of its other schedulers) for
// SD-style configs.

// Timestep spacings of diffusers schedulers ("timestep_spacing").
const (
	SpacingLeading  = "leading"  // (0, r, 2r, …)·reversed + steps_offset, r = T // n
	SpacingTrailing = "trailing" // round(T, T − T/n, …) − 1
	SpacingLinspace = "linspace" // linspace(0, T − 1, n) reversed
)

// DiffusersTimesteps returns the n timesteps, in decreasing order, of a
// diffusers scheduler with the given spacing, T training steps and
// steps_offset (1 for SD configs). "linspace" values may be fractional (as
// EulerDiscreteScheduler uses them); round them for integer schedulers.
func DiffusersTimesteps(spacing string, T, n, stepsOffset int) ([]float64, error) {
	if n < 1 || n > T {
		return nil, fmt.Errorf("sampling: %d inference steps for %d training steps", n, T)
	}
	ts := make([]float64, n)
	switch spacing {
	case SpacingLeading:
		r := T / n
		for i := 0; i < n; i++ {
			ts[n-1-i] = float64(i*r + stepsOffset)
		}
	case SpacingTrailing:
		r := float64(T) / float64(n)
		for i := 0; i < n; i++ {
			ts[i] = math.RoundToEven(float64(T)-float64(i)*r) - 1
		}
	case SpacingLinspace:
		lin := linspace64(0, float64(T-1), n)
		for i := range lin {
			ts[n-1-i] = float64(float32(lin[i]))
		}
	default:
		return nil, fmt.Errorf("sampling: unknown timestep spacing %q (valid: leading, trailing, linspace)", spacing)
	}
	return ts, nil
}

// DiffusersSchedule is the float32 noise table diffusers schedulers build
// from their config: β (float32 linspace), ᾱ, and σ = sqrt((1 − ᾱ)/ᾱ)
// evaluated in float32.
type DiffusersSchedule struct {
	Betas         []float32
	AlphasCumprod []float32
	Sigmas        []float32
}

// NewDiffusersSchedule builds the table for a beta schedule ("scaled_linear"
// or "linear") as diffusers does.
func NewDiffusersSchedule(kind string, T int, beta0, beta1 float64) (*DiffusersSchedule, error) {
	b, err := BetasFloat32(kind, T, beta0, beta1)
	if err != nil {
		return nil, err
	}
	acp := AlphasCumprodFloat32(b)
	s := &DiffusersSchedule{Betas: b, AlphasCumprod: acp, Sigmas: make([]float32, T)}
	for i, a := range acp {
		s.Sigmas[i] = float32(math.Sqrt(float64((1 - a) / a)))
	}
	return s, nil
}

// SD1DiffusersSchedule is NewDiffusersSchedule for the SD1.5/SDXL config.
func SD1DiffusersSchedule() *DiffusersSchedule {
	s, _ := NewDiffusersSchedule(BetaScaledLinear, SDTimesteps, SDLinearBeta0, SDLinearBeta1)
	return s
}

// InterpSigmas returns σ at fractional timesteps by linear interpolation of
// the float32 table in t (numpy.interp in float64), with 0 appended, rounded
// to float32: diffusers' EulerDiscreteScheduler sigmas.
func (s *DiffusersSchedule) InterpSigmas(timesteps []float64) []float64 {
	out := make([]float64, 0, len(timesteps)+1)
	for _, t := range timesteps {
		out = append(out, float64(float32(s.interp(t))))
	}
	return append(out, 0)
}

func (s *DiffusersSchedule) interp(t float64) float64 {
	n := len(s.Sigmas)
	if t <= 0 {
		return float64(s.Sigmas[0])
	}
	if t >= float64(n-1) {
		return float64(s.Sigmas[n-1])
	}
	lo := int(math.Floor(t))
	w := t - float64(lo)
	a, b := float64(s.Sigmas[lo]), float64(s.Sigmas[lo+1])
	return a + (b-a)*w
}

// SigmaToT is diffusers' _sigma_to_t: the fractional timestep whose
// log-interpolated σ equals sigma (float32 log σ table, float64 arithmetic).
func (s *DiffusersSchedule) SigmaToT(sigma float64) float64 {
	ls := math.Log(math.Max(sigma, 1e-10))
	n := len(s.Sigmas)
	low := 0
	for i, v := range s.Sigmas {
		if ls-float64(float32(math.Log(float64(v)))) >= 0 {
			low = i
		}
	}
	if low > n-2 {
		low = n - 2
	}
	lo := float64(float32(math.Log(float64(s.Sigmas[low]))))
	hi := float64(float32(math.Log(float64(s.Sigmas[low+1]))))
	w := (lo - ls) / (lo - hi)
	w = math.Max(0, math.Min(1, w))
	return (1-w)*float64(low) + w*float64(low+1)
}

// EulerInitNoiseSigma is EulerDiscreteScheduler.init_noise_sigma: the
// largest σ for "linspace"/"trailing" spacing, sqrt(σ_max² + 1) otherwise.
func EulerInitNoiseSigma(sigmas []float64, spacing string) float64 {
	m := float32(0)
	for _, s := range sigmas {
		m = max(m, float32(s))
	}
	if spacing == SpacingLinspace || spacing == SpacingTrailing {
		return float64(m)
	}
	return float64(float32(math.Sqrt(float64(m*m + 1))))
}

// EpsModel predicts the (guided) noise ε for the network input xIn at
// training timestep t: the diffusers-convention model interface.
type EpsModel interface {
	Eps(xIn *tensor.Tensor, t float64) (*tensor.Tensor, error)
}

// EpsCall is what an EpsObserver sees per model evaluation of CFGEps.
type EpsCall struct {
	Index int
	// ModelInput is the network input (the scaled latent for Euler, the
	// latent itself for DDIM), T the timestep.
	ModelInput *tensor.Tensor
	T          float64
	// Cond and Uncond are the ε predictions (Uncond nil without guidance),
	// Guided the combined ε.
	Cond, Uncond, Guided *tensor.Tensor
}

// CFGEps is classifier-free guidance in ε space, the diffusers pipelines'
// rule: ε = ε_uncond + Scale·(ε_cond − ε_uncond), evaluated as one batch
// [uncond, cond]. diffusers enables guidance only when Scale > 1; otherwise
// only the conditional branch runs and ε = ε_cond.
// GuidanceRescale > 0 applies RescaleNoiseCFG.
type CFGEps struct {
	Net             EpsNet
	Cond, Uncond    Cond
	Scale           float64
	GuidanceRescale float64
	Observer        func(EpsCall)

	calls int
}

// Eps evaluates the network and guides.
func (g *CFGEps) Eps(xIn *tensor.Tensor, t float64) (*tensor.Tensor, error) {
	n := len(xIn.Data)
	var cond, uncond, guided *tensor.Tensor
	if g.Scale > 1 {
		batch := tensor.New(append([]int{2}, xIn.Shape[1:]...)...)
		copy(batch.Data[:n], xIn.Data)
		copy(batch.Data[n:], xIn.Data)
		eps, err := g.Net(batch, []float32{float32(t), float32(t)}, []Cond{g.Uncond, g.Cond})
		if err != nil {
			return nil, err
		}
		if len(eps.Data) != 2*n {
			return nil, fmt.Errorf("sampling: network returned %v for input %v", eps.Shape, batch.Shape)
		}
		uncond = tensor.FromData(eps.Data[:n], xIn.Shape...)
		cond = tensor.FromData(eps.Data[n:], xIn.Shape...)
		s := float32(g.Scale)
		guided = tensor.New(xIn.Shape...)
		for i := range guided.Data {
			guided.Data[i] = uncond.Data[i] + float32(s*(cond.Data[i]-uncond.Data[i]))
		}
		if g.GuidanceRescale > 0 {
			guided = RescaleNoiseCFG(guided, cond, g.GuidanceRescale)
		}
	} else {
		eps, err := g.Net(xIn, []float32{float32(t)}, []Cond{g.Cond})
		if err != nil {
			return nil, err
		}
		if len(eps.Data) != n {
			return nil, fmt.Errorf("sampling: network returned %v for input %v", eps.Shape, xIn.Shape)
		}
		cond = eps
		guided = eps
	}
	if g.Observer != nil {
		g.Observer(EpsCall{Index: g.calls, ModelInput: xIn, T: t, Cond: cond, Uncond: uncond, Guided: guided})
	}
	g.calls++
	return guided, nil
}

// DDIMDiffusers runs diffusers' DDIMScheduler loop from x (= noise, since
// init_noise_sigma is 1) over integer timesteps (DiffusersTimesteps,
// usually "leading"), with set_alpha_to_one false (the final ᾱ_prev is
// ᾱ_0). Each step, with ε̂ = model(x, t), prev = t − T/n:
//
//	x̂₀   = (x − sqrt(1 − ᾱ_t)·ε̂)/sqrt(ᾱ_t)
//	σ_t  = η·sqrt((1 − ᾱ_prev)/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_prev))
//	x    = sqrt(ᾱ_prev)·x̂₀ + sqrt(1 − ᾱ_prev − σ_t²)·ε̂ + σ_t·z
//
// noise supplies z when eta > 0. callback (may be nil) sees each step's x
// and x̂₀.
func DDIMDiffusers(model EpsModel, s *DiffusersSchedule, x *tensor.Tensor, timesteps []float64, eta float64, noise NoiseSampler, callback func(i int, x, denoised *tensor.Tensor)) (*tensor.Tensor, error) {
	T := len(s.AlphasCumprod)
	n := len(timesteps)
	if n == 0 {
		return nil, fmt.Errorf("sampling: no timesteps")
	}
	ratio := T / n
	x = x.Clone()
	for i, tf := range timesteps {
		t := int(tf)
		if t < 0 || t >= T {
			return nil, fmt.Errorf("sampling: timestep %v outside [0, %d)", tf, T)
		}
		eps, err := model.Eps(x, float64(t))
		if err != nil {
			return nil, err
		}
		aT := s.AlphasCumprod[t]
		aPrev := s.AlphasCumprod[0]
		if prev := t - ratio; prev >= 0 {
			aPrev = s.AlphasCumprod[prev]
		}
		bT := 1 - aT
		sqrtBT := float32(math.Sqrt(float64(bT)))
		sqrtAT := float32(math.Sqrt(float64(aT)))
		var std float32
		if eta > 0 {
			variance := ((1 - aPrev) / bT) * (1 - aT/aPrev)
			std = float32(eta) * float32(math.Sqrt(float64(variance)))
		}
		dirCoef := float32(math.Sqrt(float64(1 - aPrev - std*std)))
		sqrtAPrev := float32(math.Sqrt(float64(aPrev)))
		x0 := tensor.New(x.Shape...)
		for j, v := range x.Data {
			x0.Data[j] = (v - float32(sqrtBT*eps.Data[j])) / sqrtAT
		}
		if callback != nil {
			callback(i, x, x0)
		}
		var z *tensor.Tensor
		if std > 0 {
			if noise == nil {
				return nil, fmt.Errorf("sampling: DDIM with eta > 0 needs a noise sampler")
			}
			z = noise(x, 0, 0)
		}
		for j := range x.Data {
			v := float32(sqrtAPrev*x0.Data[j]) + float32(dirCoef*eps.Data[j])
			if z != nil {
				v += float32(std * z.Data[j])
			}
			x.Data[j] = v
		}
	}
	return x, nil
}

// EulerDiffusers runs diffusers' EulerDiscreteScheduler loop: x starts at
// noise·init_noise_sigma (EulerInitNoiseSigma); sigmas has one more entry
// than timesteps (the final 0). Each step
//
//	x_in = x/sqrt(σ² + 1),  ε̂ = model(x_in, t),  x̂₀ = x − σ·ε̂
//	x    = x + (x − x̂₀)/σ·(σ_next − σ)
//
// (the same update as SampleEuler, but the network is told the schedule's
// own, possibly fractional, timestep t instead of the nearest table index).
func EulerDiffusers(model EpsModel, x *tensor.Tensor, timesteps, sigmas []float64, callback func(i int, x, denoised *tensor.Tensor)) (*tensor.Tensor, error) {
	if len(sigmas) != len(timesteps)+1 {
		return nil, fmt.Errorf("sampling: %d sigmas for %d timesteps, want one more", len(sigmas), len(timesteps))
	}
	x = x.Clone()
	for i, t := range timesteps {
		sigma := float32(sigmas[i])
		cIn := float32(math.Sqrt(float64(sigma*sigma + 1)))
		xIn := tensor.New(x.Shape...)
		for j, v := range x.Data {
			xIn.Data[j] = v / cIn
		}
		eps, err := model.Eps(xIn, t)
		if err != nil {
			return nil, err
		}
		x0 := tensor.New(x.Shape...)
		for j, v := range x.Data {
			x0.Data[j] = v - float32(sigma*eps.Data[j])
		}
		if callback != nil {
			callback(i, x, x0)
		}
		dt := float32(sigmas[i+1]) - sigma
		for j, v := range x.Data {
			d := (v - x0.Data[j]) / sigma
			x.Data[j] = v + float32(d*dt)
		}
	}
	return x, nil
}

// karrasNumpy is diffusers' _convert_to_karras evaluated in float64 (numpy):
// σ_i = (σ_max^(1/ρ) + i/(n−1)·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ, i < n, no
// trailing 0.
func karrasNumpy(n int, sigmaMin, sigmaMax, rho float64) []float64 {
	minInv := math.Pow(sigmaMin, 1/rho)
	maxInv := math.Pow(sigmaMax, 1/rho)
	out := make([]float64, n)
	for i, r := range linspace64(0, 1, n) {
		out[i] = math.Pow(maxInv+r*(minInv-maxInv), rho)
	}
	return out
}

func roundF32(v []float64) []float64 {
	for i, x := range v {
		v[i] = float64(float32(x))
	}
	return v
}

// EulerKarrasDiffusers is EulerDiscreteScheduler with use_karras_sigmas: the
// linspace-spaced sigmas are replaced by a Karras schedule between their
// ends, and each σ is mapped back to a fractional timestep (SigmaToT).
// It returns n timesteps and n+1 sigmas (last 0).
func (s *DiffusersSchedule) EulerKarrasDiffusers(n int) (timesteps, sigmas []float64) {
	ts, _ := DiffusersTimesteps(SpacingLinspace, len(s.Sigmas), n, 1)
	in := make([]float64, n)
	for i, t := range ts {
		in[i] = s.interp(t)
	}
	k := karrasNumpy(n, in[n-1], in[0], 7)
	timesteps = make([]float64, n)
	for i, v := range k {
		timesteps[i] = s.SigmaToT(v)
	}
	return roundF32(timesteps), roundF32(append(k, 0))
}

// DPMSolverDiffusers returns the integer timesteps and the n+1 sigmas (last
// 0) of diffusers' DPMSolverMultistepScheduler with linspace spacing:
// t = round(linspace(0, T−1, n+1))[::-1][:n], σ interpolated at t; with
// karras, a Karras schedule over the whole table and t = round(SigmaToT(σ)).
func (s *DiffusersSchedule) DPMSolverDiffusers(n int, karras bool) (timesteps, sigmas []float64) {
	T := len(s.Sigmas)
	if karras {
		k := karrasNumpy(n, float64(s.Sigmas[0]), float64(s.Sigmas[T-1]), 7)
		timesteps = make([]float64, n)
		for i, v := range k {
			timesteps[i] = math.RoundToEven(s.SigmaToT(v))
		}
		return timesteps, roundF32(append(k, 0))
	}
	lin := linspace64(0, float64(T-1), n+1)
	timesteps = make([]float64, n)
	sigmas = make([]float64, 0, n+1)
	for i := 0; i < n; i++ {
		timesteps[i] = math.RoundToEven(lin[n-i])
		sigmas = append(sigmas, s.interp(timesteps[i]))
	}
	return timesteps, roundF32(append(sigmas, 0))
}

// HeunDiffusers returns the timesteps and sigmas of diffusers'
// HeunDiscreteScheduler (linspace spacing): every step but the first is
// listed twice, once for each of Heun's two model calls:
// σ = [σ₀, σ₁, σ₁, …, σ_{n−1}, σ_{n−1}, 0], t = [t₀, t₁, t₁, …, t_{n−1}, t_{n−1}].
func (s *DiffusersSchedule) HeunDiffusers(n int) (timesteps, sigmas []float64) {
	ts, _ := DiffusersTimesteps(SpacingLinspace, len(s.Sigmas), n, 1)
	sig := s.InterpSigmas(ts)
	timesteps = []float64{ts[0]}
	sigmas = []float64{sig[0]}
	for i := 1; i < n; i++ {
		timesteps = append(timesteps, ts[i], ts[i])
		sigmas = append(sigmas, sig[i], sig[i])
	}
	return timesteps, append(sigmas, 0)
}

// LCMTimesteps returns diffusers' LCMScheduler timesteps for n steps: the
// distillation grid t = k·c − 1 (c = T/originalSteps, k = 1 … originalSteps),
// reversed, sampled at floor(linspace(0, originalSteps, n, endpoint=false)).
func LCMTimesteps(T, originalSteps, n int) ([]float64, error) {
	if originalSteps < 1 || n < 1 || n > originalSteps {
		return nil, fmt.Errorf("sampling: LCM needs 1 ≤ steps (%d) ≤ original steps (%d)", n, originalSteps)
	}
	c := T / originalSteps
	out := make([]float64, n)
	for i := range out {
		idx := int(math.Floor(float64(i) * float64(originalSteps) / float64(n)))
		k := originalSteps - idx // reversed grid: index 0 is the largest
		out[i] = float64(k*c - 1)
	}
	return out, nil
}
