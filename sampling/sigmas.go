package sampling

import (
	"fmt"
	"math"
)

// A sigma schedule picks which noise levels a sampler visits: a decreasing
// list σ₀ > σ₁ > … > σ_{n−1} followed by a final 0 (the clean image). The
// sampler starts from x = noise·σ₀ (see NoiseScaling) and moves x from one
// level to the next. All schedules below return n+1 values, the last 0,
// except ddim_uniform (ComfyUI's rule can give a few more), and hold float32
// values (ComfyUI builds them as float32 tensors).

// SchedulerFunc returns the sigmas of a named schedule for n steps.
type SchedulerFunc func(s *DiscreteSchedule, n int) []float64

// Schedulers maps ComfyUI scheduler names to their functions.
var Schedulers = map[string]SchedulerFunc{
	"normal":       NormalSigmas,
	"karras":       KarrasSigmasFor,
	"exponential":  ExponentialSigmasFor,
	"sgm_uniform":  SGMUniformSigmas,
	"simple":       SimpleSigmas,
	"ddim_uniform": DDIMUniformSigmas,
}

// schedulerAliases maps other names (stable-diffusion.cpp's) to ComfyUI's.
var schedulerAliases = map[string]string{
	"discrete": "normal",
	"default":  "normal",
	"uniform":  "sgm_uniform",
}

// SchedulerNames lists the valid scheduler names (ComfyUI names and
// aliases), sorted.
func SchedulerNames() []string { return registryNames(Schedulers, schedulerAliases) }

// LookupScheduler returns the schedule called name (ComfyUI name or an alias
// such as "discrete" = "normal"), or an error listing the valid names.
func LookupScheduler(name string) (SchedulerFunc, error) {
	_, f, err := registryLookup("scheduler", Schedulers, schedulerAliases, name)
	return f, err
}

// CalculateSigmas returns the sigmas a ComfyUI KSampler uses for steps steps
// of the named schedule with the given denoise strength. With denoise < 1
// (img2img) the schedule is built for int(steps/denoise) steps and only its
// last steps+1 values are kept, so sampling starts part-way down at a lower
// σ and keeps the structure of the input latent:
//
//	sigmas = schedule(int(steps/denoise))[−(steps+1):].
func CalculateSigmas(s *DiscreteSchedule, scheduler string, steps int, denoise float64) ([]float64, error) {
	f, err := LookupScheduler(scheduler)
	if err != nil {
		return nil, err
	}
	if steps < 1 || steps > MaxSteps {
		return nil, fmt.Errorf("sampling: steps must be between 1 and %d, got %d", MaxSteps, steps)
	}
	if denoise > 0.9999 {
		return f(s, steps), nil
	}
	if !(denoise > 0) {
		return nil, fmt.Errorf("sampling: denoise must be in (0, 1], got %g", denoise)
	}
	if float64(steps)/denoise > MaxSteps {
		return nil, fmt.Errorf("sampling: %d steps at denoise %g need a %.0f-step schedule, more than %d", steps, denoise, float64(steps)/denoise, MaxSteps)
	}
	total := int(float64(steps) / denoise)
	all := f(s, total)
	if len(all) < steps+1 {
		return all, nil
	}
	return all[len(all)-(steps+1):], nil
}

// MaxSteps bounds the number of steps of a schedule (including the longer
// schedule that img2img cuts its steps from): far beyond any useful run,
// small enough that a mistyped count is an error, not an allocation failure.
const MaxSteps = 10000

// NormalSigmas is ComfyUI's "normal" schedule: n timesteps evenly spaced
// from t(σ_max) = 999 down to t(σ_min) = 0 (float32 linspace, fractional),
// each mapped to σ(t) by log-linear interpolation of the table (Sigma),
// then 0 appended.
func NormalSigmas(s *DiscreteSchedule, n int) []float64 {
	return normalSchedule(s, n, false)
}

// SGMUniformSigmas is ComfyUI's "sgm_uniform": like NormalSigmas but with
// n+1 evenly spaced timesteps of which the last (t = 0) is dropped, so the
// last nonzero σ is above σ_min (the SGM/SDXL reference sampler's rule).
func SGMUniformSigmas(s *DiscreteSchedule, n int) []float64 {
	return normalSchedule(s, n, true)
}

func normalSchedule(s *DiscreteSchedule, n int, sgm bool) []float64 {
	start := float32(s.Timestep(s.SigmaMax()))
	end := float32(s.Timestep(s.SigmaMin()))
	var ts []float32
	appendZero := true
	if sgm {
		ts = linspace32(start, end, n+1)[:n]
	} else {
		if math.Abs(s.Sigma(float64(end))) <= 1e-5 {
			n++
			appendZero = false
		}
		ts = linspace32(start, end, n)
	}
	out := make([]float64, 0, n+1)
	for _, t := range ts {
		out = append(out, s.Sigma(float64(t)))
	}
	if appendZero {
		out = append(out, 0)
	}
	return out
}

// SimpleSigmas is ComfyUI's "simple": n table entries taken at even strides
// from the top, σ_{T−1−⌊i·T/n⌋} for i < n, then 0.
func SimpleSigmas(s *DiscreteSchedule, n int) []float64 {
	T := len(s.Sigmas)
	ss := float64(T) / float64(n)
	out := make([]float64, 0, n+1)
	for i := 0; i < n; i++ {
		out = append(out, s.Sigmas[T-1-int(float64(i)*ss)])
	}
	return append(out, 0)
}

// DDIMUniformSigmas is ComfyUI's "ddim_uniform": every (T/n)-th table entry
// starting at t = 1 (1, 1+T/n, …), in decreasing order, with 0 appended.
// Because it walks until the end of the table it can return more than n+1
// values (e.g. 32 for n = 30).
func DDIMUniformSigmas(s *DiscreteSchedule, n int) []float64 {
	T := len(s.Sigmas)
	var sigs []float64
	if math.Abs(s.Sigmas[1]) > 1e-5 {
		sigs = append(sigs, 0)
	}
	ss := T / n
	if ss < 1 {
		ss = 1
	}
	for x := 1; x < T; x += ss {
		sigs = append(sigs, s.Sigmas[x])
	}
	for i, j := 0, len(sigs)-1; i < j; i, j = i+1, j-1 {
		sigs[i], sigs[j] = sigs[j], sigs[i]
	}
	return sigs
}

// KarrasSigmasFor is the "karras" schedule between the table's σ_min and
// σ_max (KarrasSigmas with ρ = 7).
func KarrasSigmasFor(s *DiscreteSchedule, n int) []float64 {
	return KarrasSigmas(n, s.SigmaMin(), s.SigmaMax(), 7)
}

// KarrasSigmas is the schedule of Karras et al. 2022 (eq. 5,
// k-diffusion get_sigmas_karras): evenly spaced in σ^(1/ρ),
//
//	σ_i = (σ_max^(1/ρ) + i/(n−1)·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ,  i < n,
//
// then 0. With ρ = 7 the steps crowd near σ_min, where detail forms.
func KarrasSigmas(n int, sigmaMin, sigmaMax, rho float64) []float64 {
	ramp := linspace32(0, 1, n)
	minInv := math.Pow(sigmaMin, 1/rho)
	maxInv := math.Pow(sigmaMax, 1/rho)
	out := make([]float64, 0, n+1)
	for _, r := range ramp {
		base := float32(maxInv) + r*float32(minInv-maxInv)
		out = append(out, float64(float32(math.Pow(float64(base), float64(float32(rho))))))
	}
	return append(out, 0)
}

// ExponentialSigmasFor is the "exponential" schedule between the table's
// σ_min and σ_max.
func ExponentialSigmasFor(s *DiscreteSchedule, n int) []float64 {
	return ExponentialSigmas(n, s.SigmaMin(), s.SigmaMax())
}

// ExponentialSigmas is evenly spaced in log σ (k-diffusion
// get_sigmas_exponential): σ_i = exp(log σ_max + i/(n−1)·(log σ_min − log σ_max)),
// then 0.
func ExponentialSigmas(n int, sigmaMin, sigmaMax float64) []float64 {
	out := make([]float64, 0, n+1)
	for _, l := range linspace32(float32(math.Log(sigmaMax)), float32(math.Log(sigmaMin)), n) {
		out = append(out, float64(float32(math.Exp(float64(l)))))
	}
	return append(out, 0)
}

// KDiffusionSigmas is k-diffusion's DiscreteSchedule.get_sigmas(n): n
// timesteps linspace(T−1, 0, n) mapped to σ by log-linear interpolation of
// the schedule's table (the same rule as NormalSigmas without ComfyUI's
// timestep lookup of the endpoints), then 0.
func KDiffusionSigmas(s *DiscreteSchedule, n int) []float64 {
	out := make([]float64, 0, n+1)
	for _, t := range linspace32(float32(len(s.Sigmas)-1), 0, n) {
		out = append(out, s.Sigma(float64(t)))
	}
	return append(out, 0)
}
