package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/internal/usercache"
	"github.com/godiffusion/godiffusion/safetensors"
)

// convertedFolders converts the tiny dev and schnell models from their
// split files with `gen convert` (transformer and T5 sharded by
// --max-shard-size) and returns the folders by model.
func convertedFolders(t *testing.T) map[string]string {
	t.Helper()
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
	return folders
}

// checkFolderRun runs `gen --model FOLDER` with the run's settings and
// nothing else (the tokenizers come from the folder; the test's cache is
// empty) and checks that the saved latent and the PNG's pixels are
// bit-identical to those from the split files (latent, rgb), which are
// within the reference's tolerances.
func checkFolderRun(t *testing.T, folder string, settings []string, latent []float32, rgb []uint8) {
	dir := t.TempDir()
	out, lat := filepath.Join(dir, "folder.png"), filepath.Join(dir, "folder.safetensors")
	code, _, stderr := gen(t, append(append([]string{"--model", folder}, settings...), "-o", out, "--save-latent", lat)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := safetensors.Open(lat)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _, err := f.Float32("latent")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(latent) {
		t.Fatalf("latent of %d values, the split files give %d", len(got), len(latent))
	}
	for i := range latent {
		if got[i] != latent[i] {
			t.Fatalf("latent value %d: %g from the folder, %g from the split files", i, got[i], latent[i])
		}
	}
	png, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(decodePNG(t, png)) != string(rgb) {
		t.Error("the PNG from the folder differs from the one from the split files")
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
		{"no autoencoder", convert(withoutFlag(schnell, "--vae"), "-o", out), "--vae"},
		{"no T5", convert(withoutFlag(schnell, "--t5xxl"), "-o", out), "--t5xxl"},
		{"no CLIP-L", convert(withoutFlag(schnell, "--clip-l"), "-o", out), "--clip-l"},
		{"T5 of the wrong width", convert(schnell, "--t5xxl", narrowT5(t, dir), "-o", out), "--t5xxl"},
		{"missing T5 tokenizer", convert(schnell, "--t5-tokenizer", filepath.Join(dir, "none.model"), "-o", out), "--t5-tokenizer"},
		{"not Flux", convert(append(withoutFlag(schnell, "--model"), "--model", golden.Core(t, "sd1/tiny-sd1.safetensors")), "-o", out), "Flux.1 models only"},
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
