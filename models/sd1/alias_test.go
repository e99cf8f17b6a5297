package sd1

import (
	"runtime"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/pipeline"
)

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSingleFileWeightsAliasMapping: loading an f16 single-file
// checkpoint keeps the f16 weights in the memory-mapped file; only biases
// and norm scales (decoded to float32) and the network's structure go to
// the heap. A loader that copied or converted the weights would add at
// least their stored size to the heap.
func TestSingleFileWeightsAliasMapping(t *testing.T) {
	path := golden.Core(t, "sd1/tiny-sd1-fp16.safetensors")
	before := heapInUse()
	p, err := Load(path, pipeline.Options{NormGroups: 4, TextHeads: 4, SkipTextEncoder: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	grown := int64(heapInUse()) - int64(before)
	stored := unetOf(p).WeightBytes()
	t.Logf("UNet weights held: %d bytes (%d params); heap grew by %d bytes", stored, unetOf(p).NumParams(), grown)
	if 2*stored < 3*unetOf(p).NumParams() {
		t.Skipf("fixture holds %d bytes for %d params: not an f16 file", stored, unetOf(p).NumParams())
	}
	if grown >= stored {
		t.Errorf("heap grew by %d bytes while loading %d bytes of weights: the weights were copied out of the mapping", grown, stored)
	}
	runtime.KeepAlive(p)
}
