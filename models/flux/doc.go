// Package flux is the Flux.1 family (black-forest-labs FLUX.1-dev and
// FLUX.1-schnell): it loads the transformer, the autoencoder, T5-XXL and
// CLIP-L — from separate files as ComfyUI users keep them, one all-in-one
// ComfyUI checkpoint, or a diffusers folder — into the family-neutral
// pipeline.Pipeline.
//
// One Generate call computes (BFL's sampling.py, with diffusers'
// true_cfg_scale for real classifier-free guidance):
//
//	txt    = T5-XXL(t5_ids)[1, L, 4096]    L = 512 (dev) or 256 (schnell), ids padded to exactly L,
//	                                       no attention mask (padding attends)
//	y      = CLIP-L(clip_ids).pooled [1, 768]   the final-norm state at the first EOS, no projection
//	noise  = torch.randn([1, 16, H/8, W/8]) after torch.manual_seed(seed)
//	t      = linspace(1, 0, steps+1), dev: t ← e^μ/(e^μ + 1/t − 1),  μ = 0.5 + 0.65·(N − 256)/3840,
//	         N = (H/16)·(W/16) image tokens (schnell: no shift)
//	x      = noise                          (σ₀ = t₀ = 1: pure noise)
//	v      = transformer(pack(x), t, txt, y, guidance)     (Flux.1-dev: the distilled guidance, default 3.5)
//	x      ← x + (t_{i+1} − t_i)·v          (Euler on the flow ODE; the pipeline writes it as
//	                                       denoised = x − t·v, d = (x − denoised)/t = v)
//	true CFG (scale s > 1): v = v(neg) + s·(v(pos) − v(neg)), both passes with the same guidance
//	image  = AE.decode(x/0.3611 + 0.1159)
//
// pack folds each 2×2 latent patch into one 64-wide token (channel-major,
// c·4 + ph·2 + pw); the transformer attends jointly over the text tokens
// and the image tokens with a 3-axis rotary embedding of (0, row, col)
// positions (models/fluxnet).
//
// Memory: weights stay in their stored dtype (bf16, f16, fp8 e4m3fn with
// or without ComfyUI's per-tensor scale_weight) and memory-mapped. The
// Conditioner loads T5 and CLIP-L when a prompt needs them and, with
// Options.FreeTextEncoder, releases them right after, before the
// transformer's activations exist; Request.ReleaseModel releases the
// transformer before the autoencoder decodes.
package flux
