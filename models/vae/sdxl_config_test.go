package vae

import (
	"fmt"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
)

// The vae/config.json of stabilityai/stable-diffusion-xl-base-1.0.
const sdxlVAEJSON = `{
  "_class_name": "AutoencoderKL", "_diffusers_version": "0.20.0.dev0", "act_fn": "silu",
  "block_out_channels": [128, 256, 512, 512],
  "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
  "force_upcast": true, "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
  "out_channels": 3, "sample_size": 1024, "scaling_factor": 0.13025,
  "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
}`

// SDXLConfig is what the published config parses to, and the tiny SDXL
// fixture's VAE differs from it only in its channel counts.
func TestSDXLConfig(t *testing.T) {
	c, err := ParseConfig([]byte(sdxlVAEJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%+v", SDXLConfig())
	if got := fmt.Sprintf("%+v", c); got != want {
		t.Errorf("parsed %s\nwant   %s", got, want)
	}
	tiny, err := LoadConfig(golden.Shared(t, "sdxl/diffusers/vae/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	tiny.BlockOutChannels = SDXLConfig().BlockOutChannels
	if got := fmt.Sprintf("%+v", tiny); got != want {
		t.Errorf("fixture %s\nwant    %s", got, want)
	}
	if sd1 := SD1Config(); sd1.ScalingFactor == c.ScalingFactor {
		t.Errorf("SD1Config shares SDXL's scaling factor %g", sd1.ScalingFactor)
	}
}
