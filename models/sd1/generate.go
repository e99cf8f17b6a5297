package sd1

import (
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// latentChannels is SD1's latent depth; the VAE downsamples by 8.
const (
	latentChannels = 4
	latentFactor   = 8
)

// CanonicalSampler returns the ComfyUI name of a sampler given by its
// ComfyUI name or a stable-diffusion.cpp/A1111 alias (euler_a →
// euler_ancestral, dpm++2m → dpmpp_2m), or an error listing the names.
func CanonicalSampler(name string) (string, error) {
	return sampling.CanonicalSampler(name)
}

// schedulerAliases are stable-diffusion.cpp's names for ComfyUI schedules.
var schedulerAliases = map[string]string{"discrete": "normal", "default": "normal", "uniform": "sgm_uniform"}

// CanonicalScheduler returns the ComfyUI name of a schedule (or of an
// alias such as sd.cpp's "discrete" = "normal"), or an error listing the
// names.
func CanonicalScheduler(name string) (string, error) {
	if _, err := sampling.LookupScheduler(name); err != nil {
		return "", err
	}
	if _, ok := sampling.Schedulers[name]; ok {
		return name, nil
	}
	if a, ok := schedulerAliases[name]; ok {
		return a, nil
	}
	return name, nil
}

// Limits on the image size: far beyond what SD 1.x was trained for (512) and
// what fits in memory on a CPU, so that a mistyped size is an error rather
// than an allocation failure.
const (
	MaxSide   = 16384
	MaxPixels = 1 << 26
)

// check validates a request before any work.
func (r *Request) check() error {
	switch {
	case r.Steps < 1 || r.Steps > sampling.MaxSteps:
		return fmt.Errorf("steps %d: must be between 1 and %d", r.Steps, sampling.MaxSteps)
	case r.CFG < 0 || math.IsNaN(r.CFG) || math.IsInf(r.CFG, 0):
		return fmt.Errorf("cfg scale %g: must be a non-negative number", r.CFG)
	case r.Width <= 0 || r.Width%latentFactor != 0 || r.Height <= 0 || r.Height%latentFactor != 0:
		return fmt.Errorf("size %dx%d: width and height must be positive multiples of %d", r.Width, r.Height, latentFactor)
	case r.Width > MaxSide || r.Height > MaxSide || r.Width*r.Height > MaxPixels:
		return fmt.Errorf("size %dx%d: at most %d on a side and %d pixels in all", r.Width, r.Height, MaxSide, MaxPixels)
	case !(r.GuidanceRescale >= 0 && r.GuidanceRescale <= 1):
		return fmt.Errorf("guidance rescale %g: must be between 0 and 1", r.GuidanceRescale)
	case r.ClipSkip < 0:
		return fmt.Errorf("clip skip %d: must not be negative", r.ClipSkip)
	case r.OrigWidth < 0 || r.OrigHeight < 0 || r.CropW < 0 || r.CropH < 0 || r.TargetWidth < 0 || r.TargetHeight < 0:
		return fmt.Errorf("size conditioning (original %dx%d, crop %d,%d, target %dx%d): values must not be negative",
			r.OrigWidth, r.OrigHeight, r.CropW, r.CropH, r.TargetWidth, r.TargetHeight)
	case r.InitImage != nil && !(r.Denoise > 0 && r.Denoise <= 1):
		return fmt.Errorf("denoise strength %g: must be in (0, 1]", r.Denoise)
	case r.InitImage != nil && (len(r.InitImage.Shape) != 4 || r.InitImage.Shape[0] != 1 || r.InitImage.Shape[1] != 3 ||
		r.InitImage.Shape[2] != r.Height || r.InitImage.Shape[3] != r.Width):
		return fmt.Errorf("init image has shape %s, expected [1, 3, %d, %d]", tensor.ShapeString(r.InitImage.Shape), r.Height, r.Width)
	}
	if _, err := sampling.CanonicalSampler(r.Sampler); err != nil {
		return err
	}
	if _, err := sampling.LookupScheduler(r.Scheduler); err != nil {
		return err
	}
	return nil
}

// Generate runs one text-to-image generation (see the package comment for
// the exact computation) and returns the final latent, the decoded image
// and the stage timings.
func (p *Pipeline) Generate(req Request) (*Result, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	if p.UNet == nil {
		return nil, fmt.Errorf("the pipeline's UNet was released by an earlier request (Request.ReleaseUNet)")
	}
	res := &Result{}
	sched := p.Schedule
	if sched == nil {
		sched = sampling.SD1Schedule()
	}
	denoise := 1.0
	if req.InitImage != nil {
		denoise = req.Denoise
	}
	sigmas, err := sampling.CalculateSigmas(sched, req.Scheduler, req.Steps, denoise)
	if err != nil {
		return nil, err
	}
	res.Sigmas = sigmas

	t0 := time.Now()
	cond, uncond, err := p.conditioning(&req)
	if err != nil {
		return nil, err
	}
	if err := checkCond(cond, uncond); err != nil { // NaN check (#14)
		return nil, err
	}
	res.TextEncode = time.Since(t0)

	h, w := req.Height/latentFactor, req.Width/latentFactor
	noise := sampling.PrepareNoise(req.Seed, 1, latentChannels, h, w)
	var latent *tensor.Tensor // EmptyLatentImage (zeros) for txt2img
	if req.InitImage != nil {
		t0 = time.Now()
		latent = p.VAE.EncodeLatent(req.InitImage)
		res.ImageEncode = time.Since(t0)
	}
	x := sampling.NoiseScaling(sigmas[0], noise, latent, sampling.MaxDenoise(sched, sigmas[0]))

	t0 = time.Now()
	final, err := p.sample(&req, sched, x, sigmas, cond, uncond, res)
	if err != nil {
		return nil, err
	}
	if err := tensor.CheckFinite(final, "the final latent", hintSampling); err != nil { // NaN check (#14)
		return nil, err
	}
	res.Sampling = time.Since(t0)
	res.Latent = final
	if req.ReleaseUNet {
		// The UNet is 1.7 GB at f16 (3.4 GB at f32): give it back before
		// the VAE decoder's activations (several 128–256 MB maps at
		// 512×512) are allocated, so the two never coexist. The GC makes
		// heap-held (random) weights reusable for the decoder at once.
		if err := p.releaseUNet(); err != nil {
			return nil, err
		}
		runtime.GC()
	}

	t0 = time.Now()
	res.Image = p.VAE.Decode(final)
	if err := tensor.CheckFinite(res.Image, "the VAE's decoded image", hintVAE); err != nil { // NaN check (#14)
		return nil, err
	}
	res.RGB, err = vae.ToUint8(res.Image)
	if err != nil {
		return nil, err
	}
	res.Decode = time.Since(t0)
	return res, nil
}

// sample runs the sampler from x down sigmas with classifier-free guidance
// over the UNet, counting model calls and batch passes into res.
func (p *Pipeline) sample(req *Request, sched *sampling.DiscreteSchedule, x *tensor.Tensor, sigmas []float64,
	cond, uncond sampling.Cond, res *Result) (*tensor.Tensor, error) {
	sampler, err := sampling.LookupSampler(req.Sampler)
	if err != nil {
		return nil, err
	}
	// The network: contexts (and SDXL's y vectors) of the batch stacked
	// along axis 0, input shapes checked (an error, not a panic), calls and
	// passes counted.
	net := func(xIn *tensor.Tensor, t []float32, conds []sampling.Cond) (*tensor.Tensor, error) {
		ctx := make([]*tensor.Tensor, len(conds))
		ys := make([]*tensor.Tensor, 0, len(conds))
		for i, c := range conds {
			ctx[i] = c.Context
			if c.Y != nil {
				ys = append(ys, c.Y)
			}
		}
		context, err := sampling.Concat(ctx)
		if err != nil {
			return nil, err
		}
		var y *tensor.Tensor // nil for SD1
		if len(ys) > 0 {
			if len(ys) != len(conds) {
				return nil, fmt.Errorf("%d of the %d conditionings of the batch have no y vector", len(conds)-len(ys), len(conds))
			}
			if y, err = sampling.Concat(ys); err != nil {
				return nil, err
			}
		}
		if err := p.UNet.CheckInputs(xIn, t, context, y); err != nil {
			return nil, err
		}
		res.ModelCalls++
		res.UNetPasses += xIn.Shape[0]
		// NaN check (#14): the latent entering this step, then the UNet's output.
		if err := tensor.CheckFinite(xIn, fmt.Sprintf("the latent at step %d", res.Steps+1), hintSampling); err != nil {
			return nil, err
		}
		out := p.UNet.ForwardY(xIn, t, context, y, nil)
		return out, tensor.CheckFinite(out, fmt.Sprintf("the UNet's output at step %d", res.Steps+1), hintUNet)
	}
	guider := &sampling.CFG{
		Model:             &sampling.EPS{Net: net, Schedule: sched},
		Cond:              cond,
		Uncond:            uncond,
		Scale:             req.CFG,
		RescaleMultiplier: req.GuidanceRescale,
		Observer:          req.Observer,
	}
	steps := len(sigmas) - 1
	opt := &sampling.Options{
		Noise: sampling.TorchNoiseSampler(req.Seed),
		Callback: func(i int, _, _ *tensor.Tensor) {
			res.Steps = i + 1
			if req.Progress != nil {
				req.Progress(i+1, steps)
			}
		},
	}
	return sampler(guider, x, sigmas, opt)
}
