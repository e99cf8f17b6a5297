package bf16drift

import (
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/flux"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/tensor"
)

// fluxDriftLimit bounds how far a bf16 image may be from the fp32 image
// of the same prompt run of the tiny Flux fixtures. Measured over the 4
// prompt runs (BENCHMARKS.md, "bf16 accuracy"): largest channel
// difference 3, largest mean difference 0.365, smallest PSNR 52.1 dB; the limits
// are those figures with a margin of 2x on the differences and 3 dB on
// the PSNR, as for SD1 and SDXL.
var fluxDriftLimit = golden.DriftLimit{Max: 6, Mean: 0.73, MinPSNR: 49.1}

// fluxRun is what a prompt run's entry in flux/meta.json says about its
// request (see models/flux's TestPromptRuns).
type fluxRun struct {
	golden.Run
	Conditioning string   `json:"conditioning"`
	Model        string   `json:"model"`
	Negative     *string  `json:"negative_prompt"`
	Guidance     *float64 `json:"guidance"`
	TrueCFG      float64  `json:"true_cfg"`
}

// TestFluxBF16Drift generates every prompt-driven Flux run (dev, dev with
// a long prompt, schnell, dev with true CFG; under -short schnell only) in
// fp32 and in bf16 through flux.Load and the shared pipeline, and bounds
// the bf16 image's distance from the fp32 one (fluxDriftLimit). The precision is set for this test
// only and restored.
func TestFluxBF16Drift(t *testing.T) {
	var meta struct{ Runs []fluxRun }
	golden.ReadJSON(t, golden.Shared(t, "flux/meta.json"), &meta)
	opts := pipeline.Options{
		VAE:          golden.Shared(t, "flux/ae-tiny.safetensors"),
		ClipL:        golden.Shared(t, "sd1/model/text_encoder/model.safetensors"),
		TextHeads:    4,
		T5XXL:        golden.Shared(t, "t5/t5-tiny.safetensors"),
		T5Tokenizer:  golden.Shared(t, "t5/spiece.model"),
		TokenizerDir: golden.Tokenizer(t, "clip"),
	}
	var sum golden.DriftSummary
	for _, r := range meta.Runs {
		if r.Conditioning != "prompt" || testing.Short() && r.Model != "schnell" {
			continue
		}
		p, err := flux.Load(golden.Shared(t, "flux/flux1-"+r.Model+"-tiny.safetensors"), opts)
		if err != nil {
			t.Fatal(err)
		}
		req := pipeline.Request{Prompt: r.Prompt, Seed: r.Seed, Steps: r.Steps, CFG: r.TrueCFG, Sampler: "euler",
			Width: r.Width, Height: r.Height}
		if r.Negative != nil {
			req.Negative = *r.Negative
		}
		if r.Guidance != nil {
			req.Guidance = *r.Guidance
		}
		var img [2][]uint8
		for i, prec := range []tensor.Precision{tensor.PrecisionFP32, tensor.PrecisionBF16} {
			golden.WithPrecision(prec, func() {
				res, err := p.Generate(req)
				if err != nil {
					t.Fatal(err)
				}
				img[i] = res.RGB
			})
		}
		p.Close()
		sum.Add(golden.CheckDrift(t, r.Name, img[1], img[0], fluxDriftLimit))
	}
	if sum.Runs == 0 {
		t.Fatal("flux/meta.json has no prompt runs")
	}
	t.Logf("Flux bf16 vs fp32: %v", sum)
	if tensor.DefaultPrecision() != tensor.PrecisionFP32 {
		t.Fatal("the test leaked its precision")
	}
}
