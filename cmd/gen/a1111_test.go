package main

import (
	"strconv"
	"testing"

	"github.com/godiffusion/godiffusion/models/sd1"
	"github.com/godiffusion/godiffusion/sampling"
)

// TestA1111Names: every sampler and schedule gen accepts, by any alias,
// has A1111's label in the PNG parameters.
func TestA1111Names(t *testing.T) {
	for alias, want := range map[string]string{"euler_a": "Euler a", "dpm++2m": "DPM++ 2M", "euler": "Euler", "k_heun": "Heun", "ddim": "DDIM", "lcm": "LCM"} {
		c, err := sd1.CanonicalSampler(alias)
		if err != nil {
			t.Fatal(err)
		}
		if got := a1111Name(a1111Samplers, c); got != want {
			t.Errorf("sampler %q: A1111 label %q, want %q", alias, got, want)
		}
	}
	for name := range sampling.Samplers {
		if _, ok := a1111Samplers[name]; !ok {
			t.Errorf("sampler %q has no A1111 label", name)
		}
	}
	for alias, want := range map[string]string{"discrete": "Normal", "karras": "Karras", "uniform": "SGM Uniform", "ddim_uniform": "DDIM"} {
		c, err := sd1.CanonicalScheduler(alias)
		if err != nil {
			t.Fatal(err)
		}
		if got := a1111Name(a1111Schedules, c); got != want {
			t.Errorf("scheduler %q: A1111 label %q, want %q", alias, got, want)
		}
	}
	for name := range sampling.Schedulers {
		if _, ok := a1111Schedules[name]; !ok {
			t.Errorf("scheduler %q has no A1111 label", name)
		}
	}
}

// TestA1111Img2ImgSteps (#14 item 7): the recorded Steps and Denoising
// strength make A1111 run the same sigmas: a schedule of int(steps /
// strength) steps (as sampling.CalculateSigmas builds) of which A1111 runs
// the last int(d·Steps) — which must be gen's steps.
func TestA1111Img2ImgSteps(t *testing.T) {
	for _, steps := range []int{1, 3, 10, 20, 28, 50} {
		for _, strength := range []float64{0.05, 0.29, 0.3, 0.5, 0.6, 0.7, 0.75, 0.99, 1} {
			total, ds := a1111Img2Img(steps, strength)
			d, err := strconv.ParseFloat(ds, 64)
			if err != nil {
				t.Fatal(err)
			}
			wantTotal := int(float64(steps) / strength)
			if strength > 0.9999 {
				wantTotal = steps
			}
			if total != wantTotal || (strength <= 0.9999 && int(d*float64(total)) != steps) {
				t.Errorf("steps %d strength %g: Steps %d Denoising strength %s (A1111 runs %d of %d), want %d of %d",
					steps, strength, total, ds, int(d*float64(total)), total, steps, wantTotal)
			}
		}
	}
}
