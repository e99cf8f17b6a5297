package fluxnet

import (
	"fmt"

	"github.com/godiffusion/godiffusion/nn"
)

// Model is a Flux.1 transformer with its weights (in their stored dtype,
// usually mapped from the file). Forward and Velocity run it.
type Model struct {
	Config Config

	imgIn, txtIn                 *linear
	timeIn, vectorIn, guidanceIn mlpEmbedder // guidanceIn only with Config.GuidanceEmbed
	double                       []*doubleBlock
	single                       []*singleBlock
	finalModulation, finalLinear *linear // final_layer.adaLN_modulation.1 (shift, scale), final_layer.linear

	params *nn.Params // the open files, when loaded from them
}

// mlpEmbedder is BFL's MLPEmbedder: out_layer(SiLU(in_layer(x))).
type mlpEmbedder struct{ in, out *linear }

// stream is one stream (image or text) of a double block: its modulation
// (shift, scale, gate for attention, then for the MLP), qkv projection,
// QK RMSNorm scales, attention output projection and GELU-tanh MLP.
type stream struct {
	mod, qkv, proj, mlp0, mlp2 *linear
	qNorm, kNorm               []float32
}

// doubleBlock is BFL's DoubleStreamBlock: an image and a text stream, each
// with its own weights, attending jointly over [txt, img].
type doubleBlock struct{ img, txt stream }

// singleBlock is BFL's SingleStreamBlock: one stream over [txt, img] with
// the attention's qkv and the MLP's input fused in linear1, and their
// outputs (attention, GELU(mlp)) fused in linear2.
type singleBlock struct {
	mod, linear1, linear2 *linear
	qNorm, kNorm          []float32
}

// build asks src for every layer of a cfg-shaped network.
func build(src source, cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h, hd, mlp := cfg.HiddenSize, cfg.HeadDim(), cfg.MLPHidden()
	one := func(n int) []int { return []int{n} }
	emb := func(name string, in int) mlpEmbedder {
		return mlpEmbedder{src.linear(name+".in_layer", in, one(h), true), src.linear(name+".out_layer", h, one(h), true)}
	}
	m := &Model{Config: cfg}
	m.imgIn = src.linear("img_in", cfg.InChannels, one(h), true)
	m.timeIn = emb("time_in", timeEmbedDim)
	if cfg.GuidanceEmbed {
		m.guidanceIn = emb("guidance_in", timeEmbedDim)
	}
	m.vectorIn = emb("vector_in", cfg.VecInDim)
	m.txtIn = src.linear("txt_in", cfg.ContextInDim, one(h), true)
	for i := range cfg.Depth {
		b := &doubleBlock{}
		for _, st := range []struct {
			s    *stream
			name string
		}{{&b.img, "img"}, {&b.txt, "txt"}} {
			p := fmt.Sprintf("double_blocks.%d.%s_", i, st.name)
			st.s.mod = src.linear(p+"mod.lin", h, one(6*h), true)
			st.s.qkv = src.linear(p+"attn.qkv", h, []int{h, h, h}, cfg.QKVBias)
			st.s.qNorm = src.scale(p+"attn.norm.query_norm", hd)
			st.s.kNorm = src.scale(p+"attn.norm.key_norm", hd)
			st.s.proj = src.linear(p+"attn.proj", h, one(h), true)
			st.s.mlp0 = src.linear(p+"mlp.0", h, one(mlp), true)
			st.s.mlp2 = src.linear(p+"mlp.2", mlp, one(h), true)
		}
		m.double = append(m.double, b)
	}
	for i := range cfg.DepthSingleBlocks {
		p := fmt.Sprintf("single_blocks.%d.", i)
		m.single = append(m.single, &singleBlock{
			mod:     src.linear(p+"modulation.lin", h, one(3*h), true),
			linear1: src.linear(p+"linear1", h, []int{h, h, h, mlp}, true),
			linear2: src.linear(p+"linear2", h+mlp, one(h), true),
			qNorm:   src.scale(p+"norm.query_norm", hd),
			kNorm:   src.scale(p+"norm.key_norm", hd),
		})
	}
	m.finalModulation = src.linear(bflFinalModulation, h, []int{h, h}, true)
	m.finalLinear = src.linear("final_layer.linear", h, one(cfg.OutChannels), true)
	if err := src.err(); err != nil {
		return nil, err
	}
	return m, nil
}

// Close releases the files the weights are mapped from (when loaded from
// files); the model must not be used afterwards.
func (m *Model) Close() error {
	if m.params == nil {
		return nil
	}
	err := m.params.Close()
	m.params = nil
	return err
}
