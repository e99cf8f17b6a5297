package sampling

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// These tests replay every recorded SD1 sampling run (sd1/sampling/*.safetensors)
// without a network: a fake network returns, for model call k, the ε the
// reference UNet produced at that call, and checks that it is asked the
// same question — the same scaled input, timestep, batch size and batch
// order. Everything else (schedule, noise, x_init, guidance, sampler steps,
// ancestral noise, final latent) is computed by this package and compared
// with the recording.

// Sampling-run tolerances from sd1/README.md §9.
const (
	runAtol = 1e-3
	runRtol = 1e-4
)

// sd1Run is a run's entry in sd1/meta.json (sampling and clip_l_alt).
type sd1Run struct {
	golden.Run
	File           string   `json:"file"`
	Rescale        float64  `json:"rescale_cfg_multiplier"`
	Contexts       []string `json:"contexts"`
	ContextsFile   string   `json:"contexts_file"`
	NModelCalls    int      `json:"n_model_calls"`
	SchedulerTotal int      `json:"scheduler_total_steps"`
	InitNoiseSigma float64  `json:"init_noise_sigma"`
}

func loadSD1Runs(t *testing.T) []sd1Run {
	t.Helper()
	p := golden.Core(t, "sd1/meta.json")
	var meta struct {
		Sampling struct {
			Runs []sd1Run `json:"runs"`
		} `json:"sampling"`
		ClipLAlt struct {
			Runs []sd1Run `json:"runs"`
		} `json:"clip_l_alt"`
	}
	golden.ReadJSON(t, p, &meta)
	runs := append(meta.Sampling.Runs, meta.ClipLAlt.Runs...)
	if len(runs) == 0 {
		t.Fatalf("%s lists no sampling runs", p)
	}
	return runs
}

// slice returns item k of a stacked fixture tensor [N, ...] as a tensor of
// the item's shape.
func slice(all []float32, shape []int, k int) *tensor.Tensor {
	per := len(all) / shape[0]
	return tensor.FromData(all[k*per:(k+1)*per], shape[1:]...)
}

// recording is a run file's stacked per-call tensors.
type recording struct {
	f     *safetensors.File
	cache map[string][]float32
	shape map[string][]int
}

func (r *recording) get(t *testing.T, name string) ([]float32, []int) {
	t.Helper()
	if v, ok := r.cache[name]; ok {
		return v, r.shape[name]
	}
	v, s := golden.Float32(t, r.f, name)
	r.cache[name], r.shape[name] = v, s
	return v, s
}

func (r *recording) item(t *testing.T, name string, k int) *tensor.Tensor {
	t.Helper()
	v, s := r.get(t, name)
	if k >= s[0] {
		t.Fatalf("%s has %d entries, asked for %d", name, s[0], k)
	}
	return slice(v, s, k)
}

func TestReplaySD1Runs(t *testing.T) {
	runs := loadSD1Runs(t)
	for _, run := range runs {
		t.Run(run.Name, func(t *testing.T) {
			f, err := safetensors.Open(golden.Core(t, filepath.Join("sd1", run.File)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rec := &recording{f: f, cache: map[string][]float32{}, shape: map[string][]int{}}
			ctxFile := run.ContextsFile
			if ctxFile == "" {
				ctxFile = "sampling/contexts.safetensors"
			}
			cf := golden.Open(t, filepath.Join("sd1", ctxFile))
			ctx := func(name string) Cond {
				v, s := golden.Float32(t, cf, name)
				return Cond{Context: tensor.FromData(v, s...)}
			}
			cond, uncond := ctx(run.Contexts[0]), ctx(run.Contexts[1])
			if run.Contexts[0] == run.Contexts[1] {
				uncond = ctx(run.Contexts[1]) // a distinct tensor with equal values
			}
			switch run.Convention {
			case "comfyui":
				replayComfy(t, run, rec, cond, uncond)
			case "diffusers":
				replayDiffusers(t, run, rec, cond, uncond)
			default:
				t.Fatalf("unknown convention %q", run.Convention)
			}
		})
	}
}

func exactly(t *testing.T, what string, got, want []float32) {
	t.Helper()
	assertBitExact(t, what, got, want)
}

// comfyLayout names the tensors of a ComfyUI-convention run file: SD1 files
// store x at the START of each step (steps.x, with the final latent last),
// SDXL files x AFTER each step (latents_per_step).
type comfyLayout struct {
	stepsX     string // per-step latents
	stepsAfter bool   // stepsX[i] is x after step i (else before)
	final      string // final latent
}

var sd1Layout = comfyLayout{stepsX: "steps.x", final: "final_latent"}

func replayComfy(t *testing.T, run sd1Run, rec *recording, cond, uncond Cond) {
	replayComfyLayout(t, run, rec, cond, uncond, sd1Layout)
}

func replayComfyLayout(t *testing.T, run sd1Run, rec *recording, cond, uncond Cond, lay comfyLayout) {
	s := SD1Schedule()
	sigmas, err := CalculateSigmas(s, run.Scheduler, run.Steps, run.Denoise)
	if err != nil {
		t.Fatal(err)
	}
	wantSigmas, _ := rec.get(t, "sigmas")
	assertRel(t, "sigmas", sigmas, wantSigmas, 1e-6, 0)

	wantNoise, noiseShape := rec.get(t, "noise")
	noise := PrepareNoise(run.Seed, noiseShape...)
	exactly(t, "noise", noise.Data, wantNoise)

	var latent *tensor.Tensor
	if run.Denoise < 1 {
		v, sh := rec.get(t, "init_latent_scaled")
		latent = tensor.FromData(v, sh...)
	}
	maxDenoise := MaxDenoise(s, sigmas[0])
	if run.MaxDenoise != nil && *run.MaxDenoise != maxDenoise {
		t.Errorf("max_denoise %v, reference %v", maxDenoise, *run.MaxDenoise)
	}
	x := NoiseScaling(sigmas[0], noise, latent, maxDenoise)
	wantX, _ := rec.get(t, "x_init")
	golden.AssertClose(t, "x_init", x.Data, wantX, 1e-5, 1e-6)

	skip := SkipsUncond(run.CFG)
	if skip != run.UncondSkipped {
		t.Errorf("uncond skipped %v, reference %v", skip, run.UncondSkipped)
	}
	calls := 0
	net := func(xIn *tensor.Tensor, ts []float32, conds []Cond) (*tensor.Tensor, error) {
		k := calls
		calls++
		wantB := 2
		if run.UncondSkipped {
			wantB = 1
		}
		if len(conds) != wantB || xIn.Shape[0] != wantB || len(ts) != wantB {
			t.Fatalf("call %d: batch of %d (x %v, %d timesteps), want %d", k, len(conds), xIn.Shape, len(ts), wantB)
		}
		if wantB == 2 && (conds[0].Context != uncond.Context || conds[1].Context != cond.Context) {
			t.Errorf("call %d: batch is not ordered [uncond, cond]", k)
		}
		if wantB == 1 && conds[0].Context != cond.Context {
			t.Errorf("call %d: single batch is not the positive conditioning", k)
		}
		wantT, _ := rec.get(t, "calls.timestep")
		for _, tv := range ts {
			if tv != wantT[k] {
				t.Errorf("call %d: timestep %v, want %v", k, tv, wantT[k])
			}
		}
		return recordedEps(t, rec, k, xIn, wantB), nil
	}
	model := &EPS{Net: net, Schedule: s}
	g := &CFG{Model: model, Cond: cond, Uncond: uncond, Scale: run.CFG, RescaleMultiplier: run.Rescale}
	g.Observer = func(c Call) {
		k := c.Index
		golden.AssertClose(t, "calls.x", c.X.Data, rec.item(t, "calls.x", k).Data, runAtol, runRtol)
		wantSigma, _ := rec.get(t, "calls.sigma")
		// Schedules agree with the reference to ≤ 1e-6 relative (README §9),
		// not always to the last bit.
		if math.Abs(c.Sigma-float64(wantSigma[k])) > 1e-6*float64(wantSigma[k]) {
			t.Errorf("call %d: sigma %v, want %v", k, c.Sigma, wantSigma[k])
		}
		golden.AssertClose(t, "calls.denoised_cond", c.Cond.Data, rec.item(t, "calls.denoised_cond", k).Data, runAtol, runRtol)
		if run.UncondSkipped {
			if c.Uncond != nil {
				t.Errorf("call %d: uncond computed at cfg %v", k, run.CFG)
			}
		} else {
			golden.AssertClose(t, "calls.denoised_uncond", c.Uncond.Data, rec.item(t, "calls.denoised_uncond", k).Data, runAtol, runRtol)
		}
		golden.AssertClose(t, "calls.denoised", c.Guided.Data, rec.item(t, "calls.denoised", k).Data, runAtol, runRtol)
	}
	opt := &Options{}
	if !lay.stepsAfter {
		opt.Callback = func(i int, x, _ *tensor.Tensor) {
			golden.AssertClose(t, lay.stepsX, x.Data, rec.item(t, lay.stepsX, i).Data, runAtol, runRtol)
		}
	} else {
		// x after step i is x at the start of step i+1.
		opt.Callback = func(i int, x, _ *tensor.Tensor) {
			if i > 0 {
				golden.AssertClose(t, lay.stepsX, x.Data, rec.item(t, lay.stepsX, i-1).Data, runAtol, runRtol)
			}
		}
	}
	var drawn []float32
	if run.Sampler == "euler_ancestral" || run.Sampler == "lcm" {
		ns := TorchNoiseSampler(run.Seed)
		opt.Noise = func(x *tensor.Tensor, sigma, next float64) *tensor.Tensor {
			z := ns(x, sigma, next)
			drawn = append(drawn, z.Data...)
			return z
		}
	}
	sampler, err := LookupSampler(run.Sampler)
	if err != nil {
		t.Fatal(err)
	}
	final, err := sampler(g, x, sigmas, opt)
	if err != nil {
		t.Fatal(err)
	}
	if calls != run.NModelCalls || g.Calls() != run.NModelCalls {
		t.Errorf("%d network calls (%d guided), want %d", calls, g.Calls(), run.NModelCalls)
	}
	if rec.f.Has("ancestral_noise") {
		want, _ := rec.get(t, "ancestral_noise")
		exactly(t, "ancestral_noise", drawn, want)
	} else if len(drawn) > 0 {
		t.Errorf("drew %d noise values, reference none", len(drawn))
	}
	want, _ := rec.get(t, lay.final)
	golden.AssertClose(t, lay.final, final.Data, want, runAtol, runRtol)
	if lay.stepsAfter {
		_, sh := rec.get(t, lay.stepsX)
		golden.AssertClose(t, lay.stepsX+"[-1]", final.Data, rec.item(t, lay.stepsX, sh[0]-1).Data, runAtol, runRtol)
	}
}

func replayDiffusers(t *testing.T, run sd1Run, rec *recording, cond, uncond Cond) {
	wantNoise, noiseShape := rec.get(t, "noise")
	noise := PrepareNoise(run.Seed, noiseShape...)
	exactly(t, "noise", noise.Data, wantNoise)
	d := SD1DiffusersSchedule()

	calls := 0
	net := func(xIn *tensor.Tensor, ts []float32, conds []Cond) (*tensor.Tensor, error) {
		k := calls
		calls++
		wantB := 2
		if run.UncondSkipped {
			wantB = 1
		}
		if len(conds) != wantB || xIn.Shape[0] != wantB {
			t.Fatalf("call %d: batch of %d, want %d", k, len(conds), wantB)
		}
		if wantB == 2 && (conds[0].Context != uncond.Context || conds[1].Context != cond.Context) {
			t.Errorf("call %d: batch is not ordered [uncond, cond]", k)
		}
		wantT, _ := rec.get(t, "calls.timestep")
		if ts[0] != wantT[k] {
			t.Errorf("call %d: timestep %v, want %v", k, ts[0], wantT[k])
		}
		return recordedEps(t, rec, k, xIn, wantB), nil
	}
	g := &CFGEps{Net: net, Cond: cond, Uncond: uncond, Scale: run.CFG}
	g.Observer = func(c EpsCall) {
		golden.AssertClose(t, "calls.eps_guided", c.Guided.Data, rec.item(t, "calls.eps_guided", c.Index).Data, runAtol, runRtol)
	}
	callback := func(i int, x, denoised *tensor.Tensor) {
		golden.AssertClose(t, "calls.x", x.Data, rec.item(t, "calls.x", i).Data, runAtol, runRtol)
		golden.AssertClose(t, "steps.x", x.Data, rec.item(t, "steps.x", i).Data, runAtol, runRtol)
		golden.AssertClose(t, "calls.denoised", denoised.Data, rec.item(t, "calls.denoised", i).Data, runAtol, runRtol)
	}
	wantTS, _ := rec.get(t, "timesteps")
	wantX, _ := rec.get(t, "x_init")
	var final *tensor.Tensor
	var err error
	switch run.Sampler {
	case "ddim_diffusers":
		ts, err2 := DiffusersTimesteps(SpacingLeading, 1000, run.Steps, 1)
		if err2 != nil {
			t.Fatal(err2)
		}
		assertRel(t, "timesteps", ts, wantTS, 0, 0)
		golden.AssertClose(t, "x_init", noise.Data, wantX, 0, 0)
		final, err = DDIMDiffusers(g, d, noise, ts, 0, nil, callback)
	case "euler_diffusers":
		ts, err2 := DiffusersTimesteps(SpacingLinspace, 1000, run.Steps, 1)
		if err2 != nil {
			t.Fatal(err2)
		}
		assertRel(t, "timesteps", ts, wantTS, 0, 0)
		sigmas := d.InterpSigmas(ts)
		wantSigmas, _ := rec.get(t, "sigmas")
		assertRel(t, "sigmas", sigmas, wantSigmas, 1e-6, 0)
		init := EulerInitNoiseSigma(sigmas, SpacingLinspace)
		if math.Abs(init-run.InitNoiseSigma) > 1e-6*run.InitNoiseSigma {
			t.Errorf("init_noise_sigma %v, want %v", init, run.InitNoiseSigma)
		}
		x := NoiseScaling(init, noise, nil, false)
		golden.AssertClose(t, "x_init", x.Data, wantX, 1e-5, 1e-6)
		final, err = EulerDiffusers(g, x, ts, sigmas, callback)
	default:
		t.Fatalf("unknown diffusers sampler %q", run.Sampler)
	}
	if err != nil {
		t.Fatal(err)
	}
	if calls != run.NModelCalls {
		t.Errorf("%d network calls, want %d", calls, run.NModelCalls)
	}
	want, _ := rec.get(t, "final_latent")
	golden.AssertClose(t, "final_latent", final.Data, want, runAtol, runRtol)
}

// TestKSamplerReplay runs a few recorded runs through KSampler, the
// one-call composition a pipeline uses, with the replaying fake network.
func TestKSamplerReplay(t *testing.T) {
	runs := loadSD1Runs(t)
	for _, run := range runs {
		switch run.Name {
		case "euler_ancestral_normal_cfg7p5_negtext", "img2img_euler_normal_denoise0p6", "dpmpp_2m_karras_cfg1p0", "euler_normal_cfg7p5_negtext_rescale0p7":
		default:
			continue
		}
		t.Run(run.Name, func(t *testing.T) {
			f, err := safetensors.Open(golden.Core(t, filepath.Join("sd1", run.File)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rec := &recording{f: f, cache: map[string][]float32{}, shape: map[string][]int{}}
			cf := golden.Open(t, "sd1/sampling/contexts.safetensors")
			ctx := func(name string) Cond {
				v, s := golden.Float32(t, cf, name)
				return Cond{Context: tensor.FromData(v, s...)}
			}
			calls := 0
			net := func(xIn *tensor.Tensor, ts []float32, conds []Cond) (*tensor.Tensor, error) {
				k := calls
				calls++
				out := tensor.New(xIn.Shape...)
				n := len(out.Data) / len(conds)
				if len(conds) == 2 {
					copy(out.Data[:n], rec.item(t, "calls.eps_uncond", k).Data)
				}
				copy(out.Data[len(out.Data)-n:], rec.item(t, "calls.eps_cond", k).Data)
				return out, nil
			}
			latent := tensor.New(1, 4, 8, 8)
			if run.Denoise < 1 {
				v, sh := rec.get(t, "init_latent_scaled")
				latent = tensor.FromData(v, sh...)
			}
			ks := &KSampler{Sampler: run.Sampler, Scheduler: run.Scheduler, Steps: run.Steps, CFG: run.CFG,
				Denoise: run.Denoise, Seed: run.Seed, RescaleCFG: run.Rescale}
			final, err := ks.Sample(net, ctx(run.Contexts[0]), ctx(run.Contexts[1]), latent)
			if err != nil {
				t.Fatal(err)
			}
			if calls != run.NModelCalls {
				t.Errorf("%d network calls, want %d", calls, run.NModelCalls)
			}
			want, _ := rec.get(t, "final_latent")
			golden.AssertClose(t, "final_latent", final.Data, want, runAtol, runRtol)
		})
	}
}

// recordedEps checks call k's model input (every batch item) against the
// recording and returns the recorded network output for the batch:
// [eps_uncond, eps_cond] for a batch of 2, [eps_cond] for 1.
func recordedEps(t *testing.T, rec *recording, k int, xIn *tensor.Tensor, batch int) *tensor.Tensor {
	t.Helper()
	mi := rec.item(t, "calls.model_input", k)
	n := len(mi.Data)
	for b := 0; b < batch; b++ {
		golden.AssertClose(t, "model_input", xIn.Data[b*n:(b+1)*n], mi.Data, runAtol, runRtol)
	}
	out := tensor.New(xIn.Shape...)
	if batch == 2 {
		copy(out.Data[:n], rec.item(t, "calls.eps_uncond", k).Data)
		copy(out.Data[n:], rec.item(t, "calls.eps_cond", k).Data)
	} else {
		copy(out.Data, rec.item(t, "calls.eps_cond", k).Data)
	}
	return out
}
