package vae

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// VAE is a loaded AutoencoderKL. Its methods may be called from one
// goroutine at a time per VAE (they use the shared worker pool inside).
type VAE struct {
	Config Config
	// Tiling controls when Decode splits a large latent into tiles
	// (DefaultTiling unless changed).
	Tiling Tiling

	enc           *encoder
	dec           *decoder
	quantConv     *nn.Conv2d // nil when !Config.UseQuantConv
	postQuantConv *nn.Conv2d // nil when !Config.UsePostQuantConv
	params        *nn.Params // closed by Close when the VAE opened it
	tap           tapFunc
}

// build constructs the network from s; the caller checks the source's error.
func build(s source, c Config) *VAE {
	v := &VAE{Config: c, Tiling: DefaultTiling()}
	v.enc = newEncoder(s, c)
	if c.UseQuantConv {
		v.quantConv = s.conv("quant_conv", 2*c.LatentChannels, 2*c.LatentChannels, 1, 1, 0)
	}
	if c.UsePostQuantConv {
		v.postQuantConv = s.conv("post_quant_conv", c.LatentChannels, c.LatentChannels, 1, 1, 0)
	}
	v.dec = newDecoder(s, c)
	return v
}

// Close releases the checkpoint files the VAE was loaded from (when Load
// opened them). The VAE must not be used afterwards.
func (v *VAE) Close() error {
	if v.params == nil {
		return nil
	}
	err := v.params.Close()
	v.params = nil
	return err
}

func (v *VAE) checkInput(op string, x *tensor.Tensor, channels int) {
	if len(x.Shape) != 4 || x.Shape[1] != channels {
		panic(fmt.Sprintf("vae.%s: input has shape %s, expected [B, %d, H, W]", op, tensor.ShapeString(x.Shape), channels))
	}
}

// Decode turns a diffusion-space latent [B, LatentChannels, h, w] (as
// samplers produce it) into an image [B, OutChannels, 8h, 8w] in about
// [−1, 1], not clamped:
//
//	z     = latentScaled / ScalingFactor + ShiftFactor
//	image = decoder(post_quant_conv(z))
//
// Latents larger than v.Tiling allows are decoded in overlapping tiles
// (DecodeTiled). It panics if the latent is not 4-D with LatentChannels
// channels (a programming error).
func (v *VAE) Decode(latentScaled *tensor.Tensor) *tensor.Tensor {
	v.checkInput("Decode", latentScaled, v.Config.LatentChannels)
	if v.Tiling.use(latentScaled.Shape[2], latentScaled.Shape[3]) {
		return v.DecodeTiled(latentScaled, v.Tiling.TileSize, v.Tiling.Overlap)
	}
	return v.DecodeWhole(latentScaled)
}

// DecodeWhole decodes the whole latent in one pass (see Decode), whatever
// its size.
func (v *VAE) DecodeWhole(latentScaled *tensor.Tensor) *tensor.Tensor {
	v.checkInput("DecodeWhole", latentScaled, v.Config.LatentChannels)
	z := tensor.New(latentScaled.Shape...)
	scale, shift := v.Config.ScalingFactor, v.Config.ShiftFactor
	for i, x := range latentScaled.Data {
		z.Data[i] = x/scale + shift
	}
	if v.postQuantConv != nil {
		z = v.postQuantConv.Forward(z)
		v.tap.emit("post_quant_conv", z)
	}
	return v.dec.forward(z, v.tap)
}

// Moments runs the encoder on image [B, InChannels, H, W] (values in
// [−1, 1]) and returns the raw moments [B, 2·LatentChannels, H/8, W/8]
// (after quant_conv): the mean in the first LatentChannels channels, the
// unclamped log-variance in the rest. H and W should be multiples of 8.
func (v *VAE) Moments(image *tensor.Tensor) *tensor.Tensor {
	v.checkInput("Encode", image, v.Config.InChannels)
	h := v.enc.forward(image, v.tap)
	if v.quantConv != nil {
		h = v.quantConv.Forward(h)
		v.tap.emit("quant_conv", h)
	}
	return h
}

// Encode returns the diagonal Gaussian posterior q(z|image) of the VAE's own
// (unscaled) latent: mean and logvar, each [B, LatentChannels, H/8, W/8],
// with logvar clamped to [−30, 20] as diffusers' DiagonalGaussianDistribution
// does. Image values are in [−1, 1].
func (v *VAE) Encode(image *tensor.Tensor) (mean, logvar *tensor.Tensor) {
	m := v.Moments(image)
	l := v.Config.LatentChannels
	parts := tensor.Split(m, 1, l, l)
	mean, logvar = parts[0], parts[1]
	for i, x := range logvar.Data {
		logvar.Data[i] = min(max(x, -30), 20)
	}
	return mean, logvar
}

// EncodeLatent returns the diffusion-space latent of an image, the posterior
// mean without sampling (what img2img starts from):
//
//	latent = (mean − ShiftFactor) · ScalingFactor
func (v *VAE) EncodeLatent(image *tensor.Tensor) *tensor.Tensor {
	mean, _ := v.Encode(image)
	if s := v.Config.ShiftFactor; s != 0 {
		for i := range mean.Data {
			mean.Data[i] -= s
		}
	}
	tensor.ScaleInPlace(mean, v.Config.ScalingFactor)
	return mean
}
