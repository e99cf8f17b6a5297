package pipeline

import (
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// Hints for a NaN or infinity found by tensor.CheckFinite in the pipeline
// (the A1111 NansException messages play this part there): where it
// appeared says which part is at fault and what to try.
const (
	hintText     = "the text encoder (or --clip-l file) produced it; check that file, or try another --clip-skip"
	hintModel    = "the denoising network produced it; the checkpoint may be damaged or incompatible (try another file, or --unet-head-dim if it is an SD single file of an unusual shape)"
	hintSampling = "the sampler diverged; lower --cfg-scale, or try another --sampler/--scheduler"
	hintVAE      = "the VAE decoder produced it; the checkpoint's VAE may be damaged or not this family's VAE (try another checkpoint or --vae file)"
)

// checkCond checks the prompt's and negative prompt's encodings for NaN
// and infinity.
func checkCond(cond, uncond sampling.Cond) error {
	for _, c := range []struct {
		x    *tensor.Tensor
		what string
	}{{cond.Context, "the prompt's text encoding"}, {cond.Y, "the prompt's pooled vector"},
		{uncond.Context, "the negative prompt's text encoding"}, {uncond.Y, "the negative prompt's pooled vector"}} {
		if err := tensor.CheckFinite(c.x, c.what, hintText); err != nil {
			return err
		}
	}
	return nil
}
