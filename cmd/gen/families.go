package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/t5"
	"github.com/godiffusion/godiffusion/sampling"
)

// flowSamplers are the samplers that are right for a flow-matching model
// (the ancestral and DDIM-style ones assume the ε parameterisation's noise).
var flowSamplers = map[string]bool{"euler": true, "heun": true, "dpmpp_2m": true}

// checkFamilySettings refuses settings the detected family cannot honour,
// naming the flag.
func checkFamilySettings(f *genFlags, info detect.Info) error {
	if info.Family != detect.Flux {
		return nil
	}
	if !flowSamplers[f.sampler] {
		return badInput("--sampler %s: Flux is a flow-matching model; use euler (default), heun or dpmpp_2m", f.sampler)
	}
	if f.scheduler != "simple" {
		return badInput("--scheduler %s: Flux samples on its own flow schedule (BFL's get_schedule, ComfyUI's simple); leave --scheduler out", f.scheduler)
	}
	if f.clipSkip > 1 {
		return badInput("--clip-skip %d: Flux uses CLIP-L's pooled output only; clip skip does not apply", f.clipSkip)
	}
	return nil
}

// warnUnused says on stderr when a setting will have no effect, rather
// than dropping it silently: a negative prompt at CFG scale 1 (the
// unconditional pass is not run).
func warnUnused(f *genFlags, info detect.Info, stderr io.Writer) {
	if f.negative != "" && sampling.SkipsUncond(f.cfg) {
		hint := ""
		if info.Family == detect.Flux {
			hint = "; Flux is guidance-distilled (--guidance), a negative prompt needs true CFG: --cfg-scale above 1, twice the work"
		}
		fmt.Fprintf(stderr, "warning: the negative prompt is unused at --cfg-scale 1 (the unconditional pass is skipped)%s\n", hint)
	}
}

// componentFlag names the flag that supplies the part a load error is
// about (--model when it is the model file itself).
func componentFlag(err error) string {
	switch {
	case errors.Is(err, pipeline.ErrClipL):
		return "--clip-l"
	case errors.Is(err, pipeline.ErrVAE):
		return "--vae"
	case errors.Is(err, pipeline.ErrT5):
		return "--t5xxl"
	case errors.Is(err, pipeline.ErrT5Tokenizer):
		return "--t5-tokenizer"
	}
	return "--model"
}

// findT5Tokenizer finds and loads the T5 tokenizer before any model is
// loaded, so that a missing or bad one is bad input (exit 2).
func findT5Tokenizer(f *genFlags) (string, error) {
	t5Path := f.t5xxl
	if t5Path == "" {
		t5Path = f.model // an all-in-one file or a folder
	}
	path, err := t5.FindTokenizer(f.t5Tokenizer, f.model, t5Path)
	if err != nil {
		return "", badInput("--t5-tokenizer: %v", err)
	}
	if _, err := t5.LoadTokenizer(path); err != nil {
		return "", badInput("--t5-tokenizer: %v", err)
	}
	return path, nil
}

// rememberT5Tokenizer copies a T5 tokenizer given with --t5-tokenizer into
// the user cache after a successful run, so later runs find it; it says
// so on stderr when the cache changed.
func rememberT5Tokenizer(path string, stderr io.Writer) {
	dst, copied, err := t5.CacheTokenizer(path)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "warning: could not cache the T5 tokenizer: %v\n", err)
	case copied:
		fmt.Fprintf(stderr, "cached the T5 tokenizer as %s (later runs find it without --t5-tokenizer)\n", dst)
	}
}

// familyParameters are the PNG parameters a family adds after A1111's
// common ones. Flux follows Forge: "Distilled CFG Scale" (dev) and the
// separate files as "Module 1: ae, Module 2: clip_l, Module 3: t5xxl_…".
func familyParameters(f *genFlags, info detect.Info) [][2]string {
	var extra [][2]string
	if f.emptyNegative == "zeros" {
		extra = append(extra, [2]string{"Empty negative", "zeros"})
	}
	if info.Family != detect.Flux {
		return extra
	}
	if f.guidance > 0 {
		extra = append(extra, [2]string{"Distilled CFG Scale", strconv.FormatFloat(f.guidance, 'g', -1, 64)})
	}
	n := 0
	for _, file := range []string{f.vae, f.clipL, f.t5xxl} {
		if file != "" {
			n++
			extra = append(extra, [2]string{fmt.Sprintf("Module %d", n), modelName(file)})
		}
	}
	return extra
}
