package sampling

import (
	"fmt"
	"math"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/safetensors"
)

var scheduleNs = []int{1, 4, 20, 30}

// assertRel fails unless every |got−want| ≤ rtol·|want| + atol.
func assertRel(t *testing.T, what string, got []float64, want []float32, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d (got %v, want %v)", what, len(got), len(want), got, want)
		return
	}
	worst := 0.0
	for i := range want {
		d := math.Abs(got[i] - float64(want[i]))
		if d > rtol*math.Abs(float64(want[i]))+atol {
			t.Errorf("%s[%d]: got %.9g want %.9g", what, i, got[i], want[i])
			return
		}
		if w := math.Abs(float64(want[i])); w > 0 {
			worst = math.Max(worst, d/w)
		}
	}
	t.Logf("%s: max relative diff %.3g", what, worst)
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func wantF32(t *testing.T, f *safetensors.File, name string) []float32 {
	t.Helper()
	v, _ := golden.Float32(t, f, name)
	return v
}

func TestScheduleTables(t *testing.T) {
	f := golden.Open(t, "sd1/schedules.safetensors")
	s := SD1Schedule()
	assertRel(t, "ldm.alphas_cumprod", s.AlphasCumprod, wantF32(t, f, "ldm.alphas_cumprod"), 1e-6, 0)
	assertRel(t, "comfy.sigmas", s.Sigmas, wantF32(t, f, "comfy.sigmas"), 1e-7, 0)
	assertRel(t, "comfy.log_sigmas", s.LogSigmas, wantF32(t, f, "comfy.log_sigmas"), 1e-7, 1e-7)
	if got, want := s.SigmaMin(), 0.029167158529162407; got != want {
		t.Errorf("sigma_min %v want %v", got, want)
	}
	if got, want := s.SigmaMax(), 14.614641189575195; got != want {
		t.Errorf("sigma_max %v want %v", got, want)
	}
	d := SD1DiffusersSchedule()
	assertRel(t, "diffusers.betas", f64(d.Betas), wantF32(t, f, "diffusers.betas"), 1e-6, 0)
	assertRel(t, "diffusers.alphas_cumprod", f64(d.AlphasCumprod), wantF32(t, f, "diffusers.alphas_cumprod"), 1e-6, 0)
	kd := NewDiscreteScheduleFloat32(ldmAlphasF32())
	assertRel(t, "kdiff_compvis.sigmas", kd.Sigmas, wantF32(t, f, "kdiff_compvis.sigmas"), 1e-6, 0)
}

func TestSigmaSchedules(t *testing.T) {
	f := golden.Open(t, "sd1/schedules.safetensors")
	s := SD1Schedule()
	for _, n := range scheduleNs {
		for _, c := range []struct {
			key   string
			sched string
		}{
			{"karras", "karras"}, {"exponential", "exponential"}, {"comfy_normal", "normal"},
			{"comfy_sgm_uniform", "sgm_uniform"}, {"comfy_simple", "simple"}, {"comfy_ddim_uniform", "ddim_uniform"},
		} {
			key := fmt.Sprintf("%s.n%d", c.key, n)
			got, err := CalculateSigmas(s, c.sched, n, 1)
			if err != nil {
				t.Fatal(err)
			}
			assertRel(t, key, got, wantF32(t, f, key), 1e-6, 0)
		}
		kd := NewDiscreteScheduleFloat32(ldmAlphasF32())
		key := fmt.Sprintf("kdiff_compvis_get_sigmas.n%d", n)
		assertRel(t, key, KDiffusionSigmas(kd, n), wantF32(t, f, key), 1e-6, 0)
	}
}

func TestDiffusersTimesteps(t *testing.T) {
	f := golden.Open(t, "sd1/schedules.safetensors")
	d := SD1DiffusersSchedule()
	for _, n := range scheduleNs {
		for _, sp := range []string{SpacingLeading, SpacingTrailing, SpacingLinspace} {
			ts, err := DiffusersTimesteps(sp, 1000, n, 1)
			if err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("diffusers.euler.%s.n%d", sp, n)
			assertRel(t, key+".timesteps", ts, wantF32(t, f, key+".timesteps"), 0, 0)
			sig := d.InterpSigmas(ts)
			assertRel(t, key+".sigmas", sig, wantF32(t, f, key+".sigmas"), 1e-6, 0)
			assertRel(t, key+".init_noise_sigma", []float64{EulerInitNoiseSigma(sig, sp)}, wantF32(t, f, key+".init_noise_sigma"), 1e-6, 0)
		}
		for _, sp := range []string{SpacingLeading, SpacingTrailing} {
			ts, _ := DiffusersTimesteps(sp, 1000, n, 1)
			key := fmt.Sprintf("diffusers.ddim.%s.n%d.timesteps", sp, n)
			assertRel(t, key, ts, wantF32(t, f, key), 0, 0)
		}
	}
}

func TestCalculateSigmasDenoise(t *testing.T) {
	s := SD1Schedule()
	got, err := CalculateSigmas(s, "normal", 10, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	full := NormalSigmas(s, 16)
	if len(got) != 11 || got[0] != full[6] || got[10] != 0 {
		t.Errorf("denoise 0.6: got %v, want the last 11 of %v", got, full)
	}
	if MaxDenoise(s, got[0]) {
		t.Errorf("max_denoise true for img2img sigma %v", got[0])
	}
	if !MaxDenoise(s, s.SigmaMax()) {
		t.Error("max_denoise false at sigma_max")
	}
	if _, err := CalculateSigmas(s, "bogus", 10, 1); err == nil {
		t.Error("unknown scheduler accepted")
	}
	if a, _ := CalculateSigmas(s, "discrete", 7, 1); fmt.Sprint(a) != fmt.Sprint(NormalSigmas(s, 7)) {
		t.Error("alias discrete != normal")
	}
}

// ldmAlphasF32 is the float32 alphas_cumprod buffer an LDM checkpoint
// stores (the float64 table rounded), from which k-diffusion's
// CompVisDenoiser builds its sigmas.
func ldmAlphasF32() []float32 {
	acp := SD1Schedule().AlphasCumprod
	out := make([]float32, len(acp))
	for i, a := range acp {
		out[i] = float32(a)
	}
	return out
}

func TestDiffusersOtherSchedulers(t *testing.T) {
	f := golden.Open(t, "sd1/schedules.safetensors")
	d := SD1DiffusersSchedule()
	for _, n := range scheduleNs {
		key := fmt.Sprintf("diffusers.euler.karras.n%d", n)
		ts, sig := d.EulerKarrasDiffusers(n)
		assertRel(t, key+".timesteps", ts, wantF32(t, f, key+".timesteps"), 1e-6, 1e-5)
		assertRel(t, key+".sigmas", sig, wantF32(t, f, key+".sigmas"), 1e-6, 0)
		for _, k := range []bool{false, true} {
			key := fmt.Sprintf("diffusers.dpmpp_2m.default.n%d", n)
			if k {
				key = fmt.Sprintf("diffusers.dpmpp_2m.karras.n%d", n)
			}
			ts, sig := d.DPMSolverDiffusers(n, k)
			assertRel(t, key+".timesteps", ts, wantF32(t, f, key+".timesteps"), 0, 0)
			assertRel(t, key+".sigmas", sig, wantF32(t, f, key+".sigmas"), 1e-6, 0)
		}
		key = fmt.Sprintf("diffusers.heun.n%d", n)
		ts, sig = d.HeunDiffusers(n)
		assertRel(t, key+".timesteps", ts, wantF32(t, f, key+".timesteps"), 0, 0)
		assertRel(t, key+".sigmas", sig, wantF32(t, f, key+".sigmas"), 1e-6, 0)
		key = fmt.Sprintf("diffusers.lcm.n%d.timesteps", n)
		if f.Has(key) {
			ts, err := LCMTimesteps(1000, 50, n)
			if err != nil {
				t.Fatal(err)
			}
			assertRel(t, key, ts, wantF32(t, f, key), 0, 0)
		}
	}
}
