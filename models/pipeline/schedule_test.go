package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/sampling"
)

func TestModelSchedule(t *testing.T) {
	want := sampling.SD1Schedule()
	// The fixture's verbatim SD1.5 scheduler config is SD1's table.
	s, err := ModelSchedule(golden.Core(t, "sd1/model"), true)
	if err != nil {
		t.Fatal(err)
	}
	if s.SigmaMax() != want.SigmaMax() || s.SigmaMin() != want.SigmaMin() {
		t.Errorf("sigma range %g..%g, want %g..%g", s.SigmaMin(), s.SigmaMax(), want.SigmaMin(), want.SigmaMax())
	}
	write := func(cfg string) string {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "scheduler"), 0o755)
		os.WriteFile(filepath.Join(dir, "scheduler", "scheduler_config.json"), []byte(cfg), 0o644)
		return dir
	}
	if _, err := ModelSchedule(write(`{"prediction_type": "v_prediction"}`), true); err == nil {
		t.Error("v_prediction accepted")
	}
	if _, err := ModelSchedule(write(`{"beta_schedule": "squaredcos_cap_v2"}`), true); err == nil {
		t.Error("unknown beta schedule accepted")
	}
	s, err = ModelSchedule(write(`{"beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if s.SigmaMax() == want.SigmaMax() {
		t.Error("a linear 0.0001..0.02 schedule gave SD1's sigma_max")
	}
}
