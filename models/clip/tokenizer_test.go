package clip

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
)

// tokenizerFixture is one prompt of sd1/tokenizer.json.
type tokenizerFixture struct {
	Name      string `json:"name"`
	Prompt    string `json:"prompt"`
	BPE       []int  `json:"bpe_ids_untruncated"`
	InputIDs  []int  `json:"input_ids"`
	Truncated bool   `json:"truncated"`
}

func loadTokenizerFixtures(t *testing.T) []tokenizerFixture {
	t.Helper()
	b, err := os.ReadFile(golden.Core(t, "sd1/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Prompts []tokenizerFixture `json:"prompts"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Prompts
}

var (
	realTokOnce sync.Once
	realTok     *Tokenizer
	realTokErr  error
)

// realTokenizer loads the real CLIP vocabulary (vocab.json + merges.txt)
// once per test binary, skipping when it is absent.
func realTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	dir := filepath.Dir(golden.Tokenizer(t, "clip/vocab.json"))
	realTokOnce.Do(func() { realTok, realTokErr = LoadTokenizer(dir) })
	if realTokErr != nil {
		t.Fatal(realTokErr)
	}
	return realTok
}

func checkTokenizerGolden(t *testing.T, tok *Tokenizer) {
	fixtures := loadTokenizerFixtures(t)
	f := golden.Open(t, "sd1/tokenizer.safetensors")
	ids, shape, err := f.Int64("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	if len(fixtures) != shape[0] || shape[1] != ContextLen {
		t.Fatalf("fixtures: %d prompts vs input_ids %v", len(fixtures), shape)
	}
	for i, fx := range fixtures {
		if got := tok.Encode(fx.Prompt); !slices.Equal(got, fx.BPE) && !(len(got) == 0 && len(fx.BPE) == 0) {
			t.Errorf("%s: Encode(%q)\n got %v\nwant %v", fx.Name, fx.Prompt, got, fx.BPE)
		}
		want := make([]int, ContextLen)
		for j := range want {
			want[j] = int(ids[i*ContextLen+j])
		}
		if got := tok.Window77(fx.Prompt); !slices.Equal(got, want) {
			t.Errorf("%s: Window77(%q)\n got %v\nwant %v", fx.Name, fx.Prompt, got, want)
		}
		if !slices.Equal(fx.InputIDs, want) {
			t.Errorf("%s: tokenizer.json and tokenizer.safetensors disagree", fx.Name)
		}
	}
}

func TestTokenizerGoldenHF(t *testing.T) { checkTokenizerGolden(t, realTokenizer(t)) }

func TestTokenizerGoldenOpenAIGz(t *testing.T) {
	tok, err := LoadTokenizerFile(golden.Tokenizer(t, "clip/bpe_simple_vocab_16e6.txt.gz"))
	if err != nil {
		t.Fatal(err)
	}
	checkTokenizerGolden(t, tok)
	// The vocabulary built from the merges must be the HF vocab.json.
	hf := realTokenizer(t)
	if tok.VocabSize() != 49408 || hf.VocabSize() != 49408 {
		t.Fatalf("vocab sizes %d, %d; want 49408", tok.VocabSize(), hf.VocabSize())
	}
	for s, id := range hf.encoder {
		if tok.encoder[s] != id {
			t.Fatalf("token %q: gz id %d, vocab.json id %d", s, tok.encoder[s], id)
		}
	}
	if tok.BOS() != BOS || tok.EOS() != EOS {
		t.Errorf("BOS/EOS %d/%d", tok.BOS(), tok.EOS())
	}
}

func TestTokenizerDecodeRoundTrip(t *testing.T) {
	tok := realTokenizer(t)
	for _, s := range []string{"a photo of a cat", "café naïve zürich", "東京タワー 🐱", "1 0 2 4 x 7 6 8 , year"} {
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
	}
}

// writeTinyVocab writes a synthetic HF-format vocabulary: the 512 byte
// symbols, a few merges, and the two special tokens.
func tinyTokenizer(t *testing.T, merges []string) *Tokenizer {
	t.Helper()
	byteChar := byteSymbols()
	vocab := map[string]int{}
	for _, c := range byteChar {
		vocab[c] = len(vocab)
	}
	for _, c := range byteChar {
		vocab[c+"</w>"] = len(vocab)
	}
	ml := "#version: 0.2\n"
	for _, m := range merges {
		ml += m + "\n"
		var l, r string
		for i := range m {
			if m[i] == ' ' {
				l, r = m[:i], m[i+1:]
			}
		}
		vocab[l+r] = len(vocab)
	}
	vocab[startText] = len(vocab)
	vocab[endText] = len(vocab)
	dir := t.TempDir()
	vb, _ := json.Marshal(vocab)
	if err := os.WriteFile(filepath.Join(dir, "vocab.json"), vb, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte(ml), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadTokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestBPEMechanics checks merge order on a synthetic vocabulary: the
// lowest-ranked pair merges first, "</w>" marks the end of a word, and all
// occurrences of a pair merge left to right.
func TestBPEMechanics(t *testing.T) {
	tok := tinyTokenizer(t, []string{"a b", "ab c</w>", "b c</w>", "a a", "aa a"})
	// "a b" (rank 0) merges first, then "ab c</w>".
	got := tok.bpe("abc")
	if !slices.Equal(got, []string{"abc</w>"}) {
		t.Errorf("bpe(abc) = %q", got)
	}
	if got := tok.bpe("bc"); !slices.Equal(got, []string{"bc</w>"}) {
		t.Errorf("bpe(bc) = %q", got)
	}
	// "abab": a b | a b</w>: "a b" merges only the first pair (the second b carries </w>).
	if got := tok.bpe("abab"); !slices.Equal(got, []string{"ab", "a", "b</w>"}) {
		t.Errorf("bpe(abab) = %q", got)
	}
	// "aaaa" → a a a a</w>: "a a" merges non-overlapping pairs left to right:
	// aa, a, a</w>; then "aa a" gives aaa, a</w>.
	if got := tok.bpe("aaaa"); !slices.Equal(got, []string{"aaa", "a</w>"}) {
		t.Errorf("bpe(aaaa) = %q", got)
	}
	if got := tok.bpe("xyz"); !slices.Equal(got, []string{"x", "y", "z</w>"}) {
		t.Errorf("bpe(xyz) = %q", got)
	}
	// Encode: cleaning, lower-casing and pre-tokenisation around the BPE.
	ids := tok.Encode("  ABC,bc  ")
	want := []int{tok.encoder["abc</w>"], tok.encoder[",</w>"], tok.encoder["bc</w>"]}
	if !slices.Equal(ids, want) {
		t.Errorf("Encode = %v, want %v", ids, want)
	}
	if got := Window(ids, 0); len(got) != ContextLen || got[0] != BOS || got[4] != EOS || got[5] != 0 {
		t.Errorf("Window = %v", got)
	}
}
