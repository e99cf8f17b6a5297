package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/flux"
	"github.com/godiffusion/godiffusion/models/fluxnet"
	"github.com/godiffusion/godiffusion/models/t5"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// fluxBench sets up the Flux.1 bench in the order gen runs a prompt: the
// transformer and autoencoder (random weights of the real shapes, or
// mapped from --model and --vae; a random AE without --vae), then T5-XXL over its real sequence length
// (256 tokens schnell, 512 dev) and CLIP-L over 77, each timed and
// released before sampling, as gen releases them. Random T5 weights have
// the real XXL shapes (4.76 B parameters, in --weights' dtype); CLIP-L is
// run only from a --clip-l file (its 0.1% of the work is not worth building
// 123 M random parameters for), else y is random.
func fluxBench(f *benchFlags, stderr io.Writer) (*benchSetup, error) {
	maxLen := flux.MaxLengthSchnell
	if f.arch == "flux-dev" {
		maxLen = flux.MaxLengthDev
	}
	s := &benchSetup{net: "transformer", flopsFrom: "fluxnet.Config.FLOPs", loadLabel: "build"}
	t0 := time.Now()
	if f.model != "" {
		if f.t5xxl == "" && !f.noT5 {
			return nil, badInput("--t5xxl: give the T5-XXL file of the Flux --model (or --no-t5)")
		}
		net, err := fluxnet.Load(f.model)
		if err != nil {
			return nil, badInput("--model: %v", err)
		}
		ae, aeNote, err := benchAE(f.vae, f.dtype)
		if err != nil {
			net.Close()
			return nil, err
		}
		s.pipe, s.loadLabel = flux.New(net, ae), "load"
		s.source = f.model
		s.stored = "transformer " + dtypesOf([]string{f.model}, "") + ", mapped; " + aeNote
	} else {
		cfg := fluxnet.SchnellConfig()
		if f.arch == "flux-dev" {
			cfg = fluxnet.DevConfig()
		}
		net, err := fluxnet.NewRandom(cfg, f.dtype, 1)
		if err != nil {
			return nil, err
		}
		ae, aeNote, err := benchAE("", f.dtype)
		if err != nil {
			return nil, err
		}
		s.pipe = flux.New(net, ae)
		s.source = "random weights, Flux.1 shapes (hidden 3072, 19 double + 38 single blocks sharing one drawn block each, context 4096, vec 768; AE decoder 128/256/512/512, 16 latent channels)"
		s.stored = fmt.Sprintf("transformer %s; %s", f.weights, aeNote)
	}
	s.loadTime = time.Since(t0)
	returnMemory()
	s.rssLoad = peakRSS()
	net := flux.Transformer(s.pipe)
	c := net.Config
	s.netParams, s.netBytes = c.NumParams(), net.WeightBytes()
	s.passFLOP = c.FLOPs((f.height/16)*(f.width/16), maxLen)

	// T5-XXL: prompt ids, </s>, padding to maxLen (the cost does not
	// depend on the ids).
	var txt *tensor.Tensor
	if f.noT5 {
		txt = randn(10, 1, maxLen, c.ContextInDim)
	} else {
		resetPeakRSS()
		t1 := time.Now()
		enc, err := benchT5(f)
		if err != nil {
			return nil, err
		}
		build, tc := time.Since(t1), enc.Config
		ids := make([]int, maxLen) // 0 = <pad>
		for i := range 20 {
			ids[i] = 100 + 37*i
		}
		ids[20] = 1 // </s>
		fmt.Fprintf(stderr, "T5-XXL over %d tokens...\n", maxLen)
		t1 = time.Now()
		txt, err = enc.Forward(ids)
		el := time.Since(t1)
		if err == nil && txt.Shape[2] != c.ContextInDim {
			err = fmt.Errorf("T5 is %d wide, the transformer takes %d", txt.Shape[2], c.ContextInDim)
		}
		err = errors.Join(err, enc.Close())
		if err != nil {
			return nil, badInput("--t5xxl: %v", err)
		}
		returnMemory() // random weights: give their heap back before sampling
		how := "mapped from " + f.t5xxl
		if f.model == "" {
			how = fmt.Sprintf("random XXL weights in %s, built in %s", f.weights, secs(build))
		}
		s.pre = append(s.pre, benchStage{name: "T5", time: el, gflop: tc.GFLOPs(maxLen), rss: peakRSS(),
			note: fmt.Sprintf("%d tokens; %s; released before sampling", maxLen, how)})
	}

	// CLIP-L pooled vector over one 77-token window.
	var y *tensor.Tensor
	if f.clipL != "" {
		resetPeakRSS()
		m, err := clip.LoadTextEncoder(f.clipL, clip.LoadOptions{Heads: f.textHeads})
		if err != nil {
			return nil, badInput("--clip-l: %v", err)
		}
		ids := make([]int, 77)
		for i := range ids {
			ids[i] = m.Config.VocabSize - 1 // EOS padding (the largest id)
		}
		ids[0] = m.Config.VocabSize - 2 // BOS
		t1 := time.Now()
		o, err := m.Forward(ids)
		el := time.Since(t1)
		if err = errors.Join(err, m.Close()); err != nil {
			return nil, badInput("--clip-l: %v", err)
		}
		y = o.Pooled
		if y.Shape[1] != c.VecInDim {
			return nil, badInput("--clip-l: %s is %d wide, the transformer takes %d", f.clipL, y.Shape[1], c.VecInDim)
		}
		returnMemory()
		s.pre = append(s.pre, benchStage{name: "CLIP-L", time: el, rss: peakRSS(), note: "77 tokens; released before sampling"})
	} else {
		y = randn(11, 1, c.VecInDim)
	}
	s.req.Cond, s.req.CondY = txt, y
	s.req.Uncond, s.req.UncondY = txt, y // true CFG (--cfg-scale ≠ 1): the same tokens serve as the negative
	return s, nil
}

// benchT5 opens --t5xxl or builds random T5-XXL weights.
func benchT5(f *benchFlags) (*t5.Encoder, error) {
	if f.model == "" {
		return t5.NewRandom(t5.XXL(), f.dtype, 3)
	}
	prefix := ""
	if sf, err := safetensors.Open(f.t5xxl); err == nil {
		prefix, _ = t5.DetectPrefix(sf.Names())
		sf.Close()
	}
	e, err := t5.Open(f.t5xxl, prefix)
	if err != nil {
		return nil, badInput("--t5xxl: %v", err)
	}
	return e, nil
}

// benchAE opens the --vae file, or builds the Flux autoencoder with random
// weights of its real shapes (83.8 M parameters; in bf16 unless the
// transformer's dtype is f16 or f32) when none is given.
func benchAE(path string, dt tensor.DType) (*vae.VAE, string, error) {
	if path != "" {
		ae, err := vae.Load(path, nil)
		if err != nil {
			return nil, "", badInput("--vae: %v", err)
		}
		if ae.Config.LatentChannels != 16 {
			ae.Close()
			return nil, "", badInput("--vae: %s has %d latent channels, Flux's has 16", path, ae.Config.LatentChannels)
		}
		return ae, "AE mapped from " + path, nil
	}
	if dt != tensor.F32 && dt != tensor.F16 {
		dt = tensor.BF16
	}
	ae, err := vae.NewRandom(flux.AEConfig(), dt, 2)
	if err != nil {
		return nil, "", err
	}
	return ae, fmt.Sprintf("AE random in %s", dt), nil
}
