package nn

import (
	"fmt"

	"github.com/godiffusion/godiffusion/tensor"
)

// Embedding is a lookup table, torch.nn.Embedding: row i of W [num, dim] is
// the vector for id i.
type Embedding struct {
	W *tensor.Weight
}

// LoadEmbedding loads prefix+"weight" ([num, dim]). On error it records it
// in p and returns nil.
func LoadEmbedding(p *Params, prefix string, num, dim int) *Embedding {
	w := p.Weight(prefix+"weight", num, dim)
	if w == nil {
		return nil
	}
	return &Embedding{W: w}
}

// Forward returns the rows of W for ids, as [len(ids), dim]. An id outside
// [0, num) is a caller bug (tokenizers only produce valid ids) and panics.
func (e *Embedding) Forward(ids []int) *tensor.Tensor {
	num, dim := e.W.Shape[0], e.W.Shape[1]
	out := tensor.New(len(ids), dim)
	for i, id := range ids {
		if id < 0 || id >= num {
			panic(fmt.Sprintf("nn.Embedding: id %d at position %d outside the table of %d rows", id, i, num))
		}
		e.W.Decode(out.Data[i*dim:(i+1)*dim], id*dim)
	}
	return out
}
