package flux

import (
	"fmt"

	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/fluxnet"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/tensor"
)

// velocityNet is the Flux transformer as the pipeline's FlowModel calls it:
// on latents [B, 16, h, w], packed into 2×2 patches for the network and
// unpacked again, with per-item flow times and guidance.
type velocityNet struct{ m *fluxnet.Model }

// Velocity returns v = transformer(Pack(x), t, txt, y, guidance) unpacked
// to x's shape.
func (n velocityNet) Velocity(x *tensor.Tensor, t []float32, txt, y *tensor.Tensor, guidance []float32) (*tensor.Tensor, error) {
	if len(txt.Shape) != 3 {
		return nil, fmt.Errorf("flux: text tokens %s, expected [B, L, D]", tensor.ShapeString(txt.Shape))
	}
	img, err := fluxnet.Pack(x)
	if err != nil {
		return nil, err
	}
	h, w := x.Shape[2], x.Shape[3]
	out, err := n.m.Forward(img, fluxnet.ImageIDs(h, w), txt, fluxnet.TextIDs(txt.Shape[1]), y, t, guidance)
	if err != nil {
		return nil, err
	}
	return fluxnet.Unpack(out, h, w)
}

// Close releases the transformer's weights.
func (n velocityNet) Close() error { return n.m.Close() }

// New assembles a Flux pipeline without text encoders from a transformer
// and an autoencoder already built (e.g. fluxnet.NewRandom and
// vae.NewRandom(AEConfig(), …) for benchmarks): requests must carry their
// conditioning (Request.Cond = T5 tokens [1, L, 4096], CondY = pooled
// CLIP-L [1, 768]). The time shift follows the guidance embedding, as in
// Load (dev shifts, schnell does not).
func New(net *fluxnet.Model, ae *vae.VAE) *pipeline.Pipeline {
	return &pipeline.Pipeline{
		Family: string(detect.Flux),
		Model:  &pipeline.FlowModel{Net: velocityNet{net}, Shift: net.Config.GuidanceEmbed, PatchSize: 2},
		VAE:    ae,
	}
}

// Transformer returns the Flux transformer of a pipeline built by Load or
// New (for reports: its Config, NumParams, WeightBytes), or nil when the
// pipeline holds none (another family, or released by
// Request.ReleaseModel).
func Transformer(p *pipeline.Pipeline) *fluxnet.Model {
	if fm, ok := p.Model.(*pipeline.FlowModel); ok {
		if n, ok := fm.Net.(velocityNet); ok {
			return n.m
		}
	}
	return nil
}

// AEConfig is the Flux.1 autoencoder (ae.safetensors; diffusers
// black-forest-labs/FLUX.1-dev vae/config.json): SD's AutoencoderKL with 16
// latent channels, no quant convolutions, scale 0.3611 and shift 0.1159.
func AEConfig() vae.Config {
	return vae.Config{
		InChannels: 3, OutChannels: 3, LatentChannels: 16,
		BlockOutChannels: []int{128, 256, 512, 512}, LayersPerBlock: 2,
		Groups: 32, Eps: 1e-6, ScalingFactor: 0.3611, ShiftFactor: 0.1159,
		MidAttention: true,
	}
}
