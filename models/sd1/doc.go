// Package sd1 is the Stable Diffusion 1.x family: it loads a checkpoint (a
// single .safetensors file in the original LDM key layout, or a diffusers
// folder) into the family-neutral pipeline.Pipeline with SD1's parts — the
// CLIP-L Conditioner, the UNet as a pipeline.EPSModel on SD1's noise
// table, and the VAE (scale 0.18215).
//
// One Generate call computes, with ComfyUI's KSampler conventions (so a
// seed gives ComfyUI's picture for the same settings):
//
//	cond   = CLIP(prompt), uncond = CLIP(negative)      (the encoding of "" when empty, never zeros)
//	noise  = torch.randn([1, 4, H/8, W/8]) after torch.manual_seed(seed)        (CPU generator)
//	σ      = schedule(scheduler, steps) over ModelSamplingDiscrete's 1000 sigmas
//	x₀     = noise·sqrt(1 + σ₀²)    (σ₀ = σ_max: "max_denoise"; img2img: noise·σ₀ + latent)
//	model(x, σ): x_in = x/sqrt(σ² + 1), t = argmin_i |log σ − log σ_i| (an integer),
//	             eps = UNet(x_in, t, context), denoised = x − σ·eps
//	CFG:  one UNet batch [uncond, cond]; denoised = uncond + cfg·(cond − uncond)
//	      (the uncond half is skipped when cfg == 1)
//	x     = sampler(model, x₀, σ)                    (euler, euler_ancestral, heun, dpmpp_2m, …)
//	image = VAE.decode(x / 0.18215) ∈ [-1, 1];   uint8 = round(255·clamp((image + 1)/2, 0, 1))
//
// Memory: weights stay in their stored dtype and, for files, in the
// memory mapping (f16 weights are never copied to the heap; biases and
// norm scales are decoded to float32). Request.ReleaseModel drops the UNet
// after sampling, before the VAE decodes, so the two never coexist
// (cmd/gen sets it on the last image of a batch). The text encoder is
// kept by default so that a loaded Pipeline can encode new prompts; with
// Options.FreeTextEncoder it is dropped after each encoding and reloaded
// from the checkpoint when a later request needs a prompt that is not
// cached. Encoded prompts are cached (the last positive/negative pair),
// so a batch of seeds with one prompt encodes once.
package sd1
