package unet

import "github.com/godiffusion/godiffusion/nn"

// newResnet loads the UNet's ResnetBlock2D called module (with its
// time-embedding projection) from w.
func newResnet(w weightSource, cfg *Config, module string, in, out int) *nn.ResnetBlock2D {
	r := &nn.ResnetBlock2D{
		Norm1:       w.groupNorm(module+".norm1", cfg.NormGroups, in, cfg.NormEps),
		Conv1:       w.conv(module+".conv1", in, out, 3, 1, 1),
		TimeEmbProj: w.linear(module+".time_emb_proj", cfg.TimeEmbedDim(), out, true),
		Norm2:       w.groupNorm(module+".norm2", cfg.NormGroups, out, cfg.NormEps),
		Conv2:       w.conv(module+".conv2", out, out, 3, 1, 1),
	}
	if in != out {
		r.Shortcut = w.conv(module+".conv_shortcut", in, out, 1, 1, 0)
	}
	return r
}
