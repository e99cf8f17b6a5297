package safetensors

import (
	"path/filepath"
	"testing"
)

// Evict hands pages back but never changes what a tensor reads: after it,
// the bytes are read again from the file, equal to what was written.
func TestEvictKeepsData(t *testing.T) {
	n := 1 << 16
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%251) - 125
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := WriteFile(path, []Tensor{NewF32Tensor("w", []int{n}, v)}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tn, err := f.Tensor("w")
	if err != nil {
		t.Fatal(err)
	}
	f.Evict(tn.Data)
	f.Evict(tn.Data[:3]) // smaller than a page: nothing to do
	got, _, err := f.Float32("w")
	if err != nil {
		t.Fatal(err)
	}
	for i := range v {
		if got[i] != v[i] {
			t.Fatalf("value %d = %g after Evict, want %g", i, got[i], v[i])
		}
	}
	// A parsed (not mapped) file is left alone.
	(&File{}).Evict(tn.Data)
}
