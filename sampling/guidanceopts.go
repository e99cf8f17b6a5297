package sampling

import (
	"fmt"
	"math"
)

// GuidanceOptions choose the guidance of a run beyond the scale: the rule
// (rules.go), a guidance interval and a per-step scale schedule. The zero
// value is plain CFG with a constant scale. Values are used as given (no
// zero-means-default): gen's flags carry ComfyUI's defaults.
type GuidanceOptions struct {
	// Rule is "cfg" (or ""), "apg" or "perpneg".
	Rule string
	// APG's η (parallel-component scale), β (momentum) and r (norm
	// threshold, 0 = off); see APG. ComfyUI's defaults: 1, 0, 5.
	APGEta, APGMomentum, APGNormThreshold float64
	// PerpNegScale is Perp-Neg's neg_scale (ComfyUI's default 1).
	PerpNegScale float64
	// Interval limits guidance to σ in [IntervalLo, IntervalHi]
	// (Kynkäänniemi et al. 2024, "Applying Guidance in a Limited Interval
	// Improves Sample and Distribution Quality in Diffusion Models");
	// outside it the model runs on cond alone.
	Interval               bool
	IntervalLo, IntervalHi float64
	// Schedule is "constant" (or ""), "linear" or "cosine": the scale goes
	// from the run's scale at the first step to ScaleEnd at the last
	// (ScheduleScale).
	Schedule string
	ScaleEnd float64
}

// Ranges of the APG parameters: ComfyUI's node limits, with the momentum
// also allowed negative as the paper recommends.
const (
	APGEtaMax           = 10
	APGMomentumMax      = 1
	APGNormThresholdMax = 50
)

// Check validates o for a run with guidance scale scale and RescaleCFG
// multiplier rescale, naming the offending setting.
func (o GuidanceOptions) Check(scale, rescale float64) error {
	rule, err := CanonicalGuidanceRule(o.Rule)
	if err != nil {
		return err
	}
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case bad(o.APGEta) || math.Abs(o.APGEta) > APGEtaMax:
		return fmt.Errorf("apg eta %g: must be between %d and %d", o.APGEta, -APGEtaMax, APGEtaMax)
	case bad(o.APGMomentum) || math.Abs(o.APGMomentum) > APGMomentumMax:
		return fmt.Errorf("apg momentum %g: must be between %d and %d", o.APGMomentum, -APGMomentumMax, APGMomentumMax)
	case bad(o.APGNormThreshold) || o.APGNormThreshold < 0 || o.APGNormThreshold > APGNormThresholdMax:
		return fmt.Errorf("apg norm threshold %g: must be between 0 (off) and %d", o.APGNormThreshold, APGNormThresholdMax)
	case bad(o.PerpNegScale) || o.PerpNegScale < 0:
		return fmt.Errorf("perpneg scale %g: must not be negative", o.PerpNegScale)
	case o.Interval && (bad(o.IntervalLo) || bad(o.IntervalHi) || o.IntervalLo < 0 || o.IntervalLo > o.IntervalHi):
		return fmt.Errorf("cfg interval [%g, %g]: need 0 ≤ lo ≤ hi", o.IntervalLo, o.IntervalHi)
	}
	if _, err := scheduleKind(o.Schedule); err != nil {
		return err
	}
	end := scale
	if k, _ := scheduleKind(o.Schedule); k != "constant" {
		end = o.ScaleEnd
		if bad(end) || end < 0 {
			return fmt.Errorf("cfg scale end %g: must be a non-negative number", end)
		}
	}
	switch rule {
	case "apg":
		if !(scale > 0 && end > 0) {
			return fmt.Errorf("apg needs a cfg scale > 0 (got %g to %g)", scale, end)
		}
	case "perpneg":
		if rescale > 0 {
			return fmt.Errorf("guidance rescale does not apply to perpneg (ComfyUI's Perp-Neg guider has no cfg function)")
		}
	}
	return nil
}

// NeedsEmpty reports whether the rule needs the empty prompt's
// conditioning (CFG.Empty).
func (o GuidanceOptions) NeedsEmpty() bool {
	r, _ := CanonicalGuidanceRule(o.Rule)
	return r == "perpneg"
}

// Configure sets g's rule, interval and scale schedule from o for a run
// over sigmas (the schedule's steps+1 noise levels). g.Scale must already
// be the run's scale; it is the schedule's start. The zero GuidanceOptions
// leaves g plain CFG.
func (o GuidanceOptions) Configure(g *CFG, sigmas []float64) error {
	if err := o.Check(g.Scale, g.RescaleMultiplier); err != nil {
		return err
	}
	rule, err := NewGuidanceRule(o)
	if err != nil {
		return err
	}
	g.Rule = rule
	g.Interval, g.IntervalLo, g.IntervalHi = o.Interval, o.IntervalLo, o.IntervalHi
	kind, _ := scheduleKind(o.Schedule)
	if kind != "constant" {
		if len(sigmas) < 2 {
			return fmt.Errorf("sampling: a cfg schedule needs the run's sigmas")
		}
		start, end := g.Scale, o.ScaleEnd
		steps := len(sigmas) - 1
		g.ScaleAt = func(sigma float64) float64 {
			return ScheduleScale(kind, start, end, stepOf(sigmas, sigma), steps)
		}
	}
	return nil
}

// scheduleKind returns the canonical schedule name ("" = "constant").
func scheduleKind(s string) (string, error) {
	switch s {
	case "", "constant":
		return "constant", nil
	case "linear", "cosine":
		return s, nil
	}
	return "", fmt.Errorf("cfg schedule %q: must be constant, linear or cosine", s)
}

// ScheduleScale is the guidance scale at step i of steps, going from start
// (step 0) to end (the last step) with progress p = i/(steps − 1) (p = 0
// for a single step):
//
//	constant: w = start
//	linear:   w = start + (end − start)·p
//	cosine:   w = end + (start − end)·(1 + cos(π·p))/2
//
// (cosine keeps the scale near start early and near end late).
func ScheduleScale(kind string, start, end float64, i, steps int) float64 {
	p := 0.0
	if steps > 1 {
		p = float64(i) / float64(steps-1)
	}
	switch kind {
	case "linear":
		return start + (end-start)*p
	case "cosine":
		return end + (start-end)*(1+math.Cos(math.Pi*p))/2
	}
	return start
}

// stepOf returns the step whose σ is sigma: the index of the equal entry
// of sigmas (samplers call the model at the schedule's own values; Heun's
// second call at σ_{i+1} gets step i+1's scale), else of the nearest one.
// The final 0 is never a step.
func stepOf(sigmas []float64, sigma float64) int {
	best, bestD := 0, math.Inf(1)
	for i := 0; i < len(sigmas)-1; i++ {
		if sigmas[i] == sigma {
			return i
		}
		if d := math.Abs(sigmas[i] - sigma); d < bestD {
			best, bestD = i, d
		}
	}
	return best
}
