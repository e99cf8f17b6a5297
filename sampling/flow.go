package sampling

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// Flow matching (rectified flow; Flux.1, SD3) uses a straight path between
// data and noise instead of a variance schedule:
//
//	x_t = (1 − t)·x₀ + t·ε,   t ∈ [0, 1],
//
// and the network predicts the velocity v = dx_t/dt = ε − x₀. Sampling
// integrates dx/dt = v from t = 1 (pure noise) to t = 0 with Euler steps
// x ← x + (t_next − t)·v. Larger images need more of the steps at high
// noise, which the time shift provides.

// Flux time-shift constants (BFL get_schedule): μ is linear in the number
// of image tokens, from FluxBaseShift at FluxBaseSeqLen tokens to
// FluxMaxShift at FluxMaxSeqLen tokens.
const (
	FluxBaseShift  = 0.5
	FluxMaxShift   = 1.15
	FluxBaseSeqLen = 256
	FluxMaxSeqLen  = 4096
)

// FluxMu returns the shift μ for an image of imageSeqLen packed tokens
// (ceil(H/16)·ceil(W/16) for Flux):
//
//	μ = 0.5 + (1.15 − 0.5)/(4096 − 256)·(imageSeqLen − 256).
func FluxMu(imageSeqLen int) float64 {
	m := (FluxMaxShift - FluxBaseShift) / (FluxMaxSeqLen - FluxBaseSeqLen)
	b := FluxBaseShift - m*FluxBaseSeqLen
	return m*float64(imageSeqLen) + b
}

// TimeShift is the exponential time shift
//
//	shift(t) = e^μ/(e^μ + (1/t − 1)^s)
//
// which maps t = 0 → 0 and t = 1 → 1 and, for μ > 0, pushes intermediate t
// towards 1 (more noise). Flux uses s = 1.
func TimeShift(mu, s, t float64) float64 {
	if t <= 0 {
		return 0
	}
	return math.Exp(mu) / (math.Exp(mu) + math.Pow(1/t-1, s))
}

// FluxSchedule returns the steps+1 flow times from 1 to 0 of BFL's
// get_schedule: t = linspace(1, 0, steps+1) (float32), then, when shift is
// true (Flux.1-dev), t ← TimeShift(FluxMu(imageSeqLen), 1, t). Flux.1-schnell
// uses shift = false. Values are float32 like the reference.
func FluxSchedule(steps, imageSeqLen int, shift bool) ([]float64, error) {
	if steps < 1 {
		return nil, fmt.Errorf("sampling: steps must be at least 1, got %d", steps)
	}
	ts := linspace32(1, 0, steps+1)
	out := make([]float64, len(ts))
	mu := FluxMu(imageSeqLen)
	for i, t := range ts {
		v := float64(t)
		if shift {
			// torch: exp(mu)/(exp(mu) + (1/t − 1)**1) on a float32
			// tensor. A Python number divided by a tensor is
			// Tensor.__rtruediv__ = reciprocal(tensor)·number, so the
			// outer division is a float32 reciprocal times e (one more
			// rounding than e/den).
			e := float32(math.Exp(mu))
			tf := float32(v)
			var r float32
			if tf == 0 {
				r = 0
			} else {
				den := e + (1/tf - 1)
				r = (1 / den) * e
			}
			v = float64(r)
		}
		out[i] = v
	}
	return out, nil
}

// FluxImageSeqLen is the number of packed 2×2 latent patches of an H×W
// image: ceil(H/16)·ceil(W/16).
func FluxImageSeqLen(height, width int) int {
	return ((height + 15) / 16) * ((width + 15) / 16)
}

// Velocity is a flow-matching model: the predicted velocity at x, time t.
type Velocity func(x *tensor.Tensor, t float64) (*tensor.Tensor, error)

// SampleFlowEuler integrates the flow ODE with Euler steps over the
// decreasing times ts (ts[0] = 1 … ts[n] = 0), BFL's denoise loop:
//
//	v = model(x, t_i),  x = x + (t_{i+1} − t_i)·v
//
// callback (may be nil) sees each step's velocity and the new x.
func SampleFlowEuler(model Velocity, x *tensor.Tensor, ts []float64, callback func(i int, v, x *tensor.Tensor)) (*tensor.Tensor, error) {
	if len(ts) < 2 {
		return nil, fmt.Errorf("sampling: need at least 2 flow times, got %d", len(ts))
	}
	x = x.Clone()
	for i := 0; i+1 < len(ts); i++ {
		v, err := model(x, ts[i])
		if err != nil {
			return nil, err
		}
		if len(v.Data) != len(x.Data) {
			return nil, fmt.Errorf("sampling: velocity %v for latent %v", v.Shape, x.Shape)
		}
		dt := float32(ts[i+1] - ts[i])
		for j := range x.Data {
			x.Data[j] += float32(dt * v.Data[j])
		}
		if callback != nil {
			callback(i, v, x)
		}
	}
	return x, nil
}

// TrueCFG combines two velocity (or ε) predictions with real
// classifier-free guidance, neg + scale·(pos − neg) (diffusers FluxPipeline
// true_cfg_scale; both passes get the same distilled guidance value).
func TrueCFG(pos, neg *tensor.Tensor, scale float64) *tensor.Tensor {
	s := float32(scale)
	out := tensor.New(pos.Shape...)
	for i, p := range pos.Data {
		n := neg.Data[i]
		out.Data[i] = n + float32(s*(p-n))
	}
	return out
}

// FlowNoiseScaling is the flow path's starting point at t = σ₀ (ComfyUI's
// CONST noise_scaling):
//
//	x = σ₀·noise + (1 − σ₀)·latent
//
// with latent nil meaning zeros (txt2img, where σ₀ = 1 gives the noise
// itself, bit for bit).
func FlowNoiseScaling(sigma0 float64, noise, latent *tensor.Tensor) *tensor.Tensor {
	s := float32(sigma0)
	out := tensor.New(noise.Shape...)
	for i, n := range noise.Data {
		v := float32(n * s)
		if latent != nil {
			v += float32((1 - s) * latent.Data[i])
		}
		out.Data[i] = v
	}
	return out
}

// FlowNet is a velocity-predicting network: x [B, C, H, W] the batch of
// latents on the flow path, t the B flow times, conds the B conditionings.
// It returns v with the shape of x.
type FlowNet func(x *tensor.Tensor, t []float32, conds []Cond) (*tensor.Tensor, error)

// Flow turns a velocity-predicting network into a BatchModel (ComfyUI's
// CONST model sampling, used for Flux): on the path x = (1 − σ)·x₀ + σ·ε
// the network predicts v = ε − x₀ at time t = σ, so
//
//	denoised = x − σ·v.
//
// The k-diffusion samplers' direction d = (x − denoised)/σ is then v
// itself, and Euler's x + (σ_next − σ)·d is BFL's denoise step
// x + (t_prev − t_curr)·v.
type Flow struct {
	Net FlowNet
}

// DenoiseBatch evaluates the network once on K = len(conds) copies of the
// N latents of x: batch item k·N + i is latent i under conds[k].
func (m *Flow) DenoiseBatch(x *tensor.Tensor, sigma float64, conds []Cond) ([]*tensor.Tensor, error) {
	if len(conds) == 0 {
		return nil, fmt.Errorf("sampling: flow model called with no conditioning")
	}
	if len(x.Shape) < 2 || x.Shape[0] < 1 {
		return nil, fmt.Errorf("sampling: flow model expects a latent [N, C, ...], got %v", x.Shape)
	}
	n := len(x.Data)
	N, K := x.Shape[0], len(conds)
	xIn := tensor.New(append([]int{K * N}, x.Shape[1:]...)...)
	netConds := make([]Cond, 0, K*N)
	for k := 0; k < K; k++ {
		copy(xIn.Data[k*n:(k+1)*n], x.Data)
		for i := 0; i < N; i++ {
			netConds = append(netConds, conds[k])
		}
	}
	ts := make([]float32, K*N)
	for i := range ts {
		ts[i] = float32(sigma)
	}
	v, err := m.Net(xIn, ts, netConds)
	if err != nil {
		return nil, err
	}
	if len(v.Data) != len(xIn.Data) {
		return nil, fmt.Errorf("sampling: network returned %v for input %v", v.Shape, xIn.Shape)
	}
	s := float32(sigma)
	out := make([]*tensor.Tensor, K)
	for k := 0; k < K; k++ {
		d := tensor.New(x.Shape...)
		vk := v.Data[k*n : (k+1)*n]
		for i, xv := range x.Data {
			d.Data[i] = xv - float32(s*vk[i])
		}
		out[k] = d
	}
	return out, nil
}
