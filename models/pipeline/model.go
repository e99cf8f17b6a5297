package pipeline

import (
	"fmt"

	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// Model is a family's denoising network as the pipeline sees it: the
// network with its noise parameterisation (how x, σ and the network's
// output relate), which fixes the sigma schedule, the starting latent and
// how a network output becomes the denoised estimate the samplers use.
// Two kinds cover today's families: EPSModel (SD1, SDXL) and FlowModel
// (Flux).
type Model interface {
	// CheckSize reports whether the network can generate a width×height
	// image (e.g. Flux's 2×2 latent patches need multiples of 16).
	CheckSize(width, height int) error
	// Sigmas returns the steps+1 noise levels for req, ending in 0; for
	// img2img (denoise < 1) the tail of a longer schedule.
	Sigmas(req *Request, denoise float64) ([]float64, error)
	// StartLatent returns the sampler's first x from the seed's noise at
	// σ₀ and, for img2img, the encoded image latent (nil for txt2img).
	StartLatent(sigma0 float64, noise, latent *tensor.Tensor) *tensor.Tensor
	// BatchModel returns the network for one request as a
	// sampling.BatchModel (several conditionings as one batch).
	BatchModel(req *Request) sampling.BatchModel
	// Close releases the network's weights.
	Close() error
}

// UNet is what EPSModel needs of an ε-predicting network (models/unet's
// UNet): a check of the batch's shapes and the forward pass
// ε = UNet(x, t, context, y), y nil for networks without a pooled input.
type UNet interface {
	CheckInputs(x *tensor.Tensor, t []float32, context, y *tensor.Tensor) error
	Eps(x *tensor.Tensor, t []float32, context, y *tensor.Tensor) *tensor.Tensor
	Close() error
}

// EPSModel is an ε-prediction network on a discrete noise table (DDPM/LDM;
// ComfyUI's EPS model sampling over ModelSamplingDiscrete): SD1 and SDXL.
// See sampling.EPS for the arithmetic.
type EPSModel struct {
	Net      UNet
	Schedule *sampling.DiscreteSchedule
	// Closer, if set, runs after Net.Close (the file Net was read from).
	Closer func() error
}

// CheckSize accepts any multiple of LatentFactor (checked by Generate).
func (m *EPSModel) CheckSize(width, height int) error { return nil }

// Sigmas returns the named scheduler's sigmas over the model's noise table.
func (m *EPSModel) Sigmas(req *Request, denoise float64) ([]float64, error) {
	if _, err := sampling.LookupScheduler(req.Scheduler); err != nil {
		return nil, err
	}
	return sampling.CalculateSigmas(m.Schedule, req.Scheduler, req.Steps, denoise)
}

// StartLatent is ComfyUI's noise scaling: noise·σ₀ + latent, or
// noise·sqrt(1 + σ₀²) when σ₀ is the table's largest sigma (max_denoise).
func (m *EPSModel) StartLatent(sigma0 float64, noise, latent *tensor.Tensor) *tensor.Tensor {
	return sampling.NoiseScaling(sigma0, noise, latent, sampling.MaxDenoise(m.Schedule, sigma0))
}

// BatchModel stacks the batch's contexts (and y vectors) along axis 0,
// checks the shapes (an error, not a panic) and runs the UNet.
func (m *EPSModel) BatchModel(*Request) sampling.BatchModel {
	net := func(xIn *tensor.Tensor, t []float32, conds []sampling.Cond) (*tensor.Tensor, error) {
		context, y, err := stack(conds)
		if err != nil {
			return nil, err
		}
		if err := m.Net.CheckInputs(xIn, t, context, y); err != nil {
			return nil, err
		}
		return m.Net.Eps(xIn, t, context, y), nil
	}
	return &sampling.EPS{Net: net, Schedule: m.Schedule}
}

// Close releases the UNet and its file.
func (m *EPSModel) Close() error { return closeBoth(m.Net.Close, m.Closer) }

// FlowNet is what FlowModel needs of a velocity-predicting network
// (models/fluxnet): v = net(x, t, context, y, guidance) for latents
// x [B, C, h, w], flow times t [B], contexts [B, L, D], pooled vectors
// y [B, D_y] and the distilled guidance [B] (ignored by networks without a
// guidance input), with an error (not a panic) for shapes it cannot take.
type FlowNet interface {
	Velocity(x *tensor.Tensor, t []float32, context, y *tensor.Tensor, guidance []float32) (*tensor.Tensor, error)
	Close() error
}

// FlowModel is a rectified-flow network (Flux.1): the path
// x_t = (1 − t)·x₀ + t·ε with σ = t, the network predicting the velocity
// v = ε − x₀, so that denoised = x − σ·v (sampling.Flow). Its schedule is
// BFL's get_schedule: t = linspace(1, 0, steps+1), time-shifted by
// μ(image tokens) when Shift (Flux.1-dev) and not (Flux.1-schnell).
type FlowModel struct {
	Net FlowNet
	// Shift applies the resolution-dependent time shift.
	Shift bool
	// PatchSize is the side of the latent patches the network packs
	// (2 for Flux): image sides must be multiples of 8·PatchSize.
	PatchSize int
	// Closer, if set, runs after Net.Close.
	Closer func() error
}

// CheckSize requires multiples of 8·PatchSize pixels.
func (m *FlowModel) CheckSize(width, height int) error {
	if q := LatentFactor * max(m.PatchSize, 1); width%q != 0 || height%q != 0 {
		return fmt.Errorf("size %dx%d: width and height must be multiples of %d for this model", width, height, q)
	}
	return nil
}

// Sigmas returns BFL's flow schedule for the request's size (see
// sampling.FluxSchedule); for denoise < 1 the last steps+1 times of the
// schedule for int(steps/denoise) steps, as ComfyUI does. The scheduler
// name is not used: a flow model has one schedule.
func (m *FlowModel) Sigmas(req *Request, denoise float64) ([]float64, error) {
	total := req.Steps
	if denoise < 1 {
		total = int(float64(req.Steps) / denoise)
	}
	ts, err := sampling.FluxSchedule(total, sampling.FluxImageSeqLen(req.Height, req.Width), m.Shift)
	if err != nil {
		return nil, err
	}
	return ts[len(ts)-req.Steps-1:], nil
}

// StartLatent is the flow path at t = σ₀: σ₀·noise + (1 − σ₀)·latent
// (pure noise for txt2img, where σ₀ = 1).
func (m *FlowModel) StartLatent(sigma0 float64, noise, latent *tensor.Tensor) *tensor.Tensor {
	return sampling.FlowNoiseScaling(sigma0, noise, latent)
}

// BatchModel stacks the contexts and pooled vectors and runs the network with the request's distilled guidance on every batch
// element (true CFG gives the negative pass the same value, as diffusers'
// FluxPipeline does).
func (m *FlowModel) BatchModel(req *Request) sampling.BatchModel {
	g := float32(req.Guidance)
	net := func(x *tensor.Tensor, t []float32, conds []sampling.Cond) (*tensor.Tensor, error) {
		context, y, err := stack(conds)
		if err != nil {
			return nil, err
		}
		guidance := make([]float32, len(t))
		for i := range guidance {
			guidance[i] = g
		}
		return m.Net.Velocity(x, t, context, y, guidance)
	}
	return &sampling.Flow{Net: net}
}

// Close releases the network and its file.
func (m *FlowModel) Close() error { return closeBoth(m.Net.Close, m.Closer) }

// stack concatenates the conditionings' contexts and, when they have them,
// their pooled vectors along the batch axis.
func stack(conds []sampling.Cond) (context, y *tensor.Tensor, err error) {
	ctx := make([]*tensor.Tensor, len(conds))
	ys := make([]*tensor.Tensor, 0, len(conds))
	for i, c := range conds {
		ctx[i] = c.Context
		if c.Y != nil {
			ys = append(ys, c.Y)
		}
	}
	if context, err = sampling.Concat(ctx); err != nil {
		return nil, nil, err
	}
	if len(ys) > 0 {
		if len(ys) != len(conds) {
			return nil, nil, fmt.Errorf("%d of the %d conditionings of the batch have no pooled vector y", len(conds)-len(ys), len(conds))
		}
		if y, err = sampling.Concat(ys); err != nil {
			return nil, nil, err
		}
	}
	return context, y, nil
}

func closeBoth(a, b func() error) error {
	err := a()
	if b != nil {
		if e := b(); err == nil {
			err = e
		}
	}
	return err
}
