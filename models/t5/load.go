package t5

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/godiffusion/godiffusion/nn"
)

// relBiasKey is the one tensor only a T5 encoder has: block 0's relative
// position table, from which the number of heads is read.
const relBiasKey = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"

// DetectPrefix returns the key prefix under which a T5 encoder sits in a
// checkpoint with tensors names (e.g. "" for t5xxl_fp16.safetensors,
// "text_encoders.t5xxl.transformer." in a ComfyUI all-in-one Flux file),
// and whether there is one.
func DetectPrefix(names []string) (string, bool) {
	for _, n := range names {
		if p, ok := strings.CutSuffix(n, relBiasKey); ok {
			return p, true
		}
	}
	return "", false
}

// Open loads a T5 v1.1 encoder from path: a .safetensors file whose keys
// are Hugging Face T5EncoderModel's under prefix ("" for the usual
// stand-alone files; see DetectPrefix), or a folder as transformers saves
// it (diffusers' text_encoder_2/: model.safetensors or shards listed by
// model.safetensors.index.json, and config.json, which must agree with
// the weights). Weights stay in their stored dtype, memory-mapped; Close
// releases them.
func Open(path, prefix string) (*Encoder, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("t5: %w", err)
	}
	files := []string{path}
	config := ""
	if st.IsDir() {
		if files, err = nn.ComponentFiles(path, ""); err != nil {
			return nil, fmt.Errorf("t5: %w", err)
		}
		if c := filepath.Join(path, "config.json"); fileExists(c) {
			config = c
		}
	}
	p, err := nn.OpenParams(files...)
	if err != nil {
		return nil, fmt.Errorf("t5: %w", err)
	}
	e, err := Load(p.Sub(prefix))
	if err == nil && config != "" {
		if err = checkConfigJSON(config, &e.Config); err == nil {
			e.setEps(e.Config.Eps)
		}
	}
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("t5: %w", err)
	}
	e.params = p
	return e, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Load reads a T5 v1.1 encoder from p (keys as Hugging Face
// T5EncoderModel's, relative to p's prefix), inferring every size from
// the shapes: heads from the relative bias table [buckets, heads], d_kv
// from q's rows / heads, d_model from shared.weight, d_ff from wi_0, the
// layers by counting blocks. Max distance 128 and epsilon 1e-6 are T5's
// (Open takes them from a config.json when there is one). The Encoder
// does not own p.
func Load(p *nn.Params) (*Encoder, error) {
	bs := p.Shape(relBiasKey)
	if len(bs) != 2 {
		if p.Has("encoder.block.0.layer.1.DenseReluDense.wi.weight") {
			return nil, fmt.Errorf("%s: %q is a T5 v1.0 (ReLU feed-forward) encoder; Flux needs T5 v1.1 (gated GELU)", filesOf(p), p.Prefix())
		}
		p.Weight(relBiasKey, -1, -1) // records the "missing tensor" error, naming the key and file
		if p.Err() == nil {
			p.Fail(fmt.Errorf("%s: tensor %q has shape %v, expected [buckets, heads]", filesOf(p), p.Prefix()+relBiasKey, bs))
		}
		return nil, p.Err()
	}
	shared := "shared.weight"
	if !p.Has(shared) && p.Has("encoder.embed_tokens.weight") {
		shared = "encoder.embed_tokens.weight"
	}
	es := p.Shape(shared)
	qs := p.Shape("encoder.block.0.layer.0.SelfAttention.q.weight")
	fs := p.Shape("encoder.block.0.layer.1.DenseReluDense.wi_0.weight")
	c := Config{Buckets: bs[0], Heads: bs[1], MaxDistance: 128, Eps: 1e-6}
	if len(es) == 2 {
		c.Vocab, c.DModel = es[0], es[1]
	}
	if len(qs) == 2 && c.Heads > 0 {
		c.DKV = qs[0] / c.Heads
		if qs[0]%c.Heads != 0 {
			return nil, fmt.Errorf("%s: %q has %d rows, not a multiple of the %d heads of the relative bias table", filesOf(p), p.Prefix()+"encoder.block.0.layer.0.SelfAttention.q.weight", qs[0], c.Heads)
		}
	}
	if len(fs) == 2 {
		c.DFF = fs[0]
	}
	for p.Has("encoder.block." + strconv.Itoa(c.Layers) + ".layer.0.SelfAttention.q.weight") {
		c.Layers++
	}
	e := &Encoder{Config: c}
	e.Shared = nn.LoadEmbedding(p, strings.TrimSuffix(shared, "weight"), max(c.Vocab, 1), max(c.DModel, 1))
	if e.Shared == nil {
		return nil, p.Err()
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w (sizes read from the shapes under %q)", filesOf(p), err, p.Prefix())
	}
	e.RelBias = p.F32(relBiasKey, c.Buckets, c.Heads)
	inner := c.Heads * c.DKV
	e.Blocks = make([]Block, c.Layers)
	for i := range e.Blocks {
		pre := "encoder.block." + strconv.Itoa(i) + ".layer."
		e.Blocks[i] = Block{
			AttnNorm: nn.LoadRMSNorm(p, pre+"0.layer_norm.", c.DModel, c.Eps),
			Q:        nn.LoadLinear(p, pre+"0.SelfAttention.q.", c.DModel, inner, false),
			K:        nn.LoadLinear(p, pre+"0.SelfAttention.k.", c.DModel, inner, false),
			V:        nn.LoadLinear(p, pre+"0.SelfAttention.v.", c.DModel, inner, false),
			O:        nn.LoadLinear(p, pre+"0.SelfAttention.o.", inner, c.DModel, false),
			FFNNorm:  nn.LoadRMSNorm(p, pre+"1.layer_norm.", c.DModel, c.Eps),
			Wi0:      nn.LoadLinear(p, pre+"1.DenseReluDense.wi_0.", c.DModel, c.DFF, false),
			Wi1:      nn.LoadLinear(p, pre+"1.DenseReluDense.wi_1.", c.DModel, c.DFF, false),
			Wo:       nn.LoadLinear(p, pre+"1.DenseReluDense.wo.", c.DFF, c.DModel, false),
		}
	}
	e.FinalNorm = nn.LoadRMSNorm(p, "encoder.final_layer_norm.", c.DModel, c.Eps)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return e, nil
}

// setEps sets the epsilon of every norm.
func (e *Encoder) setEps(eps float32) {
	for i := range e.Blocks {
		e.Blocks[i].AttnNorm.Eps, e.Blocks[i].FFNNorm.Eps = eps, eps
	}
	e.FinalNorm.Eps = eps
}

// filesOf names p's files for error messages.
func filesOf(p *nn.Params) string {
	var names []string
	for _, f := range p.Files() {
		names = append(names, f.Path)
	}
	return strings.Join(names, ", ")
}
