package sdxl

import (
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/tensor"
)

// sdxlDriftLimit bounds how far a bf16 image may be from the fp32 image
// of the same golden run of the tiny SDXL fixture. Measured over all the
// fixture's 25 ComfyUI runs (BENCHMARKS.md, "bf16 accuracy"): largest
// channel difference 15, largest mean difference 1.652, smallest PSNR
// 40.4 dB (attention's products in bf16 too). The limits
// are those figures with a margin of 2x on the differences and 3 dB on
// the PSNR, as for SD1.
var sdxlDriftLimit = golden.DriftLimit{Max: 30, Mean: 3.3, MinPSNR: 37.4}

// TestBF16Drift generates every ComfyUI golden run of the tiny SDXL
// fixture (under -short the short set) in fp32 and in bf16 and bounds the
// bf16 image's distance from the fp32 one (sdxlDriftLimit). The precision
// is set for this test only and restored.
func TestBF16Drift(t *testing.T) {
	p := loadTiny(t, "single")
	var sum golden.DriftSummary
	for _, r := range comfyRuns(t) {
		if testing.Short() && !shortRuns["single"][r.Name] {
			continue
		}
		var img [2][]uint8
		for i, prec := range []tensor.Precision{tensor.PrecisionFP32, tensor.PrecisionBF16} {
			golden.WithPrecision(prec, func() {
				res, err := p.Generate(requestFor(t, r))
				if err != nil {
					t.Fatal(err)
				}
				img[i] = res.RGB
			})
		}
		sum.Add(golden.CheckDrift(t, r.Name, img[1], img[0], sdxlDriftLimit))
	}
	t.Logf("SDXL bf16 vs fp32: %v", sum)
	if tensor.DefaultPrecision() != tensor.PrecisionFP32 {
		t.Fatal("the test leaked its precision")
	}
}
