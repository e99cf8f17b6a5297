// Package sampling turns a trained denoising network into an image
// generator: noise schedules, the samplers that walk them, classifier-free
// guidance, and a bit-exact copy of PyTorch's CPU random numbers so a seed
// gives the same picture as ComfyUI.
//
// # The forward process and the denoiser
//
// Stable Diffusion works on a latent x₀ (the VAE encoding of an image). Noise
// of level σ is added as
//
//	x = x₀ + σ·ε,   ε ~ N(0, I).
//
// The network is trained to predict ε from x (the "eps" parameterisation;
// it actually sees x/sqrt(σ²+1) and a timestep t that encodes σ, see EPS).
// From a prediction ε̂ the clean latent follows at once:
//
//	denoised = x − σ·ε̂.
//
// A Denoiser is anything that maps (x, σ) to denoised. Samplers only ever
// talk to a Denoiser; they know nothing about networks or prompts.
//
// # Sampling
//
// A sigma schedule (Schedulers: normal, karras, exponential, sgm_uniform,
// simple, ddim_uniform) lists decreasing noise levels σ₀ > … > σ_{n−1} > 0
// and a final 0. Sampling starts from pure noise scaled to σ₀
// (NoiseScaling) and steps down the list. The simplest sampler, Euler,
// follows the direction d = (x − denoised)/σ (which is ε̂):
//
//	x ← x + d·(σ_{i+1} − σ_i).
//
// At σ = 0 what is left is the image latent. Other samplers (Samplers:
// euler_ancestral, heun, dpmpp_2m, ddim, lcm) differ in how they use the
// model's estimates and whether they inject fresh noise on the way.
//
// # Conditioning, unconditioning and guidance
//
// The network is also given a conditioning: the text encoder's output for
// the prompt (cond). During training the prompt was sometimes dropped, so
// the same network can also predict without it — in practice with the
// encoding of the empty prompt "" (this is the "unconditional" branch; it
// is the real encoding of "", not a tensor of zeros). Classifier-free
// guidance evaluates both and extrapolates from the unconditional estimate
// past the conditional one:
//
//	guided = uncond + scale·(cond − uncond).
//
// scale (cfg) = 1 gives cond exactly: the uncond term cancels, so it is not
// computed at all (one network evaluation per step instead of two).
// Larger scales follow the prompt more strongly. A negative prompt simply
// replaces "" as the unconditional text, so the result is pushed away from
// it. If the negative equals the prompt, cond = uncond and guided = cond
// at any scale. CFG applies the rule to denoised predictions (ComfyUI), which
// is equivalent to applying it to ε̂ (diffusers, CFGEps) because denoised is
// affine in ε̂. Both branches run as one batch [uncond, cond].
//
// # Putting it together
//
// A txt2img run of an SD1 UNet, as ComfyUI's KSampler node does it:
//
//	ks := &sampling.KSampler{Sampler: "euler_a", Scheduler: "normal",
//		Steps: 20, CFG: 7.5, Seed: 42}
//	latent, err := ks.Sample(sampling.UNetEps(unet.Forward), cond, uncond,
//		tensor.New(1, 4, h/8, w/8))
//
// which is: sigmas from CalculateSigmas, noise from PrepareNoise, the start
// latent from NoiseScaling, a CFG guider around an EPS model around the
// network, and the sampler from LookupSampler.
//
// # Randomness
//
// Generator reproduces torch.manual_seed + torch.randn / torch.rand on the
// CPU bit for bit; PrepareNoise draws the initial latent as ComfyUI does and
// TorchNoiseSampler the per-step noise of ancestral samplers.
//
// # Flow matching
//
// flow.go has the Flux.1 schedule (linspace in t with a resolution-dependent
// time shift) and its Euler sampler over velocity predictions.
package sampling
