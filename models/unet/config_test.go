package unet

import (
	"strings"
	"testing"
)

// The unet/config.json of runwayml/stable-diffusion-v1-5 (diffusers 0.6).
const sd15JSON = `{
  "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu",
  "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false,
  "cross_attention_dim": 768,
  "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
  "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
  "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
  "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
}`

func TestConfigSD15JSON(t *testing.T) {
	c, err := ConfigFromDiffusersJSON([]byte(sd15JSON))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := configString(c), configString(SD15Config()); g != w {
		t.Errorf("parsed\n%s\nwant\n%s", g, w)
	}
}

// Options this package does not implement are refused by name.
func TestConfigUnsupported(t *testing.T) {
	for field, v := range map[string]string{
		"class_embed_type":        `"timestep"`,
		"resnet_time_scale_shift": `"scale_shift"`,
		"conv_in_kernel":          `7`,
		"addition_embed_type":     `"text"`,
		"only_cross_attention":    `true`,
		"num_attention_heads":     `8`,
		"mid_block_type":          `"UNetMidBlock2DSimpleCrossAttn"`,
		"time_cond_proj_dim":      `256`,
	} {
		js := strings.Replace(sd15JSON, `"act_fn": "silu",`, `"act_fn": "silu", "`+field+`": `+v+`,`, 1)
		if _, err := ConfigFromDiffusersJSON([]byte(js)); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s = %s: error %v, want one naming the field", field, v, err)
		}
	}
	js := strings.Replace(sd15JSON, `"attention_head_dim": 8`, `"attention_head_dim": [8, 8]`, 1)
	if _, err := ConfigFromDiffusersJSON([]byte(js)); err == nil || !strings.Contains(err.Error(), "attention_head_dim") {
		t.Errorf("short attention_head_dim list: error %v", err)
	}
}
