package clip

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/tensor"
)

const (
	idCat   = 2368 // "cat</w>"
	idDog   = 1929 // "dog</w>"
	idComma = 267  // ",</w>"
)

func repeat(word string, n int) string { return strings.TrimSpace(strings.Repeat(word+" ", n)) }

// chunkBody returns a chunk's ids between BOS and the first EOS.
func chunkBody(t *testing.T, c Chunk) []int {
	t.Helper()
	if len(c.IDs) != ContextLen || len(c.Weights) != ContextLen || c.IDs[0] != BOS {
		t.Fatalf("malformed chunk %v", c.IDs)
	}
	end := slices.Index(c.IDs, EOS)
	return c.IDs[1:end]
}

func TestChunksSplitting(t *testing.T) {
	tok := realTokenizer(t)
	chunks := func(p string, mode SplitMode) []Chunk { return tok.Chunks(ParsePrompt(p), mode, EOS) }

	// ≤ 75 tokens: one window, identical to Window77.
	for _, p := range []string{"", "a photo of a cat", repeat("cat", 75)} {
		c := chunks(p, SplitA1111)
		if len(c) != 1 || !slices.Equal(c[0].IDs, tok.Window77(p)) {
			t.Errorf("%q: %d chunks", p, len(c))
		}
	}
	if c := chunks(repeat("cat", 76), SplitA1111); len(c) != 2 || len(chunkBody(t, c[0])) != 75 || !slices.Equal(chunkBody(t, c[1]), []int{idCat}) {
		t.Errorf("76 tokens: chunks %v", c)
	}

	// 70 cats, a comma, 10 dogs: A1111 moves the dogs after the comma (within
	// 20 tokens of the end) to the second chunk; plain splitting cuts at 75.
	p := repeat("cat", 70) + ", " + repeat("dog", 10)
	a := chunks(p, SplitA1111)
	if len(a) != 2 {
		t.Fatalf("A1111: %d chunks", len(a))
	}
	want0 := append(slices.Repeat([]int{idCat}, 70), idComma)
	if got := chunkBody(t, a[0]); !slices.Equal(got, want0) {
		t.Errorf("A1111 chunk 0 = %v", got)
	}
	if got := chunkBody(t, a[1]); !slices.Equal(got, slices.Repeat([]int{idDog}, 10)) {
		t.Errorf("A1111 chunk 1 = %v", got)
	}
	pl := chunks(p, SplitPlain)
	if got := chunkBody(t, pl[0]); len(pl) != 2 || !slices.Equal(got, append(want0, slices.Repeat([]int{idDog}, 4)...)) {
		t.Errorf("plain chunk 0 = %v", got)
	}
	// A comma further back than 20 tokens is ignored.
	p = repeat("cat", 10) + ", " + repeat("dog", 70)
	if got := chunkBody(t, chunks(p, SplitA1111)[0]); len(got) != 75 {
		t.Errorf("far comma: chunk 0 has %d tokens", len(got))
	}

	// BREAK ends a chunk.
	b := chunks("cat BREAK dog", SplitA1111)
	if len(b) != 2 || !slices.Equal(chunkBody(t, b[0]), []int{idCat}) || !slices.Equal(chunkBody(t, b[1]), []int{idDog}) {
		t.Errorf("BREAK: %v", b)
	}

	// Weights land on their tokens; BOS, EOS and padding weigh 1.
	w := chunks("(cat:1.5) [dog]", SplitA1111)[0]
	wantW := slices.Repeat([]float32{1}, ContextLen)
	wantW[1], wantW[2] = 1.5, float32(1/1.1)
	if !slices.Equal(w.IDs[:4], []int{BOS, idCat, idDog, EOS}) || !slices.Equal(w.Weights, wantW) {
		t.Errorf("weights: ids %v weights %v", w.IDs[:4], w.Weights[:4])
	}
	// OpenCLIP padding: 0 after the first EOS.
	z := tok.Chunks(ParsePrompt("cat"), SplitA1111, 0)[0]
	if !slices.Equal(z.IDs[:4], []int{BOS, idCat, EOS, 0}) {
		t.Errorf("zero padding: %v", z.IDs[:4])
	}
}

func tinyEncoder(t *testing.T) *Encoder {
	return &Encoder{Tokenizer: realTokenizer(t), Model: diffusersModel(t)}
}

// TestEncodePromptFixtureRows runs the whole path (tokenizer + model) on
// every fixture prompt in raw mode, for clip skip 1 and 2.
func TestEncodePromptFixtureRows(t *testing.T) {
	enc := tinyEncoder(t)
	fixtures := loadTokenizerFixtures(t)
	f := golden.Open(t, "sd1/text_encoder.safetensors")
	last, _ := golden.Float32(t, f, "last_hidden_state")
	pen, _ := golden.Float32(t, f, "penultimate_hidden_state_final_ln")
	pooled, _ := golden.Float32(t, f, "pooled_output")
	n, D := ContextLen*32, 32
	for i, fx := range fixtures {
		h1, p1, err := enc.EncodePrompt(fx.Prompt, 1, true)
		if err != nil {
			t.Fatal(err)
		}
		h2, _, err := enc.EncodePrompt(fx.Prompt, 2, true)
		if err != nil {
			t.Fatal(err)
		}
		golden.AssertClose(t, fx.Name+" clip skip 1", h1.Data, last[i*n:(i+1)*n], atolEncoder, 0)
		golden.AssertClose(t, fx.Name+" clip skip 2", h2.Data, pen[i*n:(i+1)*n], atolEncoder, 0)
		golden.AssertClose(t, fx.Name+" pooled", p1.Data, pooled[i*D:(i+1)*D], atolEncoder, 0)
	}
}

// TestEncodePromptEmphasis checks A1111's weighting: each token's vector is
// scaled by its weight, then the chunk is rescaled to its original mean.
func TestEncodePromptEmphasis(t *testing.T) {
	enc := tinyEncoder(t)
	plain, _, err := enc.EncodePrompt("a red cat", 2, false)
	if err != nil {
		t.Fatal(err)
	}
	weighted, _, err := enc.EncodePrompt("a (red:1.5) [cat]", 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plain.Shape, []int{1, 77, 32}) || !slices.Equal(weighted.Shape, plain.Shape) {
		t.Fatalf("shapes %v %v", plain.Shape, weighted.Shape)
	}
	if d := math.Abs(mean(weighted.Data) - mean(plain.Data)); d > 1e-6 {
		t.Errorf("mean changed by %g", d)
	}
	w := slices.Repeat([]float64{1}, ContextLen)
	w[2], w[3] = 1.5, 1/1.1 // BOS, a, red, cat
	var scaledSum float64
	for tok := range ContextLen {
		for _, v := range plain.Data[tok*32 : (tok+1)*32] {
			scaledSum += float64(v) * w[tok]
		}
	}
	c := mean(plain.Data) * float64(len(plain.Data)) / scaledSum
	want := make([]float32, len(plain.Data))
	for i, v := range plain.Data {
		want[i] = float32(float64(v) * w[i/32] * c)
	}
	golden.AssertClose(t, "emphasis", weighted.Data, want, 1e-5, 1e-5)
	// Unweighted syntax-free prompts are identical to raw mode.
	raw, _, _ := enc.EncodePrompt("a red cat", 2, true)
	if !slices.Equal(raw.Data, plain.Data) {
		t.Error("parsed and raw encodings of a plain prompt differ")
	}
}

// TestEncodePromptLong checks that a prompt of more than 75 tokens gives
// one 77-token encoding per chunk, concatenated along the tokens.
func TestEncodePromptLong(t *testing.T) {
	enc := tinyEncoder(t)
	p := repeat("cat", 70) + ", " + repeat("dog", 10)
	h, pooled, err := enc.EncodePrompt(p, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.Shape, []int{1, 154, 32}) || !slices.Equal(pooled.Shape, []int{1, 32}) {
		t.Fatalf("shapes %v, %v", h.Shape, pooled.Shape)
	}
	chunks := enc.Tokenizer.Chunks(ParsePrompt(p), SplitA1111, EOS)
	for i, c := range chunks {
		z, pz, err := enc.Model.Encode(c.IDs, 1)
		if err != nil {
			t.Fatal(err)
		}
		golden.AssertClose(t, fmt.Sprintf("chunk %d", i), h.Data[i*77*32:(i+1)*77*32], z.Data, 0, 0)
		if i == 0 {
			golden.AssertClose(t, "pooled = first chunk's", pooled.Data, pz.Data, 0, 0)
		}
	}
	// Raw mode truncates to one window.
	r, _, _ := enc.EncodePrompt(p, 1, true)
	if !slices.Equal(r.Shape, []int{1, 77, 32}) {
		t.Errorf("raw shape %v", r.Shape)
	}
}

func TestApplyEmphasisOnes(t *testing.T) {
	z := tensor.FromData([]float32{1, 2, 3, 4}, 1, 2, 2)
	ApplyEmphasis(z, []float32{1, 1})
	if !slices.Equal(z.Data, []float32{1, 2, 3, 4}) {
		t.Errorf("all-ones weights changed z: %v", z.Data)
	}
	ApplyEmphasis(z, []float32{2, 1}) // mean 2.5 → weighted [2,4,3,4] mean 3.25 → ×2.5/3.25
	want := []float32{2 * 2.5 / 3.25, 4 * 2.5 / 3.25, 3 * 2.5 / 3.25, 4 * 2.5 / 3.25}
	golden.AssertClose(t, "ApplyEmphasis", z.Data, want, 1e-6, 0)
}
