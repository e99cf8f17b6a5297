// Package sdxl loads Stable Diffusion XL checkpoints into the Stable
// Diffusion UNet pipeline of models/sd1 (pipeline.Pipeline: sampling, CFG,
// schedules and decoding are shared) and supplies SDXL's conditioner.
//
// SDXL conditions its UNet on two text towers and on the image size. For a
// prompt split into 75-token chunks (A1111 syntax, as SD1), each chunk's
// 77-token window is encoded by
//
//   - CLIP ViT-L/14 (HF CLIPTextModel, windows padded with <|endoftext|>):
//     h_L = hidden state of the penultimate layer, without the final
//     LayerNorm, [1, 77, 768];
//   - OpenCLIP ViT-bigG/14 (windows padded with id 0): h_G = penultimate
//     hidden state, again without ln_final, [1, 77, 1280], and the pooled
//     text embedding pooled = ln_final(last layer)[argmax(ids)] · text_projection
//     [1, 1280], taken from the first chunk;
//
// and the UNet receives
//
//	context = h_L ‖ h_G                        (channels; chunks along tokens) [1, 77·k, 2048]
//	y       = pooled ‖ emb(orig_h) ‖ emb(orig_w) ‖ emb(crop_top) ‖ emb(crop_left) ‖ emb(target_h) ‖ emb(target_w)
//
// where emb(v) is a 256-wide sinusoid, cos first: with
// freqs_i = exp(−ln(10000)·i/128), emb(v) = [cos(v·freqs), sin(v·freqs)]
// (diffusers add_time_proj, sgm ConcatTimestepEmbedderND), so y is
// 1280 + 6·256 = 2816 wide. The sizes come from the Request
// (pipeline.Request.TimeIDs: by default the image size and no crop, ComfyUI's
// CLIPTextEncode). A negative prompt "" is the encoding of the empty
// string; Request.ZeroNegative gives ComfyUI's ConditioningZeroOut /
// diffusers' force_zeros_for_empty_prompt negative instead (context and
// pooled all zero, y = 0 ‖ emb(sizes)).
//
// The latents are decoded with the SDXL VAE scale: image = VAE.decode(x /
// 0.13025). The noise table is SD1's, so sampling is exactly the SD1
// pipeline's (ComfyUI KSampler conventions).
package sdxl
