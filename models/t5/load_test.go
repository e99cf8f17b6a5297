package t5

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
)

// tinyTensors returns t5-tiny's tensors (float32), in file order.
func tinyTensors(t *testing.T) (names []string, vals map[string][]float32, shapes map[string][]int) {
	f := golden.Open(t, "t5/t5-tiny.safetensors")
	vals, shapes = map[string][]float32{}, map[string][]int{}
	for _, n := range f.Names() {
		vals[n], shapes[n] = golden.Float32(t, f, n)
		names = append(names, n)
	}
	return names, vals, shapes
}

// encodeSome runs e on two fixture-like id sequences and returns the
// outputs concatenated.
func encodeSome(t *testing.T, e *Encoder) []float32 {
	t.Helper()
	var out []float32
	for _, ids := range [][]int{{19, 32, 25, 442, 360, 503, 19, 564, 1, 0, 0, 0}, {770, 995, 2, 1}} {
		y, err := e.Forward(ids)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, y.Data...)
	}
	return out
}

func openFile(t *testing.T, path, prefix string) *Encoder {
	t.Helper()
	e, err := Open(path, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func writeFile(t *testing.T, path string, ts []safetensors.Tensor) {
	t.Helper()
	if err := safetensors.WriteFile(path, ts, nil); err != nil {
		t.Fatal(err)
	}
}

// quantised reports whether ComfyUI's fp8 T5 files store name in fp8: the
// matrices of the blocks and the embedding; norms and the bias table stay.
func quantised(name string, shape []int) bool {
	return len(shape) == 2 && !strings.Contains(name, "relative_attention_bias")
}

// TestFP8 builds t5xxl_fp8_e4m3fn-like files from t5-tiny, plain (weights
// rounded to e4m3) and scaled (w/s rounded, with X.scale_weight = s and
// the scaled_fp8 marker), and checks each gives the outputs of float32
// weights holding exactly the values the fp8 file decodes to.
func TestFP8(t *testing.T) {
	names, vals, shapes := tinyTensors(t)
	dir := t.TempDir()
	for _, scaled := range []bool{false, true} {
		var fp8, ref []safetensors.Tensor
		for _, n := range names {
			v, s := vals[n], shapes[n]
			if !quantised(n, s) {
				fp8 = append(fp8, safetensors.NewF32Tensor(n, s, v))
				ref = append(ref, safetensors.NewF32Tensor(n, s, v))
				continue
			}
			scale := float32(1)
			if scaled {
				var m float64
				for _, x := range v {
					m = math.Max(m, math.Abs(float64(x)))
				}
				scale = float32(m / 448)
				fp8 = append(fp8, safetensors.NewF32Tensor(strings.TrimSuffix(n, "weight")+"scale_weight", []int{}, []float32{scale}))
			}
			div := make([]float32, len(v))
			for i, x := range v {
				div[i] = x / scale
			}
			q := safetensors.NewF8E4M3Tensor(n, s, div)
			dec, err := q.Float32()
			if err != nil {
				t.Fatal(err)
			}
			for i := range dec {
				dec[i] *= scale
			}
			fp8 = append(fp8, q)
			ref = append(ref, safetensors.NewF32Tensor(n, s, dec))
		}
		if scaled {
			fp8 = append(fp8, safetensors.NewF8E4M3Tensor("scaled_fp8", []int{0}, nil))
		}
		name := map[bool]string{false: "fp8", true: "fp8_scaled"}[scaled]
		writeFile(t, filepath.Join(dir, name+".safetensors"), fp8)
		writeFile(t, filepath.Join(dir, name+"_ref.safetensors"), ref)
		e := openFile(t, filepath.Join(dir, name+".safetensors"), "")
		if e.Blocks[0].Q.W.DType.String() != "f8_e4m3" {
			t.Fatalf("%s: q weight loaded as %s, expected to stay f8_e4m3", name, e.Blocks[0].Q.W.DType)
		}
		got := encodeSome(t, e)
		want := encodeSome(t, openFile(t, filepath.Join(dir, name+"_ref.safetensors"), ""))
		golden.AssertClose(t, name, got, want, 1e-6, 1e-6)
	}
}

// TestShardedFolder splits t5-tiny into a text_encoder_2/-like folder
// (two shards, model.safetensors.index.json, config.json) and an
// all-in-one file with a key prefix, checks both give bit-identical
// outputs, and checks the errors for a missing shard, a truncated shard
// and a missing key.
func TestShardedFolder(t *testing.T) {
	names, vals, shapes := tinyTensors(t)
	src := golden.Shared(t, "t5/t5-tiny.safetensors")
	want := encodeSome(t, openFile(t, src, ""))

	dir := filepath.Join(t.TempDir(), "text_encoder_2")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var shard [2][]safetensors.Tensor
	weightMap := map[string]string{}
	for i, n := range names {
		shard[i%2] = append(shard[i%2], safetensors.NewF32Tensor(n, shapes[n], vals[n]))
		weightMap[n] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i%2]
	}
	writeFile(t, filepath.Join(dir, "model-00001-of-00002.safetensors"), shard[0])
	writeFile(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), shard[1])
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
	cfg, err := os.ReadFile(golden.Shared(t, "t5/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	for n, b := range map[string][]byte{"model.safetensors.index.json": idx, "config.json": cfg} {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := encodeSome(t, openFile(t, dir, ""))
	golden.AssertClose(t, "sharded folder", got, want, 0, 0)

	// All-in-one file: the T5 under ComfyUI's prefix, beside other keys.
	const prefix = "text_encoders.t5xxl.transformer."
	aio := []safetensors.Tensor{safetensors.NewF32Tensor("model.diffusion_model.img_in.weight", []int{2, 2}, []float32{1, 2, 3, 4})}
	var aioNames []string
	for _, n := range names {
		aio = append(aio, safetensors.NewF32Tensor(prefix+n, shapes[n], vals[n]))
		aioNames = append(aioNames, prefix+n)
	}
	aioPath := filepath.Join(t.TempDir(), "flux-aio.safetensors")
	writeFile(t, aioPath, aio)
	p, ok := DetectPrefix(append([]string{"model.diffusion_model.img_in.weight"}, aioNames...))
	if !ok || p != prefix {
		t.Fatalf("DetectPrefix = %q, %v; want %q", p, ok, prefix)
	}
	golden.AssertClose(t, "prefixed", encodeSome(t, openFile(t, aioPath, p)), want, 0, 0)

	// A config.json that disagrees with the weights.
	bad := strings.Replace(string(cfg), `"num_heads": 4`, `"num_heads": 8`, 1)
	if bad == string(cfg) {
		t.Fatal(`config.json has no "num_heads": 4`)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(bad), 0o644)
	if _, err := Open(dir, ""); err == nil || !strings.Contains(err.Error(), "num_heads") {
		t.Errorf("disagreeing config.json: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)

	// A truncated shard.
	s2 := filepath.Join(dir, "model-00002-of-00002.safetensors")
	b2, _ := os.ReadFile(s2)
	os.WriteFile(s2, b2[:len(b2)-100], 0o644)
	if _, err := Open(dir, ""); err == nil || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") {
		t.Errorf("truncated shard: %v", err)
	} else {
		t.Log("truncated shard:", err)
	}
	// The index names a shard that is missing.
	os.Remove(s2)
	if _, err := Open(dir, ""); err == nil || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") {
		t.Errorf("missing shard: %v", err)
	} else {
		t.Log("missing shard:", err)
	}

	// A file missing a key.
	const gone = "encoder.block.1.layer.1.DenseReluDense.wo.weight"
	var ts []safetensors.Tensor
	for _, n := range names {
		if n != gone {
			ts = append(ts, safetensors.NewF32Tensor(n, shapes[n], vals[n]))
		}
	}
	missing := filepath.Join(t.TempDir(), "t5-missing.safetensors")
	writeFile(t, missing, ts)
	if _, err := Open(missing, ""); err == nil || !strings.Contains(err.Error(), gone) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing key: %v", err)
	} else {
		t.Log("missing key:", err)
	}
	// Not a T5 file at all.
	if _, err := Open(aioPath, ""); err == nil || !strings.Contains(err.Error(), relBiasKey) {
		t.Errorf("wrong prefix: %v", err)
	}
}
