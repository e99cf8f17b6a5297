package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg" // init images may be JPEGs
	_ "image/png"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/godiffusion/godiffusion/internal/infotext"
	"github.com/godiffusion/godiffusion/internal/pngmeta"
)

// A1111Request is the body of /sdapi/v1/txt2img and /img2img (and of POST
// /jobs): the fields of A1111's StableDiffusionProcessingTxt2Img/Img2Img
// API models (modules/api/models.py) that godiffusion uses. Other fields
// are accepted and ignored, as A1111 ignores unknown ones. Pointers tell an
// absent field (A1111's default) from a zero.
type A1111Request struct {
	Prompt            string         `json:"prompt"`
	NegativePrompt    string         `json:"negative_prompt"`
	Seed              *int64         `json:"seed"` // -1: random
	Subseed           *int64         `json:"subseed"`
	SubseedStrength   *float64       `json:"subseed_strength"` // variation seeds are not supported: ignored with a note in info
	Steps             *int           `json:"steps"`
	CFGScale          *float64       `json:"cfg_scale"`
	Width             *int           `json:"width"`
	Height            *int           `json:"height"`
	SamplerName       string         `json:"sampler_name"`
	SamplerIndex      string         `json:"sampler_index"` // A1111's older name of sampler_name
	Scheduler         string         `json:"scheduler"`
	BatchSize         *int           `json:"batch_size"`
	NIter             *int           `json:"n_iter"`
	OverrideSettings  map[string]any `json:"override_settings"` // sd_model_checkpoint, CLIP_stop_at_last_layers
	DenoisingStrength *float64       `json:"denoising_strength"`
	InitImages        []string       `json:"init_images"`
	SendImages        *bool          `json:"send_images"`
}

// A1111's defaults (StableDiffusionProcessing.__init__ and the API model's
// sampler_index).
const (
	a1111Steps    = 50
	a1111CFG      = 7.0
	a1111Side     = 512
	a1111Sampler  = "Euler"
	a1111Denoise  = 0.75
	optionModel   = "sd_model_checkpoint"
	optionClipSkp = "CLIP_stop_at_last_layers"
)

// randomSeed draws a seed below 2³² (A1111's range for seed -1).
func randomSeed() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) & math.MaxUint32
}

// spec validates an A1111 request against the limits and turns it into a
// JobSpec (defaults applied, seed drawn) and the decoded init image file.
// img2img requires init_images; every error names its field.
func (s *Server) spec(ctx context.Context, req *A1111Request, img2img bool) (JobSpec, []byte, []string, error) {
	l := s.Limits
	var notes []string
	or := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	sp := JobSpec{Prompt: req.Prompt, Negative: req.NegativePrompt,
		Steps: or(req.Steps, a1111Steps), Width: or(req.Width, a1111Side), Height: or(req.Height, a1111Side),
		BatchSize: or(req.BatchSize, 1), NIter: or(req.NIter, 1), CFG: a1111CFG}
	if req.CFGScale != nil {
		sp.CFG = *req.CFGScale
	}
	switch {
	case sp.Steps < 1 || sp.Steps > l.MaxSteps:
		return sp, nil, nil, badField("steps", "%d: must be between 1 and %d", sp.Steps, l.MaxSteps)
	case !(sp.CFG >= 0 && sp.CFG <= 100):
		return sp, nil, nil, badField("cfg_scale", "%g: must be between 0 and 100", sp.CFG)
	case sp.BatchSize < 1 || sp.NIter < 1 || sp.BatchSize > l.MaxImages || sp.NIter > l.MaxImages || sp.BatchSize*sp.NIter > l.MaxImages:
		return sp, nil, nil, badField("batch_size", "batch_size %d × n_iter %d: between 1 and %d images per request", sp.BatchSize, sp.NIter, l.MaxImages)
	}
	if err := s.checkSize("width", "height", sp.Width, sp.Height); err != nil {
		return sp, nil, nil, err
	}
	name := req.SamplerName
	if name == "" {
		name = req.SamplerIndex
	}
	if name == "" {
		name = a1111Sampler
	}
	var err error
	if sp.Sampler, err = infotext.Sampler(name); err != nil {
		return sp, nil, nil, badField("sampler_name", "%v", err)
	}
	if sp.Scheduler, err = infotext.Scheduler(req.Scheduler); err != nil {
		return sp, nil, nil, badField("scheduler", "%v", err)
	}
	switch {
	case req.Seed == nil || *req.Seed == -1:
		sp.Seed = randomSeed()
	case *req.Seed < 0:
		return sp, nil, nil, badField("seed", "%d: must be -1 (random) or a non-negative integer", *req.Seed)
	default:
		sp.Seed = uint64(*req.Seed)
	}
	if req.SubseedStrength != nil && *req.SubseedStrength != 0 {
		notes = append(notes, "subseed and subseed_strength (variation seeds) are not supported and were ignored")
	}
	model := ""
	if v, ok := req.OverrideSettings[optionModel]; ok {
		str, isStr := v.(string)
		if !isStr {
			return sp, nil, nil, badField("override_settings."+optionModel, "expected a model title (string)")
		}
		model = str
	}
	if sp.Model, err = s.model(ctx, "override_settings."+optionModel, model); err != nil {
		return sp, nil, nil, err
	}
	if v, ok := req.OverrideSettings[optionClipSkp]; ok {
		f, isNum := v.(float64)
		if !isNum || f < 1 || f > 12 || f != math.Trunc(f) {
			return sp, nil, nil, badField("override_settings."+optionClipSkp, "%v: expected an integer 1..12", v)
		}
		sp.ClipSkip = int(f)
	} else if v := s.Store.Option(ctx, optionClipSkp); v != "" {
		fmt.Sscan(v, &sp.ClipSkip)
	}
	if sp.ClipSkip == 1 {
		sp.ClipSkip = 0 // 1 is the last layer, the default
	}

	if !img2img {
		if len(req.InitImages) > 0 {
			return sp, nil, nil, badField("init_images", "only /sdapi/v1/img2img takes init images")
		}
		return sp, nil, notes, nil
	}
	if len(req.InitImages) != 1 {
		return sp, nil, nil, badField("init_images", "expected one base64 PNG or JPEG, found %d images", len(req.InitImages))
	}
	sp.Denoise = a1111Denoise
	if req.DenoisingStrength != nil {
		sp.Denoise = *req.DenoisingStrength
	}
	if !(sp.Denoise > 0 && sp.Denoise <= 1) {
		return sp, nil, nil, badField("denoising_strength", "%g: must be in (0, 1]", sp.Denoise)
	}
	if float64(sp.Steps)/sp.Denoise > 1000 {
		return sp, nil, nil, badField("denoising_strength", "%g with %d steps needs a %.0f-step schedule, more than 1000", sp.Denoise, sp.Steps, float64(sp.Steps)/sp.Denoise)
	}
	init, w, h, err := s.decodeImage("init_images[0]", req.InitImages[0])
	if err != nil {
		return sp, nil, nil, err
	}
	if w%8 != 0 || h%8 != 0 {
		return sp, nil, nil, badField("init_images[0]", "size %dx%d is not a multiple of 8 (images are not resized)", w, h)
	}
	if (req.Width != nil && *req.Width != w) || (req.Height != nil && *req.Height != h) {
		return sp, nil, nil, badField("width", "%dx%d differs from init_images[0]'s %dx%d (images are not resized)", sp.Width, sp.Height, w, h)
	}
	sp.Width, sp.Height = w, h
	return sp, init, notes, nil
}

// checkSize checks an image size against the limits, naming the fields.
func (s *Server) checkSize(wf, hf string, w, h int) error {
	l := s.Limits
	switch {
	case w < 8 || w%8 != 0 || w > l.MaxSide:
		return badField(wf, "%d: must be a multiple of 8 between 8 and %d", w, l.MaxSide)
	case h < 8 || h%8 != 0 || h > l.MaxSide:
		return badField(hf, "%d: must be a multiple of 8 between 8 and %d", h, l.MaxSide)
	case w*h > l.MaxPixels:
		return badField(wf, "%dx%d: more than %d pixels", w, h, l.MaxPixels)
	}
	return nil
}

// decodeImage decodes a base64 image (optionally a data: URI) and checks
// it is a PNG or JPEG within the size limits, without decoding its pixels.
func (s *Server) decodeImage(field, b64 string) ([]byte, int, int, error) {
	if i := strings.Index(b64, ";base64,"); strings.HasPrefix(b64, "data:") && i > 0 {
		b64 = b64[i+len(";base64,"):]
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, 0, 0, badField(field, "not valid base64: %v", err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, badField(field, "not a PNG or JPEG image: %v", err)
	}
	if cfg.Width > s.Limits.MaxSide || cfg.Height > s.Limits.MaxSide || cfg.Width*cfg.Height > s.Limits.MaxPixels {
		return nil, 0, 0, badField(field, "%dx%d: larger than %d on a side or %d pixels", cfg.Width, cfg.Height, s.Limits.MaxSide, s.Limits.MaxPixels)
	}
	return data, cfg.Width, cfg.Height, nil
}

// model resolves a requested model name ("" = the current default).
func (s *Server) model(ctx context.Context, field, name string) (string, error) {
	if name == "" {
		name = s.Store.Option(ctx, optionModel)
	}
	if name == "" {
		name = s.DefaultModel
	}
	if s.Models.Empty() {
		if name == "" {
			return "", badField(field, "no model named and no default model (gen serve --model)")
		}
		if strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") {
			return "", badField(field, "model %q: names are those of /sdapi/v1/sd-models, not paths", name)
		}
		return name, nil
	}
	mi, err := s.Models.Resolve(name)
	if err != nil {
		return "", badField(field, "%v", err)
	}
	return mi.Title, nil
}

// run submits a job and waits for it (the synchronous endpoints).
func (s *Server) run(r *http.Request, spec JobSpec, init []byte) (*Job, [][]byte, error) {
	id := NewID()
	if _, err := s.Store.Submit(r.Context(), id, spec, init); err != nil {
		return nil, nil, err
	}
	job, err := s.wait(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	if job.State == StateFailed {
		return job, nil, &httpError{http.StatusInternalServerError, "generation failed", job.Error}
	}
	images, err := s.Store.Images(r.Context(), job)
	return job, images, err
}

func (s *Server) txt2img(w http.ResponseWriter, r *http.Request) { s.generateA1111(w, r, false) }
func (s *Server) img2img(w http.ResponseWriter, r *http.Request) { s.generateA1111(w, r, true) }

// generateA1111 is POST /sdapi/v1/txt2img and /img2img: the response has
// the images (base64 PNGs with their parameters chunk), the request with
// defaults filled in ("parameters") and the info JSON string.
func (s *Server) generateA1111(w http.ResponseWriter, r *http.Request, img2img bool) {
	var req A1111Request
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	spec, init, notes, err := s.spec(r.Context(), &req, img2img)
	if err != nil {
		s.fail(w, err)
		return
	}
	job, images, err := s.run(r, spec, init)
	if err != nil {
		s.fail(w, err)
		return
	}
	b64 := make([]string, len(images))
	infotexts := make([]string, len(images))
	for i, png := range images {
		b64[i] = base64.StdEncoding.EncodeToString(png)
		if t, err := pngmeta.ReadText(bytes.NewReader(png)); err == nil {
			infotexts[i] = t[pngmeta.Keyword]
		}
	}
	info, _ := json.Marshal(a1111Info(job, infotexts, notes))
	if req.SendImages != nil && !*req.SendImages {
		b64 = []string{}
	}
	writeJSON(w, map[string]any{"images": b64, "parameters": a1111Parameters(&req, spec), "info": string(info)})
}

// a1111Parameters echoes the request with A1111's defaults filled in.
func a1111Parameters(req *A1111Request, sp JobSpec) map[string]any {
	p := map[string]any{
		"prompt": sp.Prompt, "negative_prompt": sp.Negative, "seed": int64(sp.Seed), "subseed": -1, "subseed_strength": 0.0,
		"steps": sp.Steps, "cfg_scale": sp.CFG, "width": sp.Width, "height": sp.Height,
		"sampler_name": infotext.Label(infotext.Samplers, sp.Sampler), "scheduler": infotext.Label(infotext.Schedules, sp.Scheduler),
		"batch_size": sp.BatchSize, "n_iter": sp.NIter, "override_settings": req.OverrideSettings,
		"send_images": req.SendImages == nil || *req.SendImages, "save_images": false,
	}
	if req.Seed != nil {
		p["seed"] = *req.Seed
	}
	if sp.InitImage != "" || req.InitImages != nil {
		p["denoising_strength"] = sp.Denoise
		p["init_images"] = nil // as A1111: the images are not echoed
	}
	return p
}

// a1111Info is the "info" object of a generation response (A1111's
// Processed.js()): the settings, every image's seed and infotext.
func a1111Info(job *Job, infotexts []string, notes []string) map[string]any {
	sp := job.Spec
	n := len(infotexts)
	seeds := make([]int64, n)
	prompts := make([]string, n)
	negatives := make([]string, n)
	subseeds := make([]int64, n)
	for i := range n {
		seeds[i] = int64(sp.Seed) + int64(i)
		prompts[i], negatives[i], subseeds[i] = sp.Prompt, sp.Negative, -1
	}
	clip := max(sp.ClipSkip, 1)
	info := map[string]any{
		"prompt": sp.Prompt, "all_prompts": prompts, "negative_prompt": sp.Negative, "all_negative_prompts": negatives,
		"seed": int64(sp.Seed), "all_seeds": seeds, "subseed": -1, "all_subseeds": subseeds, "subseed_strength": 0,
		"width": sp.Width, "height": sp.Height, "sampler_name": infotext.Label(infotext.Samplers, sp.Sampler),
		"cfg_scale": sp.CFG, "steps": sp.Steps, "batch_size": sp.BatchSize, "restore_faces": false,
		"face_restoration_model": nil, "sd_model_name": strings.TrimSuffix(sp.Model, ".safetensors"), "sd_model_hash": nil,
		"sd_vae_name": nil, "sd_vae_hash": nil, "seed_resize_from_w": -1, "seed_resize_from_h": -1,
		"denoising_strength": nil, "extra_generation_params": map[string]any{"Schedule type": infotext.Label(infotext.Schedules, sp.Scheduler)},
		"index_of_first_image": 0, "infotexts": infotexts, "styles": []string{}, "job_timestamp": job.Created.Format("20060102150405"),
		"clip_skip": clip, "is_using_inpainting_conditioning": false, "version": "godiffusion",
		"job_id": job.ID, "state": job.State,
	}
	if sp.InitImage != "" {
		info["denoising_strength"] = sp.Denoise
	}
	if len(notes) > 0 {
		info["notes"] = notes
	}
	return info
}

// progress is GET /sdapi/v1/progress: the running job's progress (the
// most recently started one when several workers run), its ETA and A1111's
// state snapshot; zeros when idle.
func (s *Server) progress(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.Store.Jobs(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	var cur *Job
	count := 0
	for _, j := range jobs {
		if Terminal(j.State) {
			continue
		}
		count++
		if j.State == StateRunning && (cur == nil || j.Started.After(cur.Started)) {
			cur = j
		}
	}
	state := map[string]any{"skipped": false, "interrupted": false, "stopping_generation": false, "job": "",
		"job_count": count, "job_timestamp": "0", "job_no": 0, "sampling_step": 0, "sampling_steps": 0}
	resp := map[string]any{"progress": 0.0, "eta_relative": 0.0, "state": state, "current_image": nil, "textinfo": nil}
	if cur != nil {
		state["job"] = cur.ID
		state["job_timestamp"] = cur.Created.Format("20060102150405")
		state["job_no"] = cur.Image
		state["sampling_step"] = cur.Step
		state["sampling_steps"] = cur.Steps
		resp["progress"] = cur.Progress()
		resp["eta_relative"] = cur.ETA(time.Now())
	}
	writeJSON(w, resp)
}

// interrupt is POST /sdapi/v1/interrupt: it cancels every running job
// (A1111 interrupts the one it runs); the synchronous callers get the
// images finished so far.
func (s *Server) interrupt(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.Store.Jobs(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	for _, j := range jobs {
		if j.State == StateRunning {
			s.Store.Cancel(r.Context(), j.ID)
		}
	}
	writeJSON(w, map[string]any{})
}

// sdModels is GET /sdapi/v1/sd-models (A1111's SDModelItem list).
func (s *Server) sdModels(w http.ResponseWriter, r *http.Request) {
	out := []map[string]any{}
	for _, m := range s.Models.List() {
		out = append(out, map[string]any{"title": m.Title, "model_name": m.Name, "hash": nil, "sha256": nil,
			"filename": m.Title, "config": nil})
	}
	writeJSON(w, out)
}

// samplers is GET /sdapi/v1/samplers (A1111's SamplerItem list).
func (s *Server) samplers(w http.ResponseWriter, r *http.Request) {
	out := []map[string]any{}
	for _, name := range sortedKeys(infotext.Samplers) {
		out = append(out, map[string]any{"name": infotext.Samplers[name], "aliases": []string{name}, "options": map[string]any{}})
	}
	writeJSON(w, out)
}

// schedulers is GET /sdapi/v1/schedulers (A1111's SchedulerItem list).
func (s *Server) schedulers(w http.ResponseWriter, r *http.Request) {
	out := []map[string]any{{"name": "automatic", "label": "Automatic", "aliases": nil, "default_rho": nil, "need_inner_model": nil}}
	for _, name := range sortedKeys(infotext.Schedules) {
		l := infotext.Schedules[name]
		out = append(out, map[string]any{"name": infotext.APIName(l), "label": l, "aliases": []string{name}, "default_rho": nil, "need_inner_model": nil})
	}
	writeJSON(w, out)
}

// getOptions is GET /sdapi/v1/options: the options godiffusion honours.
func (s *Server) getOptions(w http.ResponseWriter, r *http.Request) {
	model := s.Store.Option(r.Context(), optionModel)
	if model == "" {
		model = s.DefaultModel
	}
	clip := 1
	if v := s.Store.Option(r.Context(), optionClipSkp); v != "" {
		fmt.Sscan(v, &clip)
	}
	writeJSON(w, map[string]any{optionModel: model, optionClipSkp: clip, "samples_format": "png", "sd_checkpoint_hash": nil})
}

// setOptions is POST /sdapi/v1/options: sd_model_checkpoint switches the
// model of later jobs (each worker loads it at its next job, releasing the
// old one first); CLIP_stop_at_last_layers sets the default clip skip.
// Other options are accepted and ignored.
func (s *Server) setOptions(w http.ResponseWriter, r *http.Request) {
	var opts map[string]any
	if err := decodeJSON(r, &opts); err != nil {
		s.fail(w, err)
		return
	}
	if v, ok := opts[optionModel]; ok {
		name, isStr := v.(string)
		if !isStr {
			s.fail(w, badField(optionModel, "expected a model title (string)"))
			return
		}
		m, err := s.model(r.Context(), optionModel, name)
		if err == nil && name == "" {
			err = badField(optionModel, "empty model name")
		}
		if err != nil {
			s.fail(w, err)
			return
		}
		if err := s.Store.SetOption(r.Context(), optionModel, m); err != nil {
			s.fail(w, err)
			return
		}
	}
	if v, ok := opts[optionClipSkp]; ok {
		f, isNum := v.(float64)
		if !isNum || f < 1 || f > 12 || f != math.Trunc(f) {
			s.fail(w, badField(optionClipSkp, "%v: expected an integer 1..12", v))
			return
		}
		if err := s.Store.SetOption(r.Context(), optionClipSkp, fmt.Sprint(int(f))); err != nil {
			s.fail(w, err)
			return
		}
	}
	writeJSON(w, nil)
}

// pngInfo is POST /sdapi/v1/png-info: the parameters text of a PNG, its
// other text chunks, and the parsed fields.
func (s *Server) pngInfo(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Image string `json:"image"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if req.Image == "" {
		s.fail(w, badField("image", "missing: a base64 PNG"))
		return
	}
	data, _, _, err := s.decodeImage("image", req.Image)
	if err != nil {
		s.fail(w, err)
		return
	}
	texts, err := pngmeta.ReadText(bytes.NewReader(data))
	if err != nil {
		texts = map[string]string{} // a JPEG, or a PNG without text: no info, as A1111
	}
	info := texts[pngmeta.Keyword]
	items := map[string]any{}
	for k, v := range texts {
		if k != pngmeta.Keyword {
			items[k] = v
		}
	}
	params := map[string]any{}
	if info != "" {
		for k, v := range infotext.Parse(info) {
			params[k] = v
		}
		if size, ok := params["Size"].(string); ok {
			if a, b, ok := strings.Cut(size, "x"); ok {
				params["Size-1"], params["Size-2"] = a, b
			}
		}
	}
	writeJSON(w, map[string]any{"info": info, "items": items, "parameters": params})
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}
