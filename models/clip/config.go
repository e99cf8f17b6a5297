package clip

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"

	"github.com/godiffusion/godiffusion/nn"
)

// Config holds the hyper-parameters of a CLIP text transformer (field
// meanings as HF CLIPTextConfig).
type Config struct {
	VocabSize    int     // token embedding rows (49408)
	MaxPositions int     // position embedding rows (77)
	Hidden       int     // width D (CLIP-L 768, OpenCLIP ViT-H 1024, bigG 1280)
	Layers       int     // transformer blocks (CLIP-L 12, bigG 32)
	Heads        int     // attention heads; head dim = Hidden/Heads
	Intermediate int     // MLP width (4·Hidden in the released models)
	Act          string  // MLP activation: "quick_gelu" (CLIP-L) or "gelu" (OpenCLIP)
	Eps          float32 // LayerNorm epsilon (1e-5)
}

// CLIPLConfig is OpenAI CLIP ViT-L/14's text tower, SD1's text encoder.
func CLIPLConfig() Config {
	return Config{VocabSize: 49408, MaxPositions: 77, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, Act: "quick_gelu", Eps: 1e-5}
}

// HeadsForWidth returns the number of attention heads of the released CLIP
// text towers of a given width (768 → 12, 1024 → 16, 1280 → 20, i.e. head
// dim 64), hidden/64 for other multiples of 64, and 0 when it cannot be
// known (a checkpoint's shapes do not tell the head count).
func HeadsForWidth(hidden int) int {
	switch hidden {
	case 768:
		return 12
	case 1024:
		return 16
	case 1280:
		return 20
	}
	if hidden >= 64 && hidden%64 == 0 {
		return hidden / 64
	}
	return 0
}

// ReadConfig reads a Hugging Face CLIPTextConfig config.json (as in a
// diffusers text_encoder/ folder). Missing fields keep CLIP-L's values.
func ReadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("clip config: %w", err)
	}
	var hf struct {
		VocabSize    *int     `json:"vocab_size"`
		MaxPositions *int     `json:"max_position_embeddings"`
		Hidden       *int     `json:"hidden_size"`
		Layers       *int     `json:"num_hidden_layers"`
		Heads        *int     `json:"num_attention_heads"`
		Intermediate *int     `json:"intermediate_size"`
		Act          *string  `json:"hidden_act"`
		Eps          *float64 `json:"layer_norm_eps"`
	}
	if err := json.Unmarshal(b, &hf); err != nil {
		return Config{}, fmt.Errorf("clip config %s: %w", path, err)
	}
	c := CLIPLConfig()
	setInt := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setInt(&c.VocabSize, hf.VocabSize)
	setInt(&c.MaxPositions, hf.MaxPositions)
	setInt(&c.Hidden, hf.Hidden)
	setInt(&c.Layers, hf.Layers)
	setInt(&c.Heads, hf.Heads)
	setInt(&c.Intermediate, hf.Intermediate)
	if hf.Act != nil {
		c.Act = *hf.Act
	}
	if hf.Eps != nil {
		c.Eps = float32(*hf.Eps)
	}
	return c, c.validate()
}

func (c Config) validate() error {
	switch {
	case c.VocabSize <= 0 || c.MaxPositions <= 0 || c.Hidden <= 0 || c.Layers <= 0 || c.Intermediate <= 0:
		return fmt.Errorf("clip config: non-positive size in %+v", c)
	case c.Heads <= 0 || c.Hidden%c.Heads != 0:
		return fmt.Errorf("clip config: %d heads do not divide hidden size %d", c.Heads, c.Hidden)
	case c.Act != "quick_gelu" && c.Act != "gelu":
		return fmt.Errorf("clip config: activation %q not supported (quick_gelu, gelu)", c.Act)
	}
	return nil
}

var layerKey = regexp.MustCompile(`^encoder\.layers\.(\d+)\.`)

// InferConfig reads the sizes of a text model stored under prefix (keys
// prefix+"embeddings.token_embedding.weight" …) from its tensor shapes:
// vocabulary, positions, width, MLP width and layer count. The head count
// is heads when > 0, else HeadsForWidth; the activation is quick_gelu and
// the epsilon 1e-5 (CLIP-L's; shapes cannot tell them).
func InferConfig(p *nn.Params, prefix string, heads int) (Config, error) {
	tok := p.Shape(prefix + "embeddings.token_embedding.weight")
	pos := p.Shape(prefix + "embeddings.position_embedding.weight")
	fc1 := p.Shape(prefix + "encoder.layers.0.mlp.fc1.weight")
	if len(tok) != 2 || len(pos) != 2 || len(fc1) != 2 {
		return Config{}, fmt.Errorf("clip: no CLIP text model under prefix %q (need embeddings.token_embedding.weight, embeddings.position_embedding.weight, encoder.layers.0.mlp.fc1.weight as matrices)", prefix)
	}
	c := Config{VocabSize: tok[0], MaxPositions: pos[0], Hidden: tok[1], Intermediate: fc1[0], Act: "quick_gelu", Eps: 1e-5}
	c.Layers = countLayers(p, prefix)
	c.Heads = heads
	if c.Heads <= 0 {
		c.Heads = HeadsForWidth(c.Hidden)
	}
	if c.Heads <= 0 {
		return Config{}, fmt.Errorf("clip: cannot tell the number of attention heads of a text model of width %d under %q: pass it explicitly (LoadOptions.Heads) or give a config.json", c.Hidden, prefix)
	}
	return c, c.validate()
}

// countLayers returns 1 + the largest N with a key prefix+"encoder.layers.N.…"
// (under p's own prefix).
func countLayers(p *nn.Params, prefix string) int {
	prefix = p.Prefix() + prefix
	n := 0
	for _, name := range allNames(p) {
		if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
			continue
		}
		if m := layerKey.FindStringSubmatch(name[len(prefix):]); m != nil {
			i, _ := strconv.Atoi(m[1])
			n = max(n, i+1)
		}
	}
	return n
}

// allNames lists the tensor names of every file behind p (ignoring p's own prefix).
func allNames(p *nn.Params) []string {
	var names []string
	for _, f := range p.Files() {
		names = append(names, f.Names()...)
	}
	sort.Strings(names)
	return names
}
