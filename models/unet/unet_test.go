package unet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// The reference cases of sd1/unet.safetensors (README §4).
var goldenCases = []string{"t999", "t500", "t1", "t321_5_fractional", "batch2", "nonsquare_16x24_ctx154"}

// tinyGroups is the GroupNorm group count of the tiny fixture, which
// shapes cannot tell (real models: 32, the InferConfig default).
const tinyGroups = 4

// loadFolder loads the fixture's diffusers folder, once per test.
func loadFolder(t *testing.T) *UNet {
	t.Helper()
	dir := golden.Core(t, "sd1/model/unet")
	u, err := LoadDiffusersFolder(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

func loadSingle(t *testing.T, rel string) *UNet {
	t.Helper()
	u, err := LoadSingleFile(golden.Core(t, rel), InferOptions{NormGroups: tinyGroups})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// goldenInputs reads a case's x, timesteps and context.
func goldenInputs(t *testing.T, f *safetensors.File, c string) (*tensor.Tensor, []float32, *tensor.Tensor) {
	t.Helper()
	xv, xs := golden.Float32(t, f, c+".x")
	ts, _ := golden.Float32(t, f, c+".timestep")
	cv, cs := golden.Float32(t, f, c+".context")
	return tensor.FromData(xv, xs...), ts, tensor.FromData(cv, cs...)
}

// runCases compares every case's eps (or eps_fp16_weights) with u's output.
func runCases(t *testing.T, u *UNet, want string) map[string]*tensor.Tensor {
	f := golden.Open(t, "sd1/unet.safetensors")
	out := map[string]*tensor.Tensor{}
	for _, c := range goldenCases {
		x, ts, ctx := goldenInputs(t, f, c)
		eps := u.Forward(x, ts, ctx)
		ref, shape := golden.Float32(t, f, c+"."+want)
		if tensor.ShapeString(eps.Shape) != tensor.ShapeString(shape) {
			t.Errorf("%s: eps shape %v, want %v", c, eps.Shape, shape)
			continue
		}
		golden.AssertClose(t, c+"."+want, eps.Data, ref, 1e-4, 0)
		out[c] = eps
	}
	return out
}

func TestGoldenDiffusersFolder(t *testing.T) {
	runCases(t, loadFolder(t), "eps")
}

func TestGoldenSingleFile(t *testing.T) {
	runCases(t, loadSingle(t, "sd1/tiny-sd1.safetensors"), "eps")
}

func TestGoldenSingleFileFP16(t *testing.T) {
	u := loadSingle(t, "sd1/tiny-sd1-fp16.safetensors")
	if dt := u.convIn.W.DType; dt != tensor.F16 {
		t.Errorf("conv_in weight dtype %s, want f16 (weights keep their stored dtype)", dt)
	}
	runCases(t, u, "eps_fp16_weights")
}

// The two layouts hold the same weights and run the same code, so the
// outputs must be bit-identical.
func TestLayoutsBitIdentical(t *testing.T) {
	f := golden.Open(t, "sd1/unet.safetensors")
	a, b := loadFolder(t), loadSingle(t, "sd1/tiny-sd1.safetensors")
	for _, c := range []string{"batch2", "nonsquare_16x24_ctx154"} {
		x, ts, ctx := goldenInputs(t, f, c)
		ea, eb := a.Forward(x, ts, ctx), b.Forward(x, ts, ctx)
		for i := range ea.Data {
			if ea.Data[i] != eb.Data[i] {
				t.Fatalf("%s: diffusers %g vs single-file %g at %d", c, ea.Data[i], eb.Data[i], i)
			}
		}
	}
}

// Taps of case t500 localise a wrong block.
func TestGoldenTaps(t *testing.T) {
	f := golden.Open(t, "sd1/unet.safetensors")
	u := loadFolder(t)
	x, ts, ctx := goldenInputs(t, f, "t500")
	got := map[string]*tensor.Tensor{}
	var mu sync.Mutex
	u.ForwardTaps(x, ts, ctx, func(name string, v *tensor.Tensor) {
		mu.Lock()
		got[name] = v.Clone()
		mu.Unlock()
	})
	n := 0
	for _, key := range f.Names() {
		name, ok := strings.CutPrefix(key, "t500.tap.")
		if !ok {
			continue
		}
		n++
		ref, _ := golden.Float32(t, f, key)
		g, ok := got[name]
		if !ok {
			t.Errorf("no tap %q", name)
			continue
		}
		golden.AssertClose(t, "tap "+name, g.Data, ref, 1e-4, 0)
	}
	if n == 0 {
		t.Fatal("fixture has no t500 taps")
	}
}

// Every diffusers key maps to an LDM key of the single file holding the
// same shape and bytes: checks the key mapping independently of Forward.
func TestLDMNameMapsEveryKey(t *testing.T) {
	cfg, err := LoadConfigFile(filepath.Join(golden.Core(t, "sd1/model/unet"), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := golden.Open(t, "sd1/model/unet/diffusion_pytorch_model.safetensors")
	s := golden.Open(t, "sd1/tiny-sd1.safetensors")
	seen := map[string]bool{}
	for _, k := range d.Names() {
		name, err := LDMName(cfg, k)
		if err != nil {
			t.Error(err)
			continue
		}
		seen[name] = true
		a, _ := d.Tensor(k)
		b, err := s.Tensor(LDMPrefix + name)
		if err != nil {
			t.Errorf("%s → %s: %v", k, name, err)
			continue
		}
		if tensor.ShapeString(a.Shape) != tensor.ShapeString(b.Shape) || string(a.Data) != string(b.Data) {
			t.Errorf("%s → %s: different tensor (%v vs %v)", k, name, a.Shape, b.Shape)
		}
	}
	for _, k := range s.Names() {
		if n, ok := strings.CutPrefix(k, LDMPrefix); ok && !seen[n] {
			t.Errorf("single-file key %s is not the image of any diffusers key", k)
		}
	}
}

// The configuration inferred from the single file's shapes equals the
// diffusers config.json (given the group count).
func TestInferConfigMatchesJSON(t *testing.T) {
	want, err := LoadConfigFile(filepath.Join(golden.Core(t, "sd1/model/unet"), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.OpenParams(golden.Core(t, "sd1/tiny-sd1.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got, err := InferConfig(p.Sub(LDMPrefix), InferOptions{NormGroups: tinyGroups})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := configString(got), configString(want); g != w {
		t.Errorf("inferred config\n%s\nwant\n%s", g, w)
	}
}

func configString(c *Config) string { return fmt.Sprintf("%+v", *c) }

func TestSD15ConfigValid(t *testing.T) {
	if err := SD15Config().Validate(); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies the fixture rel to dir and returns the copy's path.
func copyFixture(t *testing.T, rel, dir string) (string, []byte) {
	t.Helper()
	data, err := os.ReadFile(golden.Core(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, filepath.Base(rel)), data
}

func TestTruncatedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path, data := copyFixture(t, "sd1/tiny-sd1.safetensors", dir)
	if err := os.WriteFile(path, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSingleFile(path, InferOptions{NormGroups: tinyGroups}); err == nil {
		t.Fatal("truncated checkpoint loaded without error")
	} else {
		t.Log(err)
	}
}

// writeModified writes the diffusers fixture's UNet tensors to a new file,
// letting edit drop (return false) or reshape tensors, and returns its path.
func writeModified(t *testing.T, edit func(name string, shape []int) ([]int, bool)) string {
	t.Helper()
	src := golden.Open(t, "sd1/model/unet/diffusion_pytorch_model.safetensors")
	var ts []testTensor
	for _, n := range src.Names() {
		st, _ := src.Tensor(n)
		shape, keep := edit(n, append([]int(nil), st.Shape...))
		if !keep {
			continue
		}
		data := st.Data
		if want := 4 * prod(shape); want != len(data) {
			data = make([]byte, want)
		}
		ts = append(ts, testTensor{n, shape, data, ""})
	}
	path := filepath.Join(t.TempDir(), "unet.safetensors")
	if err := os.WriteFile(path, encodeSafetensors(ts), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadDiffusersFile(t *testing.T, path string) error {
	cfg, err := LoadConfigFile(filepath.Join(golden.Core(t, "sd1/model/unet"), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.OpenParams(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = LoadUNet(p, cfg, LayoutDiffusers)
	return err
}

func TestMissingKey(t *testing.T) {
	const key = "up_blocks.2.attentions.1.transformer_blocks.0.attn2.to_v.weight"
	path := writeModified(t, func(n string, s []int) ([]int, bool) { return s, n != key })
	err := loadDiffusersFile(t, path)
	if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("error %v, want one naming missing %s", err, key)
	}
	t.Log(err)
}

func TestWrongShape(t *testing.T) {
	const key = "down_blocks.1.resnets.0.conv1.weight"
	path := writeModified(t, func(n string, s []int) ([]int, bool) {
		if n == key {
			s[1]++
		}
		return s, true
	})
	err := loadDiffusersFile(t, path)
	if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "[16, 9, 3, 3]") || !strings.Contains(err.Error(), "[16, 8, 3, 3]") {
		t.Fatalf("error %v, want one naming %s with found [16, 9, 3, 3] and expected [16, 8, 3, 3]", err, key)
	}
	t.Log(err)
}

func TestNotAUNet(t *testing.T) {
	p, err := nn.OpenParams(golden.Core(t, "sd1/model/vae/diffusion_pytorch_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := LoadLDM(p, InferOptions{}); err == nil {
		t.Fatal("a VAE file loaded as a UNet")
	} else {
		t.Log(err)
	}
}

// A config that leaves checkpoint tensors unused does not describe the
// checkpoint: loading must fail rather than silently drop layers.
func TestConfigMismatchUnusedTensors(t *testing.T) {
	cfg, err := LoadConfigFile(filepath.Join(golden.Core(t, "sd1/model/unet"), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.CrossAttnUp[1] = false // up_blocks.1.attentions.* become unused
	p, err := nn.OpenParams(golden.Core(t, "sd1/model/unet/diffusion_pytorch_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = LoadUNet(p, cfg, LayoutDiffusers)
	if err == nil || !strings.Contains(err.Error(), "up_blocks.1.attentions.") {
		t.Fatalf("error %v, want one naming an unused up_blocks.1.attentions tensor", err)
	}
	t.Log(err)
}

// In the LDM layout a missing tensor is reported by its LDM key.
func TestMissingKeyLDM(t *testing.T) {
	p, err := nn.OpenParams(golden.Core(t, "sd1/tiny-sd1.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sub := p.Sub(LDMPrefix)
	cfg, err := InferConfig(sub, InferOptions{NormGroups: tinyGroups})
	if err != nil {
		t.Fatal(err)
	}
	cfg.TransformerLayers[0] = 2
	_, err = LoadUNet(sub, cfg, LayoutLDM)
	const key = LDMPrefix + "input_blocks.1.1.transformer_blocks.1.norm1.weight"
	if err == nil || !strings.Contains(err.Error(), key) {
		t.Fatalf("error %v, want one naming %s", err, key)
	}
	t.Log(err)
}

// Groups cannot be inferred: the default (32) does not divide the tiny
// model's 8 channels, which Validate reports.
func TestInferDefaultGroups(t *testing.T) {
	p, err := nn.OpenParams(golden.Core(t, "sd1/tiny-sd1.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := InferConfig(p.Sub(LDMPrefix), InferOptions{}); err == nil || !strings.Contains(err.Error(), "norm_num_groups 32") {
		t.Fatalf("error %v, want a norm_num_groups complaint", err)
	}
}

// A diffusers folder with the fp16 variant (weights taken from the fp16
// single file under their diffusers names) and one with sharded fp32
// weights (index.json) load and reproduce the references.
func TestDiffusersVariantsAndShards(t *testing.T) {
	cfgPath := filepath.Join(golden.Core(t, "sd1/model/unet"), "config.json")
	cfgJSON, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFromDiffusersJSON(cfgJSON)
	if err != nil {
		t.Fatal(err)
	}
	d := golden.Open(t, "sd1/model/unet/diffusion_pytorch_model.safetensors")
	half := golden.Open(t, "sd1/tiny-sd1-fp16.safetensors")
	var h16, shard1, shard2 []testTensor
	index := map[string]string{}
	for i, k := range d.Names() {
		name, err := LDMName(cfg, k)
		if err != nil {
			t.Fatal(err)
		}
		st, err := half.Tensor(LDMPrefix + name)
		if err != nil {
			t.Fatal(err)
		}
		h16 = append(h16, testTensor{k, st.Shape, st.Data, "F16"})
		f32, _ := d.Tensor(k)
		tt := testTensor{k, f32.Shape, f32.Data, ""}
		if i%2 == 0 {
			shard1, index[k] = append(shard1, tt), "diffusion_pytorch_model-00001-of-00002.safetensors"
		} else {
			shard2, index[k] = append(shard2, tt), "diffusion_pytorch_model-00002-of-00002.safetensors"
		}
	}
	write := func(dir, name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// fp16 variant inside a pipeline folder (dir/unet/...).
	root := t.TempDir()
	dir16 := filepath.Join(root, "unet")
	if err := os.Mkdir(dir16, 0o755); err != nil {
		t.Fatal(err)
	}
	write(dir16, "config.json", cfgJSON)
	write(dir16, "diffusion_pytorch_model.fp16.safetensors", encodeSafetensors(h16))
	dirSharded := t.TempDir()
	write(dirSharded, "config.json", cfgJSON)
	write(dirSharded, "diffusion_pytorch_model-00001-of-00002.safetensors", encodeSafetensors(shard1))
	write(dirSharded, "diffusion_pytorch_model-00002-of-00002.safetensors", encodeSafetensors(shard2))
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": index})
	write(dirSharded, "diffusion_pytorch_model.safetensors.index.json", idx)

	f := golden.Open(t, "sd1/unet.safetensors")
	x, ts, ctx := goldenInputs(t, f, "batch2")
	for _, c := range []struct{ dir, variant, want string }{
		{root, "fp16", "batch2.eps_fp16_weights"},
		{dirSharded, "", "batch2.eps"},
	} {
		u, err := LoadDiffusersFolder(c.dir, c.variant)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := golden.Float32(t, f, c.want)
		golden.AssertClose(t, c.want, u.Forward(x, ts, ctx).Data, ref, 1e-4, 0)
		u.Close()
	}
}
