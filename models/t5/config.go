package t5

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// Config holds the hyper-parameters of a T5 v1.1 encoder. All but
// MaxDistance and Eps are read off the weight shapes by Load.
type Config struct {
	Vocab       int     // rows of shared.weight (32128)
	DModel      int     // residual width (4096)
	Heads       int     // attention heads (64), the columns of the relative bias table
	DKV         int     // channels per head (64)
	DFF         int     // feed-forward width (10240)
	Layers      int     // encoder blocks (24)
	Buckets     int     // relative position buckets (32)
	MaxDistance int     // distance from which all positions share a bucket (128)
	Eps         float32 // T5LayerNorm epsilon (1e-6)
}

// XXL is google/t5-v1_1-xxl's encoder, the T5 of Flux.1.
func XXL() Config {
	return Config{Vocab: 32128, DModel: 4096, Heads: 64, DKV: 64, DFF: 10240, Layers: 24, Buckets: 32, MaxDistance: 128, Eps: 1e-6}
}

// Validate checks that every size is positive.
func (c Config) Validate() error {
	if c.Vocab < 1 || c.DModel < 1 || c.Heads < 1 || c.DKV < 1 || c.DFF < 1 || c.Layers < 1 || c.Buckets < 2 || c.MaxDistance < 1 ||
		!(c.Eps >= 0) || math.IsInf(float64(c.Eps), 0) {
		return fmt.Errorf("t5: invalid config %+v", c)
	}
	return nil
}

// hfConfig is the part of a transformers T5Config (config.json) that the
// weights must agree with.
type hfConfig struct {
	VocabSize       *int     `json:"vocab_size"`
	DModel          *int     `json:"d_model"`
	DKV             *int     `json:"d_kv"`
	DFF             *int     `json:"d_ff"`
	NumLayers       *int     `json:"num_layers"`
	NumHeads        *int     `json:"num_heads"`
	Buckets         *int     `json:"relative_attention_num_buckets"`
	MaxDistance     *int     `json:"relative_attention_max_distance"`
	Eps             *float64 `json:"layer_norm_epsilon"`
	FeedForwardProj *string  `json:"feed_forward_proj"`
}

// checkConfigJSON reads a config.json beside the weights and checks that
// it agrees with cfg (inferred from the shapes); it takes the two values
// the shapes cannot tell, max distance and epsilon, from the file.
func checkConfigJSON(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var hc hfConfig
	if err := json.Unmarshal(data, &hc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, f := range []struct {
		name string
		v    *int
		want int
	}{
		{"vocab_size", hc.VocabSize, cfg.Vocab}, {"d_model", hc.DModel, cfg.DModel}, {"d_kv", hc.DKV, cfg.DKV},
		{"d_ff", hc.DFF, cfg.DFF}, {"num_layers", hc.NumLayers, cfg.Layers}, {"num_heads", hc.NumHeads, cfg.Heads},
		{"relative_attention_num_buckets", hc.Buckets, cfg.Buckets},
	} {
		if f.v != nil && *f.v != f.want {
			return fmt.Errorf("%s: %s is %d, but the weights have %d", path, f.name, *f.v, f.want)
		}
	}
	if hc.FeedForwardProj != nil && *hc.FeedForwardProj != "gated-gelu" {
		return fmt.Errorf("%s: feed_forward_proj %q, expected \"gated-gelu\" (T5 v1.1)", path, *hc.FeedForwardProj)
	}
	if hc.MaxDistance != nil {
		if *hc.MaxDistance < 1 {
			return fmt.Errorf("%s: relative_attention_max_distance %d, expected ≥ 1", path, *hc.MaxDistance)
		}
		cfg.MaxDistance = *hc.MaxDistance
	}
	if hc.Eps != nil {
		if !(*hc.Eps >= 0 && *hc.Eps < 1) {
			return fmt.Errorf("%s: layer_norm_epsilon %g, expected in [0, 1)", path, *hc.Eps)
		}
		cfg.Eps = float32(*hc.Eps)
	}
	return nil
}
