package nn

import (
	"math"
	"slices"
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

func testLinear(in, out int, seed float64) *Linear {
	w := make([]float32, in*out)
	for i := range w {
		w[i] = float32(math.Sin(seed*float64(i+1))) / float32(in)
	}
	return &Linear{W: tensor.WeightFromFloat32(w, out, in)}
}

func testTensor(seed float64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(math.Cos(seed * float64(i+1)))
	}
	return t
}

// TestCrossAttentionMemo checks that cross-attention reuses K and V for
// an unchanged context and only then: the result is bit-identical to
// computing them afresh, a layer whose key weights were zeroed after the
// first call still answers the same context from the memo, and a context
// that differs in one value is projected again.
func TestCrossAttentionMemo(t *testing.T) {
	const c, d, heads = 16, 12, 2
	a := &Attention{Q: testLinear(c, c, 1.1), K: testLinear(d, c, 2.3), V: testLinear(d, c, 3.7), Out: testLinear(c, c, 0.9), Heads: heads}
	x, ctx := testTensor(0.7, 2, 9, c), testTensor(1.3, 2, 5, d)
	direct := a.Out.Forward(tensor.Attention(a.Q.Forward(x), a.K.Forward(ctx), a.V.Forward(ctx), heads, false))
	first := a.Forward(x, ctx, false)
	if !slices.Equal(first.Data, direct.Data) {
		t.Fatal("cross-attention differs from its definition")
	}
	a.K = &Linear{W: tensor.WeightFromFloat32(make([]float32, c*d), c, d)}
	same := ctx.Clone() // equal values in another tensor, as a sampler's next step passes
	if got := a.Forward(x, same, false); !slices.Equal(got.Data, first.Data) {
		t.Fatal("the same context was projected again (the memo was not used)")
	}
	changed := ctx.Clone()
	changed.Data[7] += 0.25
	got := a.Forward(x, changed, false)
	want := a.Out.Forward(tensor.Attention(a.Q.Forward(x), a.K.Forward(changed), a.V.Forward(changed), heads, false))
	if !slices.Equal(got.Data, want.Data) {
		t.Fatal("a changed context was answered from the memo")
	}
}
