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
	vb, err := readLimited(vocabPath)
	if err != nil {
		return nil, err
	}
	mb, err := readLimited(mergesPath)
	if err != nil {
		return nil, err
	}
	return parseHF(vocabPath, vb, mergesPath, mb)
}

// parseHF builds a tokenizer from the bytes of vocab.json (vb) and
// merges.txt (mb); the paths only name the files in errors.
func parseHF(vocabPath string, vb []byte, mergesPath string, mb []byte) (*Tokenizer, error) {
	var vocab map[string]int
	if err := json.Unmarshal(vb, &vocab); err != nil {
		return nil, fmt.Errorf("clip tokenizer: %s: not a JSON object of token → id: %w", vocabPath, err)
	}
	lines := strings.Split(strings.TrimSpace(string(mb)), "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], "#version") {
		lines = lines[1:]
	}
	merges, err := parseMerges(mergesPath, lines)
	if err != nil {
		return nil, err
	}
	t, err := NewTokenizer(vocab, merges)
	if err != nil {
		return nil, fmt.Errorf("%w (files %s, %s)", err, vocabPath, mergesPath)
	}
	return t, nil
}

// maxTokenizerFile bounds the size of a tokenizer file (CLIP's vocab.json
// is 0.8 MiB, merges.txt 0.5 MiB, the unpacked openai file 1.3 MiB), so a
// wrong or hostile file is refused before it is read into memory.
const maxTokenizerFile = 64 << 20

// readLimited reads a tokenizer file of at most maxTokenizerFile bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clip tokenizer: %w", err)
	}
	defer f.Close()
	return readAllLimited(path, f)
}

// readAllLimited reads r (the file path) up to maxTokenizerFile bytes and
// fails when there is more.
func readAllLimited(path string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxTokenizerFile+1))
	if err != nil {
		return nil, fmt.Errorf("clip tokenizer: %s: %w", path, err)
	}
	if len(b) > maxTokenizerFile {
		return nil, fmt.Errorf("clip tokenizer: %s is larger than %d MiB: not a CLIP tokenizer file", path, maxTokenizerFile>>20)
	}
	return b, nil
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
	b, err := readAllLimited(path, r)
	if err != nil {
		return nil, err
	}
	return parseOpenAI(path, b)
}

// parseOpenAI builds a tokenizer from the unpacked bytes of openai's
// bpe_simple_vocab_16e6.txt (path only names the file in errors).
func parseOpenAI(path string, b []byte) (*Tokenizer, error) {
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
	t, err := NewTokenizer(vocab, merges)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return t, nil
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
// in rank order (rank = index). It validates before allocating anything
// sized by the data, and returns an error naming the first problem:
//
//   - the ids are exactly 0..len(vocab)-1, each once (CLIP's are 0..49407),
//     so the id → token table is as large as the vocabulary and no larger;
//   - the vocabulary holds every bytes_to_unicode character (alone and with
//     "</w>"), <|startoftext|> and <|endoftext|>;
//   - there is at least one merge, no merge is listed twice, and both
//     symbols of a merge and their concatenation are vocabulary tokens (BPE
//     only ever produces vocabulary tokens; a tokenizer without merges would
//     split every prompt into single characters).
func NewTokenizer(vocab map[string]int, merges []bpePair) (*Tokenizer, error) {
	if len(vocab) == 0 {
		return nil, fmt.Errorf("clip tokenizer: empty vocabulary")
	}
	seen := make([]bool, len(vocab))
	for s, id := range vocab {
		switch {
		case id < 0 || id >= len(vocab):
			return nil, fmt.Errorf("clip tokenizer: vocabulary id %d of %q is outside 0..%d (the ids of %d tokens must be 0..%d)", id, s, len(vocab)-1, len(vocab), len(vocab)-1)
		case seen[id]:
			return nil, fmt.Errorf("clip tokenizer: vocabulary id %d is given to more than one token (one is %q)", id, s)
		}
		seen[id] = true
	}
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
	if len(merges) == 0 {
		return nil, fmt.Errorf("clip tokenizer: no merges (merges.txt is empty): every word would be split into single characters")
	}
	for i, m := range merges {
		for _, s := range []string{m.left, m.right, m.left + m.right} {
			if _, ok := vocab[s]; !ok {
				return nil, fmt.Errorf("clip tokenizer: merge %d (%q %q) uses %q, which is not in the vocabulary", i+1, m.left, m.right, s)
			}
		}
		if r, dup := t.ranks[m]; dup {
			return nil, fmt.Errorf("clip tokenizer: merge %d (%q %q) repeats merge %d", i+1, m.left, m.right, r+1)
		}
		t.ranks[m] = i
	}
	t.decoder = make([]string, len(vocab))
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
