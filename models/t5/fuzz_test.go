package t5

import (
	"encoding/binary"
	"math"
	"os"
	"strings"
	"testing"
)

// protoBuf writes protobuf records (for building test models).
type protoBuf []byte

func (b protoBuf) varint(v uint64) protoBuf { return binary.AppendUvarint(b, v) }
func (b protoBuf) tag(field, typ int) protoBuf {
	return b.varint(uint64(field)<<3 | uint64(typ))
}
func (b protoBuf) bytes(field int, p []byte) protoBuf {
	return append(b.tag(field, 2).varint(uint64(len(p))), p...)
}
func (b protoBuf) uint(field int, v uint64) protoBuf { return b.tag(field, 0).varint(v) }
func (b protoBuf) float(field int, f float32) protoBuf {
	return binary.LittleEndian.AppendUint32(b.tag(field, 5), math.Float32bits(f))
}

// smallModel returns a ModelProto with T5's special pieces (pad 0, eos 1,
// unk 2), the given normal pieces (scored −1, −2, …) and no charsmap.
func smallModel(pieces ...string) []byte { return smallModelCM(nil, pieces...) }

// fuzzRules are a few NFKC-like charsmap rules for small seeds.
var fuzzRules = map[string]string{"Ａ": "A", "ﬁ": "fi", "\t": " ", "①": "1", "e\u0301": "é"}

// smallModelCM is smallModel with a precompiled charsmap (none when nil).
func smallModelCM(charsmap []byte, pieces ...string) []byte {
	var m protoBuf
	specials := []struct {
		s   string
		typ uint64
	}{{"<pad>", pieceControl}, {"</s>", pieceControl}, {"<unk>", pieceUnknown}}
	for _, s := range specials {
		m = m.bytes(1, protoBuf(nil).bytes(1, []byte(s.s)).float(2, 0).uint(3, s.typ))
	}
	for i, p := range pieces {
		m = m.bytes(1, protoBuf(nil).bytes(1, []byte(p)).float(2, -float32(i+1)))
	}
	trainer := protoBuf(nil).uint(3, 1).uint(40, 2).uint(41, math.MaxUint64).uint(42, 1).uint(43, 0)
	m = m.bytes(2, trainer)
	norm := protoBuf(nil).bytes(1, []byte("identity"))
	if charsmap != nil {
		norm = protoBuf(nil).bytes(1, []byte("nmt_nfkc")).bytes(2, charsmap)
	}
	m = m.bytes(3, norm)
	return m
}

// exercise runs the tokenizer on a few strings and checks the invariants
// every loaded tokenizer must keep.
func exercise(t *testing.T, tok *Tokenizer) {
	for _, s := range []string{"", "a photograph of an astronaut", "  Ｈéllo\t\xff世界  ", "abcabc abc"} {
		for _, id := range tok.Tokenize(s) {
			if id < 0 || id >= len(tok.Pieces) {
				t.Fatalf("Tokenize(%q): id %d outside 0..%d", s, id, len(tok.Pieces)-1)
			}
		}
		ids, err := tok.Encode(s, 8)
		if err != nil || len(ids) != 8 {
			t.Fatalf("Encode(%q, 8) = %v, %v", s, ids, err)
		}
	}
}

func FuzzSentencePieceModel(f *testing.F) {
	f.Add(smallModel("▁a", "a", "b", "c", "▁", "ab", "abc"))
	f.Add(smallModel("▁", "x"))
	f.Add(smallModelCM(buildCharsMap(fuzzRules), "▁A", "fi", "1", "é", "▁", "x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := TokenizerFromModelProto(data)
		if err != nil {
			return
		}
		exercise(t, tok)
	})
}

func FuzzTokenizerJSON(f *testing.F) {
	m, err := parseModelProto(smallModel("▁a", "a", "b", "c", "▁", "ab", "abc"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(buildTokenizerJSON(f, m, "sequence"))
	f.Add(buildTokenizerJSON(f, m, "legacy"))
	// Seeds stay small (the real charsmap is 240 kB, too big to mutate).
	if m, err = parseModelProto(smallModelCM(buildCharsMap(fuzzRules), "▁A", "fi", "1", "é", "▁", "x")); err != nil {
		f.Fatal(err)
	}
	f.Add(buildTokenizerJSON(f, m, "sequence"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := TokenizerFromJSON(data)
		if err != nil {
			return
		}
		exercise(t, tok)
	})
}

// TestTokenizerErrors checks that broken models are refused with a
// message naming the problem (and, through LoadTokenizer, the file).
func TestTokenizerErrors(t *testing.T) {
	base := smallModel("a")
	dupe := smallModel("a", "a")
	noUnk := protoBuf(nil).bytes(1, protoBuf(nil).bytes(1, []byte("a")).float(2, -1))
	nan := protoBuf(nil).bytes(1, protoBuf(nil).bytes(1, []byte("b")).float(2, float32(math.NaN())))
	badCM := protoBuf(nil).bytes(3, protoBuf(nil).bytes(2, []byte{0xff, 0xff, 0, 0, 1, 2, 3, 4, 5}))
	bpe := protoBuf(nil).bytes(2, protoBuf(nil).uint(3, 2))
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", base[:len(base)-3], "exceeds"},
		{"duplicate", dupe, "defined twice"},
		{"no unk", noUnk, "no unknown piece"},
		{"nan score", append(append([]byte(nil), base...), nan...), "finite"},
		{"charsmap", append(append([]byte(nil), base...), badCM...), "charsmap"},
		{"bpe", append(append([]byte(nil), base...), bpe...), "unigram"},
		{"length", []byte{0x0a, 0xff, 0x01}, "exceeds"},
	} {
		path := t.TempDir() + "/spiece.model"
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadTokenizer(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming %s and %q", c.name, err, path, c.want)
		}
	}
	for _, c := range []struct{ name, json, want string }{
		{"bpe", `{"model":{"type":"BPE"}}`, "Unigram"},
		{"unk", `{"model":{"type":"Unigram","unk_id":5,"vocab":[["a",0]]}}`, "unk_id"},
		{"entry", `{"model":{"type":"Unigram","unk_id":0,"vocab":[["a","x"]]}}`, "vocab entry 0"},
		{"normalizer", `{"normalizer":{"type":"Lowercase"},"pre_tokenizer":{"type":"Metaspace"},"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["</s>",0],["<pad>",0]]}}`, "Lowercase"},
		{"charsmap", `{"normalizer":{"type":"Precompiled","precompiled_charsmap":"AAAA"},"pre_tokenizer":{"type":"Metaspace"},"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["</s>",0],["<pad>",0]]}}`, "charsmap"},
		{"no eos", `{"pre_tokenizer":{"type":"Metaspace"},"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0]]}}`, "</s>"},
	} {
		path := t.TempDir() + "/tokenizer.json"
		if err := os.WriteFile(path, []byte(c.json), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadTokenizer(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("json %s: error %v, want one naming %s and %q", c.name, err, path, c.want)
		}
	}
	if _, err := LoadTokenizer(t.TempDir()); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("empty folder: %v", err)
	}
}

// TestSmallModel checks Viterbi on a hand-made vocabulary: the best
// segmentation by summed scores, and a run of unknown characters as one
// <unk>.
func TestSmallModel(t *testing.T) {
	tok, err := TokenizerFromModelProto(smallModel("▁a", "a", "b", "c", "▁", "ab", "abc"))
	if err != nil {
		t.Fatal(err)
	}
	exercise(t, tok)
	// ids: ▁a 3 (−1), a 4 (−2), b 5 (−3), c 6 (−4), ▁ 7 (−5), ab 8 (−6), abc 9 (−7).
	// "▁abc": ▁a+b+c = −8, ▁+abc = −12, ▁a+bc? no; ▁+ab+c = −15 → ▁a b c.
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"abc", []int{3, 5, 6}},
		{"abc xyz b", []int{3, 5, 6, 7, 2, 7, 5}},
		{"a", []int{3}},
	} {
		got := tok.Tokenize(c.in)
		if !slicesEqual(got, c.want) {
			t.Errorf("Tokenize(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
