package main

import (
	"bytes"
	"github.com/godiffusion/godiffusion/internal/golden"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sweepBase are the settings every cell of the test sweep shares.
var sweepBase = []string{"-p", "a photo of an astronaut riding a horse on mars", "--seed", "42", "--steps", "4",
	"--sampler", "euler_ancestral", "-W", "64", "-H", "48", "--quiet"}

// TestSweepCellsMatchGen runs a 3×2 sweep (cfg scale × negative prompt) on
// the tiny SD1 model and checks each cell's PNG is byte for byte the PNG a
// lone gen run with the cell's settings writes (pixels and parameters),
// and that the contact sheet has the grid's size and captions.
func TestSweepCellsMatchGen(t *testing.T) {
	golden.SkipShort(t, "3×2 sweep vs six gen runs")
	dir := t.TempDir()
	sheet := filepath.Join(dir, "sweep.png")
	cfgs := []string{"1", "4", "7"}
	negs := []string{"", "blurry, low quality, watermark"}
	args := append(append([]string{"sweep"}, tinyArgs(t)...), sweepBase...)
	args = append(args, "--cfg-scale", strings.Join(cfgs, ","), "-n", negs[0], "-n", negs[1], "-o", sheet, "--batch-size", "4")
	code, stdout, stderr := gen(t, args...)
	if code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, stderr)
	}
	if n := strings.Count(stdout, "\n"); n != 7 {
		t.Errorf("sweep printed %d files, want 6 cells and the sheet:\n%s", n, stdout)
	}
	for r, cfg := range cfgs {
		for c, neg := range negs {
			single := filepath.Join(dir, "single.png")
			os.Remove(single)
			a := append(append(append([]string{}, tinyArgs(t)...), sweepBase...), "--cfg-scale", cfg, "-n", neg, "-o", single)
			if code, _, stderr := gen(t, a...); code != 0 {
				t.Fatalf("gen: exit %d: %s", code, stderr)
			}
			want, _ := os.ReadFile(single)
			got, err := os.ReadFile(cellName(sheet, r, c))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("cell cfg %s, neg %q: its PNG differs from gen's", cfg, neg)
			}
		}
	}

	f, err := os.Open(sheet)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Three rows of 48-pixel cells under two caption lines; two columns at
	// least as wide as the 64-pixel cells, after the row captions.
	b := img.Bounds()
	if wantH := 2*sheetLineH + sheetPad + 3*(48+sheetPad) + sheetPad; b.Dy() != wantH {
		t.Errorf("sheet height %d, want %d", b.Dy(), wantH)
	}
	if b.Dx() < 2*(64+sheetPad)+textWidthOf("cfg 7") {
		t.Errorf("sheet width %d: too narrow for two cells and the row captions", b.Dx())
	}
	// Captions: the bands above and left of the grid have dark pixels.
	if !hasInk(img, image.Rect(0, 0, b.Dx(), 2*sheetLineH+sheetPad)) {
		t.Error("no caption text above the grid")
	}
	if !hasInk(img, image.Rect(0, 2*sheetLineH+sheetPad, sheetPad+textWidthOf("cfg 7"), b.Dy())) {
		t.Error("no row captions left of the grid")
	}
}

func textWidthOf(s string) int { return 7 * len(s) } // basicfont.Face7x13 advances 7 pixels

// hasInk reports whether any pixel of r in img is darker than mid-grey.
func hasInk(img image.Image, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr+cg+cb < 3*0x8000 {
				return true
			}
		}
	}
	return false
}

func TestSweepBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "s.png")
	base := append(append([]string{"sweep"}, tinyArgs(t)...), "-p", "x", "--steps", "2", "-W", "32", "-H", "32", "-o", out)
	many := make([]string, 65)
	for i := range many {
		many[i] = "1"
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"more than 64 cells", []string{"--cfg-scale", strings.Join(many, ",")}, "--yes"},
		{"no axis", []string{"--cfg-scale", "5"}, "no axis"},
		{"three axes", []string{"--cfg-scale", "3,5", "--scheduler", "normal,karras", "--sampler", "euler,heun"}, "axes"},
		{"unknown rule", []string{"--guidance-rule", "cfg,nope"}, "--guidance-rule"},
		{"bad cfg value", []string{"--cfg-scale", "3,x"}, "cfg-scale"},
		{"bad batch size", []string{"--cfg-scale", "3,5", "--batch-size", "0"}, "--batch-size"},
		{"list given twice", []string{"--cfg-scale", "3,5", "--cfg", "7,9"}, "twice"},
		{"trace", []string{"--cfg-scale", "3,5", "--trace", filepath.Join(dir, "t.safetensors")}, "--trace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := gen(t, append(append([]string{}, base...), c.args...)...)
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line naming %s", code, stderr, c.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("files written: %v", ents)
			}
		})
	}
}
