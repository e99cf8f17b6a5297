package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// Pipeline is a loaded text-to-image model of any family: the three parts
// every latent diffusion model has, plugged in by the family's loader
// (sd1.Load, sdxl.Load, flux.Load). Load it once and call Generate for every
// image; Generate is not safe for concurrent use (conditioners cache the
// last prompt encodings).
type Pipeline struct {
	// Family names the model family ("sd1", "sdxl", "flux").
	Family string
	// Conditioner turns the prompts into the network's conditioning
	// (CLIP-L for SD1, CLIP-L + bigG for SDXL, T5-XXL + CLIP-L for Flux).
	// Nil when loaded without text encoders: requests must then carry
	// Cond/Uncond.
	Conditioner Conditioner
	// Model is the denoising network with its noise parameterisation (ε
	// prediction on a discrete schedule for SD1/SDXL, velocity on the
	// flow-matching schedule for Flux). Nil once released.
	Model Model
	// VAE maps images to latents and back.
	VAE *vae.VAE
	// Closers run on Close after the parts (files a loader opened).
	Closers []func() error
}

// Limits on the image size: far beyond what any family was trained for
// and what fits in memory on a CPU, so that a mistyped size is an error
// rather than an allocation failure.
const (
	MaxSide   = 16384
	MaxPixels = 1 << 26
)

// LatentFactor is how much every family's autoencoder downsamples.
const LatentFactor = 8

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

// check validates a request before any work.
func (r *Request) check() error {
	switch {
	case r.Steps < 1 || r.Steps > sampling.MaxSteps:
		return fmt.Errorf("steps %d: must be between 1 and %d", r.Steps, sampling.MaxSteps)
	case r.CFG < 0 || math.IsNaN(r.CFG) || math.IsInf(r.CFG, 0):
		return fmt.Errorf("cfg scale %g: must be a non-negative number", r.CFG)
	case r.Guidance < 0 || math.IsNaN(r.Guidance) || math.IsInf(r.Guidance, 0):
		return fmt.Errorf("guidance %g: must be a non-negative number", r.Guidance)
	case r.Width <= 0 || r.Width%LatentFactor != 0 || r.Height <= 0 || r.Height%LatentFactor != 0:
		return fmt.Errorf("size %dx%d: width and height must be positive multiples of %d", r.Width, r.Height, LatentFactor)
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
	return r.CFGOptions.Check(r.CFG, r.GuidanceRescale)
}

// Generate runs one generation:
//
//	cond, uncond = Conditioner(prompt, negative)      (uncond skipped at cfg 1)
//	σ            = Model.Sigmas(steps, scheduler, size, denoise)
//	noise        = torch.randn([1, C, H/8, W/8]) after torch.manual_seed(seed)
//	x            = Model.StartLatent(σ₀, noise, VAE.encode(init image) or nothing)
//	x            = sampler(CFG(Model, cond, uncond, scale), x, σ)
//	image        = VAE.decode(x)
//
// and returns the final latent, the decoded image and the stage timings.
// Each family's package comment spells out its parts of this.
func (p *Pipeline) Generate(req Request) (*Result, error) {
	st, err := p.prepare(&req)
	if err != nil {
		return nil, err
	}
	req.stage("sample")
	t0 := time.Now()
	final, err := p.sample(&req, p.Model, st.x, st.res.Sigmas, st.cond, st.uncond, st.res)
	endStage()
	if err != nil {
		return nil, err
	}
	st.res.Sampling = time.Since(t0)
	if req.ReleaseModel {
		if err := p.releaseForDecode(); err != nil {
			return nil, err
		}
	}
	req.stage("decode")
	err = p.decode(final, st.res)
	endStage()
	return st.res, err
}

// endStage ends a stage (text encoding, sampling, decoding): the storage
// its networks recycled for their next pass (tensor.Recycle) goes back to
// the collector, since the next stage's activations have other sizes.
func endStage() { tensor.FreeRecycled() }

// started is a request made ready to sample: its conditioning, schedule
// (in res.Sigmas) and starting latent.
type started struct {
	res          *Result
	x            *tensor.Tensor
	cond, uncond sampling.Cond
}

// prepare checks req and computes everything sampling needs: the sigmas,
// the conditioning and the starting latent x = Model.StartLatent(σ₀,
// noise(seed), VAE.encode(init image)).
func (p *Pipeline) prepare(req *Request) (*started, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	if p.Model == nil {
		return nil, fmt.Errorf("the pipeline's denoising network was released by an earlier request (Request.ReleaseModel)")
	}
	if p.VAE == nil {
		return nil, fmt.Errorf("the pipeline has no VAE")
	}
	if err := p.Model.CheckSize(req.Width, req.Height); err != nil {
		return nil, err
	}
	st := &started{res: &Result{}}
	denoise := 1.0
	if req.InitImage != nil {
		denoise = req.Denoise
	}
	sigmas, err := p.Model.Sigmas(req, denoise)
	if err != nil {
		return nil, err
	}
	st.res.Sigmas = sigmas

	t0 := time.Now()
	st.cond, st.uncond, err = p.conditioning(req)
	endStage()
	if err != nil {
		return nil, err
	}
	if err := checkCond(st.cond, st.uncond); err != nil {
		return nil, err
	}
	st.res.TextEncode = time.Since(t0)

	h, w := req.Height/LatentFactor, req.Width/LatentFactor
	noise := sampling.PrepareNoise(req.Seed, 1, p.VAE.Config.LatentChannels, h, w)
	var latent *tensor.Tensor // EmptyLatentImage (zeros) for txt2img
	if req.InitImage != nil {
		t0 = time.Now()
		latent = p.VAE.EncodeLatent(req.InitImage)
		st.res.ImageEncode = time.Since(t0)
	}
	st.x = p.Model.StartLatent(sigmas[0], noise, latent)
	return st, nil
}

// releaseForDecode drops the network after sampling (Request.ReleaseModel).
// The network is the largest part (1.7 GB for the SD1.5 UNet at f16, 12 GB
// for Flux in fp8): giving it back before the VAE decoder's activations
// are allocated means the two never coexist. The GC makes heap-held
// (random) weights reusable at once.
func (p *Pipeline) releaseForDecode() error {
	if err := p.ReleaseModel(); err != nil {
		return err
	}
	runtime.GC()
	return nil
}

// decode fills res with the final latent, the decoded image and its 8-bit
// RGB pixels.
func (p *Pipeline) decode(final *tensor.Tensor, res *Result) error {
	if err := tensor.CheckFinite(final, "the final latent", hintSampling); err != nil {
		return err
	}
	t0 := time.Now()
	res.Latent = final
	res.Image = p.VAE.Decode(final)
	if err := tensor.CheckFinite(res.Image, "the VAE's decoded image", hintVAE); err != nil {
		return err
	}
	var err error
	if res.RGB, err = vae.ToUint8(res.Image); err != nil {
		return err
	}
	res.Decode = time.Since(t0)
	return nil
}

// sample runs the sampler from x down sigmas with classifier-free guidance
// over the model m (p.Model, or its batched copy in GenerateBatch), counting model calls and batch passes into res.
func (p *Pipeline) sample(req *Request, m Model, x *tensor.Tensor, sigmas []float64, cond, uncond sampling.Cond, res *Result) (*tensor.Tensor, error) {
	sampler, err := sampling.LookupSampler(req.Sampler)
	if err != nil {
		return nil, err
	}
	model := &countingModel{BatchModel: m.BatchModel(req), res: res, ctx: req.Context}
	guider := &sampling.CFG{
		Model:             model,
		Cond:              cond,
		Uncond:            uncond,
		Scale:             req.CFG,
		RescaleMultiplier: req.GuidanceRescale,
		Observer:          req.Observer,
	}
	if err := p.configureGuidance(req, guider, sigmas); err != nil {
		return nil, err
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

// countingModel counts a BatchModel's calls and batch elements into a
// Result's timings, stops at the first call after ctx is cancelled, and
// checks the latent going in and the predictions coming out for NaN and
// infinity (A1111's NansException), saying at which step.
type countingModel struct {
	sampling.BatchModel
	res *Result
	ctx context.Context
}

// DenoiseBatch forwards to the model and counts the call.
func (m *countingModel) DenoiseBatch(x *tensor.Tensor, sigma float64, conds []sampling.Cond) ([]*tensor.Tensor, error) {
	if m.ctx != nil {
		if err := m.ctx.Err(); err != nil {
			return nil, err
		}
	}
	step := m.res.Steps + 1
	if err := tensor.CheckFinite(x, fmt.Sprintf("the latent at step %d", step), hintSampling); err != nil {
		return nil, err
	}
	out, err := m.BatchModel.DenoiseBatch(x, sigma, conds)
	if err != nil {
		return nil, err
	}
	m.res.ModelCalls++
	m.res.ModelPasses += x.Shape[0] * len(conds)
	for _, o := range out {
		if err := tensor.CheckFinite(o, fmt.Sprintf("the network's prediction at step %d", step), hintModel); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReleaseModel drops the denoising network and unmaps its weights (a
// no-op when it is already gone). Pages of a memory-mapped checkpoint
// count in the process's resident set once read, so unmapping is what
// gives them back.
func (p *Pipeline) ReleaseModel() error {
	if p.Model == nil {
		return nil
	}
	err := p.Model.Close()
	p.Model = nil
	return err
}

// Close releases every part and the files the loader opened. The pipeline
// must not be used afterwards.
func (p *Pipeline) Close() error {
	var errs []error
	if p.Conditioner != nil {
		errs = append(errs, p.Conditioner.Close())
		p.Conditioner = nil
	}
	errs = append(errs, p.ReleaseModel())
	if p.VAE != nil {
		errs = append(errs, p.VAE.Close())
		p.VAE = nil
	}
	for _, c := range p.Closers {
		errs = append(errs, c())
	}
	p.Closers = nil
	return errors.Join(errs...)
}
