package sampling

import (
	"math"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// fakeBatch is a BatchModel whose denoised prediction for a conditioning is
// x·0.5 + the conditioning's first context value, recording each call.
type fakeBatch struct {
	calls [][]Cond
}

func (m *fakeBatch) DenoiseBatch(x *tensor.Tensor, sigma float64, conds []Cond) ([]*tensor.Tensor, error) {
	m.calls = append(m.calls, conds)
	out := make([]*tensor.Tensor, len(conds))
	for i, c := range conds {
		d := tensor.New(x.Shape...)
		for j, v := range x.Data {
			d.Data[j] = v*0.5 + c.Context.Data[0]
		}
		out[i] = d
	}
	return out, nil
}

func condOf(v float32) Cond { return Cond{Context: tensor.FromData([]float32{v}, 1, 1, 1)} }

func TestCFGScaleOneSkipsUncond(t *testing.T) {
	for _, scale := range []float64{1, 1 + 1e-12} {
		m := &fakeBatch{}
		pos, neg := condOf(3), condOf(-5)
		var seen []Call
		g := &CFG{Model: m, Cond: pos, Uncond: neg, Scale: scale, Observer: func(c Call) { seen = append(seen, c) }}
		x := tensor.FromData([]float32{1, 2, 3, 4}, 1, 1, 2, 2)
		out, err := g.Denoise(x, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.calls) != 1 || len(m.calls[0]) != 1 || m.calls[0][0].Context != pos.Context {
			t.Fatalf("scale %v: model called with %v, want one batch of [cond]", scale, m.calls)
		}
		if len(seen) != 1 || seen[0].Uncond != nil || seen[0].Index != 0 || seen[0].Sigma != 2 {
			t.Errorf("scale %v: observer saw %+v", scale, seen)
		}
		for i, v := range out.Data {
			if v != x.Data[i]*0.5+3 {
				t.Errorf("scale %v: guided[%d] = %v, want cond %v exactly", scale, i, v, x.Data[i]*0.5+3)
			}
		}
	}
	if SkipsUncond(1.01) || SkipsUncond(0) || !SkipsUncond(1) {
		t.Error("SkipsUncond does not follow math.isclose(scale, 1)")
	}
}

func TestCFGBatchOrderAndFormula(t *testing.T) {
	m := &fakeBatch{}
	pos, neg := condOf(3), condOf(-5)
	g := &CFG{Model: m, Cond: pos, Uncond: neg, Scale: 7.5}
	x := tensor.FromData([]float32{1, 2, 3, 4}, 1, 1, 2, 2)
	out, err := g.Denoise(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.calls) != 1 || len(m.calls[0]) != 2 || m.calls[0][0].Context != neg.Context || m.calls[0][1].Context != pos.Context {
		t.Fatalf("model called with %v, want one batch [uncond, cond]", m.calls)
	}
	for i, xv := range x.Data {
		c, u := xv*0.5+3, xv*0.5-5
		if want := u + (c-u)*float32(7.5); out.Data[i] != want {
			t.Errorf("guided[%d] = %v, want uncond + (cond − uncond)·7.5 = %v", i, out.Data[i], want)
		}
	}
	// pos == neg: guided is cond exactly at any scale.
	same := &CFG{Model: &fakeBatch{}, Cond: pos, Uncond: condOf(3), Scale: 7.5}
	out, _ = same.Denoise(x, 2)
	for i, xv := range x.Data {
		if out.Data[i] != xv*0.5+3 {
			t.Errorf("pos == neg: guided[%d] = %v, want cond %v", i, out.Data[i], xv*0.5+3)
		}
	}
}

func TestEPSParameterisation(t *testing.T) {
	var gotT []float32
	var gotCtx *tensor.Tensor
	forward := func(xIn *tensor.Tensor, ts []float32, context *tensor.Tensor) *tensor.Tensor {
		gotT, gotCtx = ts, context
		eps := tensor.New(xIn.Shape...)
		for i, v := range xIn.Data {
			eps.Data[i] = 2 * v // ε̂ = 2·x_in
		}
		return eps
	}
	s := SD1Schedule()
	m := &EPS{Net: UNetEps(forward), Schedule: s}
	x := tensor.FromData([]float32{1, -2, 3, 0.5}, 1, 1, 2, 2)
	sigma := s.SigmaMax()
	out, err := m.DenoiseBatch(x, sigma, []Cond{condOf(7), condOf(9)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || len(gotT) != 2 || gotT[0] != 999 || gotT[1] != 999 {
		t.Fatalf("got %d outputs, timesteps %v; want 2 and [999 999]", len(out), gotT)
	}
	if gotCtx.Shape[0] != 2 || gotCtx.Data[0] != 7 || gotCtx.Data[1] != 9 {
		t.Errorf("context batch %v %v, want [7, 9] stacked in order", gotCtx.Shape, gotCtx.Data)
	}
	cIn := math.Sqrt(sigma*sigma + 1)
	for i, v := range x.Data {
		want := float64(v) - sigma*2*float64(v)/cIn
		if math.Abs(float64(out[1].Data[i])-want) > 1e-5*math.Abs(want) {
			t.Errorf("denoised[%d] = %v, want x − σ·ε̂ = %v", i, out[1].Data[i], want)
		}
	}
}

// TestEPSImageBatch checks the network batch layout for N = 2 images and
// K = 2 conditionings: item k·N + i is image i under conds[k].
func TestEPSImageBatch(t *testing.T) {
	var got []float32
	forward := func(xIn *tensor.Tensor, ts []float32, context *tensor.Tensor) *tensor.Tensor {
		if xIn.Shape[0] != 4 || len(ts) != 4 || context.Shape[0] != 4 {
			t.Fatalf("network batch x %v, %d timesteps, context %v; want 4 each", xIn.Shape, len(ts), context.Shape)
		}
		got = context.Data
		return tensor.New(xIn.Shape...)
	}
	m := &EPS{Net: UNetEps(forward), Schedule: SD1Schedule()}
	x := tensor.FromData([]float32{1, 2}, 2, 1, 1, 1)
	out, err := m.DenoiseBatch(x, 1, []Cond{condOf(7), condOf(9)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{7, 7, 9, 9}; len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("contexts %v, want %v", got, want)
	}
	if len(out) != 2 || out[1].Shape[0] != 2 || out[1].Data[1] != 2 {
		t.Errorf("outputs %v, want two [2,1,1,1] tensors equal to x (ε = 0)", out)
	}
}

func TestSamplerRegistry(t *testing.T) {
	for alias, name := range map[string]string{"euler_a": "euler_ancestral", "dpm++2m": "dpmpp_2m", "Euler": "euler", "heun": "heun", "lcm": "lcm", "ddim": "ddim"} {
		got, err := CanonicalSampler(alias)
		if err != nil || got != name {
			t.Errorf("CanonicalSampler(%q) = %q, %v; want %q", alias, got, err, name)
		}
	}
	_, err := LookupSampler("euler_b")
	if err == nil || !strings.Contains(err.Error(), "euler_ancestral") || !strings.Contains(err.Error(), "euler_b") {
		t.Errorf("unknown sampler error %v should name it and list the valid ones", err)
	}
	_, err = LookupScheduler("linear_quadratic_x")
	if err == nil || !strings.Contains(err.Error(), "karras") {
		t.Errorf("unknown scheduler error %v should list the valid ones", err)
	}
	if _, err := LookupScheduler("discrete"); err != nil {
		t.Error(err)
	}
}

// linearDenoiser predicts denoised = x·a, a simple stand-in model.
func linearDenoiser(a float32) Denoiser {
	return DenoiserFunc(func(x *tensor.Tensor, sigma float64) (*tensor.Tensor, error) {
		d := tensor.New(x.Shape...)
		for i, v := range x.Data {
			d.Data[i] = v * a
		}
		return d, nil
	})
}

func TestSamplerIdentities(t *testing.T) {
	s := SD1Schedule()
	sigmas := KarrasSigmasFor(s, 6)
	x := PrepareNoise(3, 1, 2, 3, 3)
	model := linearDenoiser(0.9)
	euler, err := SampleEuler(model, x, sigmas, nil)
	if err != nil {
		t.Fatal(err)
	}
	ddim, err := SampleDDIM(model, x, sigmas, nil)
	if err != nil {
		t.Fatal(err)
	}
	anc0, err := SampleEulerAncestral(model, x, sigmas, &Options{Eta: 0, EtaSet: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range euler.Data {
		if ddim.Data[i] != euler.Data[i] || anc0.Data[i] != euler.Data[i] {
			t.Fatalf("ddim (η=0) / euler_ancestral (η=0) differ from euler at %d: %v %v %v", i, ddim.Data[i], anc0.Data[i], euler.Data[i])
		}
	}
	if _, err := SampleEulerAncestral(model, x, sigmas, nil); err == nil {
		t.Error("euler_ancestral without a noise sampler should fail")
	}
	// A model that always predicts 0 is denoised exactly by every sampler.
	zero := linearDenoiser(0)
	for name, f := range Samplers {
		out, err := f(zero, x, sigmas, &Options{Noise: TorchNoiseSampler(1)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, v := range out.Data {
			if math.Abs(float64(v)) > 1e-6 {
				t.Fatalf("%s: final[%d] = %v, want 0", name, i, v)
			}
		}
	}
}

func TestRescaleNoiseCFG(t *testing.T) {
	cfg := tensor.FromData([]float32{1, 3, -2, 6}, 1, 1, 2, 2)
	cond := tensor.FromData([]float32{0.5, 1, -1, 1.5}, 1, 1, 2, 2)
	same := RescaleNoiseCFG(cfg, cond, 0)
	for i := range cfg.Data {
		if same.Data[i] != cfg.Data[i] {
			t.Fatal("φ = 0 must leave ε unchanged")
		}
	}
	full := RescaleNoiseCFG(cfg, cond, 1)
	if got, want := stdUnbiased(full.Data), stdUnbiased(cond.Data); math.Abs(got-want) > 1e-6 {
		t.Errorf("φ = 1: std %v, want std(cond) %v", got, want)
	}
}

func TestTimeShift(t *testing.T) {
	mu := FluxMu(4096)
	if math.Abs(mu-1.15) > 1e-12 || math.Abs(FluxMu(256)-0.5) > 1e-12 {
		t.Errorf("FluxMu endpoints: %v %v", FluxMu(256), mu)
	}
	if TimeShift(mu, 1, 1) != 1 || TimeShift(mu, 1, 0) != 0 || TimeShift(mu, 1, 0.5) <= 0.5 {
		t.Error("time shift must fix 0 and 1 and push t towards 1")
	}
}
