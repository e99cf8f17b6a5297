package main

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
	// Forge's labels for the CFG++ samplers.
	"euler_cfg_pp":           "Euler CFG++",
	"euler_ancestral_cfg_pp": "Euler a CFG++",
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
