package fluxnet

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/tensor"
)

// timeEmbedDim is the width of the sinusoidal timestep and guidance
// features (BFL timestep_embedding(t, 256)).
const timeEmbedDim = 256

// normEps is the epsilon of the blocks' LayerNorms and QK RMSNorms.
const normEps = 1e-6

// Forward runs the transformer (BFL Flux.forward) and returns the velocity
// [B, N, OutChannels]:
//
//	img = img_in(img),  txt = txt_in(txt)
//	vec = time_in(emb(1000·t)) [+ guidance_in(emb(1000·g))] + vector_in(y)
//	pe  = RoPE(concat(txtIDs, imgIDs))
//	img, txt = double_block_i(img, txt, vec, pe)     i = 1..Depth
//	x = concat(txt, img);  x = single_block_j(x, vec, pe)
//	out = final_layer(x[:, L:], vec)
//
// img is the packed latent [B, N, InChannels] (Pack), txt the text tokens
// [B, L, ContextInDim], y the pooled text vector [B, VecInDim]. imgIDs and
// txtIDs are the positions [N, 3] and [L, 3] (ImageIDs, TextIDs; a
// [B, ·, 3] tensor whose batch items are equal is accepted too), timesteps
// the flow time t ∈ [0, 1] of each batch item and guidance the distilled
// guidance of each (required when Config.GuidanceEmbed, ignored otherwise).
// emb is the 256-wide sinusoidal embedding [cos(args), sin(args)],
// args_i = 1000·t·10000^(−i/128).
func (m *Model) Forward(img, imgIDs, txt, txtIDs, y *tensor.Tensor, timesteps, guidance []float32) (*tensor.Tensor, error) {
	c := m.Config
	if len(img.Shape) != 3 || img.Shape[2] != c.InChannels {
		return nil, fmt.Errorf("fluxnet: img is %s, expected [B, N, %d]", tensor.ShapeString(img.Shape), c.InChannels)
	}
	b, n := img.Shape[0], img.Shape[1]
	if len(txt.Shape) != 3 || txt.Shape[0] != b || txt.Shape[2] != c.ContextInDim {
		return nil, fmt.Errorf("fluxnet: txt is %s, expected [%d, L, %d]", tensor.ShapeString(txt.Shape), b, c.ContextInDim)
	}
	l := txt.Shape[1]
	if len(y.Shape) != 2 || y.Shape[0] != b || y.Shape[1] != c.VecInDim {
		return nil, fmt.Errorf("fluxnet: y is %s, expected [%d, %d]", tensor.ShapeString(y.Shape), b, c.VecInDim)
	}
	if len(timesteps) != b {
		return nil, fmt.Errorf("fluxnet: %d timesteps for a batch of %d", len(timesteps), b)
	}
	if c.GuidanceEmbed && len(guidance) != b {
		return nil, fmt.Errorf("fluxnet: the model has a guidance embedding (Flux.1-dev): need %d guidance values, got %d", b, len(guidance))
	}
	txtPos, err := positions("txtIDs", txtIDs, l)
	if err != nil {
		return nil, err
	}
	imgPos, err := positions("imgIDs", imgIDs, n)
	if err != nil {
		return nil, err
	}
	pe := nn.RoPE(append(txtPos, imgPos...), c.AxesDim, c.Theta)

	vec := m.timeIn.forward(timeEmbedding(timesteps))
	if c.GuidanceEmbed {
		tensor.AddInPlace(vec, m.guidanceIn.forward(timeEmbedding(guidance)))
	}
	tensor.AddInPlace(vec, m.vectorIn.forward(y))
	// Every modulation reads SiLU(vec).
	svec := vec.Clone()
	tensor.SiLUInPlace(svec)

	p := &buffers{}
	defer p.reset()
	x := m.imgIn.forward(img)
	t := m.txtIn.forward(txt)
	for _, blk := range m.double {
		blk.forward(p, x, t, svec, pe, c.NumHeads)
		p.reset()
	}
	joint := tensor.Concat(1, t, x)
	tensor.Recycle(t, x)
	for _, blk := range m.single {
		blk.forward(p, joint, svec, pe, c.NumHeads)
		p.reset()
	}
	out := m.final(p, joint, l, svec)
	tensor.Recycle(joint)
	return out, nil
}

// timeEmbedding is BFL timestep_embedding(1000·t, 256): [cos(args),
// sin(args)] with args_i = 1000·t·exp(−ln(10000)·i/128).
func timeEmbedding(t []float32) *tensor.Tensor {
	scaled := make([]float32, len(t))
	for i, v := range t {
		scaled[i] = 1000 * v
	}
	return nn.TimestepEmbedding(scaled, timeEmbedDim, true, 0, 1, 10000)
}

// forward is out_layer(SiLU(in_layer(x))).
func (e mlpEmbedder) forward(x *tensor.Tensor) *tensor.Tensor {
	h := e.in.forward(x)
	tensor.SiLUInPlace(h)
	return e.out.forward(h)
}

// positions returns ids ([rows, 3] or [B, rows, 3] with equal batch items)
// as float64 coordinates.
func positions(what string, ids *tensor.Tensor, rows int) ([]float64, error) {
	s := ids.Shape
	ok := (len(s) == 2 && s[0] == rows && s[1] == 3) || (len(s) == 3 && s[1] == rows && s[2] == 3)
	if !ok {
		return nil, fmt.Errorf("fluxnet: %s is %s, expected [%d, 3]", what, tensor.ShapeString(s), rows)
	}
	one := ids.Data[:rows*3]
	for i := rows * 3; i < len(ids.Data); i++ {
		if ids.Data[i] != one[i%(rows*3)] {
			return nil, fmt.Errorf("fluxnet: %s differs between batch items (one set of positions serves the batch)", what)
		}
	}
	out := make([]float64, len(one))
	for i, v := range one {
		out[i] = float64(v)
	}
	return out, nil
}

// final is BFL LastLayer on the image tokens (rows [L, L+N) of each batch
// item of x): with (shift, scale) = adaLN_modulation(vec),
//
//	out = linear((1 + scale)·LayerNorm(x) + shift)
func (m *Model) final(p *buffers, x *tensor.Tensor, l int, svec *tensor.Tensor) *tensor.Tensor {
	b, t, h := x.Shape[0], x.Shape[1], x.Shape[2]
	n, oc := t-l, m.Config.OutChannels
	mod := m.finalModulation.forward(svec)
	xm := normModulate(p, x, mod, 0)
	out := tensor.Empty(b, n, oc) // every row written
	for i := range b {
		m.finalLinear.into(n, xm.Data[(i*t+l)*h:], h, out.Data[i*n*oc:], oc)
	}
	return out
}
