package safetensors_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/godiffusion/godiffusion/safetensors"
)

// Write a small checkpoint and read it back.
func Example() {
	dir, _ := os.MkdirTemp("", "st")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.safetensors")

	err := safetensors.WriteFile(path, []safetensors.Tensor{
		safetensors.NewF32Tensor("proj.weight", []int{2, 2}, []float32{1, 2, 3, 4}),
		safetensors.NewI64Tensor("position_ids", []int{1, 3}, []int64{0, 1, 2}),
	}, map[string]string{"format": "pt"})
	if err != nil {
		fmt.Println(err)
		return
	}

	f, err := safetensors.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	w, shape, _ := f.Float32("proj.weight")
	ids, _, _ := f.Int64("position_ids")
	fmt.Println(f.Names(), f.Metadata["format"])
	fmt.Println(shape, w, ids)
	_, _, err = f.Float32("missing")
	fmt.Println(err != nil)
	// Output:
	// [position_ids proj.weight] pt
	// [2 2] [1 2 3 4] [0 1 2]
	// true
}
