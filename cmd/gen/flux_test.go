package main

import (
	"bytes"
	"github.com/godiffusion/godiffusion/internal/pngmeta"
	"slices"

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

// fluxRun is a prompt-driven run's entry in flux/meta.json.
type fluxRun struct {
	Name         string   `json:"name"`
	File         string   `json:"file"`
	Conditioning string   `json:"conditioning"`
	Model        string   `json:"model"`
	Prompt       string   `json:"prompt"`
	Negative     *string  `json:"negative_prompt"`
	Seed         uint64   `json:"seed"`
	Steps        int      `json:"steps"`
	Guidance     *float64 `json:"guidance"`
	TrueCFG      float64  `json:"true_cfg"`
	Width        int      `json:"width"`
	Height       int      `json:"height"`
}

// fluxFiles are the tiny Flux model's parts as separate files, exactly as
// ComfyUI users keep the real ones, plus the hyper-parameter a stand-alone
// CLIP file cannot tell (the tiny CLIP's 4 heads).
func fluxFiles(t *testing.T, model string) []string {
	return []string{"--model", golden.Shared(t, "flux/flux1-"+model+"-tiny.safetensors"),
		"--vae", golden.Shared(t, "flux/ae-tiny.safetensors"),
		"--t5xxl", golden.Shared(t, "t5/t5-tiny.safetensors"), "--t5-tokenizer", golden.Shared(t, "t5/spiece.model"),
		"--clip-l", golden.Shared(t, "sd1/model/text_encoder/model.safetensors"), "--text-heads", "4",
		"--tokenizer", golden.Tokenizer(t, "clip")}
}

// TestGenerateFlux runs gen end to end on every prompt-driven Flux run from
// split files: the saved latent [1, 16, H/8, W/8] within 1e-3 of max |ref|
// of the reference latents, the PNG within 1 per channel of diffusers'
// rounding (image_u8_round), and the PNG parameters in Forge's convention.
// Each run is then made again from a diffusers folder that `gen convert`
// wrote from the same files (checkFolderRun).
func TestGenerateFlux(t *testing.T) {
	var meta struct {
		Runs []fluxRun `json:"runs"`
	}
	golden.ReadJSON(t, golden.Shared(t, "flux/meta.json"), &meta)
	t.Setenv(usercache.Env, t.TempDir())
	var folders map[string]string // the converted diffusers folders, by model
	if !testing.Short() {
		folders = convertedFolders(t)
	}
	n := 0
	for _, r := range meta.Runs {
		if r.Conditioning != "prompt" || (testing.Short() && r.Model != "schnell") {
			continue
		}
		n++
		t.Run(r.Name, func(t *testing.T) {
			dir := t.TempDir()
			out, lat := filepath.Join(dir, "flux.png"), filepath.Join(dir, "lat.safetensors")
			settings := fluxSettings(r)
			args := append(append(fluxFiles(t, r.Model), settings...), "-o", out, "--save-latent", lat)
			code, _, stderr := gen(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			ref := golden.Open(t, filepath.Join("flux", r.File))
			fl, err := safetensors.Open(lat)
			if err != nil {
				t.Fatal(err)
			}
			defer fl.Close()
			got, shape, err := fl.Float32("latent")
			if err != nil {
				t.Fatal(err)
			}
			want, wantShape := golden.Float32(t, ref, "latents")
			if !slices.Equal(shape, wantShape) {
				t.Fatalf("latent %v, want %v", shape, wantShape)
			}
			m := 0.0
			for _, v := range want {
				m = math.Max(m, math.Abs(float64(v)))
			}
			golden.AssertClose(t, "latent", got, want, 1e-3*m, 0)
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			rgb := decodePNG(t, b)
			u8, _ := golden.Float32(t, ref, "image_u8_round")
			if len(u8) != len(rgb) {
				t.Fatalf("PNG has %d bytes, want %d", len(rgb), len(u8))
			}
			worst := 0.0
			for i, v := range u8 {
				worst = math.Max(worst, math.Abs(float64(rgb[i])-float64(v)))
			}
			if worst > 1 {
				t.Errorf("PNG differs from image_u8_round by up to %g", worst)
			}
			params := pngParameters(t, b)
			for _, want := range []string{"Sampler: Euler", "Module 1: ae-tiny", "Module 2: model", "Module 3: t5-tiny", "Model: flux1-" + r.Model + "-tiny"} {
				if !strings.Contains(params, want) {
					t.Errorf("PNG parameters %q lack %q", params, want)
				}
			}
			if (r.Guidance != nil) != strings.Contains(params, "Distilled CFG Scale: ") {
				t.Errorf("PNG parameters %q: distilled guidance recorded for a %s model?", params, r.Model)
			}
			t.Run("diffusers folder", func(t *testing.T) {
				golden.SkipShort(t, "the same run from a converted diffusers folder")
				checkFolderRun(t, folders[r.Model], settings, got, rgb)
			})
		})
	}
	if want := 4; !testing.Short() && n != want {
		t.Errorf("%d prompt runs in flux/meta.json, want %d", n, want)
	}
}

// fluxSettings are the gen flags of run r besides the model files and
// outputs.
func fluxSettings(r fluxRun) []string {
	s := []string{"-p", r.Prompt, "--seed", strconv.FormatUint(r.Seed, 10),
		"--steps", strconv.Itoa(r.Steps), "-W", strconv.Itoa(r.Width), "-H", strconv.Itoa(r.Height), "--quiet"}
	if r.Negative != nil {
		s = append(s, "-n", *r.Negative)
	}
	if r.TrueCFG != 1 {
		s = append(s, "--cfg-scale", strconv.FormatFloat(r.TrueCFG, 'g', -1, 64))
	}
	if r.Guidance != nil {
		s = append(s, "--guidance", strconv.FormatFloat(*r.Guidance, 'g', -1, 64))
	}
	return s
}

// pngParameters returns the PNG's A1111 "parameters" text.
func pngParameters(t *testing.T, b []byte) string {
	t.Helper()
	text, err := pngmeta.ReadText(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return text[pngmeta.Keyword]
}

// TestFluxBadInput: a Flux file without its autoencoder or T5, a T5 of the
// wrong width, a truncated T5 shard, an index naming a missing shard, a
// size that is not a multiple of 16, guidance for schnell, another
// schedule: one line naming the problem and the flag, exit 2, no file.
func TestFluxBadInput(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(usercache.Env, filepath.Join(dir, "cache"))
	out := filepath.Join(dir, "out.png")
	with := func(args []string, more ...string) []string {
		return append(append(append([]string{}, args...), more...), "-p", "x", "--steps", "1", "-W", "32", "-H", "32", "-o", out)
	}
	schnell := fluxFiles(t, "schnell")
	// A sharded T5 folder with a truncated shard, and one whose index
	// names a shard that is not there.
	t5, err := os.ReadFile(golden.Shared(t, "t5/t5-tiny.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	shard := "model-00001-of-00001.safetensors"
	index := `{"weight_map": {"shared.weight": "` + shard + `"}}`
	truncated, missing := filepath.Join(dir, "truncated"), filepath.Join(dir, "missing")
	for _, d := range []string{truncated, missing} {
		os.Mkdir(d, 0o755)
		os.WriteFile(filepath.Join(d, "model.safetensors.index.json"), []byte(index), 0o644)
	}
	os.WriteFile(filepath.Join(truncated, shard), t5[:len(t5)/2], 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no autoencoder", with(withoutFlag(schnell, "--vae")), "--vae"},
		{"no T5", with(withoutFlag(schnell, "--t5xxl")), "--t5xxl"},
		{"no CLIP-L", with(withoutFlag(schnell, "--clip-l")), "--clip-l"},
		{"not a T5 file", with(schnell, "--t5xxl", golden.Shared(t, "sd1/model/text_encoder/model.safetensors")), "--t5xxl"},
		{"T5 of the wrong width", with(schnell, "--t5xxl", narrowT5(t, dir)), "--t5xxl"},
		{"truncated T5 shard", with(schnell, "--t5xxl", truncated), "--t5xxl"},
		{"index naming a missing shard", with(schnell, "--t5xxl", missing), "--t5xxl"},
		{"missing T5 tokenizer", with(schnell, "--t5-tokenizer", filepath.Join(dir, "none.model")), "--t5-tokenizer"},
		{"size not a multiple of 16", append(withoutFlag(with(schnell), "-W"), "-W", "40"), "-W/-H"},
		{"guidance for schnell", with(schnell, "--guidance", "3.5"), "--guidance"},
		{"another schedule", with(schnell, "--scheduler", "karras"), "--scheduler"},
		{"ancestral sampler", with(schnell, "--sampler", "euler_a"), "--sampler"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assertBadInput(t, c.args, c.want, out) })
	}
}

// narrowT5 writes a T5 encoder like the tiny one but 32 wide instead of
// 64 (random values: only the shapes matter) and returns its path.
func narrowT5(t *testing.T, dir string) string {
	t.Helper()
	const width = 32
	f := golden.Open(t, "t5/t5-tiny.safetensors")
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		_, shape, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		shape = slices.Clone(shape)
		switch {
		case strings.HasSuffix(n, "layer_norm.weight"):
			shape[0] = width
		case strings.HasSuffix(n, ".o.weight") || strings.HasSuffix(n, ".wo.weight"):
			shape[0] = width
		case strings.HasSuffix(n, "relative_attention_bias.weight"):
		default: // shared, q, k, v, wi_0, wi_1: [rows, d_model]
			shape[1] = width
		}
		v := make([]float32, shape[0]*max(1, product(shape[1:])))
		for i := range v {
			v[i] = float32(i%7) / 7
		}
		ts = append(ts, safetensors.NewF32Tensor(n, shape, v))
	}
	path := filepath.Join(dir, "t5-narrow.safetensors")
	if err := safetensors.WriteFile(path, ts, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

func product(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// withoutFlag returns args without flag and its value.
func withoutFlag(args []string, flag string) []string {
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
