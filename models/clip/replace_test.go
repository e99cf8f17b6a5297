package clip

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
)

// writeVariant writes a copy of clip_l_alt.safetensors changed by edit
// (which may drop, add or reshape tensors) and returns its path.
func writeVariant(t *testing.T, edit func([]safetensors.Tensor) []safetensors.Tensor) string {
	t.Helper()
	f := golden.Open(t, "sd1/clip_l_alt.safetensors")
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		x, err := f.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, *x)
	}
	path := filepath.Join(t.TempDir(), "variant.safetensors")
	if err := safetensors.WriteFile(path, edit(ts), nil); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClipLReplacementErrors(t *testing.T) {
	base := diffusersModel(t)
	const fc2 = "text_model.encoder.layers.1.mlp.fc2.bias"
	const fc1 = "text_model.encoder.layers.0.mlp.fc1.weight"
	cases := []struct {
		name  string
		edit  func([]safetensors.Tensor) []safetensors.Tensor
		wants []string
	}{
		{"missing key", func(ts []safetensors.Tensor) []safetensors.Tensor {
			var out []safetensors.Tensor
			for _, x := range ts {
				if x.Name != fc2 {
					out = append(out, x)
				}
			}
			return out
		}, []string{"does not fit", "missing", fc2}},
		{"wider MLP", func(ts []safetensors.Tensor) []safetensors.Tensor {
			for i, x := range ts {
				if x.Name == fc1 { // [64, 32] → [128, 32]
					ts[i].Shape = []int{128, 32}
					ts[i].Data = make([]byte, 128*32*2)
				}
			}
			return ts
		}, []string{"does not fit", fc1, "[128, 32]", "[64, 32]"}},
		{"extra layer", func(ts []safetensors.Tensor) []safetensors.Tensor {
			for _, x := range ts {
				if strings.HasPrefix(x.Name, "text_model.encoder.layers.1.") {
					x.Name = strings.Replace(x.Name, "layers.1.", "layers.2.", 1)
					ts = append(ts, x)
				}
			}
			return ts
		}, []string{"does not fit", "3 encoder layers", "2"}},
		{"no text model", func(ts []safetensors.Tensor) []safetensors.Tensor {
			return ts[:1]
		}, []string{"does not fit", "no CLIP text model"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := LoadReplacement(base, writeVariant(t, c.edit))
			if err == nil {
				m.Close()
				t.Fatal("no error")
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// Extra keys (as some releases carry) are fine.
	m, err := LoadReplacement(base, writeVariant(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
		return append(ts, safetensors.Tensor{Name: "text_projection.weight", DType: safetensors.F16, Shape: []int{32, 32}, Data: make([]byte, 32*32*2)},
			safetensors.Tensor{Name: "text_model.embeddings.position_ids", DType: safetensors.I64, Shape: []int{1, 77}, Data: make([]byte, 77*8)})
	}))
	if err != nil {
		t.Fatalf("extra keys: %v", err)
	}
	m.Close()
}
