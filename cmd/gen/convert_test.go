package main

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/internal/usercache"
	"github.com/godiffusion/godiffusion/safetensors"
)

// TestConvertFlux converts the tiny dev and schnell models from their split
// files with `gen convert` (transformer and T5 sharded by
// --max-shard-size), then runs every prompt-driven Flux run with
// `gen --model FOLDER` and nothing else (the tokenizers come from the
// folder; the cache is empty): the saved latent and the PNG must be
// bit-identical to those from the split files, and within the reference's
// tolerances (latent 1e-3 of max |ref|, PNG ±1 of image_u8_round).
func TestConvertFlux(t *testing.T) {
	var meta struct {
		Runs []fluxRun `json:"runs"`
	}
	golden.ReadJSON(t, golden.Shared(t, "flux/meta.json"), &meta)
	t.Setenv(usercache.Env, t.TempDir())
	dir := t.TempDir()
	folders := map[string]string{}
	for _, model := range []string{"dev", "schnell"} {
		folders[model] = filepath.Join(dir, "flux1-"+model)
		code, stdout, stderr := gen(t, append([]string{"convert"}, append(fluxFiles(t, model), "--max-shard-size", "512KiB", "-o", folders[model])...)...)
		if code != 0 || stdout != "" || !strings.Contains(stderr, "FluxPipeline ("+model+")") {
			t.Fatalf("gen convert %s: exit %d, stdout %q, stderr %q", model, code, stdout, stderr)
		}
		if _, err := os.Stat(filepath.Join(folders[model], "transformer", "diffusion_pytorch_model.safetensors.index.json")); err != nil {
			t.Errorf("transformer not sharded: %v", err)
		}
	}
	n := 0
	for _, r := range meta.Runs {
		if r.Conditioning != "prompt" {
			continue
		}
		n++
		t.Run(r.Name, func(t *testing.T) {
			settings := []string{"-p", r.Prompt, "--seed", strconv.FormatUint(r.Seed, 10),
				"--steps", strconv.Itoa(r.Steps), "-W", strconv.Itoa(r.Width), "-H", strconv.Itoa(r.Height), "--quiet"}
			if r.Negative != nil {
				settings = append(settings, "-n", *r.Negative)
			}
			if r.TrueCFG != 1 {
				settings = append(settings, "--cfg-scale", strconv.FormatFloat(r.TrueCFG, 'g', -1, 64))
			}
			if r.Guidance != nil {
				settings = append(settings, "--guidance", strconv.FormatFloat(*r.Guidance, 'g', -1, 64))
			}
			run := func(name string, model ...string) ([]float32, []byte) {
				out, lat := filepath.Join(t.TempDir(), name+".png"), filepath.Join(t.TempDir(), name+".safetensors")
				code, _, stderr := gen(t, append(append(model, settings...), "-o", out, "--save-latent", lat)...)
				if code != 0 {
					t.Fatalf("%s: exit %d: %s", name, code, stderr)
				}
				f, err := safetensors.Open(lat)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				v, _, err := f.Float32("latent")
				if err != nil {
					t.Fatal(err)
				}
				png, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				return v, png
			}
			latFolder, pngFolder := run("folder", "--model", folders[r.Model])
			latFile, pngFile := run("files", fluxFiles(t, r.Model)...)
			for i := range latFile {
				if latFolder[i] != latFile[i] {
					t.Fatalf("latent value %d: %g from the folder, %g from the split files", i, latFolder[i], latFile[i])
				}
			}
			rgbFolder, rgbFile := decodePNG(t, pngFolder), decodePNG(t, pngFile)
			if string(rgbFolder) != string(rgbFile) {
				t.Error("the PNG from the folder differs from the one from the split files")
			}
			ref := golden.Open(t, filepath.Join("flux", r.File))
			want, _ := golden.Float32(t, ref, "latents")
			m := 0.0
			for _, v := range want {
				m = math.Max(m, math.Abs(float64(v)))
			}
			golden.AssertClose(t, "latent", latFolder, want, 1e-3*m, 0)
			u8, _ := golden.Float32(t, ref, "image_u8_round")
			worst := 0.0
			for i, v := range u8 {
				worst = math.Max(worst, math.Abs(float64(rgbFolder[i])-float64(v)))
			}
			if len(u8) != len(rgbFolder) || worst > 1 {
				t.Errorf("PNG: %d bytes, want %d; differs from image_u8_round by up to %g", len(rgbFolder), len(u8), worst)
			}
		})
	}
	if n != 4 {
		t.Errorf("%d prompt runs in flux/meta.json, want 4", n)
	}
}

// TestConvertBadInput: an existing output without --overwrite, an output
// that cannot be created, a missing part, a model that is not Flux, a bad
// shard size: one line naming the problem and the flag, exit 2, no folder.
func TestConvertBadInput(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(usercache.Env, filepath.Join(dir, "cache"))
	existing := filepath.Join(dir, "existing")
	os.Mkdir(existing, 0o755)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	out := filepath.Join(dir, "out")
	without := func(args []string, flag string) []string {
		var r []string
		for i := 0; i < len(args); i++ {
			if args[i] == flag {
				i++
				continue
			}
			r = append(r, args[i])
		}
		return r
	}
	schnell := fluxFiles(t, "schnell")
	convert := func(args []string, more ...string) []string {
		return append(append([]string{"convert"}, args...), more...)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"existing output", convert(schnell, "-o", existing), "--overwrite"},
		{"output under a file", convert(schnell, "-o", filepath.Join(file, "out")), "-o/--output"},
		{"no output", convert(schnell), "-o/--output"},
		{"no autoencoder", convert(without(schnell, "--vae"), "-o", out), "--vae"},
		{"no T5", convert(without(schnell, "--t5xxl"), "-o", out), "--t5xxl"},
		{"no CLIP-L", convert(without(schnell, "--clip-l"), "-o", out), "--clip-l"},
		{"T5 of the wrong width", convert(schnell, "--t5xxl", narrowT5(t, dir), "-o", out), "--t5xxl"},
		{"missing T5 tokenizer", convert(schnell, "--t5-tokenizer", filepath.Join(dir, "none.model"), "-o", out), "--t5-tokenizer"},
		{"not Flux", convert(append(without(schnell, "--model"), "--model", golden.Core(t, "sd1/tiny-sd1.safetensors")), "-o", out), "Flux.1 models only"},
		{"bad shard size", convert(schnell, "--max-shard-size", "lots", "-o", out), "--max-shard-size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := gen(t, c.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q: want one line mentioning %q", stderr, c.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
			t.Log(strings.TrimSpace(stderr))
		})
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(m) != 0 {
		t.Errorf("temporary folders left: %v", m)
	}
}
