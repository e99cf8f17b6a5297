package t5

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// maxTokenizerFile bounds the size of a tokenizer file read into memory
// (T5's spiece.model is 0.8 MB, its tokenizer.json 2.4 MB).
const maxTokenizerFile = 256 << 20

// LoadTokenizer loads a SentencePiece unigram tokenizer from path: a
// spiece.model (or any *.model) file, a Hugging Face tokenizer.json, or a
// folder holding spiece.model or tokenizer.json (spiece.model preferred).
func LoadTokenizer(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("t5 tokenizer: %w", err)
	}
	if st.IsDir() {
		for _, name := range []string{"spiece.model", "tokenizer.json"} {
			if _, err := os.Stat(filepath.Join(path, name)); err == nil {
				return LoadTokenizer(filepath.Join(path, name))
			}
		}
		return nil, fmt.Errorf("t5 tokenizer: %s holds neither spiece.model nor tokenizer.json", path)
	}
	if st.Size() > maxTokenizerFile {
		return nil, fmt.Errorf("t5 tokenizer: %s is %d bytes, more than the %d a tokenizer may have", path, st.Size(), maxTokenizerFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("t5 tokenizer: %w", err)
	}
	var t *Tokenizer
	if filepath.Ext(path) == ".json" {
		t, err = TokenizerFromJSON(data)
	} else {
		t, err = TokenizerFromModelProto(data)
	}
	if err != nil {
		return nil, fmt.Errorf("t5 tokenizer %s: %w", path, err)
	}
	return t, nil
}

// TokenizerFromModelProto builds a Tokenizer from the bytes of a
// SentencePiece model file (a serialised ModelProto). Only unigram models
// are accepted.
func TokenizerFromModelProto(data []byte) (*Tokenizer, error) {
	m, err := parseModelProto(data)
	if err != nil {
		return nil, err
	}
	if m.modelType != 1 {
		return nil, fmt.Errorf("model type %d, expected 1 (unigram)", m.modelType)
	}
	nz := normalizer{addDummyPrefix: m.addDummyPrefix, removeExtraWhitespaces: m.removeExtraWhitespaces,
		escapeWhitespaces: m.escapeWhitespaces, treatWhitespaceAsSuffix: m.treatWhitespaceAsSuffix}
	if len(m.charsmap) > 0 {
		if nz.cm, err = parseCharsMap(m.charsmap); err != nil {
			return nil, fmt.Errorf("normalizer %q: %w", m.normName, err)
		}
	}
	t, err := newTokenizer(m.pieces, m.eosID, m.padID, m.byteFallback, nz)
	if err != nil {
		return nil, err
	}
	if m.unkID != t.UnkID {
		return nil, fmt.Errorf("trainer_spec unk_id %d, but the unknown piece is %d", m.unkID, t.UnkID)
	}
	return t, nil
}

// tokenizerJSON is the part of a Hugging Face tokenizer.json a Unigram
// tokenizer needs.
type tokenizerJSON struct {
	Normalizer   *jsonStep `json:"normalizer"`
	PreTokenizer *jsonStep `json:"pre_tokenizer"`
	Model        struct {
		Type         string            `json:"type"`
		UnkID        *int              `json:"unk_id"`
		Vocab        []json.RawMessage `json:"vocab"`
		ByteFallback bool              `json:"byte_fallback"`
	} `json:"model"`
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
}

// jsonStep is one normalizer or pre-tokenizer, possibly a Sequence.
type jsonStep struct {
	Type                string     `json:"type"`
	PrecompiledCharsMap string     `json:"precompiled_charsmap"`
	Normalizers         []jsonStep `json:"normalizers"`
	PreTokenizers       []jsonStep `json:"pretokenizers"`
	Pattern             struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"`
	Content        string `json:"content"`
	Left           *bool  `json:"left"`
	Right          *bool  `json:"right"`
	Replacement    string `json:"replacement"`
	AddPrefixSpace *bool  `json:"add_prefix_space"`
	PrependScheme  string `json:"prepend_scheme"`
}

// TokenizerFromJSON builds a Tokenizer from a Hugging Face tokenizer.json
// with a "Unigram" model, as transformers' SpmConverter writes it for T5:
// vocab [[piece, score], …] with unk_id; normalizer Precompiled (the
// model's charsmap, base64), possibly in a Sequence with Strip (right)
// and Replace(" {2,}" → "▁") — SentencePiece's remove_extra_whitespaces;
// pre_tokenizer Metaspace ("▁", prefix space unless prepend_scheme is
// "never"), possibly after WhitespaceSplit. Special added tokens are
// control pieces (never produced by segmentation); </s> and <pad> are
// looked up by name.
func TokenizerFromJSON(data []byte) (*Tokenizer, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, err
	}
	if tj.Model.Type != "Unigram" {
		return nil, fmt.Errorf("model type %q, expected \"Unigram\"", tj.Model.Type)
	}
	if tj.Model.UnkID == nil {
		return nil, fmt.Errorf("model has no unk_id")
	}
	n := len(tj.Model.Vocab)
	if n == 0 || n > maxPieces {
		return nil, fmt.Errorf("model vocab has %d pieces (expected 1 to %d)", n, maxPieces)
	}
	unk := *tj.Model.UnkID
	if unk < 0 || unk >= n {
		return nil, fmt.Errorf("unk_id %d is not a piece id (0..%d)", unk, n-1)
	}
	special := map[int]bool{}
	for _, a := range tj.AddedTokens {
		if a.Special {
			special[a.ID] = true
		}
	}
	pieces := make([]Piece, n)
	for i, raw := range tj.Model.Vocab {
		var entry [2]any
		var piece string
		var score float64
		if err := json.Unmarshal(raw, &entry); err == nil {
			var ok1, ok2 bool
			piece, ok1 = entry[0].(string)
			score, ok2 = entry[1].(float64)
			if !ok1 || !ok2 {
				err = fmt.Errorf("not [string, number]")
			}
			if err != nil {
				return nil, fmt.Errorf("vocab entry %d: %v", i, err)
			}
		} else {
			return nil, fmt.Errorf("vocab entry %d: %v", i, err)
		}
		typ := pieceNormal
		if i == unk {
			typ = pieceUnknown
		} else if special[i] {
			typ = pieceControl
		} else if tj.Model.ByteFallback && len(piece) == 6 && piece[:3] == "<0x" && piece[5] == '>' {
			typ = pieceByte
		}
		pieces[i] = Piece{Piece: piece, Score: float32(score), Type: typ}
	}
	nz := normalizer{removeExtraWhitespaces: false, escapeWhitespaces: true}
	if err := nz.fromJSONNormalizer(tj.Normalizer); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	if err := nz.fromJSONPreTokenizer(tj.PreTokenizer); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	eos, pad := -1, -1
	for i, p := range pieces {
		switch p.Piece {
		case "</s>":
			eos = i
		case "<pad>":
			pad = i
		}
	}
	if eos < 0 || pad < 0 {
		return nil, fmt.Errorf("vocab lacks the piece </s> or <pad>")
	}
	return newTokenizer(pieces, eos, pad, tj.Model.ByteFallback, nz)
}

func (nz *normalizer) fromJSONNormalizer(s *jsonStep) error {
	if s == nil {
		return nil
	}
	switch s.Type {
	case "Sequence":
		for i := range s.Normalizers {
			if err := nz.fromJSONNormalizer(&s.Normalizers[i]); err != nil {
				return err
			}
		}
	case "Precompiled":
		if s.PrecompiledCharsMap == "" {
			return nil
		}
		blob, err := base64.StdEncoding.DecodeString(s.PrecompiledCharsMap)
		if err != nil {
			return fmt.Errorf("precompiled_charsmap: %w", err)
		}
		if nz.cm, err = parseCharsMap(blob); err != nil {
			return err
		}
	case "Strip", "Replace":
		// SpmConverter's Strip(right) and Replace(" {2,}", "▁") are how
		// tokenizers spells SentencePiece's whitespace clean-up.
		if s.Type == "Replace" && (s.Pattern.Regex == nil || *s.Pattern.Regex != " {2,}") {
			return fmt.Errorf("Replace of %v is not a SentencePiece whitespace rule", s.Pattern)
		}
		nz.removeExtraWhitespaces = true
	default:
		return fmt.Errorf("normalizer type %q is not supported (expected Precompiled, Strip, Replace or a Sequence of them)", s.Type)
	}
	return nil
}

func (nz *normalizer) fromJSONPreTokenizer(s *jsonStep) error {
	if s == nil {
		return fmt.Errorf("missing (expected Metaspace)")
	}
	switch s.Type {
	case "Sequence":
		for i := range s.PreTokenizers {
			if err := nz.fromJSONPreTokenizer(&s.PreTokenizers[i]); err != nil {
				return err
			}
		}
	case "WhitespaceSplit":
		nz.removeExtraWhitespaces = true
	case "Metaspace":
		if s.Replacement != "" && s.Replacement != "▁" {
			return fmt.Errorf("Metaspace replacement %q, expected \"▁\"", s.Replacement)
		}
		nz.addDummyPrefix = s.PrependScheme != "never"
		if s.AddPrefixSpace != nil && s.PrependScheme == "" {
			nz.addDummyPrefix = *s.AddPrefixSpace
		}
	default:
		return fmt.Errorf("pre_tokenizer type %q is not supported (expected Metaspace)", s.Type)
	}
	return nil
}
