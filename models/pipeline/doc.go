// Package pipeline is what every text-to-image family shares: the Request
// (prompts, seed, steps, guidance, size, img2img), the Result and its
// timings, and the Pipeline that runs a request through three parts a
// family plugs in —
//
//   - a Conditioner (prompt → conditioning: CLIP-L for SD1, CLIP-L + bigG
//     for SDXL, T5-XXL + CLIP-L for Flux),
//   - a Model (the denoising network with its noise parameterisation:
//     EPSModel for the ε-predicting UNets of SD1/SDXL, FlowModel for
//     Flux's velocity-predicting transformer),
//   - the VAE (image ↔ latent, with the family's scale and shift),
//
// in the same order for all of them:
//
//	cond, uncond = Conditioner(prompt, negative)  (negative skipped at CFG 1)
//	σ₀ > … > σ_n = 0 from the Model's schedule
//	x = Model.StartLatent(σ₀, torch.randn(seed), VAE.encode(init image))
//	x = sampler(CFG(Model; cond, uncond; scale), x, σ)
//	image = VAE.decode(x)
//
// Classifier-free guidance is sampling.CFG for every family:
// guided = uncond + scale·(cond − uncond) on the denoised predictions, the
// unconditional pass never run at scale 1. A guidance-distilled model
// (Flux.1-dev) takes its guidance strength as an input instead
// (Request.Guidance) and runs with CFG 1; true CFG on top of it is the
// same sampling.CFG.
//
// The family packages (models/sd1, models/sdxl, models/flux) hold only
// what differs: how a checkpoint is read, how prompts are encoded, and the
// defaults (Defaults).
package pipeline
