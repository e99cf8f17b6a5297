package fluxnet

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// linear is one logical fully connected layer, y = x·Wᵀ + b with W
// [out, in], whose weight is stored either whole (BFL's fused qkv and
// linear1) or as row blocks W = [W₀; W₁; …] (diffusers' to_q, to_k, to_v,
// proj_mlp). Each block computes its own column range of the one output
// (tensor.GemmW with the output's row stride), so both layouts run the
// same code and no weight is ever copied to fuse it.
type linear struct {
	parts   []*nn.Linear
	in, out int
	bias    []float32 // all parts' biases end to end, or nil
}

// newLinear joins row blocks (all of width in) into one layer.
func newLinear(parts ...*nn.Linear) (*linear, error) {
	l := &linear{parts: parts, in: parts[0].In()}
	withBias := 0
	for _, p := range parts {
		if p.In() != l.in {
			return nil, fmt.Errorf("fluxnet: row blocks of one layer have widths %d and %d", l.in, p.In())
		}
		l.out += p.Out()
		if p.B != nil {
			withBias++
		}
	}
	if withBias != 0 && withBias != len(parts) {
		return nil, fmt.Errorf("fluxnet: %d of %d row blocks of one layer have a bias", withBias, len(parts))
	}
	if withBias != 0 {
		l.bias = make([]float32, 0, l.out)
		for _, p := range parts {
			l.bias = append(l.bias, p.B...)
		}
	}
	return l, nil
}

// into computes rows of y = x·Wᵀ + b: x has row stride lda, y row stride
// ldc (≥ out; the result fills columns [0, out) of each row).
func (l *linear) into(rows int, x []float32, lda int, y []float32, ldc int) {
	if rows == 0 {
		return
	}
	col := 0
	for _, p := range l.parts {
		tensor.GemmW(rows, p.Out(), l.in, x, lda, p.W, y[col:], ldc, false)
		col += p.Out()
	}
	if l.bias != nil {
		tensor.Parallel(rows, max(1, 16384/l.out), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				row := y[r*ldc : r*ldc+l.out]
				for i, b := range l.bias {
					row[i] += b
				}
			}
		})
	}
}

// forward maps x [..., in] to a new [..., out].
func (l *linear) forward(x *tensor.Tensor) *tensor.Tensor {
	y := tensor.Empty(l.outShape(x)...) // every value written
	l.intoTensor(y, x)
	return y
}

// forwardInto is forward with the result in a tensor from p.
func (l *linear) forwardInto(p *buffers, x *tensor.Tensor) *tensor.Tensor {
	y := p.get(l.outShape(x)...)
	l.intoTensor(y, x)
	return y
}

// intoTensor writes x [..., in] mapped by the layer into y [..., out].
func (l *linear) intoTensor(y, x *tensor.Tensor) {
	l.into(len(x.Data)/l.in, x.Data, l.in, y.Data, l.out)
}

// outShape is x's shape with the last axis out.
func (l *linear) outShape(x *tensor.Tensor) []int {
	return append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), l.out)
}

// numParams counts the weights and biases.
func (l *linear) numParams() int64 {
	n := int64(len(l.bias))
	for _, p := range l.parts {
		n += int64(p.W.Len())
	}
	return n
}

// rowBlock returns rows [lo, hi) of w as a weight sharing its storage.
func rowBlock(w *tensor.Weight, lo, hi int) (*tensor.Weight, error) {
	cols := w.Len() / w.Shape[0]
	if w.Raw == nil {
		return tensor.WeightFromFloat32(w.Float32()[lo*cols:hi*cols], hi-lo, cols), nil
	}
	size := w.DType.Size()
	v, err := tensor.NewWeight(w.DType, []int{hi - lo, cols}, w.Raw[lo*cols*size:hi*cols*size])
	if err != nil {
		return nil, err
	}
	v.Scale = w.Scale
	return v, nil
}
