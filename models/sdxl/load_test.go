package sdxl

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/safetensors"
)

// TestLoadWrongFamily: an SD1 checkpoint is refused with an error naming
// its family.
func TestLoadWrongFamily(t *testing.T) {
	path := golden.Core(t, "sd1/tiny-sd1.safetensors")
	_, err := Load(path, tinyOptions(t))
	if err == nil || !strings.Contains(err.Error(), "sd1") || !strings.Contains(err.Error(), "not SDXL") {
		t.Fatalf("Load(SD1 file) = %v, want an error naming sd1", err)
	}
}

// TestLoadMissingTensor: a single file lacking one tensor of a text tower
// or of the UNet fails to load with an error naming the key.
func TestLoadMissingTensor(t *testing.T) {
	src := golden.Shared(t, "sdxl/tiny-sdxl.safetensors")
	for _, key := range []string{
		"conditioner.embedders.1.model.transformer.resblocks.3.attn.in_proj_weight",
		"conditioner.embedders.0.transformer.text_model.encoder.layers.5.mlp.fc1.weight",
		"model.diffusion_model.label_emb.0.2.weight",
	} {
		t.Run(key, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "broken.safetensors")
			writeWithout(t, src, path, key)
			p, err := Load(path, tinyOptions(t))
			if err == nil {
				p.Close()
				t.Fatalf("Load without %s succeeded", key)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), key) {
				t.Fatalf("error %q does not name the missing tensor %s", err, key)
			}
		})
	}
}

// writeWithout copies the safetensors file src to dst without tensor drop.
func writeWithout(t *testing.T, src, dst, drop string) {
	t.Helper()
	f, err := safetensors.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var kept []safetensors.Tensor
	for _, tn := range f.Tensors() {
		if tn.Name != drop {
			kept = append(kept, *tn)
		}
	}
	if len(kept) == len(f.Tensors()) {
		t.Fatalf("%s has no tensor %s", src, drop)
	}
	if err := safetensors.WriteFile(dst, kept, nil); err != nil {
		t.Fatal(err)
	}
}

// TestSizeConditioning: non-default size conditioning (original 768×1024,
// crop (16, 32), target 64×96) gives the y of unet_eps case 2 (prompt 4),
// here through a pipeline that frees its text towers after each use.
func TestSizeConditioning(t *testing.T) {
	opts := tinyOptions(t)
	opts.FreeTextEncoder = true
	p, err := Load(golden.Shared(t, "sdxl/tiny-sdxl.safetensors"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	f := golden.Open(t, "sdxl/unet_eps.safetensors")
	ids, _ := golden.Float32(t, f, "case2.time_ids")
	req := pipeline.Request{Prompt: "a red cube on top of a blue sphere", CFG: 1, Width: 64, Height: 96,
		OrigWidth: 768, OrigHeight: 1024, CropW: 32, CropH: 16, TargetWidth: 64, TargetHeight: 96}
	golden.AssertClose(t, "time_ids", req.TimeIDs(), ids, 0, 0)
	for range 2 { // the second call hits the cache
		cond, _, err := p.Conditioner.Condition(&req)
		if err != nil {
			t.Fatal(err)
		}
		y, _ := golden.Float32(t, f, "case2.y")
		golden.AssertClose(t, "case2 y", cond.Y.Data, y, 1e-4, 0)
		ctx, _ := golden.Float32(t, f, "case2.context")
		golden.AssertClose(t, "case2 context", cond.Context.Data, ctx, 1e-4, 0)
	}
	// A new prompt reloads the freed towers.
	req.Prompt = "blurry, low quality, watermark"
	if _, _, err := p.Conditioner.Condition(&req); err != nil {
		t.Fatal(err)
	}
}
