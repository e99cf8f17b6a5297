package sd1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
)

// rewriteCheckpoint writes a copy of the tiny single-file checkpoint to a
// temporary folder after edit has changed its tensor list.
func rewriteCheckpoint(t *testing.T, edit func([]safetensors.Tensor) []safetensors.Tensor) string {
	t.Helper()
	src, err := safetensors.Open(golden.Core(t, "sd1/tiny-sd1.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var ts []safetensors.Tensor
	for _, tt := range src.Tensors() {
		ts = append(ts, *tt)
	}
	path := filepath.Join(t.TempDir(), "edited.safetensors")
	if err := safetensors.WriteFile(path, edit(ts), nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// reshape writes a copy of the checkpoint in which tensor key keeps its
// bytes but is declared with half the input channels and twice the kernel
// width ([o, i, 3, 3] becomes [o, i/2, 3, 6]).
func reshape(t *testing.T, key string) string {
	return rewriteCheckpoint(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
		for i, x := range ts {
			if x.Name == key {
				ts[i].Shape = []int{x.Shape[0], x.Shape[1] / 2, x.Shape[2], x.Shape[3] * 2}
			}
		}
		return ts
	})
}

// TestLoadErrors checks that every way a checkpoint can be wrong gives an
// error naming the file and the problem, never a panic or a half-loaded
// pipeline.
func TestLoadErrors(t *testing.T) {
	opts := tinyOptions("", "")
	opts.SkipTextEncoder = true
	const unetKey = "model.diffusion_model.input_blocks.1.0.in_layers.2.weight"
	const vaeKey = "first_stage_model.decoder.conv_in.weight"
	const vaeMidKey = "first_stage_model.decoder.mid.block_1.conv1.weight"
	cases := []struct {
		name string
		path func(t *testing.T) string
		want []string
	}{
		{"truncated", func(t *testing.T) string {
			b, err := os.ReadFile(golden.Core(t, "sd1/tiny-sd1.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "truncated.safetensors")
			if err := os.WriteFile(p, b[:len(b)*2/3], 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, []string{"truncated.safetensors"}},
		{"missing UNet key", func(t *testing.T) string {
			return rewriteCheckpoint(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
				out := ts[:0]
				for _, x := range ts {
					if x.Name != unetKey {
						out = append(out, x)
					}
				}
				return out
			})
		}, []string{"missing", unetKey}},
		{"missing VAE key", func(t *testing.T) string {
			return rewriteCheckpoint(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
				out := ts[:0]
				for _, x := range ts {
					if x.Name != vaeKey {
						out = append(out, x)
					}
				}
				return out
			})
		}, []string{"missing", vaeKey}},
		{"wrong UNet shape", func(t *testing.T) string {
			return reshape(t, unetKey)
		}, []string{unetKey, "[8, 4, 3, 6]", "[8, 8, 3, 3]"}},
		{"wrong VAE shape", func(t *testing.T) string {
			return reshape(t, vaeMidKey)
		}, []string{vaeMidKey, "[32, 16, 3, 6]", "[32, 32, 3, 3]"}},
		{"not SD1", func(t *testing.T) string {
			return golden.Shared(t, "sdxl/tiny-sdxl.safetensors")
		}, []string{"not SD1"}},
		{"not a checkpoint", func(t *testing.T) string {
			return golden.Core(t, "sd1/rng.safetensors")
		}, []string{"rng.safetensors"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path(t)
			p, err := Load(path, opts)
			if err == nil {
				p.Close()
				t.Fatalf("Load(%s) succeeded, want an error", path)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			t.Log(err)
		})
	}
}
