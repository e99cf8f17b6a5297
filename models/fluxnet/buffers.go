package fluxnet

import (
	"sync"

	"github.com/godiffusion/godiffusion/tensor"
)

// buffers hands out the activation tensors of the blocks from one slab,
// bump-allocated and reset between blocks: a block's intermediate values
// die with the block (it writes its result into the residual streams,
// which are not from here), and every double block asks for the same
// shapes, as does every single block. After a block that needed more
// than the slab held, reset replaces it by one of the high-water size, and
// the Model keeps the slab from one Forward to the next, so a sampling run
// allocates its activations in its first step and the slab is the size
// of the hungriest block: at the real sizes a double block's qkv, q, k, v
// and attention (7 rows of [all tokens, hidden]) with the image stream's
// projection, normalised input and MLP state (6 rows of [image tokens,
// hidden]), 186 MB at 512×512; a single block needs 11 rows of [all
// tokens, hidden] (fused linear1 output, normalised input, q, k, v).
//
// Without it a 512×512 schnell step allocated ~7 GB of short-lived
// activations; the Go runtime handed the freed pages back to the
// operating system and page-faulted them in again for the next block:
// ~10% of the CPU time, in the kernel (gen bench: 88.0 → 75.7 s/step).
//
// A tensor from get holds whatever its last user left in it: every caller
// here overwrites all of it.
//
// Each tensor gets the next range [top, top+n) of the slab; a range that
// runs past the slab's end is allocated on its own instead (the slab
// being too small so far), but still advances top, so that top is what
// the block would need and live tensors never share slab memory.
type buffers struct {
	slab []float32
	top  int // elements handed out (from the slab or not) since the last reset
	high int // the largest top since the slab was last sized
}

// get returns a tensor of the given shape, valid until the next reset.
func (p *buffers) get(shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	var data []float32
	if p.top+n <= len(p.slab) {
		data = p.slab[p.top : p.top+n : p.top+n]
	} else {
		data = make([]float32, n)
	}
	p.top += n
	p.high = max(p.high, p.top)
	return &tensor.Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// mark and release free in stack order within a block: release(mark())
// hands back every tensor got since the mark (they must be dead).
func (p *buffers) mark() int     { return p.top }
func (p *buffers) release(m int) { p.top = m }

// reset ends a block: every tensor from get is dead. When the block
// needed more than the slab, the slab grows to the high-water mark.
func (p *buffers) reset() {
	if p.high > len(p.slab) {
		p.slab = make([]float32, p.high)
	}
	p.top = 0
}

// bufferCache holds one Model's buffers between Forward calls. Concurrent
// Forwards on one Model are allowed: each takes the cached slab or, when
// another call holds it, starts its own.
type bufferCache struct {
	mu    sync.Mutex
	spare *buffers
}

// take returns the cached buffers (or new ones) for one Forward.
func (c *bufferCache) take() *buffers {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.spare
	c.spare = nil
	if p == nil {
		p = &buffers{}
	}
	return p
}

// keep caches p, its slab the size this Forward needed, for the next.
func (c *bufferCache) keep(p *buffers) {
	if p.high < len(p.slab) {
		p.slab = nil // this Forward needed less: keep a slab of its size
	}
	p.reset()
	p.high = 0
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spare = p
}

// drop forgets the cached buffers (Close: the memory goes with the model).
func (c *bufferCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spare = nil
}
