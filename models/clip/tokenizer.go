package clip

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Special token ids of the CLIP vocabulary (49408 entries).
const (
	BOS        = 49406 // <|startoftext|>
	EOS        = 49407 // <|endoftext|>
	ContextLen = 77    // positions of the CLIP text transformer
	ChunkLen   = ContextLen - 2
	numMerges  = 49152 - 256 - 2 // merges CLIP uses: 48894
	startText  = "<|startoftext|>"
	endText    = "<|endoftext|>"
	wordSuffix = "</w>"
)

// Tokenizer is CLIP's byte-level BPE tokenizer. It is safe for concurrent
// use.
type Tokenizer struct {
	encoder  map[string]int // token → id
	decoder  []string       // id → token
	ranks    map[bpePair]int
	byteChar [256]string // bytes_to_unicode
	charByte map[rune]byte

	mu    sync.Mutex
	cache map[string][]int // pre-token → ids
}

type bpePair struct{ left, right string }

// LoadTokenizer loads a CLIP tokenizer from a directory holding Hugging
// Face's vocab.json and merges.txt, or, when those are absent, openai's
// bpe_simple_vocab_16e6.txt.gz.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	vocab, merges := filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt")
	if fileExists(vocab) && fileExists(merges) {
		return LoadTokenizerHF(vocab, merges)
	}
	gz := filepath.Join(dir, "bpe_simple_vocab_16e6.txt.gz")
	if fileExists(gz) {
		return LoadTokenizerFile(gz)
	}
	return nil, fmt.Errorf("clip tokenizer: %s holds neither vocab.json+merges.txt nor bpe_simple_vocab_16e6.txt.gz", dir)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// LoadTokenizerHF loads Hugging Face's vocab.json (token → id) and
// merges.txt ("#version" header, then one "left right" merge per line in
// rank order).
func LoadTokenizerHF(vocabPath, mergesPath string) (*Tokenizer, error) {
	vb, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("clip tokenizer: %w", err)
	}
	var vocab map[string]int
	if err := json.Unmarshal(vb, &vocab); err != nil {
		return nil, fmt.Errorf("clip tokenizer: %s: %w", vocabPath, err)
	}
	mb, err := os.ReadFile(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("clip tokenizer: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(mb)), "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], "#version") {
		lines = lines[1:]
	}
	merges, err := parseMerges(mergesPath, lines)
	if err != nil {
		return nil, err
	}
	return NewTokenizer(vocab, merges)
}

// LoadTokenizerFile loads openai's bpe_simple_vocab_16e6.txt.gz: a header
// line, then merges in rank order of which the first 48894 are used. The
// vocabulary is built as openai's SimpleTokenizer builds it: the 256
// bytes_to_unicode characters, the same with "</w>", each merge's
// concatenation in rank order, then <|startoftext|> and <|endoftext|>.
func LoadTokenizerFile(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clip tokenizer: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("clip tokenizer: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("clip tokenizer: %s: %w", path, err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 1+numMerges {
		return nil, fmt.Errorf("clip tokenizer: %s has %d lines, expected a header and at least %d merges", path, len(lines), numMerges)
	}
	merges, err := parseMerges(path, lines[1:1+numMerges])
	if err != nil {
		return nil, err
	}
	syms := byteSymbols()
	vocab := map[string]int{}
	add := func(s string) { vocab[s] = len(vocab) }
	for _, c := range syms {
		add(c)
	}
	for _, c := range syms {
		add(c + wordSuffix)
	}
	for _, m := range merges {
		add(m.left + m.right)
	}
	add(startText)
	add(endText)
	return NewTokenizer(vocab, merges)
}

func parseMerges(path string, lines []string) ([]bpePair, error) {
	merges := make([]bpePair, 0, len(lines))
	for i, l := range lines {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			continue
		}
		parts := strings.Fields(l)
		if len(parts) != 2 {
			return nil, fmt.Errorf("clip tokenizer: %s: merge %d is %q, expected two symbols", path, i, l)
		}
		merges = append(merges, bpePair{parts[0], parts[1]})
	}
	return merges, nil
}

// NewTokenizer builds a tokenizer from a token → id vocabulary and merges
// in rank order (rank = index). The vocabulary must contain every
// bytes_to_unicode character (alone and with "</w>"), <|startoftext|> and
// <|endoftext|>.
func NewTokenizer(vocab map[string]int, merges []bpePair) (*Tokenizer, error) {
	t := &Tokenizer{encoder: vocab, ranks: make(map[bpePair]int, len(merges)), cache: map[string][]int{}}
	t.byteChar, t.charByte = bytesToUnicode()
	for _, c := range t.byteChar {
		for _, s := range []string{c, c + wordSuffix} {
			if _, ok := vocab[s]; !ok {
				return nil, fmt.Errorf("clip tokenizer: vocabulary lacks the byte symbol %q", s)
			}
		}
	}
	for _, s := range []string{startText, endText} {
		if _, ok := vocab[s]; !ok {
			return nil, fmt.Errorf("clip tokenizer: vocabulary lacks %s", s)
		}
	}
	for i, m := range merges {
		if _, dup := t.ranks[m]; !dup {
			t.ranks[m] = i
		}
	}
	maxID := 0
	for _, id := range vocab {
		maxID = max(maxID, id)
	}
	t.decoder = make([]string, maxID+1)
	for s, id := range vocab {
		t.decoder[id] = s
	}
	return t, nil
}

// VocabSize returns the number of ids (49408 for CLIP).
func (t *Tokenizer) VocabSize() int { return len(t.decoder) }

// ID returns the id of a vocabulary token such as ",</w>", and whether it exists.
func (t *Tokenizer) ID(token string) (int, bool) { id, ok := t.encoder[token]; return id, ok }

// BOS returns the id of <|startoftext|>.
func (t *Tokenizer) BOS() int { return t.encoder[startText] }

// EOS returns the id of <|endoftext|>.
func (t *Tokenizer) EOS() int { return t.encoder[endText] }

// Encode returns the BPE ids of text, without BOS/EOS and untruncated.
func (t *Tokenizer) Encode(text string) []int {
	var ids []int
	for _, piece := range preTokenize(normalizeForCLIP(text)) {
		if piece == startText || piece == endText {
			ids = append(ids, t.encoder[piece])
			continue
		}
		ids = append(ids, t.encodePiece(piece)...)
	}
	return ids
}

// encodePiece maps one pre-token's UTF-8 bytes through bytes_to_unicode and
// runs BPE on it, caching the result.
func (t *Tokenizer) encodePiece(piece string) []int {
	t.mu.Lock()
	ids, ok := t.cache[piece]
	t.mu.Unlock()
	if ok {
		return ids
	}
	var sb strings.Builder
	for _, b := range []byte(piece) {
		sb.WriteString(t.byteChar[b])
	}
	for _, sym := range t.bpe(sb.String()) {
		id, ok := t.encoder[sym]
		if !ok { // cannot happen with a complete byte alphabet; HF maps to <|endoftext|>
			id = t.EOS()
		}
		ids = append(ids, id)
	}
	t.mu.Lock()
	t.cache[piece] = ids
	t.mu.Unlock()
	return ids
}

// Decode returns the text of ids (BPE symbols joined, "</w>" read as a
// space, bytes_to_unicode undone). Special tokens are written out.
func (t *Tokenizer) Decode(ids []int) string {
	var buf bytes.Buffer
	for _, id := range ids {
		if id < 0 || id >= len(t.decoder) {
			continue
		}
		s := t.decoder[id]
		if s == startText || s == endText {
			buf.WriteString(s)
			continue
		}
		end := strings.HasSuffix(s, wordSuffix)
		s = strings.TrimSuffix(s, wordSuffix)
		for _, r := range s {
			if b, ok := t.charByte[r]; ok {
				buf.WriteByte(b)
			}
		}
		if end {
			buf.WriteByte(' ')
		}
	}
	return strings.TrimSpace(buf.String())
}

// Window returns one model input of ContextLen ids: [BOS] + ids[:75] +
// [EOS], then pad until 77 ids. SD1 pads with EOS (49407); SDXL's OpenCLIP
// bigG encoder pads with 0.
func Window(ids []int, pad int) []int {
	w := make([]int, 0, ContextLen)
	w = append(w, BOS)
	w = append(w, ids[:min(len(ids), ChunkLen)]...)
	w = append(w, EOS)
	for len(w) < ContextLen {
		w = append(w, pad)
	}
	return w
}

// Window77 returns the SD1 model input for text: Window(Encode(text), EOS),
// exactly what HF CLIPTokenizer returns with padding="max_length",
// max_length=77, truncation=True.
func (t *Tokenizer) Window77(text string) []int { return Window(t.Encode(text), EOS) }
