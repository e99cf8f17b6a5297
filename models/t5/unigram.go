package t5

import (
	"fmt"
	"math"
)

// Piece is one vocabulary entry of a SentencePiece model: its text (with
// "▁" for a space), its unigram log-probability score and its type
// (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
type Piece struct {
	Piece string
	Score float32
	Type  int
}

// maxPieces bounds the vocabulary a file may declare (the largest
// SentencePiece models have ~256k pieces).
const maxPieces = 1 << 22

// Tokenizer is a SentencePiece unigram tokenizer (Kudo 2018, "Subword
// Regularization"; github.com/google/sentencepiece unigram_model.cc) with
// T5's conventions: Encode appends </s> and pads with <pad>.
type Tokenizer struct {
	Pieces       []Piece
	UnkID        int
	EOSID, PadID int
	ByteFallback bool

	norm     normalizer
	ids      map[string]int // pieces the segmentation may use (normal, user-defined, unused)
	maxLen   int            // longest such piece in bytes
	minScore float32        // over normal pieces; <unk> scores minScore − unkPenalty
	maxScore float32        // over normal pieces; user-defined pieces score len·maxScore − 0.1
	byteIDs  [256]int       // <0xHH> pieces when ByteFallback
}

// unkPenalty is SentencePiece's kUnkPenalty.
const unkPenalty = 10

// newTokenizer checks the pieces and ids and builds the lookup tables,
// as SentencePiece's ModelBase::InitializePieces: pieces non-empty and
// distinct, scores finite, exactly one unknown piece, byte pieces only
// with byte fallback, eos and pad ids naming pieces.
func newTokenizer(pieces []Piece, eos, pad int, byteFallback bool, norm normalizer) (*Tokenizer, error) {
	if len(pieces) == 0 || len(pieces) > maxPieces {
		return nil, fmt.Errorf("%d pieces (expected 1 to %d)", len(pieces), maxPieces)
	}
	t := &Tokenizer{Pieces: pieces, UnkID: -1, EOSID: eos, PadID: pad, ByteFallback: byteFallback, norm: norm,
		ids: make(map[string]int, len(pieces)), minScore: math.MaxFloat32,
		maxScore: 1.17549435e-38} // FLT_MIN, as SentencePiece: the "maximum" of negative scores stays tiny and positive
	for i := range t.byteIDs {
		t.byteIDs[i] = -1
	}
	reserved := map[string]bool{}
	for i, p := range pieces {
		if p.Piece == "" {
			return nil, fmt.Errorf("piece %d is empty", i)
		}
		if math.IsNaN(float64(p.Score)) || math.IsInf(float64(p.Score), 0) {
			return nil, fmt.Errorf("piece %d (%q) has score %g, expected a finite number", i, p.Piece, p.Score)
		}
		_, dupNormal := t.ids[p.Piece]
		if dupNormal || reserved[p.Piece] {
			return nil, fmt.Errorf("piece %d (%q) is defined twice", i, p.Piece)
		}
		switch p.Type {
		case pieceNormal, pieceUserDefined, pieceUnused:
			t.ids[p.Piece] = i
			t.maxLen = max(t.maxLen, len(p.Piece))
		case pieceUnknown, pieceControl, pieceByte:
			reserved[p.Piece] = true
		default:
			return nil, fmt.Errorf("piece %d (%q) has unknown type %d", i, p.Piece, p.Type)
		}
		switch p.Type {
		case pieceNormal:
			t.minScore = min(t.minScore, p.Score)
			t.maxScore = max(t.maxScore, p.Score)
		case pieceUnknown:
			if t.UnkID >= 0 {
				return nil, fmt.Errorf("pieces %d and %d are both the unknown piece", t.UnkID, i)
			}
			t.UnkID = i
		case pieceUserDefined:
			t.norm.userDefined = append(t.norm.userDefined, p.Piece)
		case pieceByte:
			if !byteFallback {
				return nil, fmt.Errorf("piece %d (%q) is a byte piece but byte_fallback is off", i, p.Piece)
			}
			var b int
			if _, err := fmt.Sscanf(p.Piece, "<0x%02X>", &b); err != nil || len(p.Piece) != 6 {
				return nil, fmt.Errorf("piece %d (%q) is a byte piece but not written <0xHH>", i, p.Piece)
			}
			t.byteIDs[b] = i
		}
	}
	if t.UnkID < 0 {
		return nil, fmt.Errorf("no unknown piece (type UNKNOWN) among the %d pieces", len(pieces))
	}
	if byteFallback {
		for b, id := range t.byteIDs {
			if id < 0 {
				return nil, fmt.Errorf("byte_fallback is on but the byte piece <0x%02X> is missing", b)
			}
		}
	}
	if eos < 0 || eos >= len(pieces) {
		return nil, fmt.Errorf("eos id %d is not a piece id (0..%d)", eos, len(pieces)-1)
	}
	if pad < 0 || pad >= len(pieces) {
		return nil, fmt.Errorf("pad id %d is not a piece id (0..%d)", pad, len(pieces)-1)
	}
	return t, nil
}

// oneCharLen is the length of the UTF-8 sequence a lead byte announces,
// as SentencePiece's OneCharLen (continuation bytes count 1).
func oneCharLen(c byte) int { return int(oneCharLenTable[c>>4]) }

var oneCharLenTable = [16]byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}

// Normalize returns text as the model's normaliser writes it (see
// normalizer.normalize): the string the pieces segment.
func (t *Tokenizer) Normalize(text string) string { return string(t.norm.normalize(text)) }

// Tokenize returns the SentencePiece ids of text, without </s>: the
// normalised text is segmented by Viterbi over the unigram lattice,
//
//	best(e) = max over pieces p = s[b:e] of best(b) + score(p),
//
// starting at character boundaries only; a character that no piece covers
// becomes <unk> with score minScore − 10, and a run of <unk> is merged into
// one (or, with byte fallback, spelled as <0xHH> byte pieces). Ties keep
// the earlier candidate, as unigram_model.cc's EncodeOptimized.
func (t *Tokenizer) Tokenize(text string) []int {
	s := t.norm.normalize(text)
	n := len(s)
	type node struct {
		id    int
		score float32
		start int
	}
	best := make([]node, n+1)
	for i := range best {
		best[i].start = -1
	}
	unkScore := t.minScore - unkPenalty
	relax := func(end, start, id int, score float32) {
		if b := &best[end]; b.start == -1 || score > b.score {
			*b = node{id: id, score: score, start: start}
		}
	}
	for start := 0; start < n; {
		here := best[start].score
		mblen := min(oneCharLen(s[start]), n-start)
		single := false
		for end := start + 1; end <= min(n, start+t.maxLen); end++ {
			id, ok := t.ids[string(s[start:end])]
			if !ok || t.Pieces[id].Type == pieceUnused {
				continue
			}
			score := t.Pieces[id].Score
			if t.Pieces[id].Type == pieceUserDefined {
				score = float32(float64(float32(end-start)*t.maxScore) - 0.1)
			}
			relax(end, start, id, score+here)
			if end-start == mblen {
				single = true
			}
		}
		if !single {
			relax(start+mblen, start, t.UnkID, unkScore+here)
		}
		start += mblen
	}
	// Backtrack from the end, then emit left to right.
	type seg struct{ id, start, end int }
	var path []seg
	for end := n; end > 0; end = best[end].start {
		path = append(path, seg{best[end].id, best[end].start, end})
	}
	ids := make([]int, 0, len(path))
	prevUnk := false
	for i := len(path) - 1; i >= 0; i-- {
		p := path[i]
		unk := p.id == t.UnkID
		switch {
		case unk && t.ByteFallback:
			for _, c := range s[p.start:p.end] {
				ids = append(ids, t.byteIDs[c])
			}
		case unk && prevUnk:
			// merged into the previous <unk>
		default:
			ids = append(ids, p.id)
		}
		prevUnk = unk
	}
	return ids
}

// Encode returns exactly maxLength ids for text as Hugging Face's
// T5TokenizerFast(padding="max_length", truncation=True) and BFL's
// HFEmbedder give them: Tokenize(text) cut to maxLength−1, </s> appended,
// then <pad> up to maxLength. "" gives [</s>, <pad>, …].
func (t *Tokenizer) Encode(text string, maxLength int) ([]int, error) {
	if maxLength < 1 {
		return nil, fmt.Errorf("t5 tokenizer: max length %d, expected at least 1", maxLength)
	}
	ids := t.Tokenize(text)
	if len(ids) > maxLength-1 {
		ids = ids[:maxLength-1]
	}
	out := make([]int, maxLength)
	copy(out, ids)
	out[len(ids)] = t.EOSID
	for i := len(ids) + 1; i < maxLength; i++ {
		out[i] = t.PadID
	}
	return out, nil
}
