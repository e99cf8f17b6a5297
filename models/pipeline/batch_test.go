package pipeline_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/sd1"
	"github.com/godiffusion/godiffusion/sampling"
)

// loadTinySD1 loads the tiny random-weight SD1 fixture with its tokenizer.
func loadTinySD1(t *testing.T) *pipeline.Pipeline {
	t.Helper()
	p, err := sd1.Load(golden.Core(t, "sd1/tiny-sd1.safetensors"), pipeline.Options{
		TokenizerDir: golden.Tokenizer(t, "clip"), NormGroups: 4, TextHeads: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestGenerateBatchBitIdentical runs requests that differ in CFG scale,
// negative prompt (one long enough for a second 77-token chunk, so its
// context has another length), guidance rule and sampler-independent
// settings as one batch, and checks every final latent and pixel is
// bit-identical to the same request run alone.
func TestGenerateBatchBitIdentical(t *testing.T) {
	p := loadTinySD1(t)
	base := pipeline.Request{Prompt: "a photo of an astronaut riding a horse on mars", Seed: 42, Steps: 4,
		Sampler: "euler_ancestral", Scheduler: "karras", Width: 64, Height: 48, CFG: 7}
	long := strings.Repeat("blurry, low quality, watermark, ", 20)
	var reqs []pipeline.Request
	for _, mod := range []func(r *pipeline.Request){
		func(r *pipeline.Request) {},
		func(r *pipeline.Request) { r.CFG = 1 },
		func(r *pipeline.Request) { r.CFG = 3; r.Negative = "lowres, bad anatomy" },
		func(r *pipeline.Request) { r.Negative = long },
		func(r *pipeline.Request) {
			r.CFGOptions = sampling.GuidanceOptions{Rule: "apg", APGEta: 1, APGMomentum: 0.5, APGNormThreshold: 5, Schedule: "constant", ScaleEnd: 7}
		},
		func(r *pipeline.Request) {
			r.CFGOptions = sampling.GuidanceOptions{Rule: "perpneg", PerpNegScale: 1, Schedule: "constant", ScaleEnd: 7}
			r.Negative = "lowres"
		},
	} {
		r := base
		mod(&r)
		reqs = append(reqs, r)
	}
	batch, err := p.GenerateBatch(slices.Clone(reqs))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		alone, err := p.Generate(r)
		if err != nil {
			t.Fatal(err)
		}
		got, want := batch[i], alone
		if got.ModelCalls != want.ModelCalls || got.ModelPasses != want.ModelPasses {
			t.Errorf("request %d: %d calls / %d passes in the batch, %d / %d alone", i, got.ModelCalls, got.ModelPasses, want.ModelCalls, want.ModelPasses)
		}
		for j, v := range want.Latent.Data {
			if math.Float32bits(v) != math.Float32bits(got.Latent.Data[j]) {
				t.Errorf("request %d: latent[%d] = %g in the batch, %g alone", i, j, got.Latent.Data[j], v)
				break
			}
		}
		if !slices.Equal(got.RGB, want.RGB) {
			t.Errorf("request %d: pixels differ from the lone run", i)
		}
	}
}

func TestGenerateBatchRefusesMixedSchedules(t *testing.T) {
	p := loadTinySD1(t)
	a := pipeline.Request{Prompt: "a cat", Seed: 1, Steps: 2, Sampler: "euler", Scheduler: "normal", Width: 32, Height: 32, CFG: 5}
	for name, mod := range map[string]func(r *pipeline.Request){
		"steps":   func(r *pipeline.Request) { r.Steps = 3 },
		"sampler": func(r *pipeline.Request) { r.Sampler = "heun" },
		"size":    func(r *pipeline.Request) { r.Width = 40 },
		"sched":   func(r *pipeline.Request) { r.Scheduler = "karras" },
	} {
		b := a
		mod(&b)
		if _, err := p.GenerateBatch([]pipeline.Request{a, b}); err == nil || !strings.Contains(err.Error(), "another batch") {
			t.Errorf("%s: err = %v, want a request for another batch", name, err)
		}
	}
	if _, err := p.GenerateBatch(nil); err == nil {
		t.Error("an empty batch was accepted")
	}
}
