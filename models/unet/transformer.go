package unet

import (
	"strconv"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// transformer2D is diffusers' Transformer2DModel (LDM SpatialTransformer):
// the feature map becomes a sequence of h·w tokens that attend to each
// other and to the context.
//
//	t   = proj_in(GroupNorm(x, eps 1e-6))  as tokens [B, h·w, C]
//	t   = transformer_blocks[k](t, context)   for each k
//	out = x + proj_out(t)                  back to [B, C, h, w]
//
// proj_in/proj_out are stored as 1×1 convs (SD1) or Linear layers (SD2,
// SDXL); both are the same linear map over channels, so both are applied as
// a Linear on the token sequence.
type transformer2D struct {
	norm    *nn.GroupNorm
	projIn  *nn.Linear
	blocks  []*basicTransformerBlock
	projOut *nn.Linear
}

// basicTransformerBlock is a pre-LayerNorm transformer block with
// self-attention, cross-attention to the context and a GEGLU feed-forward:
//
//	t += attn1(norm1(t))
//	t += attn2(norm2(t), context)
//	t += ff(norm3(t))
type basicTransformerBlock struct {
	norm1, norm2, norm3 *nn.LayerNorm
	attn1, attn2        *nn.Attention
	ff                  *nn.GEGLU
}

func newTransformer2D(w weightSource, cfg *Config, module string, channels, heads, depth int) *transformer2D {
	t := &transformer2D{
		norm:    w.groupNorm(module+".norm", cfg.NormGroups, channels, 1e-6),
		projIn:  w.linear(module+".proj_in", channels, channels, true),
		projOut: w.linear(module+".proj_out", channels, channels, true),
	}
	for k := range depth {
		b := module + ".transformer_blocks." + strconv.Itoa(k)
		t.blocks = append(t.blocks, &basicTransformerBlock{
			norm1: w.layerNorm(b+".norm1", channels, 1e-5),
			attn1: newAttention(w, b+".attn1", channels, channels, heads),
			norm2: w.layerNorm(b+".norm2", channels, 1e-5),
			attn2: newAttention(w, b+".attn2", channels, cfg.CrossAttentionDim, heads),
			norm3: w.layerNorm(b+".norm3", channels, 1e-5),
			ff: &nn.GEGLU{
				Proj: w.linear(b+".ff.net.0.proj", channels, 8*channels, true),
				Out:  w.linear(b+".ff.net.2", 4*channels, channels, true),
			},
		})
	}
	return t
}

// newAttention builds diffusers' Attention: to_q, to_k, to_v without bias
// (keys and values read contextDim-wide tokens), to_out.0 with bias.
func newAttention(w weightSource, module string, channels, contextDim, heads int) *nn.Attention {
	return &nn.Attention{
		Q:     w.linear(module+".to_q", channels, channels, false),
		K:     w.linear(module+".to_k", contextDim, channels, false),
		V:     w.linear(module+".to_v", contextDim, channels, false),
		Out:   w.linear(module+".to_out.0", channels, channels, true),
		Heads: heads,
	}
}

// forward applies the transformer to x [B, C, h, w] with context [B, L, D].
// It returns x itself, with proj_out's result added in place (the residual):
// x is a resnet's fresh output that nothing else keeps (a tap may see it,
// but taps must not keep the network's buffers). proj_in reads the
// normalised map channel-major and proj_out writes back channel-major, so
// the tokens are never transposed as separate copies. Every intermediate
// is recycled (tensor.Recycle) once read.
func (t *transformer2D) forward(x, context *tensor.Tensor) *tensor.Tensor {
	n := t.norm.Forward(x)
	tokens := t.projIn.ForwardChannels(n)
	tensor.Recycle(n)
	for _, b := range t.blocks {
		b.forward(tokens, context)
	}
	t.projOut.AddToChannels(x, tokens)
	tensor.Recycle(tokens)
	return x
}

// forward updates the tokens t [B, N, C] in place.
func (b *basicTransformerBlock) forward(t, context *tensor.Tensor) {
	residual(t, b.norm1.Forward(t), func(n *tensor.Tensor) *tensor.Tensor { return b.attn1.Forward(n, nil, false) })
	residual(t, b.norm2.Forward(t), func(n *tensor.Tensor) *tensor.Tensor { return b.attn2.Forward(n, context, false) })
	residual(t, b.norm3.Forward(t), b.ff.Forward)
}

// residual adds f(n) to t in place, t += f(n), and recycles n and f(n):
// one pre-norm residual branch, n being the normalised t.
func residual(t, n *tensor.Tensor, f func(*tensor.Tensor) *tensor.Tensor) {
	y := f(n)
	tensor.Recycle(n)
	tensor.AddInPlace(t, y)
	tensor.Recycle(y)
}
