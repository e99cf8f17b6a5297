package t5

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

func openTiny(t *testing.T) *Encoder {
	t.Helper()
	e, err := Open(golden.Shared(t, "t5/t5-tiny.safetensors"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func int64s(t *testing.T, f *safetensors.File, name string) ([]int64, []int) {
	t.Helper()
	v, shape, err := f.Int64(name)
	if err != nil {
		t.Fatal(err)
	}
	return v, shape
}

func TestInferredConfig(t *testing.T) {
	e := openTiny(t)
	want := Config{Vocab: 1000, DModel: 64, Heads: 4, DKV: 16, DFF: 128, Layers: 3, Buckets: 32, MaxDistance: 128, Eps: 1e-6}
	if e.Config != want {
		t.Errorf("config %+v, want %+v", e.Config, want)
	}
}

// TestBuckets compares RelativePositionBucket and the L = 8 position bias
// with the fixtures.
func TestBuckets(t *testing.T) {
	f := golden.Open(t, "t5/outputs.safetensors")
	b64, _ := int64s(t, f, "buckets_64")
	for i := range 64 {
		for j := range 64 {
			if got := RelativePositionBucket(j-i, 32, 128); int64(got) != b64[i*64+j] {
				t.Fatalf("bucket(%d − %d) = %d, want %d", j, i, got, b64[i*64+j])
			}
		}
	}
	rp, _ := int64s(t, f, "bucket_probe.relative_position")
	bk, _ := int64s(t, f, "bucket_probe.bucket")
	for i, r := range rp {
		if got := RelativePositionBucket(int(r), 32, 128); int64(got) != bk[i] {
			t.Errorf("bucket(%d) = %d, want %d", r, got, bk[i])
		}
	}
	e := openTiny(t)
	want, _ := golden.Float32(t, f, "position_bias_block0_L8")
	bias := e.positionBias(8) // [h, j − i + 7]
	got := make([]float32, 4*8*8)
	for h := range 4 {
		for i := range 8 {
			for j := range 8 {
				got[(h*8+i)*8+j] = bias[h*15+j-i+7]
			}
		}
	}
	golden.AssertClose(t, "position_bias_block0_L8", got, want, 0, 0)
}

// TestEncoderGolden runs the 15 padded fixture strings through the tiny
// encoder and compares the embeddings, each block's output and the final
// hidden states (no mask), and each string's unpadded encoding.
func TestEncoderGolden(t *testing.T) {
	e := openTiny(t)
	f := golden.Open(t, "t5/outputs.safetensors")
	ids, shape := int64s(t, f, "ids")
	n, L, d := shape[0], shape[1], e.Config.DModel
	outs := map[string][]float32{}
	for _, name := range []string{"embeddings", "block0_output", "block1_output", "block2_output", "last_hidden_state"} {
		outs[name] = make([]float32, 0, n*L*d)
	}
	for i := range n {
		row := make([]int, L)
		for j := range L {
			row[j] = int(ids[i*L+j])
		}
		outs["embeddings"] = append(outs["embeddings"], e.Shared.Forward(row).Data...)
		y, err := e.forward(row, func(b int, x *tensor.Tensor) {
			k := fmt.Sprintf("block%d_output", b)
			outs[k] = append(outs[k], x.Data...)
		})
		if err != nil {
			t.Fatal(err)
		}
		outs["last_hidden_state"] = append(outs["last_hidden_state"], y.Data...)

		// Unpadded: the real ids up to and including </s>.
		real := row[:slices.Index(row, 1)+1]
		want, _ := golden.Float32(t, f, fmt.Sprintf("unpadded.%d", i))
		y, err = e.Forward(real)
		if err != nil {
			t.Fatal(err)
		}
		golden.AssertClose(t, fmt.Sprintf("unpadded.%d", i), y.Data, want, 1e-4, 0)
	}
	for name, got := range outs {
		want, _ := golden.Float32(t, f, name)
		golden.AssertClose(t, name, got, want, 1e-4, 0)
	}
}

// TestFluxPromptRuns tokenises and encodes the prompt (and negative
// prompt) of every prompt-driven Flux run and compares the ids and the
// text context txt (all max_length rows, no mask).
func TestFluxPromptRuns(t *testing.T) {
	var meta struct {
		Runs []struct {
			Name         string  `json:"name"`
			File         string  `json:"file"`
			Conditioning string  `json:"conditioning"`
			Model        string  `json:"model"`
			Prompt       string  `json:"prompt"`
			Negative     *string `json:"negative_prompt"`
			MaxLength    int     `json:"max_length"`
		} `json:"runs"`
	}
	golden.ReadJSON(t, golden.Shared(t, "flux/meta.json"), &meta)
	tok := tinyTokenizer(t)
	e := openTiny(t)
	n := 0
	for _, r := range meta.Runs {
		if r.Conditioning != "prompt" {
			continue
		}
		n++
		f := golden.Open(t, "flux/"+r.File)
		if ml := f.Metadata["max_length"]; ml != fmt.Sprint(r.MaxLength) {
			t.Fatalf("%s: metadata max_length %q, meta.json %d", r.Name, ml, r.MaxLength)
		}
		check := func(what, prompt, idsKey, txtKey string) {
			ids, err := tok.Encode(prompt, r.MaxLength)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := int64s(t, f, idsKey)
			if len(want) != len(ids) {
				t.Fatalf("%s %s: %d ids, want %d", r.Name, what, len(ids), len(want))
			}
			for i := range ids {
				if int64(ids[i]) != want[i] {
					t.Fatalf("%s %s: ids %v, want %v", r.Name, what, ids, want)
				}
			}
			txt, err := e.Forward(ids)
			if err != nil {
				t.Fatal(err)
			}
			wantTxt, _ := golden.Float32(t, f, txtKey)
			golden.AssertClose(t, r.Name+" "+txtKey, txt.Data, wantTxt, 1e-4, 0)
		}
		check("prompt", r.Prompt, "t5_ids", "txt")
		if r.Negative != nil && f.Has("neg_t5_ids") {
			check("negative", *r.Negative, "neg_t5_ids", "neg_txt")
		}
	}
	if n == 0 {
		t.Fatal("no prompt-driven runs in flux/meta.json")
	}
}

// TestNewRandom checks NewRandom's sizes and the cost count on a small
// config, and that it runs.
func TestNewRandom(t *testing.T) {
	cfg := Config{Vocab: 50, DModel: 32, Heads: 4, DKV: 8, DFF: 48, Layers: 2, Buckets: 32, MaxDistance: 128, Eps: 1e-6}
	for _, dt := range []tensor.DType{tensor.F32, tensor.BF16, tensor.F8E4M3} {
		e, err := NewRandom(cfg, dt, 1)
		if err != nil {
			t.Fatal(err)
		}
		y, err := e.Forward([]int{3, 4, 5, 1, 0})
		if err != nil || !slices.Equal(y.Shape, []int{1, 5, 32}) {
			t.Fatalf("%s: %v %v", dt, y, err)
		}
		if e.Blocks[1].Wo.W.DType != dt {
			t.Errorf("dtype %s, want %s", e.Blocks[1].Wo.W.DType, dt)
		}
	}
	// XXL at 512 tokens: 24·(8·512·4096·4096 + 4·512²·4096 + 6·512·4096·10240) / 1e9.
	if got, want := XXL().GFLOPs(512), 24*(8*512*4096*4096.0+4*512*512*4096.0+6*512*4096*10240.0)/1e9; math.Abs(got-want) > 1e-9*want {
		t.Errorf("GFLOPs(512) = %g, want %g", got, want)
	}
	if _, err := NewRandom(cfg, tensor.F8E5M2, 1); err == nil {
		t.Error("F8E5M2: no error")
	}
}
