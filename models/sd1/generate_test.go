package sd1

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/unet"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/tensor"
)

// goldenRun is a sampling run's entry in sd1/meta.json.
type goldenRun struct {
	golden.Run
	File                 string  `json:"file"`
	Negative             string  `json:"negative"`
	RescaleCFGMultiplier float64 `json:"rescale_cfg_multiplier"`
	ClipL                string  `json:"clip_l"`
	ContextsFile         string  `json:"contexts_file"`
	Contexts             []string
}

// goldenRuns reads the k-diffusion and clip_l_alt runs of meta.json by name.
func goldenRuns(t *testing.T) map[string]goldenRun {
	t.Helper()
	var meta struct {
		Sampling struct{ Runs []goldenRun } `json:"sampling"`
		ClipLAlt struct{ Runs []goldenRun } `json:"clip_l_alt"`
	}
	golden.ReadJSON(t, golden.Core(t, "sd1/meta.json"), &meta)
	out := map[string]goldenRun{}
	for _, r := range append(meta.Sampling.Runs, meta.ClipLAlt.Runs...) {
		out[r.Name] = r
	}
	return out
}

// tinyOptions are the hyper-parameters of the tiny fixture that a single
// file cannot tell: GroupNorm groups 4 (real SD1: 32) and 4 CLIP heads
// (real CLIP-L: 12).
func tinyOptions(tokenizer, clipL string) pipeline.Options {
	return pipeline.Options{TokenizerDir: tokenizer, ClipL: clipL, NormGroups: 4, TextHeads: 4}
}

// loadTiny loads the tiny SD1 fixture as a single file ("single") or as a
// diffusers folder ("diffusers").
func loadTiny(t *testing.T, layout, tokenizer, clipL string) *pipeline.Pipeline {
	t.Helper()
	path := golden.Core(t, "sd1/tiny-sd1.safetensors")
	if layout == "diffusers" {
		path = golden.Core(t, "sd1/model")
	}
	opts := tinyOptions(tokenizer, clipL)
	if tokenizer == "" {
		opts.SkipTextEncoder = true
	}
	p, err := Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func requestFor(r goldenRun) pipeline.Request {
	return pipeline.Request{Prompt: r.Prompt, Negative: r.Negative, Seed: r.Seed, Steps: r.Steps, CFG: r.CFG,
		Sampler: r.Sampler, Scheduler: r.Scheduler, Width: r.Width, Height: r.Height,
		GuidanceRescale: r.RescaleCFGMultiplier, RawPrompt: true}
}

// checkRun compares a result with a run file: final latent within
// |Δ| ≤ 1e-3 + 1e-4·|want| (README §9) and uint8 pixels within ±1.
func checkRun(t *testing.T, r goldenRun, res *pipeline.Result) {
	t.Helper()
	f := golden.Open(t, "sd1/"+r.File)
	want, shape := golden.Float32(t, f, "final_latent")
	if !tensor.SameShape(res.Latent, tensor.FromData(want, shape...)) {
		t.Fatalf("%s: latent shape %v, want %v", r.Name, res.Latent.Shape, shape)
	}
	golden.AssertClose(t, r.Name+" final_latent", res.Latent.Data, want, 1e-3, 1e-4)
	sig, _ := golden.Float32(t, f, "sigmas")
	got := make([]float32, len(res.Sigmas))
	for i, s := range res.Sigmas {
		got[i] = float32(s)
	}
	golden.AssertClose(t, r.Name+" sigmas", got, sig, 0, 1e-6)
	u8, err := f.Tensor("image_uint8")
	if err != nil {
		t.Fatal(err)
	}
	if len(u8.Data) != len(res.RGB) {
		t.Fatalf("%s: %d image bytes, want %d", r.Name, len(res.RGB), len(u8.Data))
	}
	maxd, off := 0, 0
	for i, w := range u8.Data {
		d := int(res.RGB[i]) - int(w)
		if d < 0 {
			d = -d
		}
		if d > 1 {
			off++
		}
		maxd = max(maxd, d)
	}
	if off > 0 {
		t.Errorf("%s: %d image bytes differ by more than 1 (max %d)", r.Name, off, maxd)
	} else {
		t.Logf("%s image_uint8: max |diff| %d", r.Name, maxd)
	}
}

// endToEndRuns is a representative set of the fixture's runs: every
// sampler, cfg 1 (no uncond pass), a negative prompt equal to the prompt,
// RescaleCFG and the replacement CLIP-L. (The sampling package replays
// all 42 runs against a recorded model.)
var endToEndRuns = []string{
	"euler_normal_cfg7p5_negtext",
	"euler_ancestral_normal_cfg7p5_negtext",
	"dpmpp_2m_karras_cfg3p5_negtext",
	"euler_normal_cfg1p0",
	"euler_normal_cfg7p5_negsame",
	"heun_normal_cfg7p5_negtext",
	"euler_normal_cfg7p5_negtext_rescale0p7",
	"clipalt_euler_normal_cfg1p0",
	"clipalt_dpmpp_2m_karras_cfg5p5_negtext",
}

// TestEndToEndGolden runs the whole pipeline — real tokenizer, text
// encoder, UNet, sampler, VAE — from the single file and from the diffusers
// folder, and compares with the reference runs.
func TestEndToEndGolden(t *testing.T) {
	tok := golden.Tokenizer(t, "clip")
	runs := goldenRuns(t)
	alt := golden.Core(t, "sd1/clip_l_alt.safetensors")
	for _, layout := range []string{"single", "diffusers"} {
		t.Run(layout, func(t *testing.T) {
			pipes := map[bool]*pipeline.Pipeline{}
			for _, name := range endToEndRuns {
				r, ok := runs[name]
				if !ok {
					t.Fatalf("run %s not in meta.json", name)
				}
				if testing.Short() && layout == "diffusers" && name != endToEndRuns[0] {
					continue
				}
				withAlt := r.ClipL != ""
				if pipes[withAlt] == nil {
					clipL := ""
					if withAlt {
						clipL = filepath.Join(filepath.Dir(alt), r.ClipL)
					}
					pipes[withAlt] = loadTiny(t, layout, tok, clipL)
				}
				res, err := pipes[withAlt].Generate(requestFor(r))
				if err != nil {
					t.Fatal(err)
				}
				checkRun(t, r, res)
			}
		})
	}
}

// TestRecordedContexts replays runs from the fixture's recorded contexts
// (no tokenizer or text encoder involved), so the sampling and decoding
// path is tested even where the real CLIP vocabulary is absent.
func TestRecordedContexts(t *testing.T) {
	runs := goldenRuns(t)
	p := loadTiny(t, "single", "", "")
	ctx := golden.Open(t, "sd1/sampling/contexts.safetensors")
	get := func(name string) *tensor.Tensor {
		v, s := golden.Float32(t, ctx, name)
		return tensor.FromData(v, s...)
	}
	for _, name := range []string{"euler_normal_cfg7p5_negtext", "euler_ancestral_normal_cfg3p5_negempty", "euler_normal_cfg1p0"} {
		r := runs[name]
		req := requestFor(r)
		req.Cond = get("cond")
		if r.Negative == "" {
			req.Uncond = get("uncond_empty")
		} else {
			req.Uncond = get("uncond_text")
		}
		var calls int
		req.Observer = func(c pipeline.Call) {
			calls++
			if (c.Uncond == nil) != (r.CFG == 1) {
				t.Errorf("%s call %d: uncond present %v at cfg %g", name, c.Index, c.Uncond != nil, r.CFG)
			}
		}
		res, err := p.Generate(req)
		if err != nil {
			t.Fatal(err)
		}
		if calls != res.ModelCalls || calls != r.Steps {
			t.Errorf("%s: %d observed calls, %d counted, want %d", name, calls, res.ModelCalls, r.Steps)
		}
		checkRun(t, r, res)
	}
}

// TestImg2Img replays img2img_euler_normal_denoise0p6: the fixture's init
// image is VAE-encoded, sampling starts part-way down a 16-step schedule.
func TestImg2Img(t *testing.T) {
	r := goldenRuns(t)["img2img_euler_normal_denoise0p6"]
	p := loadTiny(t, "single", "", "")
	f := golden.Open(t, "sd1/"+r.File)
	ctx := golden.Open(t, "sd1/sampling/contexts.safetensors")
	cv, cs := golden.Float32(t, ctx, "cond")
	uv, us := golden.Float32(t, ctx, "uncond_text")
	u8, err := f.Tensor("init_image_uint8")
	if err != nil {
		t.Fatal(err)
	}
	s := u8.Shape
	img, err := vae.FromUint8(u8.Data, s[0], s[1], s[2], s[3])
	if err != nil {
		t.Fatal(err)
	}
	req := requestFor(r)
	req.Cond, req.Uncond = tensor.FromData(cv, cs...), tensor.FromData(uv, us...)
	req.InitImage, req.Denoise = img, r.Denoise
	res, err := p.Generate(req)
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, r, res)
}

// TestSeedReproducible: the same seed gives the same image bit for bit,
// with 1 and with 2 threads, and another seed a different one.
func TestSeedReproducible(t *testing.T) {
	runs := goldenRuns(t)
	p := loadTiny(t, "single", "", "")
	ctx := golden.Open(t, "sd1/sampling/contexts.safetensors")
	cv, cs := golden.Float32(t, ctx, "cond")
	uv, us := golden.Float32(t, ctx, "uncond_text")
	req := requestFor(runs["euler_ancestral_normal_cfg7p5_negtext"])
	req.Cond, req.Uncond = tensor.FromData(cv, cs...), tensor.FromData(uv, us...)
	defer tensor.SetThreads(tensor.Threads())
	var first *pipeline.Result
	for _, th := range []int{1, 2, 1} {
		tensor.SetThreads(th)
		res, err := p.Generate(req)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = res
			continue
		}
		for i := range res.Latent.Data {
			if math.Float32bits(res.Latent.Data[i]) != math.Float32bits(first.Latent.Data[i]) {
				t.Fatalf("threads %d: latent differs at %d: %g vs %g", th, i, res.Latent.Data[i], first.Latent.Data[i])
			}
		}
		if string(res.RGB) != string(first.RGB) {
			t.Fatalf("threads %d: image differs", th)
		}
	}
	req.Seed++
	other, err := p.Generate(req)
	if err != nil {
		t.Fatal(err)
	}
	if string(other.RGB) == string(first.RGB) {
		t.Error("seed+1 gave the same image")
	}
}

// TestReleaseModel: a request with ReleaseModel still gives the reference
// run (the UNet goes only after sampling), from both layouts; the
// pipeline then refuses to sample instead of crashing, and closes cleanly.
func TestReleaseModel(t *testing.T) {
	tok := golden.Tokenizer(t, "clip")
	r := goldenRuns(t)[endToEndRuns[0]]
	for _, layout := range []string{"single", "diffusers"} {
		p := loadTiny(t, layout, tok, "")
		req := requestFor(r)
		req.ReleaseModel = true
		res, err := p.Generate(req)
		if err != nil {
			t.Fatal(err)
		}
		checkRun(t, r, res)
		if p.Model != nil {
			t.Errorf("%s: UNet still held after a ReleaseModel request", layout)
		}
		if _, err := p.Generate(requestFor(r)); err == nil || !strings.Contains(err.Error(), "released") {
			t.Errorf("%s: Generate after the release: %v, want an error saying the UNet was released", layout, err)
		}
	}
}

// unetOf returns the UNet of an SD1 pipeline.
func unetOf(p *pipeline.Pipeline) *unet.UNet {
	return p.Model.(*pipeline.EPSModel).Net.(*unet.UNet)
}

// textOf returns the text encoder of an SD1 pipeline.
func textOf(p *pipeline.Pipeline) *TextEncoder {
	return p.Conditioner.(*Conditioner).Text
}
