// Package tensor is godiffusion's dense float32 tensor stack: row-major
// tensors, weight matrices that keep a checkpoint's dtype, and the
// operations the diffusion networks need (matrix multiplication,
// convolution, normalisation, softmax, attention, activations, resizing).
// Every operation that is worth splitting runs on one shared worker pool
// (pool.go) sized from GOMAXPROCS.
//
// Layout conventions: images and feature maps are NCHW, token sequences are
// [batch, tokens, channels], weight matrices are [out, in] as in torch's
// nn.Linear (y = x·Wᵀ + b).
package tensor

import (
	"fmt"
	"strings"
)

// Tensor is a dense row-major float32 array with a shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zero tensor of the given shape (its storage recycled,
// and cleared, when Recycle kept some of about its size).
func New(shape ...int) *Tensor {
	n := numel(shape)
	data := pool.get(n)
	if data != nil {
		clear(data)
	} else {
		data = make([]float32, n)
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// FromData wraps data (not copied) in a tensor of the given shape. It panics
// if len(data) does not equal the product of shape: that is a programming
// error, not bad input.
func FromData(data []float32, shape ...int) *Tensor {
	if len(data) != numel(shape) {
		panic(fmt.Sprintf("tensor.FromData: %d values for shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Dim returns the size of axis i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Reshape returns a tensor sharing t's data with a new shape of the same
// size. One dimension may be -1 and is then inferred.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	s := append([]int(nil), shape...)
	infer, known := -1, 1
	for i, d := range s {
		if d == -1 {
			infer = i
		} else {
			known *= d
		}
	}
	if infer >= 0 && known > 0 {
		s[infer] = len(t.Data) / known
	}
	if numel(s) != len(t.Data) {
		panic(fmt.Sprintf("tensor.Reshape: cannot view %v as %v", t.Shape, shape))
	}
	return &Tensor{Shape: s, Data: t.Data}
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool {
	if len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	return true
}

// ShapeString formats a shape as [a, b, c].
func ShapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// String returns "Tensor" and the shape, e.g. Tensor[1, 4, 64, 64].
func (t *Tensor) String() string { return "Tensor" + ShapeString(t.Shape) }
