package clip

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godiffusion/godiffusion/nn"
)

// Key prefixes under which checkpoints store a CLIP-L text model in HF
// CLIPTextModel layout (the part before "embeddings.token_embedding.weight").
const (
	PrefixHF        = "text_model."                                     // transformers / diffusers text_encoder/, stand-alone CLIP-L files
	PrefixSD1       = "cond_stage_model.transformer.text_model."        // SD1 single-file checkpoints
	PrefixSDXLClipL = "conditioner.embedders.0.transformer.text_model." // SDXL single-file checkpoints
)

// LoadTextModel loads a text model stored under prefix in p. cfg nil
// means InferConfig(p, prefix, 0). Shapes are checked against the config;
// the error names the key and the expected and found shapes. Keys the
// model does not use (position_ids, text_projection, logit_scale, other
// networks) are ignored. Weights keep their stored dtype (F32, F16, BF16).
func LoadTextModel(p *nn.Params, prefix string, cfg *Config) (*TextModel, error) {
	var c Config
	if cfg != nil {
		c = *cfg
		if err := c.validate(); err != nil {
			return nil, err
		}
	} else {
		var err error
		if c, err = InferConfig(p, prefix, 0); err != nil {
			return nil, err
		}
	}
	if n := countLayers(p, prefix); n != c.Layers {
		return nil, fmt.Errorf("clip: %s%s has %d encoder layers, the config says %d", p.Prefix(), prefix, n, c.Layers)
	}
	q := p.Sub(prefix)
	D := c.Hidden
	m := &TextModel{
		Config:            c,
		TokenEmbedding:    nn.LoadEmbedding(q, "embeddings.token_embedding.", c.VocabSize, D),
		PositionEmbedding: nn.LoadEmbedding(q, "embeddings.position_embedding.", c.MaxPositions, D),
	}
	for i := range c.Layers {
		l := q.Sub(fmt.Sprintf("encoder.layers.%d.", i))
		m.Layers = append(m.Layers, &EncoderLayer{
			Norm1: nn.LoadLayerNorm(l, "layer_norm1.", D, c.Eps),
			Attn: &nn.Attention{
				Q:     nn.LoadLinear(l, "self_attn.q_proj.", D, D, true),
				K:     nn.LoadLinear(l, "self_attn.k_proj.", D, D, true),
				V:     nn.LoadLinear(l, "self_attn.v_proj.", D, D, true),
				Out:   nn.LoadLinear(l, "self_attn.out_proj.", D, D, true),
				Heads: c.Heads,
			},
			Norm2: nn.LoadLayerNorm(l, "layer_norm2.", D, c.Eps),
			FC1:   nn.LoadLinear(l, "mlp.fc1.", D, c.Intermediate, true),
			FC2:   nn.LoadLinear(l, "mlp.fc2.", c.Intermediate, D, true),
			Act:   c.Act,
		})
	}
	m.FinalNorm = nn.LoadLayerNorm(q, "final_layer_norm.", D, c.Eps)
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("clip text model: %w", err)
	}
	return m, nil
}

// DetectPrefix returns the prefix of the one HF-layout CLIP text model in
// p (the text before "embeddings.token_embedding.weight" in a key). It
// fails when there is none or more than one.
func DetectPrefix(p *nn.Params) (string, error) {
	const suffix = "embeddings.token_embedding.weight"
	var found []string
	for _, name := range allNames(p) {
		if strings.HasSuffix(name, suffix) && strings.HasPrefix(name, p.Prefix()) {
			found = append(found, strings.TrimSuffix(name, suffix)[len(p.Prefix()):])
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("clip: no CLIP text model (no key ending in %q) in %s", suffix, fileList(p))
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("clip: several CLIP text models in %s (prefixes %q); choose one", fileList(p), found)
}

func fileList(p *nn.Params) string {
	var names []string
	for _, f := range p.Files() {
		names = append(names, f.Path)
	}
	return strings.Join(names, ", ")
}

// LoadOptions tune LoadTextEncoder.
type LoadOptions struct {
	// Heads overrides the attention head count when there is no
	// config.json (shapes cannot tell it; see HeadsForWidth).
	Heads int
	// Prefix selects the model's key prefix in a single file; "" detects it.
	Prefix string
}

// LoadTextEncoder opens a text encoder from path, which is one of
//   - a diffusers pipeline folder (path/text_encoder/config.json +
//     model.safetensors) or such a text_encoder folder itself: the config
//     comes from config.json;
//   - a safetensors file (an SD1 single-file checkpoint, a stand-alone
//     CLIP-L file): the prefix is detected and the config inferred from
//     shapes (opt.Heads or HeadsForWidth for the head count).
//
// The returned model keeps the files mapped; call Close when done.
func LoadTextEncoder(path string, opt LoadOptions) (*TextModel, error) {
	var cfg *Config
	file := path
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	} else if st.IsDir() {
		dir := path
		if fileExists(filepath.Join(dir, "text_encoder", "config.json")) {
			dir = filepath.Join(dir, "text_encoder")
		}
		c, err := ReadConfig(filepath.Join(dir, "config.json"))
		if err != nil {
			return nil, err
		}
		if opt.Heads > 0 {
			c.Heads = opt.Heads
		}
		cfg = &c
		file = filepath.Join(dir, "model.safetensors")
	}
	p, err := nn.OpenParams(file)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	prefix := opt.Prefix
	if prefix == "" {
		if prefix, err = DetectPrefix(p); err != nil {
			p.Close()
			return nil, err
		}
	}
	if cfg == nil {
		c, err := InferConfig(p, prefix, opt.Heads)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("%w (%s)", err, file)
		}
		cfg = &c
	}
	m, err := LoadTextModel(p, prefix, cfg)
	if err == nil {
		err = loadProjectionHF(p, m, strings.TrimSuffix(prefix, "text_model.")+"text_projection.weight")
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	m.params = p
	return m, nil
}

// loadProjectionHF sets m.Projection from an HF CLIPTextModelWithProjection
// text_projection.weight [proj, D] (a Linear without bias) when key exists.
func loadProjectionHF(p *nn.Params, m *TextModel, key string) error {
	s := p.Shape(key)
	if s == nil {
		return nil
	}
	if len(s) != 2 || s[1] != m.Config.Hidden {
		return fmt.Errorf("clip: %s has shape %v, expected [proj, %d]", key, s, m.Config.Hidden)
	}
	m.Projection = nn.LoadLinear(p, key[:len(key)-len("weight")], m.Config.Hidden, s[0], false)
	return p.Err()
}

// LoadReplacement loads a stand-alone text-encoder file (for example an
// improved CLIP-L in HF CLIPTextModel layout, "text_model.*", any float
// dtype) that replaces base, a checkpoint's text encoder (the engine's
// --clip-l). Every weight of base is taken from the file: the file must
// hold each of them with the same shape (vocabulary, positions, width, MLP
// width) and the same number of layers; otherwise the error names the
// first offending key and both shapes. The head count, activation and
// epsilon are base's. Extra keys (position_ids, text_projection,
// logit_scale) are ignored. base is not modified.
func LoadReplacement(base *TextModel, path string) (*TextModel, error) {
	p, err := nn.OpenParams(path)
	if err != nil {
		return nil, fmt.Errorf("clip replacement: %w", err)
	}
	m, err := replaceFrom(base, p)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("clip replacement %s does not fit the checkpoint's text encoder: %w", path, err)
	}
	m.params = p
	return m, nil
}

func replaceFrom(base *TextModel, p *nn.Params) (*TextModel, error) {
	prefix, err := DetectPrefix(p)
	if err != nil {
		return nil, err
	}
	if n := countLayers(p, prefix); n != base.Config.Layers {
		return nil, fmt.Errorf("it has %d encoder layers, the checkpoint's text encoder %d", n, base.Config.Layers)
	}
	cfg := base.Config
	return LoadTextModel(p, prefix, &cfg)
}
