package tensor

import (
	"sync"
	"unsafe"
)

// The recycler keeps the storage of dead activations for the next tensor
// of (about) the same size.
//
// Why: a denoising network allocates the same activation sizes at every
// step (an SD 1.5 UNet pass at 512×512, batch 2: ~3 GB), and gen runs the collector with GOGC=10 so that the resident
// set stays near the weights. The collector then frees the activations
// many times per pass, the runtime's scavenger hands the freed pages back
// to the operating system, and the next step page-faults and zeroes them
// again: 10–15% of a warm bf16 UNet pass, in the kernel and in memclr. A network
// that knows when an activation dies calls Recycle; New and Empty take
// storage from here first, so from the second step on a pass allocates
// (almost) nothing.
//
// Recycle is a promise by the caller that nothing reads or writes t's
// storage afterwards (a Reshape shares it: a reshaped view dies with its
// tensor). The recycled tensor's Data is set to nil, so a use of the
// tensor itself afterwards fails loudly instead of reading another
// tensor's values.
//
// A request for n floats takes the smallest free buffer with capacity in
// [n, 2n), so one buffer never stands in for a much smaller one. The
// recycler holds at most recycleLimit bytes (a larger surplus goes to the
// collector as before); FreeRecycled drops everything, which a pipeline
// calls between stages whose sizes differ (sampling, decoding).
type recycler struct {
	mu    sync.Mutex
	free  [][]float32 // full-capacity buffers, in no order
	held  int         // floats in free
	limit int64       // most bytes held
}

// recycleLimit bounds the bytes the recycler keeps (8 GiB: more than the
// largest per-pass activation set of the networks here, an SDXL UNet
// pass at 1024×1024, so that the limit only stops runaway growth).
const recycleLimit int64 = 8 << 30

// recycleMin is the smallest buffer worth keeping (floats): below it
// the allocator's own size classes do as well.
const recycleMin = 16 << 10

var pool = recycler{limit: recycleLimit}

// get returns a buffer of length n from the free list, or nil.
func (r *recycler) get(n int) []float32 {
	if n < recycleMin {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	best := -1
	for i, b := range r.free {
		if c := cap(b); c >= n && c < 2*n && (best < 0 || c < cap(r.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b := r.free[best]
	last := len(r.free) - 1
	r.free[best] = r.free[last]
	r.free[last] = nil
	r.free = r.free[:last]
	r.held -= cap(b)
	return b[:n]
}

// put adds b's storage to the free list (if it fits under the limit).
func (r *recycler) put(b []float32) {
	c := cap(b)
	if c < recycleMin {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if int64(r.held+c)*int64(unsafe.Sizeof(float32(0))) > r.limit {
		return
	}
	r.free = append(r.free, b[:c])
	r.held += c
}

// drop forgets every free buffer (the collector takes them).
func (r *recycler) drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.free)
	r.free = r.free[:0]
	r.held = 0
}

// bytes returns the bytes held.
func (r *recycler) bytes() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int64(r.held) * int64(unsafe.Sizeof(float32(0)))
}

// Recycle hands the storage of tensors that are dead (nothing will read or
// write them again, nor any Reshape of them) to the next New or Empty of
// about their size, and sets their Data to nil. Nil tensors are skipped.
// Recycling is an optimisation: a tensor not recycled is simply collected.
func Recycle(ts ...*Tensor) {
	for _, t := range ts {
		if t == nil || t.Data == nil {
			continue
		}
		pool.put(t.Data)
		t.Data = nil
	}
}

// Replace recycles prev and returns next, for a chain of activations each
// computed from the one before, h = tensor.Replace(h, layer(h)): prev's
// storage goes to the next tensor of its size once next exists.
func Replace(prev, next *Tensor) *Tensor {
	Recycle(prev)
	return next
}

// FreeRecycled drops the storage Recycle kept, for the collector to
// take: a pipeline calls it when a stage ends whose activation sizes the
// next stage does not share.
func FreeRecycled() { pool.drop() }

// RecycledBytes returns the bytes of storage Recycle keeps now.
func RecycledBytes() int64 { return pool.bytes() }

// Empty returns a tensor of the given shape whose values are undefined
// (recycled storage is not cleared): for a result the caller overwrites
// entirely.
func Empty(shape ...int) *Tensor {
	n := numel(shape)
	data := pool.get(n)
	if data == nil {
		data = make([]float32, n)
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// emptyLike returns an Empty tensor of x's shape.
func emptyLike(x *Tensor) *Tensor { return Empty(x.Shape...) }
