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
	return v
}

// In returns the input width.
func (l *Linear) In() int { return l.W.Shape[1] }

// Out returns the output width.
func (l *Linear) Out() int { return l.W.Shape[0] }

// Forward maps x [..., in] to [..., out]: y = x·Wᵀ + b over the last axis.
func (l *Linear) Forward(x *tensor.Tensor) *tensor.Tensor {
	in, out := l.In(), l.Out()
	if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != in {
		panic(fmt.Sprintf("nn.Linear: input %s, layer expects last axis %d", tensor.ShapeString(x.Shape), in))
	}
	rows := len(x.Data) / max(in, 1)
	shape := append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), out)
	y := tensor.New(shape...)
	if rows > 0 {
		tensor.GemmW(rows, out, in, x.Data, in, l.W, y.Data, out, false)
	}
	if l.B != nil {
		tensor.AddRowBiasInPlace(y, l.B)
	}
	return y
}
