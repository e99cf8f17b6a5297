package sd1

import (
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// TestZeroNegative: Request.ZeroNegative samples exactly as passing the
// prompt's context with an all-zero negative context (ConditioningZeroOut).
func TestZeroNegative(t *testing.T) {
	p := loadTiny(t, "single", golden.Tokenizer(t, "clip"), "")
	req := pipeline.Request{Prompt: "a cat", Negative: "ignored", Seed: 3, Steps: 2, CFG: 5, Sampler: "euler",
		Scheduler: "normal", Width: 32, Height: 32, RawPrompt: true, ZeroNegative: true}
	got, err := p.Generate(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, _, err := textOf(p).Encode(req.Prompt, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	req.ZeroNegative, req.Cond, req.Uncond = false, ctx, tensor.New(ctx.Shape...)
	want, err := p.Generate(req)
	if err != nil {
		t.Fatal(err)
	}
	golden.AssertClose(t, "zero-negative latent", got.Latent.Data, want.Latent.Data, 0, 0)
}

// fixedConditioner is a Conditioner returning given contexts and counting
// calls, to check that the pipeline uses and closes a plugged conditioner.
type fixedConditioner struct {
	cond, uncond  sampling.Cond
	calls, closed int
}

func (f *fixedConditioner) Condition(*pipeline.Request) (sampling.Cond, sampling.Cond, error) {
	f.calls++
	return f.cond, f.uncond, nil
}

func (f *fixedConditioner) Close() error { f.closed++; return nil }

// TestConditionerPlugged: a pipeline with a Conditioner samples from its
// conditioning (same result as passing it as Cond/Uncond), and Close
// closes it.
func TestConditionerPlugged(t *testing.T) {
	p := loadTiny(t, "single", golden.Tokenizer(t, "clip"), "")
	a, _, err := textOf(p).Encode("a dog", 0, true)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := textOf(p).Encode("", 0, true)
	if err != nil {
		t.Fatal(err)
	}
	req := pipeline.Request{Seed: 5, Steps: 2, CFG: 4, Sampler: "euler", Scheduler: "karras", Width: 32, Height: 32, Cond: a, Uncond: b}
	want, err := p.Generate(req)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fixedConditioner{cond: sampling.Cond{Context: a}, uncond: sampling.Cond{Context: b}}
	q := &pipeline.Pipeline{Model: p.Model, VAE: p.VAE, Conditioner: fc}
	req.Cond, req.Uncond = nil, nil
	got, err := q.Generate(req)
	if err != nil {
		t.Fatal(err)
	}
	golden.AssertClose(t, "plugged-conditioner latent", got.Latent.Data, want.Latent.Data, 0, 0)
	if fc.calls != 1 {
		t.Errorf("conditioner called %d times, want 1", fc.calls)
	}
	// Pipeline.Close closes the conditioner (a pipeline holding only it,
	// so that p's shared networks stay open).
	(&pipeline.Pipeline{Conditioner: fc}).Close()
	if fc.closed != 1 {
		t.Errorf("conditioner closed %d times, want 1", fc.closed)
	}
}
