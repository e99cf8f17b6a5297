package sampling

import (
	"strings"
	"testing"
)

// TestScheduleLimits checks that impossible schedule settings are errors
// naming the value, not NaN sigmas or an allocation failure.
func TestScheduleLimits(t *testing.T) {
	s := SD1Schedule()
	for _, c := range []struct {
		steps   int
		denoise float64
		want    string
	}{
		{0, 1, "steps"},
		{MaxSteps + 1, 1, "steps"},
		{1 << 62, 1, "steps"},
		{4, 1e-300, "denoise"},
		{4, 0, "denoise"},
	} {
		if _, err := CalculateSigmas(s, "normal", c.steps, c.denoise); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CalculateSigmas(steps %d, denoise %g) = %v, want an error about %s", c.steps, c.denoise, err, c.want)
		}
	}
	for _, b := range [][2]float64{{0.00085, 1.2}, {-0.1, 0.012}, {0, 0}, {0.02, 0.01}} {
		if _, err := Betas(BetaScaledLinear, SDTimesteps, b[0], b[1]); err == nil || !strings.Contains(err.Error(), "beta") {
			t.Errorf("Betas(%g, %g) = %v, want an error", b[0], b[1], err)
		}
	}
	if _, err := Betas(BetaScaledLinear, SDTimesteps, SDLinearBeta0, SDLinearBeta1); err != nil {
		t.Errorf("SD1 betas: %v", err)
	}
}
