package nn

import (
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/tensor"
)

// unetParams opens the tiny SD1 UNet weights of the fixtures.
func unetParams(t *testing.T) *Params {
	t.Helper()
	p, err := OpenParams(golden.Core(t, "sd1/model/unet/diffusion_pytorch_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestTimestepEmbeddingGolden compares the sinusoidal features (time_proj)
// and the time MLP (time_embedding: Linear, SiLU, Linear) at t = 500 with
// diffusers' outputs.
func TestTimestepEmbeddingGolden(t *testing.T) {
	f := golden.Open(t, "sd1/unet.safetensors")
	ts, _ := golden.Float32(t, f, "t500.timestep")
	wantProj, _ := golden.Float32(t, f, "t500.tap.time_proj")
	wantEmb, _ := golden.Float32(t, f, "t500.tap.time_embedding")

	proj := TimestepEmbedding(ts, 8, true, 0, 1, 10000)
	golden.AssertClose(t, "time_proj", proj.Data, wantProj, 1e-4, 0)

	p := unetParams(t)
	l1 := LoadLinear(p, "time_embedding.linear_1.", 8, 32, true)
	l2 := LoadLinear(p, "time_embedding.linear_2.", 32, 32, true)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	h := l1.Forward(proj)
	tensor.SiLUInPlace(h)
	golden.AssertClose(t, "time_embedding", l2.Forward(h).Data, wantEmb, 1e-4, 0)
}

// TestTransformer2DGolden builds SD1's Transformer2DModel from this
// package's layers (GroupNorm, 1×1 Conv2d, LayerNorm, self- and
// cross-Attention, GEGLU) and compares down_blocks.0.attentions.0 at t = 500
// with diffusers: input is the tapped output of down_blocks.0.resnets.0.
func TestTransformer2DGolden(t *testing.T) {
	f := golden.Open(t, "sd1/unet.safetensors")
	in, inShape := golden.Float32(t, f, "t500.tap.down_blocks.0.resnets.0")
	ctx, ctxShape := golden.Float32(t, f, "t500.context")
	want, _ := golden.Float32(t, f, "t500.tap.down_blocks.0.attentions.0")

	const c, heads, ctxDim = 8, 8, 32
	p := unetParams(t).Sub("down_blocks.0.attentions.0.")
	norm := LoadGroupNorm(p, "norm.", 4, c, 1e-6)
	projIn := LoadConv2d(p, "proj_in.", c, c, 1, 1, 0)
	projOut := LoadConv2d(p, "proj_out.", c, c, 1, 1, 0)
	b := p.Sub("transformer_blocks.0.")
	norm1 := LoadLayerNorm(b, "norm1.", c, 1e-5)
	norm2 := LoadLayerNorm(b, "norm2.", c, 1e-5)
	norm3 := LoadLayerNorm(b, "norm3.", c, 1e-5)
	attn1 := LoadAttention(b, "attn1.", c, c, heads, c/heads)
	attn2 := LoadAttention(b, "attn2.", c, ctxDim, heads, c/heads)
	ff := LoadGEGLU(b, "ff.", c, 4*c)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}

	x := tensor.FromData(in, inShape...)
	context := tensor.FromData(ctx, ctxShape...)
	hgt, wid := inShape[2], inShape[3]
	h := tensor.NCHWToNLC(projIn.Forward(norm.Forward(x)))
	tensor.AddInPlace(h, attn1.Forward(norm1.Forward(h), nil, false))
	tensor.AddInPlace(h, attn2.Forward(norm2.Forward(h), context, false))
	tensor.AddInPlace(h, ff.Forward(norm3.Forward(h)))
	out := projOut.Forward(tensor.NLCToNCHW(h, hgt, wid))
	tensor.AddInPlace(out, x)
	golden.AssertClose(t, "down_blocks.0.attentions.0", out.Data, want, 1e-4, 0)
}
