package unet

import "github.com/godiffusion/godiffusion/nn"

// NumParams returns the number of parameters a UNet of this configuration
// has (SD15Config: 859,520,964; SDXLBaseConfig: 2,567,463,684), without
// allocating any: the network is assembled (build.go) from a source that
// only counts the parameters each layer would hold.
func (c *Config) NumParams() int64 {
	var n paramCounter
	buildLayers(&n, c)
	return int64(n)
}

// paramCounter is a weightSource that tallies parameters from the layer
// shapes and returns nil layers (the network it builds cannot run).
type paramCounter int64

func (n *paramCounter) linear(_ string, in, out int, bias bool) *nn.Linear {
	*n += paramCounter(in * out)
	if bias {
		*n += paramCounter(out)
	}
	return nil
}

func (n *paramCounter) conv(_ string, in, out, kernel, _, _ int) *nn.Conv2d {
	*n += paramCounter(out*in*kernel*kernel + out)
	return nil
}

func (n *paramCounter) groupNorm(_ string, _, channels int, _ float32) *nn.GroupNorm {
	*n += paramCounter(2 * channels)
	return nil
}

func (n *paramCounter) layerNorm(_ string, dim int, _ float32) *nn.LayerNorm {
	*n += paramCounter(2 * dim)
	return nil
}

// FLOPs returns the floating-point operations of one forward pass on a
// batch of b latents of h×w with contexts of ctxLen tokens, counting a
// multiply-add as 2 operations and only the matrix products, which are
// nearly all the work:
//
//	k×k conv, in → out channels, output ho×wo:  2·in·out·k²·ho·wo
//	Linear in → out over n tokens:               2·in·out·n
//	attention of n queries over m keys, width C: 2·n·m·C (QKᵀ) + 2·n·m·C (·V)
//
// Norms, activations, softmax and residual additions (a few operations per
// value) are left out. Sizes follow Forward: each downsampler halves a side
// rounding up, each upsampler restores the size of the skip it meets. For
// SD15Config at 64×64 (a 512×512 image), b = 1, ctxLen = 77 this is
// 803 GFLOP.
func (c *Config) FLOPs(b, h, w, ctxLen int) float64 {
	n := c.Levels()
	// Sides of each level's feature maps.
	hs, ws := make([]int, n), make([]int, n)
	hs[0], ws[0] = h, w
	for i := 1; i < n; i++ {
		hs[i], ws[i] = (hs[i-1]+1)/2, (ws[i-1]+1)/2
	}
	temb := c.TimeEmbedDim()
	var f float64
	conv := func(in, out, k, level int) {
		f += 2 * float64(in) * float64(out) * float64(k*k) * float64(hs[level]*ws[level])
	}
	linear := func(in, out, tokens int) { f += 2 * float64(in) * float64(out) * float64(tokens) }
	resnet := func(in, out, level int) {
		conv(in, out, 3, level)
		conv(out, out, 3, level)
		linear(temb, out, 1) // time_emb_proj
		if in != out {
			conv(in, out, 1, level) // conv_shortcut
		}
	}
	transformer := func(ch, depth, level int) {
		tokens := hs[level] * ws[level]
		linear(ch, ch, tokens) // proj_in
		for range depth {
			linear(ch, 3*ch, tokens)                                 // attn1 to_q, to_k, to_v
			f += 4 * float64(tokens) * float64(tokens) * float64(ch) // attn1 QKᵀ, ·V
			linear(ch, ch, tokens)                                   // attn1 to_out
			linear(ch, ch, tokens)                                   // attn2 to_q
			linear(c.CrossAttentionDim, 2*ch, ctxLen)                // attn2 to_k, to_v
			f += 4 * float64(tokens) * float64(ctxLen) * float64(ch)
			linear(ch, ch, tokens)   // attn2 to_out
			linear(ch, 8*ch, tokens) // GEGLU proj (value and gate)
			linear(4*ch, ch, tokens) // ff out
		}
		linear(ch, ch, tokens) // proj_out
	}

	linear(c.BlockOutChannels[0], temb, 1) // time_embedding
	linear(temb, temb, 1)
	if c.AdditionEmbedType == "text_time" {
		linear(c.ProjectionClassEmbeddingsInputDim, temb, 1) // add_embedding
		linear(temb, temb, 1)
	}
	c0 := c.BlockOutChannels[0]
	conv(c.InChannels, c0, 3, 0) // conv_in
	skips := []int{c0}
	ch := c0
	for i, out := range c.BlockOutChannels {
		for range c.LayersPerBlock {
			resnet(ch, out, i)
			ch = out
			if c.CrossAttnDown[i] {
				transformer(out, c.TransformerLayers[i], i)
			}
			skips = append(skips, out)
		}
		if i < n-1 {
			conv(out, out, 3, i+1) // stride 2: the output has level i+1's size
			skips = append(skips, out)
		}
	}
	resnet(ch, ch, n-1)
	if c.MidCrossAttn {
		transformer(ch, c.TransformerLayers[n-1], n-1)
	}
	resnet(ch, ch, n-1)
	for i := range n {
		level := n - 1 - i
		out := c.BlockOutChannels[level]
		for range c.LayersPerBlock + 1 {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			resnet(ch+skip, out, level)
			ch = out
			if c.CrossAttnUp[i] {
				transformer(out, c.UpTransformerLayers[i], level)
			}
		}
		if i < n-1 {
			conv(out, out, 3, level-1) // after nearest ×2: the next level's size
		}
	}
	conv(c0, c.OutChannels, 3, 0) // conv_out
	return float64(b) * f
}
