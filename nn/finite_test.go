package nn

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/safetensors"
)

// TestParamsRejectNonFinite (#14 item 3): a NaN or Inf in a stored weight
// is an error at load naming the file and tensor, for each float dtype.
func TestParamsRejectNonFinite(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		dir := t.TempDir()
		path := filepath.Join(dir, "w.safetensors")
		vals := []float32{1, 2, bad, 4}
		if err := safetensors.WriteFile(path, []safetensors.Tensor{
			safetensors.NewF32Tensor("good.weight", []int{2}, vals[:2]),
			safetensors.NewF32Tensor("bad.weight", []int{4}, vals),
			safetensors.NewF16Tensor("bad16.weight", []int{4}, vals),
		}, nil); err != nil {
			t.Fatal(err)
		}
		p, err := OpenParams(path)
		if err != nil {
			t.Fatal(err)
		}
		if p.Weight("good.weight", 2) == nil {
			t.Fatalf("good tensor: %v", p.Err())
		}
		for _, key := range []string{"bad.weight", "bad16.weight"} {
			q, _ := OpenParams(path)
			if w := q.Weight(key, 4); w != nil || q.Err() == nil || !strings.Contains(q.Err().Error(), key) || !strings.Contains(q.Err().Error(), "NaN or infinity") {
				t.Errorf("%s with %v: err %v, want a NaN error naming it", key, bad, q.Err())
			}
			q.Close()
		}
		p.Close()
	}
}
