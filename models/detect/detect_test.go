package detect

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
)

func TestPathFixtures(t *testing.T) {
	cases := []struct {
		rel     string
		family  Family
		layout  Layout
		ctx     int
		variant string
	}{
		{"sd1/tiny-sd1.safetensors", SD1, SingleFile, 32, ""},
		{"sd1/tiny-sd1-fp16.safetensors", SD1, SingleFile, 32, ""},
		{"sd1/model", SD1, Diffusers, 32, ""},
		{"sdxl/tiny-sdxl.safetensors", SDXL, SingleFile, -1, ""},
		{"sdxl/diffusers", SDXL, Diffusers, -1, ""},
		{"flux/flux1-dev-tiny.safetensors", Flux, SingleFile, 0, FluxDev},
		{"flux/flux1-schnell-tiny.safetensors", Flux, SingleFile, 0, FluxSchnell},
	}
	for _, c := range cases {
		t.Run(c.rel, func(t *testing.T) {
			p := golden.Shared(t, c.rel)
			info, err := Path(p)
			if err != nil {
				t.Fatal(err)
			}
			if info.Family != c.family || info.Layout != c.layout {
				t.Errorf("got %s/%s, want %s/%s (%s)", info.Family, info.Layout, c.family, c.layout, info.Reason)
			}
			if info.Variant != c.variant {
				t.Errorf("variant %q, want %q", info.Variant, c.variant)
			}
			if c.ctx >= 0 && info.ContextDim != c.ctx {
				t.Errorf("context dim %d, want %d", info.ContextDim, c.ctx)
			}
			t.Logf("%s: %s %s ctx %d: %s", c.rel, info.Family, info.Layout, info.ContextDim, info.Reason)
		})
	}
}

func TestPathUnknown(t *testing.T) {
	// A text-encoder-only file, a bare autoencoder and a file of reference
	// activations are not checkpoints of any family.
	for _, rel := range []string{"sd1/clip_l_alt.safetensors", "flux/ae-tiny.safetensors", "sd1/unet.safetensors"} {
		p := golden.Shared(t, rel)
		info, err := Path(p)
		if err == nil || !errors.Is(err, ErrUnknownFamily) || info.Family != Unknown {
			t.Errorf("%s: got %s, err %v; want Unknown and ErrUnknownFamily", rel, info.Family, err)
		} else {
			t.Log(err)
		}
	}
}

func TestPathBad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Path(filepath.Join(dir, "missing.safetensors")); err == nil {
		t.Error("missing file: no error")
	}
	junk := filepath.Join(dir, "junk.safetensors")
	os.WriteFile(junk, []byte("not a safetensors file at all"), 0o644)
	if _, err := Path(junk); err == nil {
		t.Error("junk file: no error")
	}
	if _, err := Path(dir); err == nil {
		t.Error("folder without model_index.json: no error")
	}
}

func TestFromKeys(t *testing.T) {
	cases := []struct {
		keys []string
		want Family
	}{
		{[]string{"model.diffusion_model.double_blocks.0.img_attn.qkv.weight", "model.diffusion_model.single_blocks.0.linear1.weight"}, Flux},
		{[]string{"model.diffusion_model.input_blocks.0.0.weight", "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"}, SD2},
		{[]string{"model.diffusion_model.input_blocks.0.0.weight", "model.diffusion_model.label_emb.0.0.weight"}, SDXL},
		{[]string{"model.diffusion_model.input_blocks.0.0.weight"}, SD1},
		{[]string{"encoder.conv_in.weight"}, Unknown},
		{nil, Unknown},
	}
	for _, c := range cases {
		if got := FromKeys(c.keys, nil).Family; got != c.want {
			t.Errorf("%v: got %s, want %s", c.keys, got, c.want)
		}
	}
	// The context width from the first cross-attention key decides SD1 vs SD2.
	shape := func(ctx int) ShapeFunc {
		return func(name string) []int {
			if name == sd1CrossAttnKey {
				return []int{320, ctx}
			}
			return nil
		}
	}
	keys := []string{"model.diffusion_model.input_blocks.0.0.weight", "cond_stage_model.transformer.text_model.final_layer_norm.weight"}
	if got := FromKeys(keys, shape(768)); got.Family != SD1 || got.ContextDim != 768 {
		t.Errorf("768: got %+v", got)
	}
	if got := FromKeys(keys, shape(1024)); got.Family != SD2 {
		t.Errorf("1024: got %+v", got)
	}
}
