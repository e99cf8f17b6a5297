package fluxnet

import (
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// BenchmarkForward512 runs the real Flux.1 widths (hidden 3072, 24 heads
// of 128, MLP 12288, context 4096) over the tokens of a 512×512 schnell
// image (1024 image + 256 text), with one double and two single blocks
// instead of 19 and 38 (the per-block work is the same; profile with
// -cpuprofile to see the per-op shares), with weights stored as fp8 e4m3
// (benchDType), the dtype of the files most people run. Reports GFLOP/s
// from Config.FLOPs.
func BenchmarkForward512(b *testing.B) {
	cfg := SchnellConfig()
	cfg.Depth, cfg.DepthSingleBlocks = 1, 2
	m, err := NewRandom(cfg, benchDType, 1)
	if err != nil {
		b.Fatal(err)
	}
	const n, l = 1024, 256
	img := tensor.New(1, n, cfg.InChannels)
	txt := tensor.New(1, l, cfg.ContextInDim)
	for i := range img.Data {
		img.Data[i] = float32(i%7) - 3
	}
	for i := range txt.Data {
		txt.Data[i] = float32(i%5) - 2
	}
	y := tensor.New(1, cfg.VecInDim)
	ids := ImageIDs(64, 64)
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Forward(img, ids, txt, TextIDs(l), y, []float32{0.5}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(cfg.FLOPs(n, l)/1e9*float64(b.N)/b.Elapsed().Seconds(), "GFLOP/s")
}

// benchDType is the stored dtype of BenchmarkForward512's weights.
var benchDType = tensor.F8E4M3
