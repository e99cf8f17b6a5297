package sampling

import (
	"fmt"
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// Denoiser is what a k-diffusion sampler sees of the model: given the noisy
// latent x = x₀ + σ·ε at noise level σ it returns its estimate of the clean
// latent x₀ ("denoised"). Classifier-free guidance (CFG) is a Denoiser; so
// is a bare network wrapped by EPS with a single conditioning.
type Denoiser interface {
	Denoise(x *tensor.Tensor, sigma float64) (*tensor.Tensor, error)
}

// DenoiserFunc adapts a function to Denoiser.
type DenoiserFunc func(x *tensor.Tensor, sigma float64) (*tensor.Tensor, error)

// Denoise calls f.
func (f DenoiserFunc) Denoise(x *tensor.Tensor, sigma float64) (*tensor.Tensor, error) {
	return f(x, sigma)
}

// Cond is one conditioning of the network: the text encoder's hidden states
// (the UNet's cross-attention context, [1, L, D] for SD1) and, for models
// that also take a pooled vector (SDXL's "y", [1, adm]), that vector.
// The encoding of the empty prompt "" is a Cond like any other — an
// unconditional branch is never a tensor of zeros unless a caller asks for
// one.
type Cond struct {
	Context *tensor.Tensor
	Y       *tensor.Tensor
}

// BatchModel evaluates a model on the latent x ([N, C, H, W], N images) at
// noise level σ for several conditionings at once, as ONE network batch: it
// returns one denoised tensor (shaped like x) per conditioning, in the order
// given. CFG asks for [uncond, cond] (ComfyUI's batch order) or, at scale
// 1, [cond].
type BatchModel interface {
	DenoiseBatch(x *tensor.Tensor, sigma float64, conds []Cond) ([]*tensor.Tensor, error)
}

// EpsNet is a network that predicts the noise ε (SD1/SDXL UNet): xIn is the
// batch [B, C, H, W] of scaled inputs, t the B timesteps and conds the B
// conditionings, one per batch item. It returns ε with the shape of xIn.
type EpsNet func(xIn *tensor.Tensor, t []float32, conds []Cond) (*tensor.Tensor, error)

// UNetEps adapts a UNet forward function of the SD1 form
// forward(x [B,4,h,w], timesteps [B], context [B,L,D]) → ε [B,4,h,w]
// (models/unet UNet.Forward) to an EpsNet, stacking the conditionings'
// contexts along the batch axis in order.
func UNetEps(forward func(x *tensor.Tensor, t []float32, context *tensor.Tensor) *tensor.Tensor) EpsNet {
	return func(xIn *tensor.Tensor, t []float32, conds []Cond) (*tensor.Tensor, error) {
		context, err := stackConds(conds, func(c Cond) *tensor.Tensor { return c.Context }, "context")
		if err != nil {
			return nil, err
		}
		return forward(xIn, t, context), nil
	}
}

// UNetEpsY is UNetEps for networks that also take a pooled vector per batch
// item (SDXL's y [B, adm]): forward(x, timesteps, context, y).
func UNetEpsY(forward func(x *tensor.Tensor, t []float32, context, y *tensor.Tensor) *tensor.Tensor) EpsNet {
	return func(xIn *tensor.Tensor, t []float32, conds []Cond) (*tensor.Tensor, error) {
		context, err := stackConds(conds, func(c Cond) *tensor.Tensor { return c.Context }, "context")
		if err != nil {
			return nil, err
		}
		y, err := stackConds(conds, func(c Cond) *tensor.Tensor { return c.Y }, "y")
		if err != nil {
			return nil, err
		}
		return forward(xIn, t, context, y), nil
	}
}

func stackConds(conds []Cond, part func(Cond) *tensor.Tensor, what string) (*tensor.Tensor, error) {
	ts := make([]*tensor.Tensor, len(conds))
	for i, c := range conds {
		ts[i] = part(c)
		if ts[i] == nil {
			return nil, fmt.Errorf("sampling: conditioning %d has no %s", i, what)
		}
	}
	out, err := Concat(ts)
	if err != nil {
		return nil, fmt.Errorf("sampling: stacking %s: %w", what, err)
	}
	return out, nil
}

// EPS turns a noise-predicting network into a BatchModel (the ε
// parameterisation of DDPM/LDM models, ComfyUI's EPS model sampling).
// The network was trained on x_t = sqrt(ᾱ)·x₀ + sqrt(1 − ᾱ)·ε, i.e. on
// x/sqrt(σ²+1) for x = x₀ + σ·ε, so for each call
//
//	x_in     = x / sqrt(σ² + 1)
//	t        = Timestep(σ)          (ComfyUI: nearest table index)
//	ε̂        = Net(x_in, t, cond)
//	denoised = x − σ·ε̂
type EPS struct {
	Net EpsNet
	// Timestep maps σ to the network's timestep. Nil means
	// Schedule.Timestep (ComfyUI's integer rule).
	Timestep func(sigma float64) float64
	// Schedule is the model's noise table (SD1Schedule for SD1/SDXL).
	Schedule *DiscreteSchedule
	// Observe, if set, sees every network call: the scaled batch input, the
	// timestep and the raw ε output.
	Observe func(xIn *tensor.Tensor, t float64, eps *tensor.Tensor)
}

// DenoiseBatch evaluates the network once on K = len(conds) copies of the
// N images of x: network batch item k·N + i is image i under conds[k].
func (m *EPS) DenoiseBatch(x *tensor.Tensor, sigma float64, conds []Cond) ([]*tensor.Tensor, error) {
	if len(conds) == 0 {
		return nil, fmt.Errorf("sampling: EPS model called with no conditioning")
	}
	if len(x.Shape) < 2 || x.Shape[0] < 1 {
		return nil, fmt.Errorf("sampling: EPS model expects a latent [N, C, ...], got %v", x.Shape)
	}
	s := float32(sigma)
	cIn := float32(math.Sqrt(float64(s*s + 1)))
	n := len(x.Data) // N images
	N, K := x.Shape[0], len(conds)
	shape := append([]int{K * N}, x.Shape[1:]...)
	xIn := tensor.New(shape...)
	netConds := make([]Cond, 0, K*N)
	for k := 0; k < K; k++ {
		dst := xIn.Data[k*n : (k+1)*n]
		for i, v := range x.Data {
			dst[i] = v / cIn
		}
		for i := 0; i < N; i++ {
			netConds = append(netConds, conds[k])
		}
	}
	var t float64
	switch {
	case m.Timestep != nil:
		t = m.Timestep(sigma)
	case m.Schedule != nil:
		t = m.Schedule.Timestep(sigma)
	default:
		return nil, fmt.Errorf("sampling: EPS model has neither Timestep nor Schedule")
	}
	ts := make([]float32, K*N)
	for i := range ts {
		ts[i] = float32(t)
	}
	eps, err := m.Net(xIn, ts, netConds)
	if err != nil {
		return nil, err
	}
	if len(eps.Data) != len(xIn.Data) {
		return nil, fmt.Errorf("sampling: network returned %v for input %v", eps.Shape, xIn.Shape)
	}
	if m.Observe != nil {
		m.Observe(xIn, t, eps)
	}
	out := make([]*tensor.Tensor, K)
	for k := 0; k < K; k++ {
		d := tensor.New(x.Shape...)
		e := eps.Data[k*n : (k+1)*n]
		for i, v := range x.Data {
			d.Data[i] = v - float32(e[i]*s)
		}
		out[k] = d
	}
	return out, nil
}

// Concat stacks tensors of equal shape [1, ...] (or [k, ...]) along axis 0.
func Concat(ts []*tensor.Tensor) (*tensor.Tensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("sampling: nothing to concatenate")
	}
	first := ts[0]
	if first == nil || len(first.Shape) == 0 {
		return nil, fmt.Errorf("sampling: cannot concatenate a nil or scalar tensor")
	}
	rows := 0
	var data []float32
	for i, t := range ts {
		if t == nil || len(t.Shape) != len(first.Shape) {
			return nil, fmt.Errorf("sampling: tensor %d is nil or has rank different from %v", i, first.Shape)
		}
		for d := 1; d < len(t.Shape); d++ {
			if t.Shape[d] != first.Shape[d] {
				return nil, fmt.Errorf("sampling: tensor %d has shape %v, want [*%v]", i, t.Shape, first.Shape[1:])
			}
		}
		rows += t.Shape[0]
		data = append(data, t.Data...)
	}
	shape := append([]int{rows}, first.Shape[1:]...)
	return tensor.FromData(data, shape...), nil
}
