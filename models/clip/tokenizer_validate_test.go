package clip

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyVocab returns a minimal valid CLIP-style tokenizer as vocab.json and
// merges.txt bytes: the 512 byte symbols, the merges "c a" → "ca" and
// "ca t</w>" → "cat</w>", and the two special tokens.
func tinyVocab() (vocab map[string]int, merges []string) {
	vocab = map[string]int{}
	add := func(s string) { vocab[s] = len(vocab) }
	syms := byteSymbols()
	for _, c := range syms {
		add(c)
	}
	for _, c := range syms {
		add(c + wordSuffix)
	}
	merges = []string{"c a", "ca t</w>"}
	add("ca")
	add("cat</w>")
	add(startText)
	add(endText)
	return vocab, merges
}

// TestTokenizerRejectsBadFiles: each broken vocab.json / merges.txt is an
// error naming the file and the problem — never a panic, an out-of-memory
// death or a tokenizer that splits every word into characters.
func TestTokenizerRejectsBadFiles(t *testing.T) {
	good, goodMerges := tinyVocab()
	if _, err := parseHF("vocab.json", mustJSON(good), "merges.txt", mergesText(goodMerges)); err != nil {
		t.Fatalf("the valid tiny tokenizer: %v", err)
	}
	with := func(k string, v int) []byte {
		m := map[string]int{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return mustJSON(m)
	}
	cases := []struct {
		name   string
		vocab  []byte
		merges []string
		want   string
	}{
		{"negative id", with("cat</w>", -5), goodMerges, "outside"},
		{"huge id", with("cat</w>", 99999999), goodMerges, "outside"},
		{"id beyond memory", []byte(strings.Replace(string(mustJSON(good)), `"cat\u003c/w\u003e":`, `"cat\u003c/w\u003e":1000000000000,"x":`, 1)), goodMerges, "outside"},
		{"exponent id", []byte(`{"a":1e12}`), goodMerges, "vocab.json"},
		{"duplicate id", with("dog</w>", good["ca"]), goodMerges, "more than one token"},
		{"empty merges", mustJSON(good), nil, "no merges"},
		{"merge of unknown symbol", mustJSON(good), []string{"c a", "q z"}, "not in the vocabulary"},
		{"merge result not in vocab", mustJSON(good), []string{"c a", "ca t"}, "not in the vocabulary"},
		{"repeated merge", mustJSON(good), []string{"c a", "c a"}, "repeats"},
		{"three symbols", mustJSON(good), []string{"c a t"}, "two symbols"},
		{"not json", []byte("[1,2"), goodMerges, "vocab.json"},
		{"json array", []byte("[1,2]"), goodMerges, "vocab.json"},
		{"missing byte symbol", []byte(`{"<|startoftext|>":0,"<|endoftext|>":1}`), goodMerges, "byte symbol"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			vp, mp := filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt")
			os.WriteFile(vp, c.vocab, 0o644)
			os.WriteFile(mp, mergesText(c.merges), 0o644)
			tok, err := LoadTokenizer(dir)
			if err == nil {
				t.Fatalf("loaded (vocab size %d), want an error mentioning %q", tok.VocabSize(), c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q: want it to mention %q and the file", err, c.want)
			}
			t.Log(err)
		})
	}
}

// TestTokenizerFileTooLarge: a file beyond maxTokenizerFile is refused
// without reading it all (the unpacked .gz as well: no decompression bomb).
func TestTokenizerFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	gz := filepath.Join(dir, "bpe_simple_vocab_16e6.txt.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zeros := make([]byte, 1<<20)
	for range maxTokenizerFile>>20 + 1 {
		zw.Write(zeros)
	}
	zw.Close()
	os.WriteFile(gz, buf.Bytes(), 0o644)
	if _, err := LoadTokenizerFile(gz); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("error %v, want 'larger than'", err)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func mergesText(merges []string) []byte {
	return []byte(fmt.Sprintf("#version: 0.2\n%s\n", strings.Join(merges, "\n")))
}
