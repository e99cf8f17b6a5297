package fluxnet

import (
	"fmt"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// fixture reads tensor name of f as a float32 tensor.
func fixture(t *testing.T, f *safetensors.File, name string) *tensor.Tensor {
	t.Helper()
	d, s := golden.Float32(t, f, name)
	return tensor.FromData(d, s...)
}

// tinyPath returns the golden tiny model file of kind "dev" or "schnell".
func tinyPath(t *testing.T, kind string) string {
	return golden.Shared(t, "flux/flux1-"+kind+"-tiny.safetensors")
}

func loadTiny(t *testing.T, path string) *Model {
	t.Helper()
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// transformerCase is one entry of meta.json → transformer_cases.
type transformerCase struct {
	Model string `json:"model"`
}

// runCase runs case i of transformer.safetensors through m and returns the
// output and the reference.
func runCase(t *testing.T, m *Model, f *safetensors.File, i int) (got, want *tensor.Tensor) {
	t.Helper()
	p := fmt.Sprintf("case%d.", i)
	ts := fixture(t, f, p+"timesteps").Data
	var g []float32
	if _, err := f.Tensor(p + "guidance"); err == nil {
		g = fixture(t, f, p+"guidance").Data
	}
	out, err := m.Forward(fixture(t, f, p+"img"), fixture(t, f, p+"img_ids"), fixture(t, f, p+"txt"), fixture(t, f, p+"txt_ids"), fixture(t, f, p+"y"), ts, g)
	if err != nil {
		t.Fatal(err)
	}
	return out, fixture(t, f, p+"out")
}

// TestTransformerGolden compares single forward passes (dev: one image at
// t = 1, a batch of two at t = 0.5 and 0.25; schnell) with the BFL
// reference outputs, within 1e-4 absolute (README tolerance).
func TestTransformerGolden(t *testing.T) {
	f := golden.Open(t, "flux/transformer.safetensors")
	var meta struct {
		Cases []transformerCase `json:"transformer_cases"`
	}
	golden.ReadJSON(t, golden.Shared(t, "flux/meta.json"), &meta)
	models := map[string]*Model{}
	for i, c := range meta.Cases {
		if models[c.Model] == nil {
			models[c.Model] = loadTiny(t, tinyPath(t, c.Model))
		}
		got, want := runCase(t, models[c.Model], f, i)
		golden.AssertClose(t, fmt.Sprintf("case%d (%s) out", i, c.Model), got.Data, want.Data, 1e-4, 0)
	}
}

// TestConfigInferred checks the hyper-parameters read from the tiny files'
// shapes against meta.json → flux_params.
func TestConfigInferred(t *testing.T) {
	for _, kind := range []string{"dev", "schnell"} {
		m := loadTiny(t, tinyPath(t, kind))
		want := Config{InChannels: 64, OutChannels: 64, VecInDim: 32, ContextInDim: 64, HiddenSize: 64, MLPRatio: 4,
			NumHeads: 2, Depth: 2, DepthSingleBlocks: 3, AxesDim: []int{4, 14, 14}, Theta: 10000, QKVBias: true, GuidanceEmbed: kind == "dev"}
		if fmt.Sprint(m.Config) != fmt.Sprint(want) {
			t.Errorf("%s: config %+v, want %+v", kind, m.Config, want)
		}
	}
	if a, _ := AxesFromHeadDim(128); fmt.Sprint(a) != "[16 56 56]" {
		t.Errorf("AxesFromHeadDim(128) = %v", a)
	}
}

// TestForwardErrors checks that bad inputs are errors naming the input.
func TestForwardErrors(t *testing.T) {
	m := loadTiny(t, tinyPath(t, "dev"))
	latent := tensor.New(1, 16, 4, 4)
	txt, y := tensor.New(1, 3, 64), tensor.New(1, 32)
	if _, err := m.Velocity(latent, 0.5, tensor.New(1, 3, 48), y, 3.5); err == nil || !strings.Contains(err.Error(), "txt is [1, 3, 48]") {
		t.Errorf("wrong text width: %v", err)
	}
	if _, err := m.Velocity(latent, 0.5, txt, tensor.New(2, 32), 3.5); err == nil || !strings.Contains(err.Error(), "y is [2, 32]") {
		t.Errorf("wrong y batch: %v", err)
	}
	if _, err := m.Velocity(tensor.New(1, 16, 5, 4), 0.5, txt, y, 3.5); err == nil || !strings.Contains(err.Error(), "even") {
		t.Errorf("odd latent: %v", err)
	}
	img, _ := Pack(latent)
	if _, err := m.Forward(img, ImageIDs(4, 4), txt, TextIDs(3), y, []float32{0.5}, nil); err == nil || !strings.Contains(err.Error(), "guidance") {
		t.Errorf("dev without guidance: %v", err)
	}
}
