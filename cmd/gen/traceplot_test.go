package main

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"github.com/godiffusion/godiffusion/internal/usercache"
	"github.com/godiffusion/godiffusion/safetensors"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/tensor"
)

// tinySDXLArgs load the tiny SDXL fixture (hyper-parameters a single file
// cannot tell: 2 heads per text tower, 16-wide UNet heads).
func tinySDXLArgs(t *testing.T) []string {
	return []string{"--model", golden.Shared(t, "sdxl/tiny-sdxl.safetensors"), "--tokenizer", golden.Tokenizer(t, "clip"),
		"--text-heads", "2", "--text-heads-2", "2", "--unet-head-dim", "16"}
}

// TestTracePlot makes traces with gen on the tiny SD1 (APG, heun: two
// calls per step), SDXL (CFG with a guidance interval) and Flux.1-dev
// (true CFG on top of the distilled guidance) models, plots them
// as PNG and SVG, and recomputes every CSV number from the trace.
func TestTracePlot(t *testing.T) {
	cases := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sd1_apg_heun", func(t *testing.T) []string {
			return append(tinyArgs(t), "-p", "a photo of an astronaut", "-n", "blurry", "--seed", "3", "--steps", "3",
				"--cfg-scale", "6", "--sampler", "heun", "--guidance-rule", "apg", "--apg-eta", "0.5", "--apg-norm-threshold", "20",
				"-W", "64", "-H", "64")
		}},
		{"sdxl_interval", func(t *testing.T) []string {
			return append(tinySDXLArgs(t), "-p", "a cabin", "--seed", "5", "--steps", "4", "--cfg-scale", "7",
				"--cfg-interval", "0.5,10", "-W", "64", "-H", "64")
		}},
		{"flux_dev_true_cfg", func(t *testing.T) []string {
			t.Setenv(usercache.Env, t.TempDir())
			return append(fluxFiles(t, "dev"), "-p", "a portrait of a fisherman", "-n", "blurry", "--seed", "42",
				"--steps", "4", "--cfg-scale", "4", "-W", "64", "-H", "64")
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if i > 0 {
				golden.SkipShort(t, "trace-plot on "+c.name+" (the SD1 case runs under -short)")
			}
			dir := t.TempDir()
			tr := filepath.Join(dir, "trace.safetensors")
			code, _, stderr := gen(t, append(c.args(t), "--quiet", "-o", filepath.Join(dir, "img.png"), "--trace", tr)...)
			if code != 0 {
				t.Fatalf("gen: exit %d: %s", code, stderr)
			}
			trace := readTensors(t, tr)
			for _, ext := range []string{".png", ".svg"} {
				out := filepath.Join(dir, "plot"+ext)
				code, stdout, stderr := gen(t, "trace-plot", tr, "-o", out)
				if code != 0 {
					t.Fatalf("trace-plot %s: exit %d: %s", ext, code, stderr)
				}
				if !strings.Contains(stdout, out) {
					t.Errorf("stdout %q does not name %s", stdout, out)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if ext == ".png" {
					img, err := png.Decode(bytes.NewReader(b))
					if err != nil || img.Bounds().Dx() < 500 {
						t.Fatalf("PNG does not decode (%v) or is tiny", err)
					}
				} else {
					checkSVG(t, b)
				}
				checkCSV(t, filepath.Join(dir, "plot.csv"), trace)
				os.Remove(filepath.Join(dir, "plot.csv"))
			}
		})
	}
}

func checkSVG(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("SVG root element %q", root)
	}
}

// checkCSV recomputes each row of the CSV from the trace tensors.
func checkCSV(t *testing.T, path string, tr map[string][]float32) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for tr[fmt.Sprintf("x.%d", calls)] != nil {
		calls++
	}
	if len(recs) != calls+1 || recs[0][0] != "call" {
		t.Fatalf("CSV has %d rows, want a header and %d calls", len(recs), calls)
	}
	withUncond := 0
	for i := 0; i < calls; i++ {
		x, c, u, g := tr[fmt.Sprintf("x.%d", i)], tr[fmt.Sprintf("cond.%d", i)], tr[fmt.Sprintf("uncond.%d", i)], tr[fmt.Sprintf("guided.%d", i)]
		nrm := func(a, b []float32) float64 {
			var s float64
			for j := range a {
				d := float64(a[j]) - float64(b[j])
				s += d * d
			}
			return math.Sqrt(s)
		}
		zero := make([]float32, len(x))
		want := map[int]float64{1: float64(tr[fmt.Sprintf("sigma.%d", i)][0]), 3: nrm(g, c),
			5: nrm(g, c) / (nrm(g, c) + nrm(x, c))}
		if u != nil {
			withUncond++
			var dot, gd float64
			for j := range c {
				dot += float64(c[j]) * float64(u[j])
				gd += (float64(g[j]) - float64(u[j])) * (float64(c[j]) - float64(u[j]))
			}
			cu := nrm(c, u)
			want[2], want[4], want[6] = cu, dot/(nrm(c, zero)*nrm(u, zero)), cu
			want[7] = gd / cu
			want[8] = math.Sqrt(math.Max(nrm(g, u)*nrm(g, u)-want[7]*want[7], 0))
		}
		row := recs[i+1]
		for col := 1; col <= 8; col++ {
			w, ok := want[col]
			if !ok {
				if row[col] != "" {
					t.Errorf("call %d %s = %q, want empty (no uncond)", i, recs[0][col], row[col])
				}
				continue
			}
			got, err := strconv.ParseFloat(row[col], 64)
			if err != nil || math.Abs(got-w) > 1e-9*math.Max(1, math.Abs(w))+1e-6*boolF(col == 8) {
				t.Errorf("call %d %s = %q, want %v", i, recs[0][col], row[col], w)
			}
		}
	}
	if withUncond == 0 {
		t.Error("no call has an uncond: the test checks nothing of the guidance numbers")
	}
}

func boolF(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestTracePlotBadInput: a file without the trace tensors, a missing
// output and a wrong extension are one line, exit 2, and no file.
func TestTracePlotBadInput(t *testing.T) {
	dir := t.TempDir()
	notTrace := filepath.Join(dir, "lat.safetensors")
	if err := writeTensorFile(notTrace, named{"latent", tensor.New(1, 4, 2, 2)}); err != nil {
		t.Fatal(err)
	}
	noUncond := filepath.Join(dir, "cfg1.safetensors")
	x := tensor.New(1, 4, 2, 2)
	if err := writeTensorFile(noUncond, named{"x.0", x}, named{"cond.0", x}, named{"guided.0", x}); err != nil {
		t.Fatal(err)
	}
	noGuided := filepath.Join(dir, "partial.safetensors")
	if err := writeTensorFile(noGuided, named{"x.0", x}, named{"cond.0", x}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "p.png")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"trace-plot", notTrace, "-o", out}, "not a gen --trace file"},
		{[]string{"trace-plot", noGuided, "-o", out}, "guided.0"},
		{[]string{"trace-plot", noUncond, "-o", out}, "uncond"},
		{[]string{"trace-plot", filepath.Join(dir, "missing.safetensors"), "-o", out}, "missing.safetensors"},
		{[]string{"trace-plot", notTrace}, "-o/--output"},
		{[]string{"trace-plot", notTrace, "-o", filepath.Join(dir, "p.jpg")}, ".png or .svg"},
	} {
		code, _, stderr := gen(t, c.args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line naming %q", c.args[1:], code, stderr, c.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("files left: %d entries, want only the 3 inputs", len(entries))
	}
}

// TestGuidanceFlagsBad: bad guidance settings are exit 2 naming the flag.
func TestGuidanceFlagsBad(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.png")
	base := append(tinyArgs(t), "-p", "x", "-W", "64", "-H", "64", "--steps", "1", "-o", out)
	for _, c := range []struct {
		extra []string
		want  string
	}{
		{[]string{"--guidance-rule", "nope"}, "--guidance-rule"},
		{[]string{"--guidance-rule", "apg", "--apg-eta", "11"}, "--apg-eta"},
		{[]string{"--guidance-rule", "apg", "--apg-momentum", "-2"}, "--apg-momentum"},
		{[]string{"--guidance-rule", "apg", "--apg-norm-threshold", "51"}, "--apg-norm-threshold"},
		{[]string{"--guidance-rule", "apg", "--cfg-scale", "0"}, "--guidance-rule"},
		{[]string{"--cfg-interval", "3,1"}, "--cfg-interval"},
		{[]string{"--cfg-interval", "x"}, "--cfg-interval"},
		{[]string{"--cfg-schedule", "zigzag"}, "--cfg-schedule"},
		{[]string{"--cfg-schedule", "linear"}, "--cfg-scale-end"},
		{[]string{"--cfg-scale-end", "3"}, "--cfg-scale-end"},
		{[]string{"--perpneg-scale", "-1"}, "--perpneg-scale"},
		{[]string{"--sampler", "euler_cfg_p"}, "--sampler"},
	} {
		code, _, stderr := gen(t, append(append([]string{}, base...), c.extra...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 naming %s", c.extra, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output file was written")
	}
}

// TestGuidanceRulesCLI: at --cfg-scale 1 the CFG++ sampler still gets the
// negative prompt's prediction at every call, and Perp-Neg the empty
// prompt's (the pipeline encodes what the rule needs).
func TestGuidanceRulesCLI(t *testing.T) {
	dir := t.TempDir()
	for name, extra := range map[string][]string{
		"cfgpp":   {"--sampler", "euler_cfg_pp"},
		"perpneg": {"--guidance-rule", "perpneg"},
	} {
		tr := filepath.Join(dir, name+".safetensors")
		args := append(tinyArgs(t), "-p", "a cat", "-n", "a dog", "--seed", "1", "--steps", "2", "--cfg-scale", "1",
			"-W", "64", "-H", "64", "--quiet", "-o", filepath.Join(dir, name+".png"), "--trace", tr)
		if code, _, stderr := gen(t, append(args, extra...)...); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		trc := readTensors(t, tr)
		for i := 0; i < 2; i++ {
			if trc[fmt.Sprintf("uncond.%d", i)] == nil {
				t.Errorf("%s: call %d has no uncond", name, i)
			}
			if name == "perpneg" && trc[fmt.Sprintf("empty.%d", i)] == nil {
				t.Errorf("perpneg: call %d has no empty-prompt prediction", i)
			}
		}
	}
}

// writeTensorFile writes float32 tensors to a new .safetensors file.
func writeTensorFile(path string, ts ...named) error {
	st := make([]safetensors.Tensor, len(ts))
	for i, n := range ts {
		st[i] = safetensors.NewF32Tensor(n.name, n.t.Shape, n.t.Data)
	}
	return safetensors.WriteFile(path, st, nil)
}
