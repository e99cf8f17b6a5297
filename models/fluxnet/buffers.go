package fluxnet

import (
	"github.com/godiffusion/godiffusion/tensor"
)

// buffers hands out the activation tensors of the blocks and recycles
// them (tensor.Recycle) when they die: a block's intermediate values die
// with the block (it writes its result into the residual streams, which
// are not from here), and every double block asks for the same shapes, as
// does every single block, so from the second block on every tensor is
// the storage of one the block before gave back (tensor.Empty), and from
// the second step on no block allocates at all. The hungriest block holds
// a double block's qkv, q, k, v and attention (7 rows of [all tokens,
// hidden]) with the image stream's projection, normalised input and MLP
// state (6 rows of [image tokens, hidden]), 186 MB at 512×512; a single
// block 11 rows of [all tokens, hidden] (fused linear1 output, normalised
// input, q, k, v).
//
// Without reuse a 512×512 schnell step allocated ~7 GB of short-lived
// activations; the Go runtime handed the freed pages back to the
// operating system and page-faulted them in again for the next block:
// ~10% of the CPU time, in the kernel (gen bench: 88.0 → 75.7 s/step).
//
// A tensor from get holds whatever its last user left in it: every caller
// here overwrites all of it.
type buffers struct {
	live []*tensor.Tensor // handed out since the last reset, in order
}

// get returns a tensor of the given shape, valid until the next reset
// (or the release of a mark taken before it).
func (p *buffers) get(shape ...int) *tensor.Tensor {
	t := tensor.Empty(shape...)
	p.live = append(p.live, t)
	return t
}

// mark and release free in stack order within a block: release(mark())
// recycles every tensor got since the mark (they must be dead).
func (p *buffers) mark() int { return len(p.live) }
func (p *buffers) release(m int) {
	tensor.Recycle(p.live[m:]...)
	clear(p.live[m:])
	p.live = p.live[:m]
}

// reset ends a block: every tensor from get is dead.
func (p *buffers) reset() { p.release(0) }
