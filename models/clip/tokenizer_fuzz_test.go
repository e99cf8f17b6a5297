package clip

import (
	"strings"
	"testing"
)

// FuzzTokenizerHF feeds arbitrary vocab.json and merges.txt bytes to the
// loader: it must return a tokenizer or an error, never panic or allocate
// beyond the input's size, and a tokenizer it returns must encode and
// decode a prompt with ids inside its vocabulary.
func FuzzTokenizerHF(f *testing.F) {
	vocab, merges := tinyVocab()
	f.Add(mustJSON(vocab), mergesText(merges))
	f.Add([]byte(`{"a":-5}`), []byte("#version: 0.2\na b\n"))
	f.Add([]byte(`{"a":99999999}`), []byte(""))
	f.Add([]byte(`{"a":1e12}`), []byte("a\n"))
	f.Fuzz(func(t *testing.T, vb, mb []byte) {
		tok, err := parseHF("vocab.json", vb, "merges.txt", mb)
		if err != nil {
			return
		}
		checkUsable(t, tok)
	})
}

// FuzzTokenizerOpenAI does the same for the unpacked text of openai's
// bpe_simple_vocab_16e6.txt: a header line, then merges.
func FuzzTokenizerOpenAI(f *testing.F) {
	f.Add([]byte("#header\nc a\nca t</w>\n"))
	f.Add([]byte("#header\n" + strings.Repeat("a b\n", 3)))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := parseOpenAI("bpe_simple_vocab_16e6.txt", b)
		if err != nil {
			return
		}
		checkUsable(t, tok)
	})
}

// checkUsable encodes and decodes a prompt with tok and checks every id is
// inside the vocabulary.
func checkUsable(t *testing.T, tok *Tokenizer) {
	ids := tok.Encode("a cat, ünïcode and <|endoftext|> too")
	for _, id := range ids {
		if id < 0 || id >= tok.VocabSize() {
			t.Fatalf("id %d outside the vocabulary of %d", id, tok.VocabSize())
		}
	}
	tok.Decode(ids)
}
