package nn

import (
	"fmt"
	"slices"
	"sync"

	"github.com/godiffusion/godiffusion/tensor"
)

// Attention is multi-head attention over token sequences [B, L, C]:
//
//	out = Out(concat_h softmax(Q_h·K_hᵀ/√D) · V_h)
//
// with queries projected from x and keys and values from a context (x
// itself for self-attention). Heads split the projected width into Heads
// slices of D channels.
//
// For cross-attention the keys and values depend on the context alone,
// which a sampler passes unchanged at every step of a request (the text
// encoding), so the layer remembers those of the last context it saw and
// reuses them while the context is the same (compared value by value).
type Attention struct {
	Q, K, V, Out *Linear
	Heads        int

	memo kvMemo
}

// kvMemo is a cross-attention layer's K and V of the last context.
type kvMemo struct {
	mu      sync.Mutex
	shape   []int
	context []float32 // a copy of the context k and v were computed from
	k, v    *tensor.Tensor
}

// LoadAttention loads a diffusers Attention module: prefix+"to_q.",
// "to_k.", "to_v." (no bias, inner = heads·headDim wide) and "to_out.0."
// (with bias, back to queryDim). contextDim is the width of the key/value
// input (queryDim for self-attention). On error it records it in p and
// returns nil.
func LoadAttention(p *Params, prefix string, queryDim, contextDim, heads, headDim int) *Attention {
	inner := heads * headDim
	a := &Attention{
		Q:     LoadLinear(p, prefix+"to_q.", queryDim, inner, false),
		K:     LoadLinear(p, prefix+"to_k.", contextDim, inner, false),
		V:     LoadLinear(p, prefix+"to_v.", contextDim, inner, false),
		Out:   LoadLinear(p, prefix+"to_out.0.", inner, queryDim, true),
		Heads: heads,
	}
	if p.Err() != nil {
		return nil
	}
	return a
}

// Forward attends from x [B, Lq, C] to context [B, Lk, Cctx] (nil means x:
// self-attention), causally masked when causal (query i sees keys ≤ i), and
// returns [B, Lq, Out.Out()].
func (a *Attention) Forward(x, context *tensor.Tensor, causal bool) *tensor.Tensor {
	if context == nil {
		context = x
	}
	if len(x.Shape) != 3 || len(context.Shape) != 3 || x.Shape[0] != context.Shape[0] {
		panic(fmt.Sprintf("nn.Attention: x %s and context %s must be [B, L, C] with the same B", tensor.ShapeString(x.Shape), tensor.ShapeString(context.Shape)))
	}
	q := a.Q.Forward(x)
	var k, v *tensor.Tensor
	self := context == x
	if self {
		k, v = a.K.Forward(context), a.V.Forward(context)
	} else {
		k, v = a.contextKV(context) // the memo's: shared, not recycled
	}
	o := tensor.Attention(q, k, v, a.Heads, causal)
	tensor.Recycle(q)
	if self {
		tensor.Recycle(k, v)
	}
	y := a.Out.Forward(o)
	tensor.Recycle(o)
	return y
}

// contextKV returns K(context) and V(context), from the memo when the
// context equals the last one; the tensors are shared and read only.
func (a *Attention) contextKV(context *tensor.Tensor) (k, v *tensor.Tensor) {
	m := &a.memo
	m.mu.Lock()
	if slices.Equal(m.shape, context.Shape) && slices.Equal(m.context, context.Data) {
		k, v = m.k, m.v
		m.mu.Unlock()
		return k, v
	}
	m.mu.Unlock()
	k, v = a.K.Forward(context), a.V.Forward(context)
	m.mu.Lock()
	m.shape, m.context, m.k, m.v = slices.Clone(context.Shape), slices.Clone(context.Data), k, v
	m.mu.Unlock()
	return k, v
}
