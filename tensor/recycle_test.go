package tensor

import (
	"testing"
	"unsafe"
)

// first returns the address of a buffer's first element, to tell whether
// two tensors share storage.
func first(t *Tensor) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(t.Data))) }

func TestRecycle(t *testing.T) {
	FreeRecycled()
	defer FreeRecycled()
	const n = 4 * recycleMin

	a := New(n)
	for i := range a.Data {
		a.Data[i] = 7
	}
	addr := first(a)
	Recycle(a)
	if a.Data != nil {
		t.Fatal("Recycle left the tensor's Data set")
	}
	if got := RecycledBytes(); got != 4*n {
		t.Fatalf("RecycledBytes = %d after recycling %d floats, want %d", got, n, 4*n)
	}

	// New takes the recycled storage and clears it.
	b := New(2, n/2)
	if first(b) != addr {
		t.Fatal("New of the same size did not reuse the recycled storage")
	}
	for i, v := range b.Data {
		if v != 0 {
			t.Fatalf("New returned recycled storage not cleared: [%d] = %g", i, v)
		}
	}
	if len(b.Data) != n || RecycledBytes() != 0 {
		t.Fatalf("len %d, %d bytes still held", len(b.Data), RecycledBytes())
	}

	// Empty takes a buffer of capacity in [n, 2n) without clearing it.
	for i := range b.Data {
		b.Data[i] = 3
	}
	Recycle(b)
	c := Empty(n*2/3 + 1)
	if first(c) != addr || c.Data[0] != 3 || len(c.Data) != n*2/3+1 {
		t.Fatal("Empty of a slightly smaller size did not reuse the buffer as it was")
	}
	Recycle(c) // hands back the whole capacity
	if got := RecycledBytes(); got != 4*n {
		t.Fatalf("RecycledBytes = %d, want the full capacity %d", got, 4*n)
	}

	// Not for a request twice as small or larger than the buffer.
	if d := Empty(n / 2); first(d) == addr {
		t.Fatal("a buffer stood in for a request half its size")
	}
	if d := Empty(n + 1); first(d) == addr {
		t.Fatal("a buffer was handed out for a larger request")
	}

	// The smallest fitting buffer is taken.
	big := New(n + n/2)
	bigAddr := first(big)
	Recycle(big)
	if d := Empty(n); first(d) != addr {
		t.Fatal("Empty did not take the best-fitting buffer")
	}
	if d := Empty(n + 1); first(d) != bigAddr {
		t.Fatal("Empty did not take the remaining fitting buffer")
	}

	// Small tensors are left to the allocator; nil and recycled ones are skipped.
	Recycle(New(recycleMin-1), nil, a)
	if got := RecycledBytes(); got != 0 {
		t.Fatalf("RecycledBytes = %d after recycling a small, a nil and a recycled tensor", got)
	}

	Recycle(New(n))
	FreeRecycled()
	if RecycledBytes() != 0 {
		t.Fatal("FreeRecycled kept storage")
	}
}

// TestRecycleLimit: a recycler keeps at most its limit in bytes.
func TestRecycleLimit(t *testing.T) {
	const n = recycleMin
	r := recycler{limit: 3*4*n + 4*n/2} // three buffers fit, a fourth does not
	for range 4 {
		r.put(make([]float32, n))
	}
	if got, want := r.bytes(), int64(3*4*n); got != want {
		t.Fatalf("held %d bytes, want %d (limit %d)", got, want, r.limit)
	}
	if r.get(n) == nil || r.bytes() != 2*4*n {
		t.Fatal("get did not hand out a held buffer")
	}
}
