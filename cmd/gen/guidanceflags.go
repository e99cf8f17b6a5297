package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/godiffusion/godiffusion/sampling"
)

// guidanceFlags are the flags that choose the guidance rule, interval and
// scale schedule (sampling.GuidanceOptions). Their defaults are ComfyUI's
// node defaults (APG: η 1, momentum 0, norm threshold 5; Perp-Neg:
// neg_scale 1).
type guidanceFlags struct {
	rule                  string
	apgEta, apgMomentum   float64
	apgNorm, perpNegScale float64
	interval              string
	schedule              string
	scaleEnd              float64
	scaleEndSet           bool
	opts                  sampling.GuidanceOptions // filled by validate
}

// register adds the guidance flags to fs.
func (g *guidanceFlags) register(fs *flag.FlagSet) {
	stringFlag(fs, &g.rule, "cfg", "guidance rule: cfg, apg, perpneg", "guidance-rule")
	floatFlag(fs, &g.apgEta, 1, "APG: scale of the guidance parallel to cond", "apg-eta")
	floatFlag(fs, &g.apgMomentum, 0, "APG: momentum of the guidance average", "apg-momentum")
	floatFlag(fs, &g.apgNorm, 5, "APG: norm threshold of the guidance (0 = off)", "apg-norm-threshold")
	floatFlag(fs, &g.perpNegScale, 1, "Perp-Neg: weight of the negative prompt's perpendicular part", "perpneg-scale")
	stringFlag(fs, &g.interval, "", "apply guidance only for sigma in LO,HI", "cfg-interval")
	stringFlag(fs, &g.schedule, "constant", "cfg scale schedule: constant, linear, cosine", "cfg-schedule")
	fs.Func("cfg-scale-end", "cfg scale at the last step for --cfg-schedule linear/cosine", func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("not a finite number")
		}
		g.scaleEnd, g.scaleEndSet = v, true
		return nil
	})
}

// validate checks the guidance flags for a run with scale cfg and guidance
// rescale, naming the flag, and fills g.opts.
func (g *guidanceFlags) validate(cfg, rescale float64) error {
	rule, err := sampling.CanonicalGuidanceRule(g.rule)
	if err != nil {
		return badInput("--guidance-rule: %v", err)
	}
	o := sampling.GuidanceOptions{Rule: rule, APGEta: g.apgEta, APGMomentum: g.apgMomentum, APGNormThreshold: g.apgNorm,
		PerpNegScale: g.perpNegScale, Schedule: g.schedule, ScaleEnd: cfg}
	switch {
	case math.Abs(g.apgEta) > sampling.APGEtaMax:
		return badInput("--apg-eta %g: must be between %d and %d", g.apgEta, -sampling.APGEtaMax, sampling.APGEtaMax)
	case math.Abs(g.apgMomentum) > sampling.APGMomentumMax:
		return badInput("--apg-momentum %g: must be between %d and %d", g.apgMomentum, -sampling.APGMomentumMax, sampling.APGMomentumMax)
	case g.apgNorm < 0 || g.apgNorm > sampling.APGNormThresholdMax:
		return badInput("--apg-norm-threshold %g: must be between 0 (off) and %d", g.apgNorm, sampling.APGNormThresholdMax)
	case g.perpNegScale < 0:
		return badInput("--perpneg-scale %g: must not be negative", g.perpNegScale)
	}
	switch g.schedule {
	case "constant":
		if g.scaleEndSet {
			return badInput("--cfg-scale-end: needs --cfg-schedule linear or cosine")
		}
	case "linear", "cosine":
		if !g.scaleEndSet {
			return badInput("--cfg-schedule %s: needs --cfg-scale-end", g.schedule)
		}
		if g.scaleEnd < 0 {
			return badInput("--cfg-scale-end %g: must not be negative", g.scaleEnd)
		}
		o.ScaleEnd = g.scaleEnd
	default:
		return badInput("--cfg-schedule %q: must be constant, linear or cosine", g.schedule)
	}
	if g.interval != "" {
		lo, hi, ok := parsePair(g.interval)
		if !ok || lo < 0 || lo > hi {
			return badInput("--cfg-interval %q: must be LO,HI with 0 ≤ LO ≤ HI (noise levels sigma)", g.interval)
		}
		o.Interval, o.IntervalLo, o.IntervalHi = true, lo, hi
	}
	if err := o.Check(cfg, rescale); err != nil {
		return badInput("--guidance-rule %s: %v", rule, err)
	}
	g.opts = o
	return nil
}

// parsePair parses "a,b" into two numbers: a finite, b finite or inf.
func parsePair(s string) (a, b float64, ok bool) {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return 0, 0, false
	}
	a, errA := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
	b, errB := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
	ok = errA == nil && errB == nil && !math.IsNaN(a) && !math.IsInf(a, 0) && !math.IsNaN(b) && !math.IsInf(b, -1)
	return a, b, ok
}

// pngExtra returns the PNG parameters that record non-default guidance.
func (g *guidanceFlags) pngExtra() [][2]string {
	var out [][2]string
	o := g.opts
	switch o.Rule {
	case "apg":
		out = append(out, [2]string{"Guidance rule", fmt.Sprintf("apg (eta %g, momentum %g, norm threshold %g)", o.APGEta, o.APGMomentum, o.APGNormThreshold)})
	case "perpneg":
		out = append(out, [2]string{"Guidance rule", fmt.Sprintf("perpneg (neg scale %g)", o.PerpNegScale)})
	}
	if o.Interval {
		out = append(out, [2]string{"CFG interval", fmt.Sprintf("%g-%g", o.IntervalLo, o.IntervalHi)})
	}
	if o.Schedule != "constant" {
		out = append(out, [2]string{"CFG schedule", fmt.Sprintf("%s to %g", o.Schedule, o.ScaleEnd)})
	}
	return out
}
