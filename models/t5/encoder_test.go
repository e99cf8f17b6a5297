package t5

import (
	"fmt"
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
