// Package fluxnet is the Flux.1 transformer (Black Forest Labs, "FLUX.1";
// reference code github.com/black-forest-labs/flux, src/flux/model.py and
// modules/layers.py; diffusers FluxTransformer2DModel is the same network
// under other names). It predicts the rectified-flow velocity v = ε − x₀ of
// a packed latent, conditioned on T5 text tokens and a pooled CLIP vector.
//
// # Inputs
//
// The 16-channel latent [B, 16, h, w] is cut into 2×2 patches (Pack), one
// token of 64 values each, N = (h/2)·(w/2) image tokens, with positions
// [0, row, col] (ImageIDs). Text tokens txt [B, L, 4096] sit at position
// [0, 0, 0] (TextIDs). y [B, 768] is the pooled text vector, t ∈ [0, 1] the
// flow time and g the distilled guidance (Flux.1-dev only).
//
// # Network
//
//	img = img_in(img),  txt = txt_in(txt)                  (Linear to H = 3072)
//	vec = time_in(emb(1000·t)) + guidance_in(emb(1000·g)) + vector_in(y)
//	      emb(s) = [cos(s·ω), sin(s·ω)],  ω_i = 10000^(−i/128), i < 128
//	      time_in etc. = Linear, SiLU, Linear
//
// Every block is modulated by SiLU(vec): a Linear gives per-channel
// (shift, scale, gate) triples, and a modulated LayerNorm (no affine,
// eps 1e-6) is (1 + scale)·LN(x) + shift.
//
// A double-stream block (19 in Flux.1) keeps separate weights for the
// image and the text tokens but attends over both jointly:
//
//	q, k, v = qkv(mod₁(x))                               per stream
//	q, k ← RMSNorm(q), RMSNorm(k)                        per head (QK-norm)
//	a = softmax(RoPE(q)·RoPE(k)ᵀ/√d)·v                   over [txt, img]
//	x ← x + gate₁·proj(a)
//	x ← x + gate₂·Linear(GELU_tanh(Linear(mod₂(x))))     MLP, 4·H wide
//
// A single-stream block (38) runs one stream over the concatenated
// [txt, img] tokens, with the attention's q, k, v and the MLP input in one
// projection and the attention output and the MLP's hidden layer in one
// output projection (the parallel layout of ViT-22B):
//
//	[q, k, v, m] = linear1(mod(x))
//	x ← x + gate·linear2([attention(q, k, v), GELU_tanh(m)])
//
// The final layer maps the image tokens back to 64 channels:
// out = linear((1 + scale)·LN(x) + shift) with (shift, scale) from vec.
//
// RoPE (nn.RoPE) rotates channel pairs of q and k by angles that depend on
// the token's 3 position coordinates, each axis owning a slice of the head
// (16, 56, 56 channels of 128): text tokens are unrotated, image tokens
// rotate by row and column, so attention sees 2-D relative positions.
//
// # Files
//
// Load reads BFL single files (flux1-dev.safetensors, and ComfyUI files
// with the "model.diffusion_model." prefix) and diffusers transformer/
// folders; keys.go maps one layout onto the other. Weights stay in their
// stored dtype (bf16, f16, f8 e4m3fn with or without ComfyUI's
// scale_weight) and mapped; diffusers' split projections are run as row
// blocks of one output (see linear), never copied into a fused weight.
// The configuration is read from the shapes (Config).
package fluxnet
