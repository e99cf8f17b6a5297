package main

import (
	"github.com/godiffusion/godiffusion/models/pipeline"
	"testing"

	"github.com/godiffusion/godiffusion/sampling"
)

// TestA1111Names: every sampler and schedule gen accepts, by any alias,
// has A1111's label in the PNG parameters.
func TestA1111Names(t *testing.T) {
	for alias, want := range map[string]string{"euler_a": "Euler a", "dpm++2m": "DPM++ 2M", "euler": "Euler", "k_heun": "Heun", "ddim": "DDIM", "lcm": "LCM"} {
		c, err := pipeline.CanonicalSampler(alias)
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
		c, err := pipeline.CanonicalScheduler(alias)
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
