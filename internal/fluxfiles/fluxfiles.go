// Package fluxfiles writes safetensors files with the real names and shapes
// of the Flux.1 transformer (BFL keys, as flux1-dev.safetensors) and of
// T5-XXL (Hugging Face T5EncoderModel keys, as ComfyUI's t5xxl_*.safetensors)
// filled with random values, for measuring memory and speed the way users
// run the models: mapped from files of 12–24 GB. cmd/fluxfiles is the
// command; tests use it on small configurations.
//
// The files are streamed: every tensor's bytes are a slice of one pool of
// encoded N(0, 1/fan_in) values per fan-in (biases N(0, 0.02²), norm scales
// 1; about a million values drawn, then repeated), so writing a 24 GB file holds a few hundred MB, not 24 GB. Tensors
// of one fan-in therefore share their leading values, as fluxnet.NewRandom
// shares blocks: the same work and the same bytes mapped, not a model.
package fluxfiles

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/godiffusion/godiffusion/models/fluxnet"
	"github.com/godiffusion/godiffusion/models/t5"
	"github.com/godiffusion/godiffusion/safetensors"
)

// Spec is one tensor to write: its name, shape, and the distribution of
// its values (Std of a normal; Ones for norm scales).
type Spec struct {
	Name  string
	Shape []int
	Std   float64
	Ones  bool
	Small bool // a bias or norm scale: stored in bf16 whatever the matrices' dtype
}

// Transformer lists the tensors of a BFL Flux checkpoint of cfg's shapes
// (fluxnet.DevConfig has guidance_in, SchnellConfig not).
func Transformer(cfg fluxnet.Config) []Spec {
	h, hd, mlp := cfg.HiddenSize, cfg.HeadDim(), cfg.MLPHidden()
	var s []Spec
	lin := func(name string, out, in int, bias bool) {
		s = append(s, Spec{Name: name + ".weight", Shape: []int{out, in}, Std: 1 / math.Sqrt(float64(in))})
		if bias {
			s = append(s, Spec{Name: name + ".bias", Shape: []int{out}, Std: 0.02, Small: true})
		}
	}
	scale := func(name string) {
		s = append(s, Spec{Name: name + ".scale", Shape: []int{hd}, Ones: true, Small: true})
	}
	emb := func(name string, in int) { lin(name+".in_layer", h, in, true); lin(name+".out_layer", h, h, true) }
	lin("img_in", h, cfg.InChannels, true)
	lin("txt_in", h, cfg.ContextInDim, true)
	emb("time_in", 256)
	emb("vector_in", cfg.VecInDim)
	if cfg.GuidanceEmbed {
		emb("guidance_in", 256)
	}
	for i := range cfg.Depth {
		for _, st := range []string{"img", "txt"} {
			p := fmt.Sprintf("double_blocks.%d.%s_", i, st)
			lin(p+"mod.lin", 6*h, h, true)
			lin(p+"attn.qkv", 3*h, h, cfg.QKVBias)
			scale(p + "attn.norm.query_norm")
			scale(p + "attn.norm.key_norm")
			lin(p+"attn.proj", h, h, true)
			lin(p+"mlp.0", mlp, h, true)
			lin(p+"mlp.2", h, mlp, true)
		}
	}
	for i := range cfg.DepthSingleBlocks {
		p := fmt.Sprintf("single_blocks.%d.", i)
		lin(p+"linear1", 3*h+mlp, h, true)
		lin(p+"linear2", h, h+mlp, true)
		scale(p + "norm.query_norm")
		scale(p + "norm.key_norm")
		lin(p+"modulation.lin", 3*h, h, true)
	}
	lin("final_layer.adaLN_modulation.1", 2*h, h, true)
	lin("final_layer.linear", cfg.OutChannels, h, true)
	return s
}

// T5 lists the tensors of a T5 v1.1 encoder of cfg's shapes (t5.XXL():
// shared.weight, encoder.block.N.layer.M.*, encoder.final_layer_norm).
func T5(cfg t5.Config) []Spec {
	d, inner := cfg.DModel, cfg.Heads*cfg.DKV
	s := []Spec{{Name: "shared.weight", Shape: []int{cfg.Vocab, d}, Std: 0.5}}
	mat := func(name string, out, in int) {
		s = append(s, Spec{Name: name, Shape: []int{out, in}, Std: 1 / math.Sqrt(float64(in))})
	}
	ones := func(name string) { s = append(s, Spec{Name: name, Shape: []int{d}, Ones: true, Small: true}) }
	for i := range cfg.Layers {
		p := fmt.Sprintf("encoder.block.%d.layer.", i)
		for _, m := range []string{"q", "k", "v"} {
			mat(p+"0.SelfAttention."+m+".weight", inner, d)
		}
		mat(p+"0.SelfAttention.o.weight", d, inner)
		if i == 0 {
			s = append(s, Spec{Name: p + "0.SelfAttention.relative_attention_bias.weight", Shape: []int{cfg.Buckets, cfg.Heads}, Std: 0.5, Small: true})
		}
		ones(p + "0.layer_norm.weight")
		mat(p+"1.DenseReluDense.wi_0.weight", cfg.DFF, d)
		mat(p+"1.DenseReluDense.wi_1.weight", cfg.DFF, d)
		mat(p+"1.DenseReluDense.wo.weight", d, cfg.DFF)
		ones(p + "1.layer_norm.weight")
	}
	ones("encoder.final_layer_norm.weight")
	return s
}

// Write writes specs to path (through a temporary file renamed at the
// end) with matrices in dtype (F32, F16, BF16 or F8_E4M3) and the Small
// tensors in BF16, values drawn from seed.
func Write(path string, specs []Spec, dtype safetensors.DType, seed uint64) error {
	switch dtype {
	case safetensors.F32, safetensors.F16, safetensors.BF16, safetensors.F8E4M3:
	default:
		return fmt.Errorf("fluxfiles: dtype %s not supported (F32, F16, BF16, F8_E4M3)", dtype)
	}
	// The largest tensor of each (dtype, distribution) sets its pool's size.
	type key struct {
		dt   safetensors.DType
		std  float64
		ones bool
	}
	need := map[key]int{}
	keys := make([]key, len(specs))
	for i, sp := range specs {
		k := key{dtype, sp.Std, sp.Ones}
		if sp.Small {
			k.dt = safetensors.BF16
		}
		n := 1
		for _, d := range sp.Shape {
			n *= d
		}
		keys[i], need[k] = k, max(need[k], n)
	}
	pools := map[key][]byte{}
	for k, n := range need {
		pools[k] = pool(k.dt, n, k.std, k.ones, seed)
		seed++
	}
	ts := make([]safetensors.Tensor, len(specs))
	for i, sp := range specs {
		k := keys[i]
		n := 1
		for _, d := range sp.Shape {
			n *= d
		}
		ts[i] = safetensors.Tensor{Name: sp.Name, DType: k.dt, Shape: sp.Shape, Data: pools[k][:n*size(k.dt)]}
	}
	return safetensors.WriteFile(path, ts, map[string]string{"format": "pt", "godiffusion": "random weights (internal/fluxfiles)"})
}

func size(dt safetensors.DType) int {
	switch dt {
	case safetensors.F32:
		return 4
	case safetensors.F8E4M3:
		return 1
	}
	return 2
}

// period is the number of distinct values drawn per pool; the rest of a
// pool repeats them (drawing and encoding 10⁸ values one by one would take
// minutes; copying them takes a second).
const period = 1<<20 + 7

// pool encodes n values N(0, std²) (or ones) in dt: period values drawn,
// then repeated.
func pool(dt safetensors.DType, n int, std float64, ones bool, seed uint64) []byte {
	sz := size(dt)
	out := make([]byte, n*sz)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range min(n, period) {
		v := float32(1)
		if !ones {
			v = float32(rng.NormFloat64() * std)
		}
		b := out[i*sz:]
		switch dt {
		case safetensors.F32:
			u := math.Float32bits(v)
			b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		case safetensors.F16:
			u := safetensors.F32ToF16(v)
			b[0], b[1] = byte(u), byte(u>>8)
		case safetensors.BF16:
			u := safetensors.F32ToBF16(v)
			b[0], b[1] = byte(u), byte(u>>8)
		case safetensors.F8E4M3:
			b[0] = safetensors.F32ToF8E4M3(v)
		}
	}
	for done := min(n, period) * sz; done < len(out); {
		done += copy(out[done:], out[:done])
	}
	return out
}
