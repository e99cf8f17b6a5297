package main

import (
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
)

// parseBenchFlags picks the family and the default size: 512×512 for the
// SD1.5 shapes, 1024×1024 for SDXL (random or a file), -W/-H when given.
func TestBenchFlags(t *testing.T) {
	tinyXL := golden.Shared(t, "sdxl/tiny-sdxl.safetensors")
	tinySD1 := golden.Core(t, "sd1/tiny-sd1.safetensors")
	for _, tc := range []struct {
		args       []string
		arch       string
		w, h       int
		wantWeight string
	}{
		{nil, "sd1", 512, 512, "f16"},
		{[]string{"--arch", "sdxl"}, "sdxl", 1024, 1024, "f16"},
		{[]string{"--arch", "sdxl", "-W", "768", "--weights", "bf16"}, "sdxl", 768, 512, "bf16"},
		{[]string{"--arch", "sdxl", "--width", "640", "--height", "832"}, "sdxl", 640, 832, "f16"},
		{[]string{"--model", tinyXL}, "sdxl", 1024, 1024, "f16"},
		{[]string{"--arch", "sdxl", "--model", tinyXL, "-H", "64"}, "sdxl", 512, 64, "f16"},
		{[]string{"--model", tinySD1}, "sd1", 512, 512, "f16"},
		{[]string{"--arch", "flux-schnell"}, "flux-schnell", 1024, 1024, "bf16"},
		{[]string{"--arch", "flux-dev", "-W", "512", "-H", "512", "--weights", "f8"}, "flux-dev", 512, 512, "f8"},
		{[]string{"--model", golden.Shared(t, "flux/flux1-dev-tiny.safetensors")}, "flux-dev", 1024, 1024, "bf16"},
	} {
		f, err := parseBenchFlags(tc.args)
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if f.arch != tc.arch || f.width != tc.w || f.height != tc.h || f.weights != tc.wantWeight {
			t.Errorf("%v: arch %s %dx%d weights %s, want %s %dx%d %s", tc.args, f.arch, f.width, f.height, f.weights, tc.arch, tc.w, tc.h, tc.wantWeight)
		}
	}
}

// Bad bench settings exit with status 2 and one line naming the flag,
// before any weights are built.
func TestBenchBadInput(t *testing.T) {
	tinyXL := golden.Shared(t, "sdxl/tiny-sdxl.safetensors")
	tinySD1 := golden.Core(t, "sd1/tiny-sd1.safetensors")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--arch", "flux"}, "--arch"},
		{[]string{"--arch", "sdxl", "-W", "1020"}, "-W/--width"},
		{[]string{"--arch", "sdxl", "-H", "0"}, "-H/--height"},
		{[]string{"--arch", "sdxl", "-W", "20000", "-H", "64"}, "-W/-H"},
		{[]string{"--arch", "sdxl", "--steps", "0"}, "--steps"},
		{[]string{"--arch", "sdxl", "--cfg-scale", "-1"}, "--cfg-scale"},
		{[]string{"--arch", "sdxl", "--weights", "f8"}, "--weights"},
		{[]string{"--arch", "sdxl", "--sampler", "nope"}, "--sampler"},
		{[]string{"--arch", "sd1", "--model", tinyXL}, "--arch sd1"},
		{[]string{"--arch", "sdxl", "--model", tinySD1}, "--arch sdxl"},
		{[]string{"--model", t.TempDir()}, "--model"},
		{[]string{"--arch", "flux-dev", "-W", "520"}, "-W/--width"},
		{[]string{"--arch", "sd1", "--weights", "f8"}, "--weights"},
		{[]string{"--arch", "flux-schnell", "--guidance", "3"}, "--guidance"},
		{[]string{"--arch", "flux-dev", "--t5xxl", "x.safetensors"}, "--t5xxl"},
		{[]string{"--arch", "flux-schnell", "--model", golden.Shared(t, "flux/flux1-dev-tiny.safetensors")}, "--arch flux-schnell"},
		{[]string{"--model", golden.Shared(t, "flux/flux1-dev-tiny.safetensors"), "--t5xxl", "x"}, "--t5xxl"},
		{[]string{"--model", golden.Shared(t, "flux/flux1-dev-tiny.safetensors"), "--t5xxl", golden.Shared(t, "t5/t5-tiny.safetensors"), "--vae", golden.Shared(t, "sd1/model/vae/diffusion_pytorch_model.safetensors")}, "--vae"},
		{[]string{"--model", golden.Shared(t, "flux/flux1-dev-tiny.safetensors"), "--vae", golden.Shared(t, "flux/ae-tiny.safetensors")}, "--t5xxl"},
	} {
		code, stdout, stderr := gen(t, append([]string{"bench"}, tc.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line naming %s", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// TestBenchSDXLModel runs `gen bench --model` on the tiny SDXL fixture
// (single file with its non-standard 16-wide UNet heads, and the diffusers
// folder): the SDXL path with random contexts [1, 77, 32] and y [1, 72].
func TestBenchSDXLModel(t *testing.T) {
	for _, args := range [][]string{
		{"--model", golden.Shared(t, "sdxl/tiny-sdxl.safetensors"), "--unet-head-dim", "16", "--text-heads", "2", "--text-heads-2", "2"},
		{"--model", golden.Shared(t, "sdxl/diffusers"), "--arch", "sdxl"},
	} {
		code, stdout, stderr := gen(t, append(append([]string{"bench"}, args...), "-W", "64", "-H", "64", "--steps", "2", "--threads", "1")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		for _, want := range []string{"gen bench — sdxl, " + args[1], "64x64, 2 steps, cfg 7, euler/normal", "1 threads, kernels ",
			"weights     f16", "  load ", "s/step; 2 UNet calls, 4 batch passes", "  steps       first ", " s, later ", " GFLOP/pass (unet.Config.FLOPs), ", "% of peak ",
			"  decode ", "  peak RSS "} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%v: bench output lacks %q:\n%s", args, want, stdout)
			}
		}
		t.Logf("%s", stdout)
	}
}

// TestBenchFluxModel runs `gen bench --model` on the tiny Flux fixtures
// from split files (transformer, AE, T5, CLIP-L), as a user times real
// files: T5 over the variant's real sequence length and CLIP-L are timed
// and released before sampling, and every stage reports its peak RSS.
func TestBenchFluxModel(t *testing.T) {
	for _, tc := range []struct {
		model, want string
	}{
		{"flux/flux1-dev-tiny.safetensors", "512 tokens"},
		{"flux/flux1-schnell-tiny.safetensors", "256 tokens"},
	} {
		args := []string{"bench", "--model", golden.Shared(t, tc.model), "--vae", golden.Shared(t, "flux/ae-tiny.safetensors"),
			"--t5xxl", golden.Shared(t, "t5/t5-tiny.safetensors"), "--clip-l", golden.Shared(t, "sd1/model/text_encoder/model.safetensors"),
			"--text-heads", "4", "-W", "64", "-H", "32", "--steps", "2", "--threads", "1"}
		code, stdout, stderr := gen(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		for _, want := range []string{"64x32, 2 steps, cfg 1", "simple", "transformer f32", "  T5  ", tc.want, "  CLIP-L ",
			"s/step; 2 transformer calls, 2 batch passes", "  steps       first ", " GFLOP/pass (fluxnet.Config.FLOPs), ", "% of peak ",
			"  decode ", "after the transformer was released", "overall"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: bench output lacks %q:\n%s", tc.model, want, stdout)
			}
		}
		t.Logf("%s", stdout)
	}
}
