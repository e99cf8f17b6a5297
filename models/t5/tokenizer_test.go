package t5

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
)

// t5Meta is ../shared/golden/t5/meta.json.
type t5Meta struct {
	Strings   []string   `json:"strings"`
	MaxLength int        `json:"max_length"`
	RawIDs    [][]int    `json:"raw_ids_no_eos"`
	Pieces    [][]string `json:"pieces"`
}

func readMeta(t *testing.T) t5Meta {
	var m t5Meta
	golden.ReadJSON(t, golden.Shared(t, "t5/meta.json"), &m)
	if len(m.Strings) != 15 || len(m.RawIDs) != 15 {
		t.Fatalf("meta.json: %d strings, %d id lists, expected 15", len(m.Strings), len(m.RawIDs))
	}
	return m
}

func tinyTokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	tok, err := LoadTokenizer(golden.Shared(t, "t5/spiece.model"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// checkTokenizer compares tok against the fixtures' raw ids (Tokenize)
// and padded ids (Encode, max_length 32, one string truncated).
func checkTokenizer(t *testing.T, tok *Tokenizer) {
	m := readMeta(t)
	f := golden.Open(t, "t5/outputs.safetensors")
	want, shape, err := f.Int64("ids")
	if err != nil || !slices.Equal(shape, []int{15, m.MaxLength}) {
		t.Fatalf("ids: %v %v", shape, err)
	}
	truncated := 0
	for i, s := range m.Strings {
		got := tok.Tokenize(s)
		if !slices.Equal(got, m.RawIDs[i]) {
			var pieces []string
			for _, id := range got {
				pieces = append(pieces, tok.Pieces[id].Piece)
			}
			t.Errorf("string %d %q:\n got  %v %q\n want %v %q", i, s, got, pieces, m.RawIDs[i], m.Pieces[i])
		}
		if len(got) > m.MaxLength-1 {
			truncated++
		}
		enc, err := tok.Encode(s, m.MaxLength)
		if err != nil {
			t.Fatal(err)
		}
		for j, id := range enc {
			if int64(id) != want[i*m.MaxLength+j] {
				t.Errorf("string %d %q: padded ids %v, want %v", i, s, enc, want[i*m.MaxLength:(i+1)*m.MaxLength])
				break
			}
		}
	}
	if truncated == 0 {
		t.Error("no string was long enough to be truncated: the cut is untested")
	}
}

func TestTokenizerSpieceModel(t *testing.T) { checkTokenizer(t, tinyTokenizer(t)) }

// TestTokenizerJSON writes a tokenizer.json the way transformers'
// SpmConverter does for T5 (Unigram vocab, Precompiled charsmap in a
// Sequence with Strip and Replace, Metaspace) from the spiece.model's
// pieces and charsmap, and checks it tokenises like the model file.
func TestTokenizerJSON(t *testing.T) {
	data, err := os.ReadFile(golden.Shared(t, "t5/spiece.model"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseModelProto(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, style := range []string{"sequence", "legacy"} {
		t.Run(style, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := os.WriteFile(path, buildTokenizerJSON(t, m, style), 0o644); err != nil {
				t.Fatal(err)
			}
			tok, err := LoadTokenizer(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			checkTokenizer(t, tok)
		})
	}
}

// buildTokenizerJSON writes m as a tokenizer.json: style "sequence" is
// today's converter output, "legacy" the older Precompiled +
// WhitespaceSplit/Metaspace(add_prefix_space) form.
func buildTokenizerJSON(t testing.TB, m *modelProto, style string) []byte {
	vocab := make([][2]any, len(m.pieces))
	var added []map[string]any
	for i, p := range m.pieces {
		vocab[i] = [2]any{p.Piece, p.Score}
		if p.Type == pieceControl || p.Type == pieceUnknown {
			added = append(added, map[string]any{"id": i, "content": p.Piece, "special": true})
		}
	}
	cm := base64.StdEncoding.EncodeToString(m.charsmap)
	doc := map[string]any{
		"version":      "1.0",
		"added_tokens": added,
		"model":        map[string]any{"type": "Unigram", "unk_id": m.unkID, "vocab": vocab, "byte_fallback": false},
	}
	if style == "sequence" {
		doc["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Precompiled", "precompiled_charsmap": cm},
			map[string]any{"type": "Strip", "left": false, "right": true},
			map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": " {2,}"}, "content": "▁"},
		}}
		doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}
	} else {
		doc["normalizer"] = map[string]any{"type": "Precompiled", "precompiled_charsmap": cm}
		doc["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "WhitespaceSplit"},
			map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true},
		}}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNormalizeNFKC checks the precompiled nmt_nfkc charsmap of the tiny
// model on strings NFKC changes: full-width letters and digits, the "ﬁ"
// ligature, a composed vs decomposed "é", a no-break space, a tab and a
// newline (→ space, then collapsed), and a malformed byte (→ U+FFFD).
func TestNormalizeNFKC(t *testing.T) {
	tok := tinyTokenizer(t)
	for _, c := range []struct{ in, want string }{
		{"ＡＢＣ１２３", "▁ABC123"},
		{"ﬁne", "▁fine"},
		{"cafe\u0301", "▁café"},
		{"café", "▁café"},
		{"a\u00a0b", "▁a▁b"},
		{"  tab\tand\n\nnewline  ", "▁tab▁and▁newline"},
		{"x\xffy", "▁x\uFFFDy"},
		{"   ", ""},
		{"", ""},
		{"①", "▁1"},
	} {
		if got := tok.Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestEncodeEdges checks Encode's shape rules.
func TestEncodeEdges(t *testing.T) {
	tok := tinyTokenizer(t)
	ids, err := tok.Encode("", 4)
	if err != nil || !slices.Equal(ids, []int{1, 0, 0, 0}) {
		t.Errorf(`Encode("", 4) = %v, %v; want [1 0 0 0]`, ids, err)
	}
	ids, err = tok.Encode("a photograph of an astronaut", 1)
	if err != nil || !slices.Equal(ids, []int{1}) {
		t.Errorf("Encode(…, 1) = %v, %v; want [1]", ids, err)
	}
	if _, err := tok.Encode("x", 0); err == nil {
		t.Error("Encode with max length 0: no error")
	}
	// A run of characters outside the vocabulary is one <unk>.
	got := tok.Tokenize("丁丂七")
	if len(got) == 0 || got[len(got)-1] != tok.UnkID || slices.Index(got, tok.UnkID) != len(got)-1 {
		t.Errorf("Tokenize of three unknown characters = %v, want one trailing <unk> (%d)", got, tok.UnkID)
	}
}
