package infotext

import (
	"bytes"
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
