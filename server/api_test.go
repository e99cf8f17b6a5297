package server

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godiffusion/godiffusion/internal/pngmeta"
)

// TestTxt2Img checks /sdapi/v1/txt2img's response field by field against
// A1111's TextToImageResponse: images (the engine's PNGs, in seed order),
// parameters (the request with defaults) and info (a JSON string whose
// infotexts are the PNGs' parameters chunks).
func TestTxt2Img(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 2})
	code, body := h.do("POST", "/sdapi/v1/txt2img", map[string]any{
		"prompt": "a cat", "negative_prompt": "blurry", "seed": 42, "steps": 3, "cfg_scale": 5.5,
		"width": 16, "height": 8, "sampler_name": "Euler a", "scheduler": "Karras", "batch_size": 2, "n_iter": 2,
		"override_settings": map[string]any{"CLIP_stop_at_last_layers": 2}, "subseed_strength": 0.3, "unknown_field": true,
	})
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	resp := decode[struct {
		Images     []string       `json:"images"`
		Parameters map[string]any `json:"parameters"`
		Info       string         `json:"info"`
	}](t, body)
	spec := JobSpec{Prompt: "a cat", Negative: "blurry", Steps: 3, CFG: 5.5, Sampler: "euler_ancestral", Scheduler: "karras",
		Width: 16, Height: 8, ClipSkip: 2, BatchSize: 2, NIter: 2, Model: "a.safetensors"}
	if len(resp.Images) != 4 {
		t.Fatalf("%d images, want 4", len(resp.Images))
	}
	info := decode[map[string]any](t, []byte(resp.Info))
	infotexts, _ := info["infotexts"].([]any)
	for i, b64 := range resp.Images {
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		want, text, _ := fakePNG(spec, 42+uint64(i))
		if !bytes.Equal(got, want) {
			t.Errorf("image %d differs from the engine's for seed %d", i, 42+i)
		}
		chunk, _ := pngmeta.ReadText(bytes.NewReader(got))
		if chunk["parameters"] != text || i >= len(infotexts) || infotexts[i] != text {
			t.Errorf("image %d: parameters chunk %q, info.infotexts %v, want %q", i, chunk["parameters"], infotexts, text)
		}
	}
	wantParams := map[string]any{"prompt": "a cat", "negative_prompt": "blurry", "seed": 42.0, "steps": 3.0, "cfg_scale": 5.5,
		"width": 16.0, "height": 8.0, "sampler_name": "Euler a", "scheduler": "Karras", "batch_size": 2.0, "n_iter": 2.0}
	for k, v := range wantParams {
		if resp.Parameters[k] != v {
			t.Errorf("parameters.%s = %v, want %v", k, resp.Parameters[k], v)
		}
	}
	wantInfo := map[string]any{"prompt": "a cat", "negative_prompt": "blurry", "seed": 42.0, "width": 16.0, "height": 8.0,
		"sampler_name": "Euler a", "cfg_scale": 5.5, "steps": 3.0, "batch_size": 2.0, "clip_skip": 2.0, "sd_model_name": "a"}
	for k, v := range wantInfo {
		if info[k] != v {
			t.Errorf("info.%s = %v, want %v", k, info[k], v)
		}
	}
	if seeds, _ := info["all_seeds"].([]any); !slices.Equal(seeds, []any{42.0, 43.0, 44.0, 45.0}) {
		t.Errorf("info.all_seeds = %v, want [42 43 44 45]", info["all_seeds"])
	}
	if notes, _ := info["notes"].([]any); len(notes) != 1 || !strings.Contains(notes[0].(string), "subseed") {
		t.Errorf("info.notes = %v, want the subseed note", info["notes"])
	}
}

// testPNG is a w×h PNG for img2img and png-info.
func testPNG(t *testing.T, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestImg2Img(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 1})
	init := base64.StdEncoding.EncodeToString(testPNG(t, 24, 16))
	code, body := h.do("POST", "/sdapi/v1/img2img", map[string]any{"prompt": "x", "seed": 5, "steps": 2,
		"init_images": []string{"data:image/png;base64," + init}, "denoising_strength": 0.5})
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	resp := decode[struct {
		Images     []string
		Parameters map[string]any
		Info       string
	}](t, body)
	info := decode[map[string]any](t, []byte(resp.Info))
	if len(resp.Images) != 1 || info["width"] != 24.0 || info["height"] != 16.0 || info["denoising_strength"] != 0.5 {
		t.Errorf("img2img: %d images, info %v", len(resp.Images), info)
	}
	if resp.Parameters["denoising_strength"] != 0.5 {
		t.Errorf("parameters.denoising_strength = %v", resp.Parameters["denoising_strength"])
	}
}

// TestA1111Endpoints: the listing endpoints, options switching the model,
// png-info reading back a generated image, progress during a job, and
// interrupt.
func TestA1111Endpoints(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 1, stepDelay: 30 * time.Millisecond})

	_, body := h.do("GET", "/sdapi/v1/sd-models", nil)
	models := decode[[]map[string]any](t, body)
	if len(models) != 3 || models[0]["title"] != "a.safetensors" || models[0]["model_name"] != "a" || models[0]["filename"] != "a.safetensors" {
		t.Errorf("sd-models = %v", models)
	}
	for _, k := range []string{"title", "model_name", "hash", "sha256", "filename", "config"} {
		if _, ok := models[0][k]; !ok {
			t.Errorf("sd-models item has no %q", k)
		}
	}
	_, body = h.do("GET", "/sdapi/v1/samplers", nil)
	samplers := decode[[]map[string]any](t, body)
	var names []string
	for _, s := range samplers {
		names = append(names, s["name"].(string))
		if _, ok := s["options"].(map[string]any); !ok {
			t.Errorf("sampler %v has no options object", s)
		}
	}
	if !slices.Contains(names, "Euler a") || !slices.Contains(names, "DPM++ 2M") {
		t.Errorf("samplers = %v", names)
	}
	_, body = h.do("GET", "/sdapi/v1/schedulers", nil)
	scheds := decode[[]map[string]any](t, body)
	found := false
	for _, s := range scheds {
		if s["name"] == "karras" && s["label"] == "Karras" {
			found = true
		}
	}
	if !found || scheds[0]["name"] != "automatic" {
		t.Errorf("schedulers = %v", scheds)
	}

	// Options: switch the model; the next job uses it.
	_, body = h.do("GET", "/sdapi/v1/options", nil)
	if o := decode[map[string]any](t, body); o["sd_model_checkpoint"] != "a.safetensors" || o["CLIP_stop_at_last_layers"] != 1.0 {
		t.Errorf("options = %v", o)
	}
	if code, body := h.do("POST", "/sdapi/v1/options", map[string]any{"sd_model_checkpoint": "b [0123abcd]"}); code != 200 {
		t.Fatalf("set options: %d %s", code, body)
	}
	_, body = h.do("GET", "/sdapi/v1/options", nil)
	if o := decode[map[string]any](t, body); o["sd_model_checkpoint"] != "b.safetensors" {
		t.Errorf("after switching, sd_model_checkpoint = %v", o["sd_model_checkpoint"])
	}
	code, body := h.do("POST", "/sdapi/v1/txt2img", map[string]any{"prompt": "p", "steps": 1, "width": 8, "height": 8})
	if code != 200 {
		t.Fatalf("txt2img: %d %s", code, body)
	}
	img := decode[struct{ Images []string }](t, body).Images[0]

	// png-info reads the parameters back.
	code, body = h.do("POST", "/sdapi/v1/png-info", map[string]any{"image": img})
	pi := decode[map[string]any](t, body)
	params, _ := pi["parameters"].(map[string]any)
	if code != 200 || !strings.HasPrefix(pi["info"].(string), "p\nSteps: 1, Sampler: Euler") || params["Model"] != "b.safetensors" ||
		params["Steps"] != "1" || params["Size-1"] != "8" || params["Prompt"] != "p" {
		t.Errorf("png-info: %d %v", code, pi)
	}
	if _, ok := pi["items"].(map[string]any); !ok {
		t.Errorf("png-info has no items object: %v", pi)
	}

	// Progress while a job runs, then interrupt it.
	code, body = h.do("POST", "/jobs", map[string]any{"prompt": "slow", "steps": 150, "width": 8, "height": 8})
	if code != 202 {
		t.Fatalf("POST /jobs: %d %s", code, body)
	}
	id := decode[map[string]string](t, body)["id"]
	h.waitJob(id, func(j *Job) bool { return j.Step >= 2 })
	_, body = h.do("GET", "/sdapi/v1/progress", nil)
	pr := decode[map[string]any](t, body)
	st, _ := pr["state"].(map[string]any)
	if pr["progress"].(float64) <= 0 || st["job"] != id || st["sampling_steps"] != 150.0 || st["sampling_step"].(float64) < 2 ||
		st["job_count"] != 1.0 || pr["eta_relative"].(float64) <= 0 {
		t.Errorf("progress = %v", pr)
	}
	for _, k := range []string{"current_image", "textinfo"} {
		if _, ok := pr[k]; !ok {
			t.Errorf("progress has no %q", k)
		}
	}
	if code, _ := h.do("POST", "/sdapi/v1/interrupt", nil); code != 200 {
		t.Errorf("interrupt: %d", code)
	}
	j := h.waitJob(id, func(j *Job) bool { return Terminal(j.State) })
	if j.State != StateCancelled {
		t.Errorf("interrupted job is %s", j.State)
	}
	_, body = h.do("GET", "/sdapi/v1/progress", nil)
	if pr := decode[map[string]any](t, body); pr["progress"] != 0.0 {
		t.Errorf("idle progress = %v", pr)
	}
}

// TestJobsAPI: POST /jobs answers at once, /events streams every step,
// GET /jobs/{id} has the images once done, DELETE cancels a queued job.
func TestJobsAPI(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 1, stepDelay: 20 * time.Millisecond})
	code, body := h.do("POST", "/jobs", map[string]any{"prompt": "q", "seed": 9, "steps": 5, "width": 8, "height": 8})
	if code != http.StatusAccepted {
		t.Fatalf("POST /jobs: %d %s", code, body)
	}
	id := decode[map[string]string](t, body)["id"]
	resp, err := http.Get(h.http.URL + "/jobs/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	events, _ := readAll(resp)
	steps := map[int]bool{}
	for _, line := range strings.Split(events, "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			st := decode[JobStatus](t, []byte(d))
			if st.State == StateRunning && st.Steps == 5 {
				steps[st.Step] = true
			}
		}
	}
	if len(steps) != 5 || !strings.Contains(events, "event: done") {
		t.Errorf("events: steps seen %v; stream:\n%s", steps, events)
	}
	code, body = h.do("GET", "/jobs/"+id, nil)
	st := decode[map[string]any](t, body)
	for _, k := range []string{"id", "state", "progress", "eta_seconds", "error", "images"} {
		if _, ok := st[k]; !ok {
			t.Errorf("GET /jobs/{id} has no %q", k)
		}
	}
	want, _, _ := fakePNG(JobSpec{Prompt: "q", Steps: 5, CFG: 7, Sampler: "euler", Scheduler: "normal", Width: 8, Height: 8,
		BatchSize: 1, NIter: 1, Model: "a.safetensors"}, 9)
	if imgs, _ := st["images"].([]any); code != 200 || st["state"] != "done" || st["progress"] != 1.0 || len(imgs) != 1 ||
		imgs[0] != base64.StdEncoding.EncodeToString(want) {
		t.Errorf("GET /jobs/{id}: %d %.300v", code, st)
	}

	// Cancel a queued job: stop the workers first.
	h.stopWorkers()
	h.wg.Wait()
	_, body = h.do("POST", "/jobs", map[string]any{"prompt": "never", "steps": 1, "width": 8, "height": 8})
	id2 := decode[map[string]string](t, body)["id"]
	code, body = h.do("DELETE", "/jobs/"+id2, nil)
	if st := decode[JobStatus](t, body); code != 200 || st.State != StateCancelled {
		t.Errorf("DELETE: %d %s", code, body)
	}
	h.startWorkers(1) // the worker drops the cancelled job's message
	time.Sleep(200 * time.Millisecond)
	if j, _ := h.store.Get(t.Context(), id2); j.State != StateCancelled {
		t.Errorf("cancelled job became %s", j.State)
	}
	if code, _ := h.do("GET", "/jobs/ffff", nil); code != 404 {
		t.Errorf("unknown job: %d", code)
	}
}

func readAll(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
