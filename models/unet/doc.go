// Package unet is the denoising network of Stable Diffusion: diffusers'
// UNet2DConditionModel (the LDM/CompVis "UNetModel"), which predicts the
// noise eps in a latent x at timestep t, conditioned on text-encoder token
// states (the context) through cross-attention.
//
// Structure (diffusers module names, used for taps and errors):
//
//	time_proj        sinusoidal embedding of t            [B, C0]
//	time_embedding   Linear → SiLU → Linear               [B, 4·C0]
//	conv_in          3×3 conv                             [B, C0, h, w]
//	down_blocks.i    resnets.j (+ attentions.j), downsamplers.0 (all but the last level)
//	mid_block        resnet, attention, resnet
//	up_blocks.i      resnets.j (+ attentions.j) over [h ‖ skip], upsamplers.0 (all but the last)
//	conv_norm_out, SiLU, conv_out                         [B, C_out, h, w]
//
// Everything is driven by a Config (block channels, layers per block, which
// levels have cross-attention, transformer depth and heads per level, linear
// or 1×1-conv projections), read from a diffusers config.json or inferred
// from the tensor shapes of a single-file checkpoint. One set of blocks is
// built from either key layout: the network is described with diffusers
// module names and, for single-file checkpoints, each name is translated to
// its original LDM name (keymap.go) before the weight is looked up.
//
// Loading:
//
//	LoadDiffusersFolder(dir, variant)   config.json + diffusion_pytorch_model[.fp16].safetensors
//	LoadSingleFile(path, InferOptions)  model.diffusion_model.* keys, config inferred from shapes
//	LoadLDM(params, InferOptions)       the same over an already opened checkpoint
//	LoadUNet(params, cfg, layout)       explicit config and layout (e.g. a diffusers config
//	                                    with single-file weights: params.Sub(LDMPrefix), LayoutLDM)
//	NewRandom(cfg, dtype, seed)         random weights, no file (benchmarks; SD15Config(), SDXLBaseConfig())
//
// Shapes cannot tell the GroupNorm group count: InferOptions.NormGroups
// defaults to 32 (every real SD model); the tiny test fixtures need 4, given
// as that option or through their diffusers config.json. Attention heads
// are likewise a convention: 8 for SD1, 64-wide heads for SD2/SDXL
// (InferOptions.Heads/HeadDim override).
//
// SDXL-style models (addition_embed_type "text_time", label_emb.*) are
// supported too: ForwardY takes the y vector built by Config.SDXLVector.
package unet
