package sd1

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/tensor"
)

// sd1DriftLimit bounds how far a bf16 image may be from the fp32 image of
// the same golden run of the tiny SD1 fixture. Measured over all the
// fixture's 34 txt2img runs (BENCHMARKS.md, "bf16 accuracy"; attention's
// products in bf16 too): largest channel difference 13, largest mean
// difference 1.540, smallest PSNR 41.2 dB. The limits are those figures with a margin of 2x on the
// differences and 3 dB on the PSNR (room for the fp32 parts, which differ
// slightly between CPU levels), so that a change of the bf16 rounding or
// accumulation that moves the images further fails.
var sd1DriftLimit = golden.DriftLimit{Max: 26, Mean: 3.1, MinPSNR: 38.2}

// TestBF16Drift generates every ComfyUI-convention golden sampling run of
// the tiny SD1 fixture (34 txt2img runs, core and shared, the replacement CLIP-L included; under -short
// the end-to-end set) in fp32 and in bf16 and bounds the bf16 image's
// distance from the fp32 one (sd1DriftLimit). The precision is set for
// this test only and restored.
func TestBF16Drift(t *testing.T) {
	tok := golden.Tokenizer(t, "clip")
	runs := goldenRuns(t)
	alt := golden.Core(t, "sd1/clip_l_alt.safetensors")
	names := endToEndRuns
	if !testing.Short() {
		names = nil
		for name, r := range runs {
			// The diffusers-convention runs use samplers gen does not
			// have; img2img runs need their init image.
			if r.Convention == "comfyui" && (r.Denoise == 0 || r.Denoise == 1) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
	}
	pipes := map[bool]*pipeline.Pipeline{}
	var sum golden.DriftSummary
	for _, name := range names {
		r := runs[name]
		withAlt := r.ClipL != ""
		if pipes[withAlt] == nil {
			clipL := ""
			if withAlt {
				clipL = filepath.Join(filepath.Dir(alt), r.ClipL)
			}
			pipes[withAlt] = loadTiny(t, "single", tok, clipL)
		}
		var img [2][]uint8
		for i, p := range []tensor.Precision{tensor.PrecisionFP32, tensor.PrecisionBF16} {
			golden.WithPrecision(p, func() {
				res, err := pipes[withAlt].Generate(requestFor(r))
				if err != nil {
					t.Fatal(err)
				}
				img[i] = res.RGB
			})
		}
		sum.Add(golden.CheckDrift(t, name, img[1], img[0], sd1DriftLimit))
	}
	t.Logf("SD1 bf16 vs fp32: %v", sum)
	if tensor.DefaultPrecision() != tensor.PrecisionFP32 {
		t.Fatal("the test leaked its precision")
	}
}
