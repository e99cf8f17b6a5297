package flux

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/pipeline"
)

// promptRun is a prompt-driven run's entry in flux/meta.json.
type promptRun struct {
	golden.Run
	File         string   `json:"file"`
	Conditioning string   `json:"conditioning"`
	Model        string   `json:"model"`
	Negative     *string  `json:"negative_prompt"`
	Guidance     *float64 `json:"guidance"`
	TrueCFG      float64  `json:"true_cfg"`
	MaxLength    int      `json:"max_length"`
}

func promptRuns(t *testing.T) []promptRun {
	t.Helper()
	var meta struct {
		Runs []promptRun `json:"runs"`
	}
	golden.ReadJSON(t, golden.Shared(t, "flux/meta.json"), &meta)
	var out []promptRun
	for _, r := range meta.Runs {
		if r.Conditioning == "prompt" {
			out = append(out, r)
		}
	}
	if len(out) != 4 {
		t.Fatalf("flux/meta.json: %d prompt runs, want 4", len(out))
	}
	return out
}

// tinyOptions are the files of the tiny Flux stand-ins, kept apart as
// ComfyUI users keep the real ones: the autoencoder, CLIP-L (the tiny SD1
// text encoder in the stand-alone HF layout, 4 heads) and T5 with its
// SentencePiece model.
func tinyOptions(t *testing.T) pipeline.Options {
	return pipeline.Options{
		VAE:          golden.Shared(t, "flux/ae-tiny.safetensors"),
		ClipL:        golden.Shared(t, "sd1/model/text_encoder/model.safetensors"),
		TextHeads:    4,
		T5XXL:        golden.Shared(t, "t5/t5-tiny.safetensors"),
		T5Tokenizer:  golden.Shared(t, "t5/spiece.model"),
		TokenizerDir: golden.Tokenizer(t, "clip"),
	}
}

// requestFor is the pipeline request that replays r.
func requestFor(r promptRun) pipeline.Request {
	req := pipeline.Request{Prompt: r.Prompt, Seed: r.Seed, Steps: r.Steps, CFG: r.TrueCFG, Sampler: "euler",
		Width: r.Width, Height: r.Height}
	if r.Negative != nil {
		req.Negative = *r.Negative
	}
	if r.Guidance != nil {
		req.Guidance = *r.Guidance
	}
	return req
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// TestPromptRuns replays every prompt-driven run of the Flux fixtures
// (dev with distilled guidance, dev with a 91-token prompt at 48×80,
// schnell, dev with true CFG and a negative prompt) through flux.Load from
// split files and the shared pipeline: the T5 context and CLIP pooled
// vector (≤ 1e-4, the README's tolerance), the schedule, the final latent
// and the decoded image (≤ 1e-3 of max |ref|) and the 8-bit image (±1 of
// diffusers' rounding). Each run is replayed again from a diffusers folder
// that Convert made of the same files (see checkConvertedRun).
func TestPromptRuns(t *testing.T) {
	opts := tinyOptions(t)
	dir := t.TempDir()
	folders := map[string]string{"dev": convertTiny(t, dir, "dev"), "schnell": convertTiny(t, dir, "schnell")}
	for _, r := range promptRuns(t) {
		t.Run(r.Name, func(t *testing.T) {
			if r.Model != "schnell" {
				golden.SkipShort(t, r.Name+" (the schnell run runs under -short)")
			}
			p, err := Load(golden.Shared(t, "flux/flux1-"+r.Model+"-tiny.safetensors"), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ref := golden.Open(t, filepath.Join("flux", r.File))
			req := requestFor(r)

			cond, uncond, err := p.Conditioner.Condition(&req)
			if err != nil {
				t.Fatal(err)
			}
			txt, _ := golden.Float32(t, ref, "txt")
			y, _ := golden.Float32(t, ref, "y")
			golden.AssertClose(t, "txt", cond.Context.Data, txt, 1e-4, 0)
			golden.AssertClose(t, "y", cond.Y.Data, y, 1e-4, 0)
			if r.TrueCFG != 1 {
				negTxt, _ := golden.Float32(t, ref, "neg_txt")
				negY, _ := golden.Float32(t, ref, "neg_y")
				golden.AssertClose(t, "neg_txt", uncond.Context.Data, negTxt, 1e-4, 0)
				golden.AssertClose(t, "neg_y", uncond.Y.Data, negY, 1e-4, 0)
			} else if uncond.Context != nil {
				t.Error("CFG 1: the negative prompt was encoded")
			}

			calls := 0
			req.Observer = func(pipeline.Call) { calls++ }
			res, err := p.Generate(req)
			if err != nil {
				t.Fatal(err)
			}
			ts, _ := golden.Float32(t, ref, "timesteps")
			sig := make([]float32, len(res.Sigmas))
			for i, s := range res.Sigmas {
				sig[i] = float32(s)
			}
			golden.AssertClose(t, "timesteps", sig, ts, 0, 0)
			wantPasses := r.Steps
			if r.TrueCFG != 1 {
				wantPasses *= 2
			}
			if calls != r.Steps || res.ModelPasses != wantPasses {
				t.Errorf("%d model calls and %d transformer passes, want %d and %d", calls, res.ModelPasses, r.Steps, wantPasses)
			}
			lat, _ := golden.Float32(t, ref, "latents")
			golden.AssertClose(t, "latents", res.Latent.Data, lat, 1e-3*maxAbs(lat), 0)
			img, _ := golden.Float32(t, ref, "image")
			golden.AssertClose(t, "image", res.Image.Data, img, 1e-3*maxAbs(img), 0)
			checkU8(t, ref, res.RGB)
			t.Run("diffusers folder", func(t *testing.T) { checkConvertedRun(t, folders[r.Model], r, res) })
		})
	}
}

// checkU8 compares 8-bit RGB (H·W·3, row-major) with the run's
// image_u8_round (diffusers' rounding): at most 1 apart.
func checkU8(t *testing.T, ref interface {
	Float32(string) ([]float32, []int, error)
}, rgb []uint8) {
	t.Helper()
	want, _, err := ref.Float32("image_u8_round")
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(rgb) {
		t.Fatalf("image has %d bytes, want %d", len(rgb), len(want))
	}
	worst := 0.0
	for i, w := range want {
		worst = math.Max(worst, math.Abs(float64(rgb[i])-float64(w)))
	}
	if worst > 1 {
		t.Errorf("8-bit image differs from image_u8_round by up to %g", worst)
	}
}

// TestLoadErrors: a Flux file without its autoencoder, T5 or CLIP-L, and a
// T5 of the wrong width, are errors that wrap the sentinel naming the part
// (the command line turns it into the flag).
func TestLoadErrors(t *testing.T) {
	full := tinyOptions(t)
	model := golden.Shared(t, "flux/flux1-schnell-tiny.safetensors")
	cases := []struct {
		name string
		edit func(*pipeline.Options)
		want error
		text string
	}{
		{"no vae", func(o *pipeline.Options) { o.VAE = "" }, pipeline.ErrVAE, "ae.safetensors"},
		{"no t5", func(o *pipeline.Options) { o.T5XXL = "" }, pipeline.ErrT5, "t5xxl"},
		{"no clip", func(o *pipeline.Options) { o.ClipL = "" }, pipeline.ErrClipL, "clip_l"},
		{"sd1 vae", func(o *pipeline.Options) { o.VAE = golden.Shared(t, "sd1/tiny-sd1.safetensors") }, pipeline.ErrVAE, ""},
		{"t5 of the wrong width", func(o *pipeline.Options) { o.T5XXL = golden.Shared(t, "sd1/model/text_encoder/model.safetensors") }, pipeline.ErrT5, ""},
		{"missing t5 tokenizer", func(o *pipeline.Options) { o.T5Tokenizer = filepath.Join(t.TempDir(), "none.model") }, pipeline.ErrT5Tokenizer, "none.model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := full
			c.edit(&o)
			p, err := Load(model, o)
			if err == nil {
				p.Close()
				t.Fatal("no error")
			}
			if !errorsIs(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q: want it to wrap %q and mention %q", err, c.want, c.text)
			}
		})
	}
	if _, err := Load(golden.Core(t, "sd1/tiny-sd1.safetensors"), full); err == nil || !strings.Contains(err.Error(), "not Flux") {
		t.Errorf("SD1 file: %v", err)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
