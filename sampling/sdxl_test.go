package sampling

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// SDXL uses the same ε parameterisation, sigma table, schedules and
// samplers as SD1; its ComfyUI-convention runs are replayed exactly as the
// SD1 ones (the conditioning also carries the pooled vector y).

type sdxlMeta struct {
	Runs []struct {
		golden.Run
		UnetCalls   int     `json:"unet_calls"`
		InitNoise   float64 `json:"init_noise_sigma"`
		LatentShape []int   `json:"latent_shape"`
	} `json:"runs"`
	Schedules map[string]struct {
		EulerLeadingInitNoiseSigma float64 `json:"euler_leading_init_noise_sigma"`
	} `json:"schedules"`
}

func loadSDXLMeta(t *testing.T) sdxlMeta {
	t.Helper()
	var m sdxlMeta
	golden.ReadJSON(t, golden.Shared(t, "sdxl/meta.json"), &m)
	return m
}

func TestSDXLSchedules(t *testing.T) {
	m := loadSDXLMeta(t)
	f := golden.Open(t, "sdxl/schedules.safetensors")
	s := SD1Schedule()
	assertRel(t, "comfy.sigmas", s.Sigmas, wantF32(t, f, "comfy.sigmas"), 1e-7, 0)
	d := SD1DiffusersSchedule()
	assertRel(t, "alphas_cumprod", f64(d.AlphasCumprod), wantF32(t, f, "alphas_cumprod"), 1e-6, 0)
	assertRel(t, "sigmas_table", f64(d.Sigmas), wantF32(t, f, "sigmas_table"), 1e-6, 0)
	for _, n := range []int{1, 4, 7, 8, 10, 20, 30} {
		for _, sched := range []string{"normal", "karras"} {
			key := fmt.Sprintf("comfy_%s.%d", sched, n)
			if !f.Has(key + ".sigmas") {
				continue
			}
			sig, err := CalculateSigmas(s, sched, n, 1)
			if err != nil {
				t.Fatal(err)
			}
			assertRel(t, key+".sigmas", sig, wantF32(t, f, key+".sigmas"), 1e-6, 0)
			ts := make([]float64, n)
			for i := range ts {
				ts[i] = s.Timestep(sig[i])
			}
			assertRel(t, key+".timesteps", ts, wantF32(t, f, key+".timesteps"), 0, 0)
		}
		key := fmt.Sprintf("euler_leading.%d", n)
		if !f.Has(key + ".sigmas") {
			continue
		}
		ts, _ := DiffusersTimesteps(SpacingLeading, 1000, n, 1)
		assertRel(t, key+".timesteps", ts, wantF32(t, f, key+".timesteps"), 0, 0)
		sig := d.InterpSigmas(ts)
		assertRel(t, key+".sigmas", sig, wantF32(t, f, key+".sigmas"), 1e-6, 0)
		if want, ok := m.Schedules[fmt.Sprint(n)]; ok {
			assertRel(t, key+".init_noise_sigma", []float64{EulerInitNoiseSigma(sig, SpacingLeading)}, []float32{float32(want.EulerLeadingInitNoiseSigma)}, 1e-6, 0)
		}
		key = fmt.Sprintf("karras.%d", n)
		if f.Has(key + ".timesteps") {
			kd := NewDiscreteScheduleFloat32(d.AlphasCumprod)
			ks := wantF32(t, f, key+".sigmas")
			tt := make([]float64, n)
			for i := range tt {
				tt[i] = kd.TimestepInterp(float64(ks[i]))
			}
			assertRel(t, key+".timesteps", tt, wantF32(t, f, key+".timesteps"), 1e-6, 1e-5)
		}
		key = fmt.Sprintf("kdiff_normal.%d.sigmas", n)
		if f.Has(key) {
			kd := NewDiscreteScheduleFloat32(d.AlphasCumprod)
			assertRel(t, key, KDiffusionSigmas(kd, n), wantF32(t, f, key), 1e-6, 0)
		}
	}
}

func TestReplaySDXLRuns(t *testing.T) {
	m := loadSDXLMeta(t)
	for _, r := range m.Runs {
		t.Run(r.Name, func(t *testing.T) {
			f, err := safetensors.Open(golden.Shared(t, filepath.Join("sdxl", "runs", r.Name+".safetensors")))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rec := &recording{f: f, cache: map[string][]float32{}, shape: map[string][]int{}}
			cond := func(prefix string) Cond {
				c, cs := golden.Float32(t, f, prefix+".context")
				y, ys := golden.Float32(t, f, prefix+".y")
				return Cond{Context: tensor.FromData(c, cs...), Y: tensor.FromData(y, ys...)}
			}
			pos := cond("cond")
			neg := Cond{Context: tensor.New(1, 1, 1)} // never evaluated at cfg 1
			if f.Has("uncond.context") {
				neg = cond("uncond")
			}
			if r.Convention == "diffusers" {
				// No per-call ε is recorded: check what does not need the network.
				noise := PrepareNoise(r.Seed, r.LatentShape...)
				want, _ := golden.Float32(t, f, "noise")
				assertBitExact(t, "noise", noise.Data, want)
				ts, _ := DiffusersTimesteps(SpacingLeading, 1000, r.Steps, 1)
				assertRel(t, "unet_timesteps", ts, wantF32(t, f, "unet_timesteps"), 0, 0)
				sig := SD1DiffusersSchedule().InterpSigmas(ts)
				assertRel(t, "sigmas", sig, wantF32(t, f, "sigmas"), 1e-6, 0)
				x := NoiseScaling(EulerInitNoiseSigma(sig, SpacingLeading), noise, nil, false)
				wantX, _ := golden.Float32(t, f, "x_init")
				golden.AssertClose(t, "x_init", x.Data, wantX, 1e-5, 1e-6)
				return
			}
			run := sd1Run{Run: r.Run, NModelCalls: r.UnetCalls}
			replayComfyLayout(t, run, rec, pos, neg, comfyLayout{stepsX: "latents_per_step", stepsAfter: true, final: "latents"})
		})
	}
}
