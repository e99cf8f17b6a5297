package nn

import (
	"slices"
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// testLinear is a bias-free layer with random weights of scale 1/in.
func testLinear(in, out int, seed uint64) *Linear {
	return &Linear{W: tensor.WeightFromFloat32(randSlice(seed, in*out, 1/float32(in)), out, in)}
}

// testTensor is a tensor of random values in [−1, 1).
func testTensor(seed uint64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	copy(t.Data, randSlice(seed, len(t.Data), 1))
	return t
}

// TestCrossAttentionMemo checks that cross-attention reuses K and V for
// an unchanged context and only then: the result is bit-identical to
// computing them afresh, a layer whose key weights were zeroed after the
// first call still answers the same context from the memo, and a context
// that differs in one value is projected again.
func TestCrossAttentionMemo(t *testing.T) {
	const c, d, heads = 16, 12, 2
	a := &Attention{Q: testLinear(c, c, 1), K: testLinear(d, c, 2), V: testLinear(d, c, 3), Out: testLinear(c, c, 4), Heads: heads}
	x, ctx := testTensor(5, 2, 9, c), testTensor(6, 2, 5, d)
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
