package nn

import (
	"fmt"

	"github.com/godiffusion/godiffusion/tensor"
)

// Linear is a fully connected layer, y = x·Wᵀ + b, as torch.nn.Linear.
// W is [out, in] in its stored dtype; B ([out]) may be nil.
type Linear struct {
	W *tensor.Weight
	B []float32
}

// LoadLinear loads prefix+"weight" ([out, in], or a 1×1 convolution's
// [out, in, 1, 1], which is the same map) and, when bias, prefix+"bias"
// ([out]). On error it records it in p and returns nil.
func LoadLinear(p *Params, prefix string, in, out int, bias bool) *Linear {
	w := loadMatrix(p, prefix+"weight", out, in)
	if w == nil {
		return nil
	}
	l := &Linear{W: w}
	if bias {
		if l.B = p.F32(prefix+"bias", out); l.B == nil {
			return nil
		}
	}
	return l
}

// loadMatrix loads an [out, in] weight stored either as [out, in] or as
// [out, in, 1, 1], returning it viewed as [out, in].
func loadMatrix(p *Params, key string, out, in int) *tensor.Weight {
	if s := p.Shape(key); len(s) == 4 {
		w := p.Weight(key, out, in, 1, 1)
		if w == nil {
			return nil
		}
		return reshapeWeight(p, key, w, out, in)
	}
	return p.Weight(key, out, in)
}

// reshapeWeight returns w viewed with a new shape of the same size (its
// bytes are shared).
func reshapeWeight(p *Params, key string, w *tensor.Weight, shape ...int) *tensor.Weight {
	if w.Raw == nil {
		return tensor.WeightFromFloat32(w.Float32(), shape...)
	}
	v, err := tensor.NewWeight(w.DType, shape, w.Raw)
	if err != nil {
		p.Fail(fmt.Errorf("%s%s: %v", p.Prefix(), key, err))
		return nil
	}
	v.Scale = w.Scale
	return v
}

// In returns the input width.
func (l *Linear) In() int { return l.W.Shape[1] }

// Out returns the output width.
func (l *Linear) Out() int { return l.W.Shape[0] }

// Forward maps x [..., in] to [..., out]: y = x·Wᵀ + b over the last axis.
// The first axis is taken as the batch (x [B, ..., in]): each sample's
// result is bit-identical whatever B is (tensor.GemmWItems), so a batch of
// requests gives each the bits it gets alone.
func (l *Linear) Forward(x *tensor.Tensor) *tensor.Tensor {
	in, out := l.In(), l.Out()
	if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != in {
		panic(fmt.Sprintf("nn.Linear: input %s, layer expects last axis %d", tensor.ShapeString(x.Shape), in))
	}
	rows := len(x.Data) / max(in, 1)
	shape := append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), out)
	y := tensor.Empty(shape...) // the GEMM writes every value
	if rows > 0 {
		items := 1
		if len(x.Shape) >= 2 && x.Shape[0] > 0 {
			items = x.Shape[0]
		}
		tensor.GemmWItems(items, rows/items, out, in, x.Data, in, l.W, y.Data, out, false)
	}
	if l.B != nil {
		tensor.AddRowBiasInPlace(y, l.B)
	}
	return y
}

// ForwardChannels applies the layer over the channel axis of a feature map
// x [B, in, H, W] (a 1×1 convolution) and returns the result as tokens
// [B, H·W, out]:
//
//	y[b, p, :] = W·x[b, :, p] + bias
//
// the same as Forward(tensor.NCHWToNLC(x)), with the transpose done while
// the GEMM packs x (tensor.GemmWTransA) instead of as a separate copy.
func (l *Linear) ForwardChannels(x *tensor.Tensor) *tensor.Tensor {
	in, out := l.In(), l.Out()
	if len(x.Shape) != 4 || x.Shape[1] != in {
		panic(fmt.Sprintf("nn.Linear.ForwardChannels: input %s, layer expects [B, %d, H, W]", tensor.ShapeString(x.Shape), in))
	}
	b, hw := x.Shape[0], x.Shape[2]*x.Shape[3]
	y := tensor.Empty(b, hw, out) // the GEMMs write every value
	for i := range b {
		tensor.GemmWTransA(hw, out, in, x.Data[i*in*hw:(i+1)*in*hw], hw, l.W, y.Data[i*hw*out:(i+1)*hw*out], out, false)
	}
	if l.B != nil {
		tensor.AddRowBiasInPlace(y, l.B)
	}
	return y
}

// AddToChannels applies the layer to tokens t [B, N, in] and adds the
// result, channel-major, to the feature map dst [B, out, H, W] (H·W = N):
//
//	dst[b, :, p] += W·t[b, p, :] + bias
//
// the same as dst += tensor.NLCToNCHW(Forward(t), H, W) without the
// transposed copy: the GEMM (tensor.GemmWLeft) accumulates straight into dst.
func (l *Linear) AddToChannels(dst, t *tensor.Tensor) {
	in, out := l.In(), l.Out()
	if len(dst.Shape) != 4 || dst.Shape[1] != out || len(t.Shape) != 3 || t.Shape[0] != dst.Shape[0] ||
		t.Shape[1] != dst.Shape[2]*dst.Shape[3] || t.Shape[2] != in {
		panic(fmt.Sprintf("nn.Linear.AddToChannels: tokens %s, map %s, layer %d -> %d", tensor.ShapeString(t.Shape), tensor.ShapeString(dst.Shape), in, out))
	}
	b, n := t.Shape[0], t.Shape[1]
	for i := range b {
		tensor.GemmWLeft(out, n, in, l.W, true, t.Data[i*n*in:(i+1)*n*in], in, dst.Data[i*out*n:(i+1)*out*n], n, true)
	}
	if l.B != nil {
		tensor.AddChannelBiasInPlace(dst, l.B)
	}
}
