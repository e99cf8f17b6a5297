package fluxfiles

import (
	"path/filepath"
	"testing"

	"github.com/godiffusion/godiffusion/models/fluxnet"
	"github.com/godiffusion/godiffusion/models/t5"
	"github.com/godiffusion/godiffusion/safetensors"
)

// The files load with the real loaders, which infer the configuration
// from the shapes: small configurations of the same layouts, in fp8 and
// bf16.
func TestFilesLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := fluxnet.DevConfig()
	cfg.HiddenSize, cfg.NumHeads, cfg.Depth, cfg.DepthSingleBlocks, cfg.ContextInDim, cfg.VecInDim = 64, 2, 2, 3, 48, 24
	cfg.AxesDim = []int{4, 14, 14}
	for _, dt := range []safetensors.DType{safetensors.F8E4M3, safetensors.BF16} {
		for _, guidance := range []bool{true, false} {
			c := cfg
			c.GuidanceEmbed = guidance
			path := filepath.Join(dir, string(dt)+".safetensors")
			if err := Write(path, Transformer(c), dt, 1); err != nil {
				t.Fatal(err)
			}
			m, err := fluxnet.Load(path)
			if err != nil {
				t.Fatalf("%s: %v", dt, err)
			}
			got := m.Config
			if got.HiddenSize != 64 || got.NumHeads != 2 || got.Depth != 2 || got.DepthSingleBlocks != 3 || got.GuidanceEmbed != guidance ||
				got.ContextInDim != 48 || got.VecInDim != 24 || got.MLPRatio != 4 {
				t.Errorf("%s: loaded config %+v, wrote %+v", dt, got, c)
			}
			if got.NumParams() != c.NumParams() {
				t.Errorf("%s: %d params loaded, %d written", dt, got.NumParams(), c.NumParams())
			}
			m.Close()
		}
	}
	tc := t5.Config{Vocab: 100, DModel: 32, Heads: 4, DKV: 8, DFF: 48, Layers: 2, Buckets: 32, MaxDistance: 128, Eps: 1e-6}
	path := filepath.Join(dir, "t5.safetensors")
	if err := Write(path, T5(tc), safetensors.F8E4M3, 2); err != nil {
		t.Fatal(err)
	}
	e, err := t5.Open(path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Config.DModel != 32 || e.Config.Heads != 4 || e.Config.DFF != 48 || len(e.Blocks) != 2 {
		t.Errorf("T5 loaded as %+v, wrote %+v", e.Config, tc)
	}
	if _, err := e.Forward([]int{5, 1, 0}); err != nil {
		t.Error(err)
	}
}
