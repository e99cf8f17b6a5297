package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/godiffusion/godiffusion/models/clip"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/internal/pngmeta"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// gen runs the command in-process and returns exit status, stdout, stderr.
func gen(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	defer tensor.SetThreads(tensor.Threads()) // --threads changes the process-wide pool
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// tinyArgs are the flags that load the tiny SD1 fixture from its single
// file (GroupNorm groups and CLIP heads cannot be read from its shapes).
func tinyArgs(t *testing.T) []string {
	return []string{"--model", golden.Core(t, "sd1/tiny-sd1.safetensors"), "--norm-groups", "4", "--text-heads", "4",
		"--tokenizer", golden.Tokenizer(t, "clip")}
}

// refRun are the settings of sampling/euler_normal_cfg7p5_negtext.
var refRun = []string{"-p", "a photo of an astronaut riding a horse on mars", "-n", "blurry, low quality, watermark",
	"--seed", "42", "--steps", "10", "--cfg-scale", "7.5", "--sampler", "euler", "--scheduler", "normal",
	"-W", "64", "-H", "64", "--raw", "--quiet"}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(clip.CacheEnv, filepath.Join(dir, "cache")) // an empty tokenizer cache: "missing tokenizer" stays missing
	// Validation only checks that the tokenizer files exist, so a stand-in
	// folder lets these cases run without the real vocabulary.
	tok := filepath.Join(dir, "tok")
	os.Mkdir(tok, 0o755)
	os.WriteFile(filepath.Join(tok, "vocab.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(tok, "merges.txt"), []byte("#version: 0.2\n"), 0o644)
	base := []string{"--model", golden.Core(t, "sd1/tiny-sd1.safetensors"), "--norm-groups", "4", "--text-heads", "4", "--tokenizer", tok}
	junk := filepath.Join(dir, "junk.safetensors")
	os.WriteFile(junk, []byte("definitely not safetensors"), 0o644)
	existing := filepath.Join(dir, "exists.png")
	os.WriteFile(existing, []byte("keep me"), 0o644)
	out := filepath.Join(dir, "out.png")
	cases := []struct {
		name string
		args []string
		want string // a word the one-line message must contain
	}{
		{"unknown sampler", append(append([]string{}, base...), "--sampler", "nope", "-o", out), "--sampler"},
		{"zero steps", append(append([]string{}, base...), "--steps", "0", "-o", out), "--steps"},
		{"absurd steps", append(append([]string{}, base...), "--steps", "4611686018427387904", "-o", out), "--steps"},
		{"absurd size", append(append([]string{}, base...), "-W", "8", "-H", "4611686018427387904", "-o", out), "-W/-H"},
		{"absurd batch", append(append([]string{}, base...), "--batch-count", "100000000", "-o", out), "--batch-count"},
		{"absurd threads", append(append([]string{}, base...), "--threads", "4294967296", "-o", out), "--threads"},
		{"tiny strength", append(append([]string{}, base...), "-i", existing, "--strength", "1e-300", "-o", out), "--strength"},
		{"negative cfg", append(append([]string{}, base...), "--cfg-scale", "-1", "-o", out), "--cfg-scale"},
		{"width not multiple of 8", append(append([]string{}, base...), "-W", "100", "-o", out), "width"},
		{"height not multiple of 8", append(append([]string{}, base...), "-H", "63", "-o", out), "height"},
		{"unknown scheduler", append(append([]string{}, base...), "--scheduler", "weird", "-o", out), "--scheduler"},
		{"missing model", []string{"--model", filepath.Join(dir, "none.safetensors"), "-o", out}, "--model"},
		{"unreadable model", []string{"--model", junk, "-o", out}, "--model"},
		{"no model", []string{"-p", "x", "-o", out}, "--model"},
		{"wrong family forced", append(append([]string{}, base...), "--arch", "sdxl", "-o", out), "--arch"},
		{"bad arch", append(append([]string{}, base...), "--arch", "sd3", "-o", out), "--arch"},
		{"sdxl without a tokenizer", []string{"--model", sharedPath("sdxl/tiny-sdxl.safetensors"), "-o", out}, "--tokenizer"},
		{"missing tokenizer", []string{"--model", golden.Core(t, "sd1/tiny-sd1.safetensors"), "-o", out}, "tokenizer"},
		{"tokenizer folder without files", append(append([]string{}, base...), "--tokenizer", dir, "-o", out), "--tokenizer"},
		{"output folder missing", append(append([]string{}, base...), "-o", filepath.Join(dir, "no", "such", "out.png")), "-o/--output"},
		{"output exists", append(append([]string{}, base...), "-o", existing), "--overwrite"},
		{"missing clip-l", append(append([]string{}, base...), "--clip-l", filepath.Join(dir, "none.safetensors"), "-o", out), "--clip-l"},
		{"clip-l without a text model", append(append([]string{}, base...), "--clip-l", golden.Core(t, "sd1/vae.safetensors"), "-o", out), "--clip-l"},
		{"unknown flag", append(append([]string{}, base...), "--frobnicate", "-o", out), "frobnicate"},
		{"stray argument", append(append([]string{}, base...), "cat", "-o", out), "unexpected argument"},
		{"bad seed", append(append([]string{}, base...), "--seed", "abc", "-o", out), "seed"},
		{"rescale out of range", append(append([]string{}, base...), "--guidance-rescale", "2", "-o", out), "--guidance-rescale"},
		{"zero batch", append(append([]string{}, base...), "--batch-count", "0", "-o", out), "--batch-count"},
		{"trace in missing folder", append(append([]string{}, base...), "-o", out, "--trace", filepath.Join(dir, "no", "t.safetensors")), "--trace"},
		{"bad weights for bench", []string{"bench", "--weights", "f8"}, "--weights"},
		{"tokens stray argument", []string{"tokens", "--tokenizer", tok, "x"}, "unexpected argument"},
		{"text-embed without output", []string{"text-embed", "--model", golden.Core(t, "sd1/tiny-sd1.safetensors"), "--tokenizer", tok, "-p", "x"}, "-o/--output"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, a := range c.args {
				if strings.HasPrefix(a, filepath.Join(golden.SharedDir(), "golden")+"/") {
					golden.Shared(t, strings.TrimPrefix(a, filepath.Join(golden.SharedDir(), "golden")+"/")) // skip when absent
				}
			}
			assertBadInput(t, c.args, c.want, out)
			if b, _ := os.ReadFile(existing); string(b) != "keep me" {
				t.Errorf("existing file changed")
			}
		})
	}
}

// assertBadInput runs gen with args and checks that it is refused as bad
// input: exit 2, one line on stderr mentioning want (the flag or the
// problem), nothing on stdout, and no file at out.
func assertBadInput(t *testing.T, args []string, want, out string) {
	t.Helper()
	code, stdout, stderr := gen(t, args...)
	if code != 2 {
		t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(stderr, want) {
		t.Errorf("stderr %q: want one line mentioning %q", stderr, want)
	}
	if stdout != "" {
		t.Errorf("stdout %q", stdout)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was written", out)
	}
	t.Log(strings.TrimSpace(stderr))
}

// TestClipLMismatch: a CLIP text model of other shapes is refused with a
// message naming --clip-l (found while loading: exit 2, no file).
func TestClipLMismatch(t *testing.T) {
	dir := t.TempDir()
	// A copy of the replacement file with one tensor of another shape.
	var ts []safetensors.Tensor
	f := golden.Open(t, "sd1/clip_l_alt.safetensors")
	for _, n := range f.Names() {
		v, shape, _ := f.Float32(n)
		if n == "text_model.final_layer_norm.weight" {
			v, shape = append(v, 1), []int{len(v) + 1}
		}
		ts = append(ts, safetensors.NewF32Tensor(n, shape, v))
	}
	b, err := safetensors.Marshal(ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	os.WriteFile(bad, b, 0o644)
	out := filepath.Join(dir, "o.png")
	code, _, stderr := gen(t, append(tinyArgs(t), "-p", "x", "--clip-l", bad, "-W", "64", "-H", "64", "--steps", "1", "-o", out)...)
	if code != 2 || !strings.HasPrefix(stderr, "gen: --clip-l: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("output written")
	}
	t.Log(strings.TrimSpace(stderr))
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"tokens", "-h"}} {
		code, stdout, stderr := gen(t, args...)
		if code != 0 || !strings.Contains(stdout, "--negative-prompt") || stderr != "" {
			t.Errorf("%v: exit %d, stdout %d bytes, stderr %q", args, code, len(stdout), stderr)
		}
	}
}

// sharedPath is the path of a fixture under ../shared/golden, which may
// not exist (the subtest using it then skips).
func sharedPath(rel string) string { return filepath.Join(golden.SharedDir(), "golden", rel) }

// readTensors reads every tensor of a .safetensors file as float32.
func readTensors(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]float32{}
	for _, n := range f.Names() {
		v, _, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = v
	}
	return out
}

// TestGenerateGolden runs the CLI on the reference run
// euler_normal_cfg7p5_negtext and checks the PNG (pixels and parameters),
// the saved latent and the trace.
func TestGenerateGolden(t *testing.T) {
	dir := t.TempDir()
	out, lat, tr := filepath.Join(dir, "a.png"), filepath.Join(dir, "lat.safetensors"), filepath.Join(dir, "trace.safetensors")
	args := append(tinyArgs(t), refRun...)
	args = append(args, "-o", out, "--save-latent", lat, "--trace", tr)
	code, stdout, stderr := gen(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.TrimSpace(stdout) != out {
		t.Errorf("stdout %q, want the output path", stdout)
	}
	ref := golden.Open(t, "sd1/sampling/euler_normal_cfg7p5_negtext.safetensors")

	// PNG: pixels within ±1 of image_uint8, parameters chunk readable.
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	text, err := pngmeta.ReadText(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := "a photo of an astronaut riding a horse on mars\nNegative prompt: blurry, low quality, watermark\n" +
		"Steps: 10, Sampler: Euler, Schedule type: Normal, CFG scale: 7.5, Seed: 42, Size: 64x64, Model: tiny-sd1"
	if text["parameters"] != want {
		t.Errorf("parameters chunk %q\nwant %q", text["parameters"], want)
	}
	img := decodePNG(t, b)
	u8, err := ref.Tensor("image_uint8")
	if err != nil {
		t.Fatal(err)
	}
	maxd := 0
	for i, w := range u8.Data {
		d := int(img[i]) - int(w)
		maxd = max(maxd, d, -d)
	}
	if maxd > 1 {
		t.Errorf("PNG pixels differ from image_uint8 by up to %d", maxd)
	}
	t.Logf("PNG vs image_uint8: max |diff| %d", maxd)

	// --save-latent: tensor latent [1,4,8,8] = final_latent.
	fl, err := safetensors.Open(lat)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	if names := fl.Names(); len(names) != 1 || names[0] != "latent" {
		t.Errorf("latent file holds %v", names)
	}
	got, shape, _ := fl.Float32("latent")
	if fmt.Sprint(shape) != "[1 4 8 8]" {
		t.Errorf("latent shape %v", shape)
	}
	wantLat, _ := golden.Float32(t, ref, "final_latent")
	golden.AssertClose(t, "saved latent", got, wantLat, 1e-3, 1e-4)

	// --trace: x.i = calls.x[i]; guided = uncond + cfg·(cond − uncond); sigmas.
	trc := readTensors(t, tr)
	callsX, _ := golden.Float32(t, ref, "calls.x")
	den, _ := golden.Float32(t, ref, "calls.denoised")
	n := 4 * 8 * 8
	for i := 0; i < 10; i++ {
		x, c, u, g := trc[fmt.Sprintf("x.%d", i)], trc[fmt.Sprintf("cond.%d", i)], trc[fmt.Sprintf("uncond.%d", i)], trc[fmt.Sprintf("guided.%d", i)]
		if x == nil || c == nil || u == nil || g == nil {
			t.Fatalf("trace lacks call %d tensors (has %d tensors)", i, len(trc))
		}
		golden.AssertClose(t, fmt.Sprintf("x.%d", i), x, callsX[i*n:(i+1)*n], 1e-3, 1e-4)
		golden.AssertClose(t, fmt.Sprintf("guided.%d", i), g, den[i*n:(i+1)*n], 1e-3, 1e-4)
		for j := range g {
			// float32(...) rounds the product before the add, as Guide does, so
			// arm64 (where Go may fuse x*y+z into one FMA) gives the same bits.
			if want := u[j] + float32((c[j]-u[j])*7.5); g[j] != want {
				t.Fatalf("guided.%d[%d] = %g, uncond + 7.5·(cond − uncond) = %g", i, j, g[j], want)
			}
		}
	}
	if _, ok := trc["x.10"]; ok {
		t.Error("trace has 11 calls, want 10")
	}
	if s := trc["sigmas"]; len(s) != 11 || s[10] != 0 {
		t.Errorf("trace sigmas %v", s)
	}
}

// decodePNG returns the RGB bytes of a PNG (NHWC).
func decodePNG(t *testing.T, b []byte) []uint8 {
	t.Helper()
	img, err := pngDecode(b)
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	out := make([]uint8, 0, r.Dx()*r.Dy()*3)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			out = append(out, uint8(cr>>8), uint8(cg>>8), uint8(cb>>8))
		}
	}
	return out
}

// TestTraceCFG1 checks that a cfg-1 run traces no uncond.i, and that a
// batch writes numbered files with consecutive seeds.
func TestTraceCFG1Batch(t *testing.T) {
	dir := t.TempDir()
	out, tr := filepath.Join(dir, "b.png"), filepath.Join(dir, "t.safetensors")
	args := append(tinyArgs(t), "-p", "a cat", "--seed", "7", "--steps", "3", "--cfg-scale", "1",
		"-W", "64", "-H", "48", "--sampler", "euler_a", "--scheduler", "discrete", "--batch-count", "2", "--quiet",
		"-o", out, "--trace", tr)
	code, stdout, stderr := gen(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for i, seed := range []string{"7", "8"} {
		p := filepath.Join(dir, fmt.Sprintf("b-%d.png", i+1))
		if !strings.Contains(stdout, p) {
			t.Errorf("stdout %q lacks %s", stdout, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := pngmeta.ReadText(bytes.NewReader(b))
		if !strings.Contains(text["parameters"], "Seed: "+seed+",") || !strings.Contains(text["parameters"], "Sampler: Euler a, Schedule type: Normal, CFG scale: 1,") ||
			!strings.Contains(text["parameters"], "Size: 64x48") || strings.Contains(text["parameters"], "Negative prompt") {
			t.Errorf("image %d parameters %q", i+1, text["parameters"])
		}
		trc := readTensors(t, filepath.Join(dir, fmt.Sprintf("t-%d.safetensors", i+1)))
		for name, v := range trc {
			if strings.HasPrefix(name, "uncond.") {
				t.Errorf("cfg 1 trace has %s", name)
			}
			if strings.HasPrefix(name, "guided.") {
				c := trc["cond."+strings.TrimPrefix(name, "guided.")]
				for j := range v {
					if v[j] != c[j] {
						t.Fatalf("%s differs from cond at cfg 1", name)
					}
				}
			}
		}
		if len(trc) != 3*4+1 {
			t.Errorf("trace has %d tensors, want 3 calls × (x, sigma, cond, guided) + sigmas", len(trc))
		}
	}
	// Running again refuses to overwrite.
	code, _, stderr = gen(t, args...)
	if code != 2 || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("second run: exit %d, %q", code, stderr)
	}
	if code, _, stderr = gen(t, append(args, "--overwrite")...); code != 0 {
		t.Errorf("--overwrite: exit %d, %q", code, stderr)
	}
}

// TestTokens: `gen tokens` prints the fixture's input_ids.
func TestTokens(t *testing.T) {
	tok := golden.Tokenizer(t, "clip")
	b, err := os.ReadFile(golden.Core(t, "sd1/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Name     string `json:"name"`
		Prompt   string `json:"prompt"`
		InputIDs []int  `json:"input_ids"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		var wrapped map[string]json.RawMessage
		if json.Unmarshal(b, &wrapped) != nil {
			t.Fatal(err)
		}
		for _, v := range wrapped {
			if json.Unmarshal(v, &rows) == nil && len(rows) > 0 {
				break
			}
		}
	}
	if len(rows) == 0 {
		t.Fatal("no prompts in tokenizer.json")
	}
	for i, r := range rows {
		if testing.Short() && i%4 != 0 {
			continue // each run reloads the vocabulary; a quarter of the prompts is enough here
		}
		// --raw is the fixture's literal tokenisation. Without it the
		// A1111 syntax is parsed, which only changes prompts with
		// brackets; "long" is cut by A1111's comma rule instead of
		// truncated.
		modes := [][]string{{"--raw"}}
		if !strings.ContainsAny(r.Prompt, "()[]") && r.Name != "long" && r.Name != "exactly76" {
			modes = append(modes, nil)
		}
		for _, m := range modes {
			code, stdout, stderr := gen(t, append([]string{"tokens", "--tokenizer", tok, "-p", r.Prompt}, m...)...)
			if code != 0 {
				t.Fatalf("%s: exit %d %s", r.Name, code, stderr)
			}
			var ids []int
			if err := json.Unmarshal([]byte(stdout), &ids); err != nil {
				t.Fatalf("%s: output %q: %v", r.Name, stdout, err)
			}
			if fmt.Sprint(ids) != fmt.Sprint(r.InputIDs) {
				t.Errorf("%s %v: ids %v\nwant %v", r.Name, m, ids, r.InputIDs)
			}
		}
	}
	t.Setenv(clip.CacheEnv, t.TempDir()) // an empty tokenizer cache
	if code, _, stderr := gen(t, "tokens", "-p", "x"); code != 2 || !strings.Contains(stderr, "tokenizer") {
		t.Errorf("tokens without tokenizer: exit %d %q", code, stderr)
	}
}

// TestTextEmbed: `gen text-embed` writes the fixture's text-encoder
// outputs (last layer, clip skip 2, replacement CLIP-L).
func TestTextEmbed(t *testing.T) {
	dir := t.TempDir()
	ref := golden.Open(t, "sd1/text_encoder.safetensors")
	alt := golden.Open(t, "sd1/text_encoder_alt.safetensors")
	const row, d = 0, 32 // "a photo of a cat"
	slice := func(f *safetensors.File, name string) []float32 {
		v, _ := golden.Float32(t, f, name)
		return v[row*77*d : (row+1)*77*d]
	}
	pooled := func(f *safetensors.File) []float32 {
		v, _ := golden.Float32(t, f, "pooled_output")
		return v[row*d : (row+1)*d]
	}
	cases := []struct {
		name         string
		extra        []string
		hidden, pool []float32
	}{
		{"last", nil, slice(ref, "last_hidden_state"), pooled(ref)},
		{"skip2", []string{"--clip-skip", "2"}, slice(ref, "penultimate_hidden_state_final_ln"), pooled(ref)},
		{"clipl", []string{"--clip-l", golden.Core(t, "sd1/clip_l_alt.safetensors")}, slice(alt, "last_hidden_state"), pooled(alt)},
	}
	for _, layout := range []string{"single", "diffusers"} {
		for _, c := range cases {
			out := filepath.Join(dir, layout+c.name+".safetensors")
			args := []string{"text-embed", "--model", golden.Core(t, "sd1/tiny-sd1.safetensors"), "--text-heads", "4"}
			if layout == "diffusers" {
				args = []string{"text-embed", "--model", golden.Core(t, "sd1/model")}
			}
			args = append(args, "--tokenizer", golden.Tokenizer(t, "clip"), "--raw", "-p", "a photo of a cat", "-o", out)
			code, _, stderr := gen(t, append(args, c.extra...)...)
			if code != 0 {
				t.Fatalf("%s %s: exit %d %s", layout, c.name, code, stderr)
			}
			got := readTensors(t, out)
			golden.AssertClose(t, layout+" "+c.name+" hidden", got["hidden"], c.hidden, 1e-4, 0)
			golden.AssertClose(t, layout+" "+c.name+" pooled", got["pooled"], c.pool, 1e-4, 0)
		}
	}
}

// TestImg2ImgCLI replays img2img_euler_normal_denoise0p6 through -i and
// --strength, and checks the img2img input errors.
func TestImg2ImgCLI(t *testing.T) {
	dir := t.TempDir()
	ref := golden.Open(t, "sd1/sampling/img2img_euler_normal_denoise0p6.safetensors")
	u8, err := ref.Tensor("init_image_uint8")
	if err != nil {
		t.Fatal(err)
	}
	img, err := pngmeta.RGB8(u8.Data, u8.Shape[2], u8.Shape[1])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pngmeta.Encode(img)
	in := filepath.Join(dir, "in.png")
	os.WriteFile(in, b, 0o644)
	out := filepath.Join(dir, "out.png")
	args := append(tinyArgs(t), "-p", "a photo of an astronaut riding a horse on mars", "-n", "blurry, low quality, watermark",
		"--seed", "7", "--steps", "10", "--cfg-scale", "7.5", "--sampler", "euler", "--scheduler", "normal", "--raw", "--quiet",
		"-i", in, "--strength", "0.6")
	for _, bad := range [][]string{{"-W", "128"}, {"--strength", "0"}, {"--strength", "1.5"}} {
		code, _, stderr := gen(t, append(append(append([]string{}, args...), bad...), "-o", out)...)
		if code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q", bad, code, stderr)
		}
	}
	code, _, stderr := gen(t, append(args, "-o", out)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, _ := os.ReadFile(out)
	pix := decodePNG(t, got)
	want, _ := ref.Tensor("image_uint8")
	maxd := 0
	for i, w := range want.Data {
		d := int(pix[i]) - int(w)
		maxd = max(maxd, d, -d)
	}
	if maxd > 1 {
		t.Errorf("img2img PNG differs from image_uint8 by up to %d", maxd)
	}
	text, _ := pngmeta.ReadText(bytes.NewReader(got))
	// 10 steps at 0.6 are the last 10 of a 16-step schedule: A1111 runs
	// int(0.63·16) = 10 of its 16 (int(0.6·16) would be 9; see infotext.Img2ImgSteps).
	if !strings.Contains(text["parameters"], "Steps: 16,") || !strings.HasSuffix(text["parameters"], ", Denoising strength: 0.63") {
		t.Errorf("parameters %q", text["parameters"])
	}
}

// TestBenchModel runs `gen bench --model` on the tiny fixture, as a
// diffusers folder and as a single file (the random SD1.5-sized bench is
// far too slow for a unit test), and checks the report block.
func TestBenchModel(t *testing.T) {
	for _, args := range [][]string{
		{"--model", golden.Core(t, "sd1/model")},
		{"--model", golden.Core(t, "sd1/tiny-sd1.safetensors"), "--norm-groups", "4", "--text-heads", "4"},
	} {
		code, stdout, stderr := gen(t, append(append([]string{"bench"}, args...), "-W", "64", "-H", "64", "--steps", "2", "--threads", "1")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		for _, want := range []string{"gen bench — sd1, " + args[1], "64x64, 2 steps, cfg 7, euler/normal", "1 threads, kernels ",
			"weights     f32", "  load ", "s/step; 2 UNet calls, 4 batch passes", "  decode ", "  peak RSS "} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%v: bench output lacks %q:\n%s", args, want, stdout)
			}
		}
		t.Logf("%s", stdout)
	}
}

// TestGenerateSDXL runs the CLI on the tiny SDXL fixture's run
// comfy_euler_normal_64x96_cfg7p0_negtext (ComfyUI conventions, negative
// prompt text) from its single file.
func TestGenerateSDXL(t *testing.T) {
	checkSDXLRun(t, "comfy_euler_normal_64x96_cfg7p0_negtext",
		"-p", "A cozy cabin in the snowy mountains at sunset, highly detailed, 8k", "-n", "blurry, low quality, watermark",
		"--seed", "2024", "--steps", "8", "--cfg-scale", "7", "--sampler", "euler", "--scheduler", "normal",
		"-W", "96", "-H", "64")
}

// TestGenerateSDXLZeroNegative reproduces the run with an all-zero negative
// conditioning (ComfyUI's ConditioningZeroOut) through --empty-negative
// zeros; with the default (encode) the same settings give another latent.
func TestGenerateSDXLZeroNegative(t *testing.T) {
	golden.SkipShort(t, "SDXL zero-negative run (TestGenerateSDXL runs SDXL under -short)")
	args := []string{"-p", "a red cube on top of a blue sphere", "--seed", "99", "--steps", "10", "--cfg-scale", "5",
		"--sampler", "dpmpp_2m", "--scheduler", "karras", "-W", "64", "-H", "64"}
	checkSDXLRun(t, "dpmpp2m_karras_64x64_cfg5_negzeros", append(args, "--empty-negative", "zeros")...)
	if !t.Failed() {
		encoded := generateSDXLLatent(t, args...)
		ref := golden.Open(t, "sdxl/runs/dpmpp2m_karras_64x64_cfg5_negzeros.safetensors")
		want, _ := golden.Float32(t, ref, "latents")
		if d, _, _ := golden.Diff(encoded, want, 0, 0); d < 1e-3 {
			t.Error("the encoded empty negative gives the zero-negative run's latent: the test cannot tell the two apart")
		}
	}
}

// generateSDXLLatent runs gen on the tiny SDXL single file with args and
// returns the saved latent.
func generateSDXLLatent(t *testing.T, args ...string) []float32 {
	t.Helper()
	_, lat := runSDXL(t, args...)
	return lat
}

// runSDXL runs gen on the tiny SDXL single file with args and returns the
// decoded PNG (RGB bytes) and the saved latent. The tiny model's
// hyper-parameters a single file cannot tell: 2 heads per text tower,
// 16-wide UNet heads.
func runSDXL(t *testing.T, args ...string) (rgb []byte, latent []float32) {
	t.Helper()
	model := golden.Shared(t, "sdxl/tiny-sdxl.safetensors")
	dir := t.TempDir()
	out, lat := filepath.Join(dir, "xl.png"), filepath.Join(dir, "lat.safetensors")
	base := []string{"--model", model, "--tokenizer", golden.Tokenizer(t, "clip"),
		"--text-heads", "2", "--text-heads-2", "2", "--unet-head-dim", "16", "--quiet", "-o", out, "--save-latent", lat}
	code, _, stderr := gen(t, append(base, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := safetensors.Open(lat)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	latent, _, err = fl.Float32("latent")
	if err != nil {
		t.Fatal(err)
	}
	return decodePNG(t, b), latent
}

// checkSDXLRun runs gen with args and compares with the SDXL fixture run
// name: the PNG within ±1 of the reference image (8-bit,
// round(255·clamp((v+1)/2))), the saved latent within the fixture README's
// tolerance (1e-3 of max |ref|).
func checkSDXLRun(t *testing.T, name string, args ...string) {
	t.Helper()
	ref := golden.Open(t, "sdxl/runs/"+name+".safetensors")
	img, got := runSDXL(t, args...)
	want, shape := golden.Float32(t, ref, "image") // [1, 3, H, W] in [-1, 1]
	h, w := shape[2], shape[3]
	if len(img) != h*w*3 {
		t.Fatalf("PNG has %d bytes of RGB, want %dx%d", len(img), w, h)
	}
	maxd := 0
	for c := range 3 {
		for i := range h * w {
			v := min(max((float64(want[c*h*w+i])+1)/2, 0), 1)
			d := int(img[i*3+c]) - int(math.Round(255*v))
			maxd = max(maxd, d, -d)
		}
	}
	if maxd > 1 {
		t.Errorf("%s: PNG pixels differ from the reference image by up to %d", name, maxd)
	}
	wantLat, _ := golden.Float32(t, ref, "latents")
	m := 0.0
	for _, v := range wantLat {
		m = math.Max(m, math.Abs(float64(v)))
	}
	golden.AssertClose(t, name+" latent", got, wantLat, 1e-3*m, 0)
}
