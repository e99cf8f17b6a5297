package infotext

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/godiffusion/godiffusion/internal/pngmeta"
	"github.com/godiffusion/godiffusion/sampling"
)

// TestNames: every sampler and schedule godiffusion runs has an A1111
// label, and the label maps back to the same name.
func TestNames(t *testing.T) {
	for name := range sampling.Samplers {
		l, ok := Samplers[name]
		if !ok {
			t.Errorf("sampler %q has no A1111 label", name)
			continue
		}
		if got, err := Sampler(l); err != nil || got != name {
			t.Errorf("Sampler(%q) = %q, %v; want %q", l, got, err, name)
		}
	}
	for name := range sampling.Schedulers {
		l, ok := Schedules[name]
		if !ok {
			t.Errorf("scheduler %q has no A1111 label", name)
			continue
		}
		if got, err := Scheduler(l); err != nil || got != name {
			t.Errorf("Scheduler(%q) = %q, %v; want %q", l, got, err, name)
		}
	}
	for in, want := range map[string]string{"euler a": "euler_ancestral", "euler_a": "euler_ancestral", "DPM++ 2M": "dpmpp_2m"} {
		if got, err := Sampler(in); err != nil || got != want {
			t.Errorf("Sampler(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Sampler("DPM++ 3M SDE Exotic"); err == nil {
		t.Error("an unknown sampler was accepted")
	}
	if got, _ := Scheduler("Automatic"); got != "normal" {
		t.Errorf("Scheduler(Automatic) = %q, want normal", got)
	}
}

// TestParseRoundTrip: the parameters text pngmeta writes parses back to
// the same fields, through a PNG.
func TestParseRoundTrip(t *testing.T) {
	p := pngmeta.Parameters{Prompt: "a cat, (sitting:1.2)\nsecond line", Negative: "blurry", Steps: 7,
		Sampler: "Euler a", Schedule: "Karras", CFG: 7.5, Seed: 42, Width: 64, Height: 32, Model: "tiny-sd1", ClipSkip: 2,
		Extra: [][2]string{{"Denoising strength", "0.5"}}}
	png, err := PNG(make([]uint8, 64*32*3), 64, 32, p)
	if err != nil {
		t.Fatal(err)
	}
	text, err := pngmeta.ReadText(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	got := Parse(text[pngmeta.Keyword])
	want := map[string]string{"Prompt": p.Prompt, "Negative prompt": "blurry", "Steps": "7", "Sampler": "Euler a",
		"Schedule type": "Karras", "CFG scale": "7.5", "Seed": "42", "Size": "64x32", "Model": "tiny-sd1",
		"Clip skip": "2", "Denoising strength": "0.5"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("parsed %d fields, want %d: %v", len(got), len(want), got)
	}
	if got := Parse("just a prompt"); got["Prompt"] != "just a prompt" || len(got) != 2 {
		t.Errorf("prompt-only text parsed as %v", got)
	}
}

// TestA1111Img2ImgSteps (#14 item 7): the recorded Steps and Denoising
// strength make A1111 run the same sigmas: a schedule of int(steps /
// strength) steps (as sampling.CalculateSigmas builds) of which A1111 runs
// the last int(d·Steps) — which must be gen's steps.
func TestA1111Img2ImgSteps(t *testing.T) {
	for _, steps := range []int{1, 3, 10, 20, 28, 50} {
		for _, strength := range []float64{0.05, 0.29, 0.3, 0.5, 0.6, 0.7, 0.75, 0.99, 1} {
			total, ds := Img2ImgSteps(steps, strength)
			d, err := strconv.ParseFloat(ds, 64)
			if err != nil {
				t.Fatal(err)
			}
			wantTotal := int(float64(steps) / strength)
			if strength > 0.9999 {
				wantTotal = steps
			}
			if total != wantTotal || (strength <= 0.9999 && int(d*float64(total)) != steps) {
				t.Errorf("steps %d strength %g: Steps %d Denoising strength %s (A1111 runs %d of %d), want %d of %d",
					steps, strength, total, ds, int(d*float64(total)), total, steps, wantTotal)
			}
		}
	}
}
