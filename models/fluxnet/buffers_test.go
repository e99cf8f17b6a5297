package fluxnet

import (
	"math"
	"slices"
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// TestForwardReusesBuffers checks that the recycled activation tensors
// change nothing: a Model that has already run other sizes and batch
// sizes (so the recycled storage holds stale values) gives the same bits
// as a fresh one; and that a Forward recycles its activations so that the
// next of the same size allocates none afresh.
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
	// A Forward hands its activations to the recycler; once the recycled
	// set has settled (the first Forward allocates it, the second may
	// trade a buffer for a better-fitting one) every Forward of the same
	// size takes them all back and returns the same set. (At 32×32, 263
	// tokens: the activations are large enough to be recycled.)
	tensor.FreeRecycled()
	defer tensor.FreeRecycled()
	wantLarge := run(fresh(), 2, 32, 32, 7, 0.8)
	run(m, 2, 32, 32, 7, 0.8)
	held := tensor.RecycledBytes()
	if held == 0 {
		t.Fatal("a Forward recycled none of its activations")
	}
	for range 2 {
		if got := run(m, 2, 32, 32, 7, 0.8); !slices.Equal(got, wantLarge) {
			t.Fatal("a Forward on recycled storage differs from a fresh model's")
		}
		if got := tensor.RecycledBytes(); got != held {
			t.Fatalf("recycled storage went from %d to %d bytes over a Forward of the same size: it allocated afresh", held, got)
		}
	}
}
