package sdxl

import (
	"math"
	"os"
	"sync"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// goldenRun is a sampling run's entry in sdxl/meta.json → runs.
type goldenRun struct {
	golden.Run
	Negative     *string `json:"negative"` // null for negative_mode "zeros"
	NegativeMode string  `json:"negative_mode"`
	SizeCond     struct {
		Width        int `json:"width"`
		Height       int `json:"height"`
		CropW        int `json:"crop_w"`
		CropH        int `json:"crop_h"`
		TargetWidth  int `json:"target_width"`
		TargetHeight int `json:"target_height"`
	} `json:"size_cond"`
	TimeIDs []float32 `json:"time_ids"`
}

// comfyRuns returns the "comfyui"-convention runs of sdxl/meta.json, in
// file order.
func comfyRuns(t *testing.T) []goldenRun {
	t.Helper()
	var meta struct {
		Runs []goldenRun `json:"runs"`
	}
	golden.ReadJSON(t, golden.Shared(t, "sdxl/meta.json"), &meta)
	var out []goldenRun
	for _, r := range meta.Runs {
		if r.Convention == "comfyui" {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		t.Fatal("sdxl/meta.json has no comfyui runs")
	}
	return out
}

// requestFor is the Request that replays r (ComfyUI CLIPTextEncode →
// KSampler → VAEDecode), with the recorded size conditioning.
func requestFor(t *testing.T, r goldenRun) pipeline.Request {
	t.Helper()
	req := pipeline.Request{Prompt: r.Prompt, Seed: r.Seed, Steps: r.Steps, CFG: r.CFG, Sampler: r.Sampler,
		Scheduler: r.Scheduler, Width: r.Width, Height: r.Height,
		OrigWidth: r.SizeCond.Width, OrigHeight: r.SizeCond.Height, CropW: r.SizeCond.CropW, CropH: r.SizeCond.CropH,
		TargetWidth: r.SizeCond.TargetWidth, TargetHeight: r.SizeCond.TargetHeight}
	switch r.NegativeMode {
	case "text", "unused_cfg1":
		if r.Negative != nil {
			req.Negative = *r.Negative
		}
	case "zeros":
		req.ZeroNegative = true
	default:
		t.Fatalf("%s: unknown negative_mode %q", r.Name, r.NegativeMode)
	}
	if r.Denoise != 0 && r.Denoise != 1 {
		t.Fatalf("%s: denoise %g: only txt2img runs are replayed", r.Name, r.Denoise)
	}
	return req
}

// tinyOptions are the tiny fixture's hyper-parameters a single file cannot
// tell: 2 heads per text tower (real: 12 and 20) and 16-wide UNet heads
// (real: 64). GroupNorm groups are 32 as in the real model.
func tinyOptions(t *testing.T) pipeline.Options {
	return pipeline.Options{TokenizerDir: golden.Tokenizer(t, "clip"), TextHeads: 2, TextHeads2: 2, UNetHeadDim: 16}
}

// pipelines caches the loaded tiny pipelines across tests, by layout.
var pipelines = struct {
	sync.Mutex
	m map[string]*pipeline.Pipeline
}{m: map[string]*pipeline.Pipeline{}}

// tinyPath is the fixture of a layout: "single" (tiny-sdxl.safetensors) or
// "diffusers" (the diffusers/ folder).
func tinyPath(t *testing.T, layout string) string {
	if layout == "diffusers" {
		return golden.Shared(t, "sdxl/diffusers")
	}
	return golden.Shared(t, "sdxl/tiny-sdxl.safetensors")
}

// loadTiny returns the (cached) tiny SDXL pipeline of a layout.
func loadTiny(t *testing.T, layout string) *pipeline.Pipeline {
	t.Helper()
	path := tinyPath(t, layout)
	opts := tinyOptions(t)
	pipelines.Lock()
	defer pipelines.Unlock()
	if p := pipelines.m[layout]; p != nil {
		return p
	}
	p, err := Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	pipelines.m[layout] = p
	return p
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range pipelines.m {
		p.Close()
	}
	os.Exit(code)
}

// Which runs are replayed from which layout. The single file replays all
// of them; the diffusers folder (the same weights under other names, so
// it tests the loading) one run per negative mode and sampler family; under
// -short a few of each.
var (
	diffusersRuns = map[string]bool{
		"dpmpp2m_karras_64x96_cfg7_negtext":                 true,
		"dpmpp2m_karras_64x64_cfg5_negzeros":                true,
		"comfy_heun_normal_64x96_cfg1":                      true,
		"comfy_euler_ancestral_normal_64x96_cfg7p0_negsame": true,
		"comfy_euler_normal_64x96_cfg4p0_negtext":           true,
	}
	shortRuns = map[string]map[string]bool{
		"single": {
			"dpmpp2m_karras_64x96_cfg7_negtext":  true,
			"dpmpp2m_karras_64x64_cfg5_negzeros": true,
			"comfy_heun_normal_64x96_cfg1":       true,
		},
		"diffusers": {"comfy_euler_ancestral_normal_64x96_cfg7p0_negsame": true},
	}
)

// TestEndToEndGolden replays the comfyui runs of the SDXL fixture through
// Load + Generate, from the single file (all runs) and from the diffusers
// folder (diffusersRuns): final latent within 1e-3·max|ref| and the
// decoded image within 1e-3 (README tolerances), the conditioning within
// 1e-4.
func TestEndToEndGolden(t *testing.T) {
	runs := comfyRuns(t)
	for _, layout := range []string{"single", "diffusers"} {
		t.Run(layout, func(t *testing.T) {
			p := loadTiny(t, layout)
			for _, r := range runs {
				switch {
				case testing.Short() && !shortRuns[layout][r.Name]:
					continue
				case layout == "diffusers" && !diffusersRuns[r.Name]:
					continue
				}
				t.Run(r.Name, func(t *testing.T) {
					req := requestFor(t, r)
					checkConditioning(t, p, r, req)
					res, err := p.Generate(req)
					if err != nil {
						t.Fatal(err)
					}
					checkRun(t, r, res)
				})
			}
		})
	}
}

// checkConditioning compares the conditioner's cond (and uncond) with the
// run file's cond.context / cond.y (pooled = y's first columns) at 1e-4.
func checkConditioning(t *testing.T, p *pipeline.Pipeline, r goldenRun, req pipeline.Request) {
	t.Helper()
	c, ok := p.Conditioner.(*Conditioner)
	if !ok {
		t.Fatalf("pipeline conditioner is %T, want *sdxl.Conditioner", p.Conditioner)
	}
	cond, uncond, err := c.Condition(&req)
	if err != nil {
		t.Fatal(err)
	}
	f := golden.Open(t, "sdxl/runs/"+r.Name+".safetensors")
	ids, _ := golden.Float32(t, f, "cond.time_ids")
	golden.AssertClose(t, r.Name+" time_ids", req.TimeIDs(), ids, 0, 0)
	halves := map[string]sampling.Cond{"cond": cond}
	if r.CFG != 1 {
		halves["uncond"] = uncond
	} else if uncond.Context != nil {
		t.Errorf("%s: uncond context at cfg 1", r.Name)
	}
	for name, h := range halves {
		ctx, _ := golden.Float32(t, f, name+".context")
		golden.AssertClose(t, r.Name+" "+name+".context", h.Context.Data, ctx, 1e-4, 0)
		y, _ := golden.Float32(t, f, name+".y")
		golden.AssertClose(t, r.Name+" "+name+".y", h.Y.Data, y, 1e-4, 0)
		pooled, _ := golden.Float32(t, f, name+".pooled")
		golden.AssertClose(t, r.Name+" "+name+".pooled", h.Y.Data[:len(pooled)], pooled, 1e-4, 0)
	}
}

// checkRun compares a result with a run file: sigmas, the final latent
// within 1e-3 of max|ref| and the raw decoded image within 1e-3.
func checkRun(t *testing.T, r goldenRun, res *pipeline.Result) {
	t.Helper()
	f := golden.Open(t, "sdxl/runs/"+r.Name+".safetensors")
	sig, _ := golden.Float32(t, f, "sigmas")
	got := make([]float32, len(res.Sigmas))
	for i, s := range res.Sigmas {
		got[i] = float32(s)
	}
	golden.AssertClose(t, r.Name+" sigmas", got, sig, 0, 1e-6)
	want, shape := golden.Float32(t, f, "latents")
	if !tensor.SameShape(res.Latent, tensor.FromData(want, shape...)) {
		t.Fatalf("%s: latent shape %v, want %v", r.Name, res.Latent.Shape, shape)
	}
	golden.AssertClose(t, r.Name+" latents", res.Latent.Data, want, 1e-3*maxAbs(want), 0)
	img, ishape := golden.Float32(t, f, "image")
	if !tensor.SameShape(res.Image, tensor.FromData(img, ishape...)) {
		t.Fatalf("%s: image shape %v, want %v", r.Name, res.Image.Shape, ishape)
	}
	golden.AssertClose(t, r.Name+" image", res.Image.Data, img, 1e-3, 0)
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}
