package unet

import (
	"math"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/tensor"
)

// The unet/config.json of stabilityai/stable-diffusion-xl-base-1.0
// (diffusers 0.19).
const sdxlBaseJSON = `{
  "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.19.0.dev0", "act_fn": "silu",
  "addition_embed_type": "text_time", "addition_embed_type_num_heads": 64, "addition_time_embed_dim": 256,
  "attention_head_dim": [5, 10, 20], "block_out_channels": [320, 640, 1280], "center_input_sample": false,
  "class_embed_type": null, "class_embeddings_concat": false, "conv_in_kernel": 3, "conv_out_kernel": 3,
  "cross_attention_dim": 2048, "cross_attention_norm": null,
  "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
  "downsample_padding": 1, "dual_cross_attention": false, "encoder_hid_dim": null, "encoder_hid_dim_type": null,
  "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
  "mid_block_only_cross_attention": null, "mid_block_scale_factor": 1, "mid_block_type": "UNetMidBlock2DCrossAttn",
  "norm_eps": 1e-05, "norm_num_groups": 32, "num_attention_heads": null, "num_class_embeds": null,
  "only_cross_attention": false, "out_channels": 4, "projection_class_embeddings_input_dim": 2816,
  "resnet_out_scale_factor": 1.0, "resnet_skip_time_act": false, "resnet_time_scale_shift": "default",
  "sample_size": 128, "time_cond_proj_dim": null, "time_embedding_act_fn": null, "time_embedding_dim": null,
  "time_embedding_type": "positional", "timestep_post_act": null, "transformer_layers_per_block": [1, 2, 10],
  "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "upcast_attention": null,
  "use_linear_projection": true
}`

// SDXLBaseConfig is what the published config.json parses to.
func TestSDXLBaseConfig(t *testing.T) {
	c, err := ConfigFromDiffusersJSON([]byte(sdxlBaseJSON))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := configString(c), configString(SDXLBaseConfig()); g != w {
		t.Errorf("parsed\n%s\nwant\n%s", g, w)
	}
}

// The tiny SDXL fixture has SDXL base's topology at other sizes: once its
// sizes (channels, heads, context, y width, transformer depths) are set to
// SDXL base's, the configurations must agree.
func TestSDXLBaseConfigMatchesFixture(t *testing.T) {
	tiny, err := LoadConfigFile(golden.Shared(t, "sdxl/diffusers/unet/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	base := SDXLBaseConfig()
	for i, d := range tiny.TransformerLayers {
		if i > 0 && d <= tiny.TransformerLayers[i-1] {
			t.Errorf("fixture transformer depths %v do not grow with the level as SDXL's do", tiny.TransformerLayers)
		}
	}
	tiny.BlockOutChannels, tiny.Heads, tiny.CrossAttentionDim = base.BlockOutChannels, base.Heads, base.CrossAttentionDim
	tiny.TransformerLayers, tiny.UpTransformerLayers = base.TransformerLayers, base.UpTransformerLayers
	tiny.ProjectionClassEmbeddingsInputDim, tiny.AdditionTimeEmbedDim = base.ProjectionClassEmbeddingsInputDim, base.AdditionTimeEmbedDim
	if g, w := configString(tiny), configString(base); g != w {
		t.Errorf("fixture topology\n%s\nSDXL base\n%s", g, w)
	}
}

// Config.NumParams reproduces the published parameter counts (diffusers'
// sum of numel) and the count of the networks actually built.
func TestConfigNumParams(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *Config
		want int64
	}{
		{"SD1.5", SD15Config(), 859_520_964},
		{"SDXL base", SDXLBaseConfig(), 2_567_463_684},
	} {
		if got := tc.cfg.NumParams(); got != tc.want {
			t.Errorf("%s: %d parameters, want %d", tc.name, got, tc.want)
		}
	}
	u, err := NewRandom(tinyConfig(), tensor.F32, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Config.NumParams(), u.NumParams(); got != want {
		t.Errorf("tiny SD1: config counts %d parameters, the built network has %d", got, want)
	}
	xl, err := LoadDiffusersFolder(golden.Shared(t, "sdxl/diffusers"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer xl.Close()
	if got, want := xl.Config.NumParams(), xl.NumParams(); got != want {
		t.Errorf("tiny SDXL: config counts %d parameters, the loaded network has %d", got, want)
	}
}

// FLOPs gives the 803 GFLOP of an SD1.5 pass at 512×512 that gen bench
// used as a constant, scales with the batch, and grows faster than the
// area (self-attention is quadratic in the tokens).
func TestConfigFLOPs(t *testing.T) {
	sd15 := SD15Config()
	f := sd15.FLOPs(1, 64, 64, 77)
	if g := math.Round(f / 1e9); g != 803 {
		t.Errorf("SD1.5 at 64×64: %.2f GFLOP, want 803", f/1e9)
	}
	if f2 := sd15.FLOPs(2, 64, 64, 77); f2 != 2*f {
		t.Errorf("batch 2: %g FLOP, want 2·%g", f2, f)
	}
	if f4 := sd15.FLOPs(1, 128, 128, 77); f4 <= 4*f {
		t.Errorf("128×128: %g FLOP, not more than 4× the 64×64 pass (%g)", f4, f)
	}
	// A longer context only adds cross-attention work.
	if fl := sd15.FLOPs(1, 64, 64, 154); fl <= f {
		t.Errorf("154 context tokens: %g FLOP, not more than with 77 (%g)", fl, f)
	}
}
