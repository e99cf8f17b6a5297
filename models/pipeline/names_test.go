package pipeline

import "testing"

func TestCanonicalNames(t *testing.T) {
	for in, want := range map[string]string{"euler_a": "euler_ancestral", "dpm++2m": "dpmpp_2m", "heun": "heun"} {
		if got, err := CanonicalSampler(in); err != nil || got != want {
			t.Errorf("CanonicalSampler(%q) = %q, %v", in, got, err)
		}
	}
	for in, want := range map[string]string{"discrete": "normal", "karras": "karras", "sgm_uniform": "sgm_uniform"} {
		if got, err := CanonicalScheduler(in); err != nil || got != want {
			t.Errorf("CanonicalScheduler(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := CanonicalSampler("nope"); err == nil {
		t.Error("unknown sampler accepted")
	}
	if _, err := CanonicalScheduler("nope"); err == nil {
		t.Error("unknown scheduler accepted")
	}
}
