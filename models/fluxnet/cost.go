package fluxnet

// NumParams counts the parameters of a network of these shapes (weights,
// biases, norm scales), as stored in a checkpoint: Flux.1-dev 11.9 B,
// schnell 11.9 B less its guidance embedding.
func (c Config) NumParams() int64 {
	h, hd, mlp := int64(c.HiddenSize), int64(c.HeadDim()), int64(c.MLPHidden())
	lin := func(in, out int64) int64 { return in*out + out }
	emb := func(in int64) int64 { return lin(in, h) + lin(h, h) }
	n := lin(int64(c.InChannels), h) + lin(int64(c.ContextInDim), h) + emb(timeEmbedDim) + emb(int64(c.VecInDim))
	if c.GuidanceEmbed {
		n += emb(timeEmbedDim)
	}
	qkv := 3 * h * h
	if c.QKVBias {
		qkv += 3 * h
	}
	stream := lin(h, 6*h) + qkv + 2*hd + lin(h, h) + lin(h, mlp) + lin(mlp, h)
	single := lin(h, 3*h) + lin(h, 3*h+mlp) + lin(h+mlp, h) + 2*hd
	n += int64(c.Depth)*2*stream + int64(c.DepthSingleBlocks)*single
	return n + lin(h, 2*h) + lin(h, int64(c.OutChannels))
}

// FLOPs returns the floating-point operations (2 per multiply-add) of one
// forward pass of one batch item with imgTokens image and txtTokens text
// tokens, counted from the shapes: every linear layer over the tokens it
// sees, and attention over the T = imgTokens + txtTokens joint tokens,
// 2·T²·H multiply-adds per block (q·kᵀ and the weighted sum of v). The
// per-item modulation and embedding layers are included; norms, RoPE,
// activations and the softmax (O(T·H) each) are not.
func (c Config) FLOPs(imgTokens, txtTokens int) float64 {
	h, mlp := float64(c.HiddenSize), float64(c.MLPHidden())
	img, txt := float64(imgTokens), float64(txtTokens)
	t := img + txt
	macs := img*float64(c.InChannels)*h + txt*float64(c.ContextInDim)*h
	macs += (timeEmbedDim + float64(c.VecInDim)) * h * 2 // one row each: in_layer, then out_layer h·h
	macs += 2 * h * h
	if c.GuidanceEmbed {
		macs += timeEmbedDim*h + h*h
	}
	attn := 2 * t * t * h
	stream := 3*h*h + h*h + 2*h*mlp // qkv, proj, mlp per token
	macs += float64(c.Depth) * (t*stream + 2*6*h*h + attn)
	macs += float64(c.DepthSingleBlocks) * (t*(h*(3*h+mlp)+(h+mlp)*h) + 3*h*h + attn)
	macs += img*h*float64(c.OutChannels) + 2*h*h
	return 2 * macs
}
