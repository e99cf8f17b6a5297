package clip

// SplitMode says how a weighted prompt longer than 75 tokens is cut into
// 75-token chunks.
type SplitMode int

const (
	// SplitA1111 cuts as AUTOMATIC1111 does (comma_padding_backtrack = 20):
	// when a chunk is full and the next token is not a comma, and the
	// chunk's last comma is among its last 20 tokens, the tokens after
	// that comma move to the next chunk (the full chunk is padded).
	SplitA1111 SplitMode = iota
	// SplitPlain cuts every 75 tokens wherever that falls.
	SplitPlain
)

// commaBacktrack is A1111's default comma_padding_backtrack.
const commaBacktrack = 20

// Chunk is one model input of a weighted prompt: ContextLen ids
// ([BOS] + up to 75 tokens + [EOS], padded) and each position's weight
// (1 for BOS, EOS and padding).
type Chunk struct {
	IDs     []int
	Weights []float32
}

// Chunks tokenises each fragment on its own (as A1111 does) and packs the
// tokens into chunks of 75, then wraps each as a ContextLen window padded
// with pad (EOS for SD1 and CLIP-L, 0 for OpenCLIP bigG: everything after
// the first EOS becomes pad). A Break fragment closes the current chunk.
// There is always at least one chunk (the empty prompt gives BOS, EOS,
// padding).
func (t *Tokenizer) Chunks(frags []Fragment, mode SplitMode, pad int) []Chunk {
	comma, _ := t.ID(",</w>")
	var chunks []Chunk
	var ids []int
	var ws []float32
	lastComma := -1
	next := func() {
		c := Chunk{IDs: Window(ids, pad), Weights: make([]float32, ContextLen)}
		for i := range c.Weights {
			c.Weights[i] = 1
		}
		copy(c.Weights[1:], ws)
		chunks = append(chunks, c)
		ids, ws, lastComma = nil, nil, -1
	}
	for _, f := range frags {
		if f.Break {
			next()
			continue
		}
		for _, id := range t.Encode(f.Text) {
			if id == comma {
				lastComma = len(ids)
			} else if mode == SplitA1111 && len(ids) == ChunkLen && lastComma != -1 && len(ids)-lastComma <= commaBacktrack {
				cut := lastComma + 1
				movedIDs := append([]int(nil), ids[cut:]...)
				movedWs := append([]float32(nil), ws[cut:]...)
				ids, ws = ids[:cut], ws[:cut]
				next()
				ids, ws = movedIDs, movedWs
			}
			if len(ids) == ChunkLen {
				next()
			}
			ids = append(ids, id)
			ws = append(ws, float32(f.Weight))
		}
	}
	if len(ids) > 0 || len(chunks) == 0 {
		next()
	}
	return chunks
}
