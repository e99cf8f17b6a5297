package nn

import "github.com/godiffusion/godiffusion/tensor"

// Conv2d is a 2-D convolution layer, as torch.nn.Conv2d with square kernel,
// equal stride and zero padding on both axes. W is [out, in, k, k] in its
// stored dtype; B ([out]) may be nil.
type Conv2d struct {
	W           *tensor.Weight
	B           []float32
	Stride, Pad int
}

// LoadConv2d loads prefix+"weight" ([out, in, kernel, kernel]; when
// kernel is 1 a Linear-shaped [out, in] is accepted too, since checkpoints
// store 1×1 projections either way) and prefix+"bias" when present. On
// error it records it in p and returns nil.
func LoadConv2d(p *Params, prefix string, in, out, kernel, stride, pad int) *Conv2d {
	key := prefix + "weight"
	var w *tensor.Weight
	if s := p.Shape(key); kernel == 1 && len(s) == 2 {
		if w = p.Weight(key, out, in); w != nil {
			w = reshapeWeight(p, key, w, out, in, 1, 1)
		}
	} else {
		w = p.Weight(key, out, in, kernel, kernel)
	}
	if w == nil {
		return nil
	}
	c := &Conv2d{W: w, Stride: stride, Pad: pad}
	if p.Has(prefix + "bias") {
		if c.B = p.F32(prefix+"bias", out); c.B == nil {
			return nil
		}
	}
	return c
}

// Forward convolves x [N, in, H, W] to [N, out, H', W'] with
// H' = (H + 2·Pad − k)/Stride + 1 (likewise W').
func (c *Conv2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.Conv2d(x, c.W, c.B, c.Stride, c.Pad)
}
