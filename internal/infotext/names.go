// Package infotext holds what godiffusion shares with AUTOMATIC1111's web UI
// about describing a generation: A1111's display names of samplers and
// schedules (the "Sampler:" and "Schedule type:" fields of its PNG
// "parameters" text and the sampler_name/scheduler fields of its API), the
// PNG of an image with that text, and the parser that reads the text back
// (A1111's "PNG Info", modules/infotext_utils.py
// parse_generation_parameters).
//
// cmd/gen writes its PNGs with it and the server (package server) speaks
// A1111's API with it, so both produce the same bytes for the same image.
package infotext

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/godiffusion/godiffusion/models/pipeline"
)

// Samplers are the labels A1111 uses for the samplers godiffusion runs
// (modules/sd_samplers_kdiffusion.py and friends), keyed by ComfyUI name.
var Samplers = map[string]string{
	"euler":           "Euler",
	"euler_ancestral": "Euler a",
	"heun":            "Heun",
	"dpmpp_2m":        "DPM++ 2M",
	"ddim":            "DDIM",
	"lcm":             "LCM",
	// Forge's labels for the CFG++ samplers.
	"euler_cfg_pp":           "Euler CFG++",
	"euler_ancestral_cfg_pp": "Euler a CFG++",
}

// Schedules are A1111's "Schedule type:" labels (modules/sd_schedulers.py),
// keyed by ComfyUI scheduler name. A1111's Normal, Karras, Exponential, SGM
// Uniform, Simple and DDIM schedules are ComfyUI's of the same name
// (ddim_uniform is A1111's "DDIM").
var Schedules = map[string]string{
	"normal":       "Normal",
	"karras":       "Karras",
	"exponential":  "Exponential",
	"sgm_uniform":  "SGM Uniform",
	"simple":       "Simple",
	"ddim_uniform": "DDIM",
	"beta":         "Beta",
	"kl_optimal":   "KL Optimal",
}

// Label returns A1111's label for a canonical (ComfyUI) name, or the name
// itself when A1111 has no such sampler or schedule.
func Label(labels map[string]string, name string) string {
	if l, ok := labels[name]; ok {
		return l
	}
	return name
}

// Sampler returns the ComfyUI name of a sampler given by its A1111 label
// ("Euler a", "DPM++ 2M"; any case) or by a name pipeline.CanonicalSampler
// accepts ("euler_ancestral", "euler_a"). The error lists the A1111 labels.
func Sampler(name string) (string, error) {
	if c := fromLabel(Samplers, name); c != "" {
		return c, nil
	}
	if c, err := pipeline.CanonicalSampler(name); err == nil {
		return c, nil
	}
	return "", fmt.Errorf("unknown sampler %q (one of %s)", name, labelList(Samplers))
}

// Scheduler returns the ComfyUI name of a schedule given by its A1111
// label ("Karras", "SGM Uniform"; any case; "Automatic" and "" mean
// normal, A1111's default for these samplers) or a ComfyUI/sd.cpp name.
func Scheduler(name string) (string, error) {
	if name == "" || strings.EqualFold(name, "automatic") {
		return "normal", nil
	}
	if c := fromLabel(Schedules, name); c != "" {
		return c, nil
	}
	if c, err := pipeline.CanonicalScheduler(name); err == nil {
		return c, nil
	}
	return "", fmt.Errorf("unknown scheduler %q (one of %s)", name, labelList(Schedules))
}

// fromLabel is the reverse lookup of a label, ignoring case, also in the
// form of A1111's scheduler names (the label in lower case with "_" for
// spaces: "sgm_uniform"); "" when absent.
func fromLabel(labels map[string]string, label string) string {
	for name, l := range labels {
		if strings.EqualFold(l, label) || strings.EqualFold(APIName(l), label) {
			return name
		}
	}
	return ""
}

// APIName is A1111's API name of a schedule label: lower case, "_" for
// spaces ("SGM Uniform" → "sgm_uniform", the /sdapi/v1/schedulers name).
func APIName(label string) string {
	return strings.ReplaceAll(strings.ToLower(label), " ", "_")
}

// labelList is the sorted, quoted labels, comma-separated.
func labelList(labels map[string]string) string {
	var ls []string
	for _, l := range labels {
		ls = append(ls, fmt.Sprintf("%q", l))
	}
	sort.Strings(ls)
	return strings.Join(ls, ", ")
}

// Img2ImgSteps returns the "Steps" and "Denoising strength" that make
// A1111 (img2img with its default "fix steps" off) run this img2img
// exactly: gen, like ComfyUI, runs `steps` steps, the last ones of a
// schedule of total = int(steps/strength) steps; A1111 builds a schedule
// of Steps and runs the last int(strength·Steps) of it. So Steps is total
// and the strength is the shortest decimal d with int(d·total) = steps
// (strength itself can give one step fewer: 0.75·13 = 9.75 → 9, not 10).
func Img2ImgSteps(steps int, strength float64) (total int, denoise string) {
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
