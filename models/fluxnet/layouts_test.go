package fluxnet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// namedTensor is one float32 tensor of a model file.
type namedTensor struct {
	name  string
	shape []int
	data  []float32
}

// readAll returns every tensor of the safetensors file at path, by name.
func readAll(t *testing.T, path string) []namedTensor {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []namedTensor
	for _, n := range f.Names() {
		d, s, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, namedTensor{n, s, d})
	}
	return out
}

func writeF32(t *testing.T, path string, ts []namedTensor) {
	t.Helper()
	var st []safetensors.Tensor
	for _, x := range ts {
		st = append(st, safetensors.NewF32Tensor(x.name, x.shape, x.data))
	}
	if err := safetensors.WriteFile(path, st, nil); err != nil {
		t.Fatal(err)
	}
}

// toDiffusers converts a BFL tensor list to FluxTransformer2DModel
// tensors with DiffusersTensors, the converter `gen convert` uses.
func toDiffusers(t *testing.T, ts []namedTensor, hidden int) []safetensors.Tensor {
	t.Helper()
	var out []safetensors.Tensor
	for _, x := range ts {
		d, err := DiffusersTensors(safetensors.NewF32Tensor(x.name, x.shape, x.data), hidden)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d...)
	}
	return out
}

// writeDiffusersFolder writes ts as a transformer/ folder of shards with
// the index and config.json, as save_pretrained does (nn.WriteComponent,
// shards of at most 1 MB: the tiny models take two or three).
func writeDiffusersFolder(t *testing.T, dir string, ts []safetensors.Tensor, cfg Config) {
	t.Helper()
	tdir := filepath.Join(dir, "transformer")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	files, err := nn.WriteComponent(tdir, "diffusion_pytorch_model", ts, nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("wrote %v, want at least two shards and the index", files)
	}
	writeJSON(t, filepath.Join(tdir, "config.json"), DiffusersConfig(cfg))
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// assertSame fails unless got and want are bit-identical.
func assertSame(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: value %d is %g, the BFL-layout model gives %g", what, i, got[i], want[i])
		}
	}
}

// caseOutputs runs every transformer.safetensors case of kind through m.
func caseOutputs(t *testing.T, m *Model, kind string) [][]float32 {
	f := golden.Open(t, "flux/transformer.safetensors")
	var out [][]float32
	for i, k := range []string{"dev", "dev", "schnell"} {
		if k == kind {
			got, _ := runCase(t, m, f, i)
			out = append(out, got.Data)
		}
	}
	return out
}

// TestDiffusersFolder converts the tiny BFL models to diffusers
// transformer/ folders (two shards, index, config.json) and checks that
// they load to the same configuration and give bit-identical outputs, and
// that the dev folder replays a sampling run.
func TestDiffusersFolder(t *testing.T) {
	for _, kind := range []string{"dev", "schnell"} {
		bfl := loadTiny(t, tinyPath(t, kind))
		dir := t.TempDir()
		converted := toDiffusers(t, readAll(t, tinyPath(t, kind)), bfl.Config.HiddenSize)
		for _, want := range []string{"x_embedder.weight", "transformer_blocks.1.attn.add_v_proj.bias", "transformer_blocks.0.attn.norm_added_k.weight",
			"single_transformer_blocks.2.proj_mlp.weight", "single_transformer_blocks.0.proj_out.weight", "norm_out.linear.weight", "proj_out.bias"} {
			if !hasName(converted, want) {
				t.Fatalf("converted %s model lacks %s", kind, want)
			}
		}
		writeDiffusersFolder(t, dir, converted, bfl.Config)
		m := loadTiny(t, dir)
		if fmt.Sprint(m.Config) != fmt.Sprint(bfl.Config) {
			t.Fatalf("%s: diffusers config %+v, BFL %+v", kind, m.Config, bfl.Config)
		}
		want := caseOutputs(t, bfl, kind)
		for i, got := range caseOutputs(t, m, kind) {
			assertSame(t, fmt.Sprintf("%s diffusers case %d", kind, i), got, want[i])
		}
		if kind == "dev" {
			r := syntheticRuns(t)[0]
			t.Run("run", func(t *testing.T) { replayRun(t, r, dir, nil) })
		}
	}
}

func hasName(ts []safetensors.Tensor, name string) bool {
	for _, x := range ts {
		if x.Name == name {
			return true
		}
	}
	return false
}

// TestComfyPrefix loads the dev model from a ComfyUI-style file: every key
// under model.diffusion_model., next to VAE and text-encoder tensors that
// the transformer must not read.
func TestComfyPrefix(t *testing.T) {
	path := tinyPath(t, "dev")
	var ts []namedTensor
	for _, x := range readAll(t, path) {
		x.name = ComfyPrefix + x.name
		ts = append(ts, x)
	}
	ts = append(ts, namedTensor{"vae.decoder.conv_in.weight", []int{2, 2}, make([]float32, 4)},
		namedTensor{"text_encoders.clip_l.transformer.text_model.final_layer_norm.weight", []int{3}, make([]float32, 3)},
		namedTensor{"img_in.bias.unrelated", []int{1}, make([]float32, 1)})
	file := filepath.Join(t.TempDir(), "flux1-dev-comfy.safetensors")
	writeF32(t, file, ts)
	m := loadTiny(t, file)
	want := caseOutputs(t, loadTiny(t, path), "dev")
	for i, got := range caseOutputs(t, m, "dev") {
		assertSame(t, fmt.Sprintf("comfy case %d", i), got, want[i])
	}
	for _, u := range m.params.Unused() {
		if strings.HasPrefix(u, ComfyPrefix) {
			t.Errorf("transformer tensor %s not read", u)
		}
	}
}

// TestFP8 builds fp8 e4m3fn files from the tiny dev model, plain (weights
// rounded to fp8) and ComfyUI-scaled (weight/s rounded, with
// scale_weight = s = max|w|/448), and checks each against an fp32 file
// holding the same rounded values: the fp8 paths must decode exactly.
func TestFP8(t *testing.T) {
	src := readAll(t, tinyPath(t, "dev"))
	dir := t.TempDir()
	for _, scaled := range []bool{false, true} {
		var f8, ref []safetensors.Tensor
		for _, x := range src {
			if len(x.shape) != 2 || !strings.HasSuffix(x.name, ".weight") {
				f8 = append(f8, safetensors.NewF32Tensor(x.name, x.shape, x.data))
				ref = append(ref, safetensors.NewF32Tensor(x.name, x.shape, x.data))
				continue
			}
			s := float32(1)
			if scaled {
				s = float32(maxAbs(x.data) / 448)
				f8 = append(f8, safetensors.NewF32Tensor(strings.TrimSuffix(x.name, "weight")+"scale_weight", []int{}, []float32{s}))
			}
			div := make([]float32, len(x.data))
			for i, v := range x.data {
				div[i] = v / s
			}
			q := safetensors.NewF8E4M3Tensor(x.name, x.shape, div)
			f8 = append(f8, q)
			w, err := tensor.NewWeight(tensor.F8E4M3, x.shape, q.Data)
			if err != nil {
				t.Fatal(err)
			}
			rounded := make([]float32, len(x.data))
			w.Decode(rounded, 0)
			for i := range rounded {
				rounded[i] *= s
			}
			ref = append(ref, safetensors.NewF32Tensor(x.name, x.shape, rounded))
		}
		name := fmt.Sprintf("fp8-scaled-%v", scaled)
		if err := safetensors.WriteFile(filepath.Join(dir, name+".safetensors"), f8, nil); err != nil {
			t.Fatal(err)
		}
		if err := safetensors.WriteFile(filepath.Join(dir, name+"-ref.safetensors"), ref, nil); err != nil {
			t.Fatal(err)
		}
		m := loadTiny(t, filepath.Join(dir, name+".safetensors"))
		if m.double[0].img.qkv.parts[0].W.DType != tensor.F8E4M3 {
			t.Fatalf("%s: weights loaded as %s, want kept in fp8", name, m.double[0].img.qkv.parts[0].W.DType)
		}
		want := caseOutputs(t, loadTiny(t, filepath.Join(dir, name+"-ref.safetensors")), "dev")
		for i, got := range caseOutputs(t, m, "dev") {
			golden.AssertClose(t, fmt.Sprintf("%s case %d", name, i), got, want[i], 1e-5, 0)
		}
	}
}

// TestLoadErrors checks that a missing tensor, a wrong shape, a truncated
// file and a config.json that disagrees with the weights are errors naming
// the problem.
func TestLoadErrors(t *testing.T) {
	src := readAll(t, tinyPath(t, "dev"))
	dir := t.TempDir()
	edit := func(name string, f func([]namedTensor) []namedTensor) string {
		var ts []namedTensor
		for _, x := range src {
			ts = append(ts, namedTensor{x.name, append([]int(nil), x.shape...), x.data})
		}
		path := filepath.Join(dir, name+".safetensors")
		writeF32(t, path, f(ts))
		return path
	}
	missing := edit("missing", func(ts []namedTensor) []namedTensor {
		var out []namedTensor
		for _, x := range ts {
			if x.name != "double_blocks.1.txt_mlp.2.bias" {
				out = append(out, x)
			}
		}
		return out
	})
	wrong := edit("wrong", func(ts []namedTensor) []namedTensor {
		for i, x := range ts {
			if x.name == "single_blocks.1.linear2.weight" {
				ts[i] = namedTensor{x.name, []int{64, 300}, x.data[:64*300]}
			}
		}
		return ts
	})
	noFlux := edit("noflux", func(ts []namedTensor) []namedTensor { return ts[:0:0] })
	trunc := filepath.Join(dir, "truncated.safetensors")
	b, err := os.ReadFile(tinyPath(t, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trunc, b[:len(b)-1000], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{missing, []string{"missing.safetensors", `"double_blocks.1.txt_mlp.2.bias"`, "missing"}},
		{wrong, []string{"wrong.safetensors", `"single_blocks.1.linear2.weight"`, "[64, 300]", "[64, 320]"}},
		{noFlux, []string{"noflux.safetensors", "no Flux transformer", "img_in.weight"}},
		{trunc, []string{"truncated.safetensors"}},
	} {
		_, err := Load(c.path)
		if err == nil {
			t.Errorf("%s: loaded without error", c.path)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", filepath.Base(c.path), err, w)
			}
		}
	}
	// config.json disagreeing with the shapes.
	m := loadTiny(t, tinyPath(t, "dev"))
	fdir := t.TempDir()
	cfg := m.Config
	writeDiffusersFolder(t, fdir, toDiffusers(t, src, cfg.HiddenSize), cfg)
	conf := filepath.Join(fdir, "transformer", "config.json")
	data, _ := os.ReadFile(conf)
	os.WriteFile(conf, []byte(strings.Replace(string(data), `"num_single_layers":3`, `"num_single_layers":4`, 1)), 0o644)
	if _, err := Load(fdir); err == nil || !strings.Contains(err.Error(), "num_single_layers is 4, the weights have 3") {
		t.Errorf("config.json mismatch: error %v", err)
	}
}
