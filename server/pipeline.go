package server

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/godiffusion/godiffusion/internal/infotext"
	"github.com/godiffusion/godiffusion/internal/pngmeta"
	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/families"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/vae"
)

// PipelineEngine is the Engine that runs the real pipelines of every
// family (families.Lookup, pipeline.Pipeline.Generate): the one adapter between the
// queue and the models. It keeps one model loaded and switches when a job
// names another, closing the old pipeline first so two models never sit
// in memory together. Its PNGs are gen's, byte for byte: the same
// request, the same infotext.PNG.
type PipelineEngine struct {
	Models *Models
	// Options are the load options of every model (tokenizer folder,
	// hyper-parameters of non-standard single files). The text encoder
	// is kept between jobs.
	Options pipeline.Options

	mu   sync.Mutex
	path string
	// defaults are the loaded family's settings (OpenAI's size "auto").
	defaults pipeline.Defaults
	pipe     *pipeline.Pipeline
}

// Generate implements Engine.
func (e *PipelineEngine) Generate(ctx context.Context, spec JobSpec, index int, init []byte, progress func(int, int)) (png []byte, text string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	mi, err := e.Models.Resolve(spec.Model)
	if err != nil {
		return nil, "", err
	}
	if err := e.load(mi.Path); err != nil {
		return nil, "", fmt.Errorf("loading model %s: %w", mi.Title, err)
	}
	if spec.Width == 0 || spec.Height == 0 { // OpenAI's size "auto": the family's size
		spec.Width, spec.Height = e.defaults.Width, e.defaults.Height
	}
	seed := spec.Seed + uint64(index)
	req := pipeline.Request{Context: ctx, Prompt: spec.Prompt, Negative: spec.Negative, Seed: seed, Steps: spec.Steps, CFG: spec.CFG,
		Sampler: spec.Sampler, Scheduler: spec.Scheduler, Width: spec.Width, Height: spec.Height, ClipSkip: spec.ClipSkip}
	if init != nil {
		img, _, err := image.Decode(bytes.NewReader(init))
		if err != nil {
			return nil, "", fmt.Errorf("init image: %w", err)
		}
		if b := img.Bounds(); b.Dx() != spec.Width || b.Dy() != spec.Height {
			return nil, "", fmt.Errorf("init image is %dx%d, the job %dx%d", b.Dx(), b.Dy(), spec.Width, spec.Height)
		}
		req.InitImage, req.Denoise = vae.FromImage(img), spec.Denoise
	}
	req.Progress = progress
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	res, err := e.pipe.Generate(req)
	if err != nil {
		return nil, "", err
	}
	params := pngmeta.Parameters{Prompt: spec.Prompt, Negative: spec.Negative, Steps: spec.Steps,
		Sampler: infotext.Label(infotext.Samplers, spec.Sampler), Schedule: infotext.Label(infotext.Schedules, spec.Scheduler),
		CFG: spec.CFG, Seed: seed, Width: spec.Width, Height: spec.Height, Model: modelName(e.path), ClipSkip: spec.ClipSkip}
	if init != nil {
		params.Extra = append(params.Extra, [2]string{"Denoising strength", strconv.FormatFloat(spec.Denoise, 'g', -1, 64)})
	}
	png, err = infotext.PNG(res.RGB, spec.Width, spec.Height, params)
	return png, params.String(), err
}

// load makes path the loaded model, closing the previous one first.
func (e *PipelineEngine) load(path string) error {
	if e.pipe != nil && e.path == path {
		return nil
	}
	e.closeLocked()
	info, err := detect.Path(path)
	if err != nil {
		return err
	}
	fam, err := families.Lookup(info)
	if err != nil {
		return err
	}
	opts := e.Options
	if opts.TokenizerDir, err = clip.FindTokenizer(path, opts.TokenizerDir); err != nil {
		return err
	}
	opts.FreeTextEncoder = false // a server encodes many prompts
	pipe, err := fam.Load(path, opts)
	if err != nil {
		return err
	}
	e.pipe, e.path, e.defaults = pipe, path, fam.Defaults(info)
	return nil
}

// Close releases the loaded model.
func (e *PipelineEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closeLocked()
}

func (e *PipelineEngine) closeLocked() error {
	if e.pipe == nil {
		return nil
	}
	err := e.pipe.Close()
	e.pipe, e.path = nil, ""
	runtime.GC() // the old model's heap goes before the next one loads
	return err
}

// modelName is the model's name in the PNG parameters, as gen writes it:
// the file name without extension, or the folder name.
func modelName(path string) string {
	base := filepath.Base(filepath.Clean(path))
	return strings.TrimSuffix(base, filepath.Ext(base))
}
