package flux

import (
	"fmt"

	"github.com/godiffusion/godiffusion/models/fluxnet"
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
