package vae

import (
	"fmt"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
)

// TestFluxAE loads the tiny Flux autoencoder (BFL key names = LDM layout, no
// prefix, 16 latent channels, no quant convs, 32 groups) with the defaults
// inferred from its shapes and compares with the BFL reference
// (flux/README.md: decode(z) = decoder(z/0.3611 + 0.1159),
// encode(x) = 0.3611·(mean − 0.1159)).
func TestFluxAE(t *testing.T) {
	f := golden.Open(t, "flux/ae.safetensors")
	v, err := Load(golden.Core(t, "flux/ae-tiny.safetensors"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c := v.Config
	if c.LatentChannels != 16 || c.UseQuantConv || c.UsePostQuantConv || c.ScalingFactor != 0.3611 || c.ShiftFactor != 0.1159 || c.Groups != 32 {
		t.Fatalf("inferred %+v", c)
	}
	for _, cs := range []string{"case0", "case1"} {
		assertTensor(t, "flux "+cs+".decoded", v.Decode(fixture(t, f, cs+".z")), fixture(t, f, cs+".decoded"), 1e-4)
		assertTensor(t, "flux "+cs+".encoded", v.EncodeLatent(fixture(t, f, cs+".image")), fixture(t, f, cs+".encoded"), 1e-4)
	}
}

// TestSDXLVAE: the tiny SDXL VAE (fp16 weights, 32 groups, scaling factor
// 0.13025 — in config.json, but not recoverable from the single file, so
// given as an option there). References are computed in float32 from the
// same fp16 weights (sdxl/README.md), so atol 1e-4 applies.
func TestSDXLVAE(t *testing.T) {
	f := golden.Open(t, "sdxl/vae.safetensors")
	folder, err := Load(golden.Core(t, "sdxl/diffusers"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer folder.Close()
	single, err := Load(golden.Core(t, "sdxl/tiny-sdxl.safetensors"), &Options{ScalingFactor: 0.13025})
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	if fmt.Sprintf("%+v", folder.Config) != fmt.Sprintf("%+v", single.Config) {
		t.Errorf("config.json %+v\ninferred    %+v", folder.Config, single.Config)
	}
	for _, l := range []loaded{{"diffusers", folder}, {"single", single}} {
		for _, cs := range []string{"case0", "case1"} {
			assertTensor(t, l.name+" sdxl "+cs+".decoded", l.vae.Decode(fixture(t, f, cs+".latent")), fixture(t, f, cs+".decoded"), 1e-4)
			mean, logvar := l.vae.Encode(fixture(t, f, cs+".image"))
			assertTensor(t, l.name+" sdxl "+cs+".posterior_mean", mean, fixture(t, f, cs+".posterior_mean"), 1e-4)
			assertTensor(t, l.name+" sdxl "+cs+".posterior_logvar", logvar, fixture(t, f, cs+".posterior_logvar"), 1e-4)
		}
	}
}
