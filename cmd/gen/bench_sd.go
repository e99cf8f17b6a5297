package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/models/sd1"
	"github.com/godiffusion/godiffusion/models/sdxl"
	"github.com/godiffusion/godiffusion/models/unet"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// sdBench sets up the Stable Diffusion bench (SD1.5 or SDXL): the UNet and
// VAE, random or from --model. The text encoders are not timed: the
// conditioning is random tensors of the UNet's shapes (contexts
// [1, 77, cross_attention_dim] and, for SDXL, added vectors y [1, 2816]).
func sdBench(f *benchFlags) (*benchSetup, error) {
	s := &benchSetup{net: "UNet", flopsFrom: "unet.Config.FLOPs", loadLabel: "build"}
	t0 := time.Now()
	var err error
	if f.model != "" {
		load := sd1.Load
		if f.arch == "sdxl" {
			load = sdxl.Load
		}
		s.pipe, err = load(f.model, pipeline.Options{NormGroups: f.normGroups, TextHeads: f.textHeads, TextHeads2: f.textHeads2,
			UNetHeadDim: f.unetHeadDim, SkipTextEncoder: true})
		if err != nil {
			return nil, badInput("--model: %v", err)
		}
		s.source, s.stored, s.loadLabel = f.model, storedDType(f.model), "load"
	} else {
		if s.pipe, s.source, err = randomPipeline(f.arch, f.dtype); err != nil {
			return nil, err
		}
		s.stored = f.weights
	}
	s.loadTime = time.Since(t0)
	returnMemory() // the build's garbage must not set the heap target
	s.rssLoad = peakRSS()
	u := s.pipe.Model.(*pipeline.EPSModel).Net.(*unet.UNet)
	c := u.Config
	s.netParams, s.netBytes = u.NumParams(), u.WeightBytes()
	const ctxLen = 77
	s.passFLOP = c.FLOPs(1, f.height/8, f.width/8, ctxLen)
	s.req.Cond, s.req.Uncond = randn(10, 1, ctxLen, c.CrossAttentionDim), randn(11, 1, ctxLen, c.CrossAttentionDim)
	if c.AdditionEmbedType != "" {
		// SDXL's y: pooled text embedding ‖ size sinusoids, here random.
		s.req.CondY = randn(12, 1, c.ProjectionClassEmbeddingsInputDim)
		s.req.UncondY = randn(13, 1, c.ProjectionClassEmbeddingsInputDim)
	}
	return s, nil
}

// randomPipeline builds the UNet and VAE of arch ("sd1": SD1.5, "sdxl":
// SDXL base) with random weights stored as dt, and describes them for the
// report's header.
func randomPipeline(arch string, dt tensor.DType) (*pipeline.Pipeline, string, error) {
	uc, vc := unet.SD15Config(), vae.SD1Config()
	source := "random weights, SD1.5 shapes (UNet 320/640/1280/1280, VAE decoder 128/256/512/512)"
	if arch == "sdxl" {
		uc, vc = unet.SDXLBaseConfig(), vae.SDXLConfig()
		source = "random weights, SDXL base shapes (UNet 320/640/1280, transformer depths 0/2/10, context 2048, y 2816; VAE decoder 128/256/512/512)"
	}
	u, err := unet.NewRandom(uc, dt, 1)
	if err != nil {
		return nil, "", err
	}
	v, err := vae.NewRandom(vc, dt, 2)
	if err != nil {
		return nil, "", err
	}
	return sd1.New(sd1.Components{UNet: u, VAE: v}), source, nil
}

// storedDType names the dtypes the UNet weights of the checkpoint at path
// are stored in, most bytes first (e.g. "f16", or "f16 + f32" when the
// biases are f32). It reads only the safetensors headers.
func storedDType(path string) string {
	files := []string{path}
	prefix := "model.diffusion_model."
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		fs, err := unet.DiffusersWeightFiles(filepath.Join(path, "unet"), "")
		if err != nil {
			return "unknown"
		}
		files, prefix = fs, ""
	}
	return dtypesOf(files, prefix)
}

// dtypesOf names the dtypes of the tensors under prefix in files, most
// bytes first, from the safetensors headers.
func dtypesOf(files []string, prefix string) string {
	bytes := map[safetensors.DType]int{}
	for _, name := range files {
		f, err := safetensors.Open(name)
		if err != nil {
			return "unknown"
		}
		for _, t := range f.Tensors() {
			if strings.HasPrefix(t.Name, prefix) {
				bytes[t.DType] += len(t.Data)
			}
		}
		f.Close()
	}
	kinds := make([]safetensors.DType, 0, len(bytes))
	for k := range bytes {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return bytes[kinds[i]] > bytes[kinds[j]] })
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = strings.ToLower(string(k))
	}
	if len(names) == 0 {
		return "unknown"
	}
	return strings.Join(names, " + ") + " (as stored in the file)"
}
