package fluxnet

import (
	"math"
	"slices"
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// TestForwardReusesBuffers checks that the recycled activation tensors
// change nothing: a Model that has already run other sizes and batch
// sizes (so its cached tensors hold stale values) gives the same bits as
// a fresh one, and keeps a slab of its last Forward's size.
func TestForwardReusesBuffers(t *testing.T) {
	cfg := DevConfig()
	cfg.HiddenSize, cfg.NumHeads, cfg.AxesDim, cfg.ContextInDim, cfg.VecInDim = 64, 2, []int{4, 14, 14}, 48, 32
	cfg.Depth, cfg.DepthSingleBlocks = 2, 3
	input := func(b, h, w, l int, seed float64) (latent, txt, y *tensor.Tensor) {
		latent, txt, y = tensor.New(b, 16, h, w), tensor.New(b, l, 48), tensor.New(b, 32)
		for i := range latent.Data {
			latent.Data[i] = float32(math.Sin(seed + float64(i)))
		}
		for i := range txt.Data {
			txt.Data[i] = float32(math.Cos(seed * float64(i)))
		}
		for i := range y.Data {
			y.Data[i] = float32(math.Sin(seed * float64(i+3)))
		}
		return latent, txt, y
	}
	run := func(m *Model, b, h, w, l int, seed float64) []float32 {
		t.Helper()
		latent, txt, y := input(b, h, w, l, seed)
		img, err := Pack(latent)
		if err != nil {
			t.Fatal(err)
		}
		ts, gs := make([]float32, b), make([]float32, b)
		for i := range ts {
			ts[i], gs[i] = 0.7-0.1*float32(i), 3.5
		}
		out, err := m.Forward(img, ImageIDs(h, w), txt, TextIDs(l), y, ts, gs)
		if err != nil {
			t.Fatal(err)
		}
		return out.Data
	}
	fresh := func() *Model {
		m, err := NewRandom(cfg, tensor.F32, 3)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	want := run(fresh(), 1, 4, 6, 5, 0.3)
	wantBatch := run(fresh(), 2, 8, 4, 7, 1.1)

	m := fresh()
	run(m, 1, 4, 6, 5, 2.9) // fills the buffers with another input's values
	if got := run(m, 1, 4, 6, 5, 0.3); !slices.Equal(got, want) {
		t.Fatal("a second Forward of the same size differs from a fresh model's")
	}
	if got := run(m, 2, 8, 4, 7, 1.1); !slices.Equal(got, wantBatch) {
		t.Fatal("a Forward at another size and batch differs from a fresh model's")
	}
	// The slab is the hungriest block's need, in rows of [tokens, hidden]:
	// a double block holds qkv (3), q, k, v (3) and the attention (1) for
	// all tokens, then the image part's out, normalised input (1 each)
	// and MLP hidden state (4); a single block its fused linear1 output
	// (7), normalised input (1) and q, k, v (3).
	const b, txtTokens, imgTokens, h = 2, 7, 8 / 2 * 4 / 2, 64
	const tokens = txtTokens + imgTokens
	slab := b * h * max(7*tokens+6*imgTokens, 11*tokens)
	if got := len(m.bufs.spare.slab); got != slab {
		t.Fatalf("slab of %d values kept after the last Forward, want %d (its hungriest block)", got, slab)
	}
	if err := m.Close(); err != nil || m.bufs.spare != nil {
		t.Fatalf("Close kept the buffers (err %v)", err)
	}
}
