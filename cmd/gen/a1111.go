package main

import (
	"math"
	"strconv"
)

// a1111Samplers are the labels AUTOMATIC1111's web UI writes in the
// "Sampler:" field of its PNG parameters for the samplers gen runs
// (modules/sd_samplers_kdiffusion.py and friends), keyed by ComfyUI name.
var a1111Samplers = map[string]string{
	"euler":           "Euler",
	"euler_ancestral": "Euler a",
	"heun":            "Heun",
	"dpmpp_2m":        "DPM++ 2M",
	"ddim":            "DDIM",
	"lcm":             "LCM",
}

// a1111Schedules are A1111's "Schedule type:" labels
// (modules/sd_schedulers.py), keyed by ComfyUI scheduler name. A1111's
// Normal, Karras, Exponential, SGM Uniform, Simple and DDIM schedules are
// ComfyUI's of the same name (ddim_uniform is A1111's "DDIM").
var a1111Schedules = map[string]string{
	"normal":       "Normal",
	"karras":       "Karras",
	"exponential":  "Exponential",
	"sgm_uniform":  "SGM Uniform",
	"simple":       "Simple",
	"ddim_uniform": "DDIM",
	"beta":         "Beta",
	"kl_optimal":   "KL Optimal",
}

// a1111Name returns A1111's label for a canonical (ComfyUI) name, or the
// name itself when A1111 has no such sampler or schedule.
func a1111Name(labels map[string]string, name string) string {
	if l, ok := labels[name]; ok {
		return l
	}
	return name
}

// a1111Img2Img returns the "Steps" and "Denoising strength" that make
// A1111 (img2img with its default "fix steps" off) run this img2img
// exactly: gen, like ComfyUI, runs `steps` steps, the last ones of a
// schedule of total = int(steps/strength) steps; A1111 builds a schedule
// of Steps and runs the last int(strength·Steps) of it. So Steps is total
// and the strength is the shortest decimal d with int(d·total) = steps
// (strength itself can give one step fewer: 0.75·13 = 9.75 → 9, not 10).
func a1111Img2Img(steps int, strength float64) (total int, denoise string) {
	total = int(float64(steps) / strength)
	if strength > 0.9999 {
		return steps, strconv.FormatFloat(strength, 'g', -1, 64)
	}
	want := float64(steps) / float64(total)
	for prec := 2; prec <= 17; prec++ {
		scale := math.Pow(10, float64(prec))
		d := math.Ceil(want*scale) / scale
		if int(d*float64(total)) == steps && d <= 1 {
			return total, strconv.FormatFloat(d, 'f', -1, 64)
		}
	}
	return total, strconv.FormatFloat(want, 'g', -1, 64)
}
