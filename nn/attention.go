package nn

import (
	"fmt"

	"github.com/godiffusion/godiffusion/tensor"
)

// Attention is multi-head attention over token sequences [B, L, C]:
//
//	out = Out(concat_h softmax(Q_h·K_hᵀ/√D) · V_h)
//
// with queries projected from x and keys and values from a context (x
// itself for self-attention). Heads split the projected width into Heads
// slices of D channels.
type Attention struct {
	Q, K, V, Out *Linear
	Heads        int
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
	k := a.K.Forward(context)
	v := a.V.Forward(context)
	return a.Out.Forward(tensor.Attention(q, k, v, a.Heads, causal))
}
