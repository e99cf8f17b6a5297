package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/flux"
	"github.com/godiffusion/godiffusion/models/pipeline"
)

// runConvert implements `gen convert`: a Flux.1 model kept as single files
// (BFL's flux1-dev.safetensors or a ComfyUI file, with ae.safetensors,
// clip_l.safetensors, a T5-XXL file and the two tokenizers, or one
// all-in-one ComfyUI file) written as a diffusers FluxPipeline folder
// (flux.Convert), which diffusers' FluxPipeline.from_pretrained and
// `gen --model FOLDER` read. Bad input is reported before anything is
// written, naming the flag; the folder appears only when complete.
func runConvert(args []string, stdout, stderr io.Writer) error {
	var model, vaePath, clipL, t5xxl, t5Tok, tokDir, out, shard string
	var textHeads int
	var overwrite, quiet bool
	fs := newFlagSet("gen convert")
	stringFlag(fs, &model, "", "Flux transformer file (BFL or ComfyUI single file)", "m", "model")
	stringFlag(fs, &vaePath, "", "autoencoder file (ae.safetensors)", "vae")
	stringFlag(fs, &clipL, "", "CLIP-L text encoder file (clip_l.safetensors)", "clip-l", "clip_l")
	stringFlag(fs, &t5xxl, "", "T5-XXL text encoder file", "t5xxl")
	stringFlag(fs, &t5Tok, "", "T5 tokenizer: spiece.model, tokenizer.json or a folder with either", "t5-tokenizer")
	stringFlag(fs, &tokDir, "", "CLIP tokenizer folder (vocab.json, merges.txt)", "tokenizer")
	stringFlag(fs, &out, "", "output folder", "o", "output")
	stringFlag(fs, &shard, "10GB", "largest weight file of the transformer and T5 before sharding (e.g. 10GB, 500MB, bytes)", "max-shard-size")
	intFlag(fs, &textHeads, 0, "CLIP attention heads of a stand-alone CLIP file (0 = 12, CLIP-L)", "text-heads")
	fs.BoolVar(&overwrite, "overwrite", false, "replace an existing output folder")
	fs.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case model == "":
		return badInput("--model: no model given")
	case out == "":
		return badInput("-o/--output: no output folder given")
	case textHeads < 0:
		return badInput("--text-heads %d: must not be negative", textHeads)
	}
	maxShard, err := parseByteSize(shard)
	if err != nil {
		return badInput("--max-shard-size %q: %v", shard, err)
	}
	info, err := checkModel(model, "auto")
	if err != nil {
		return err
	}
	if info.Family != detect.Flux {
		return badInput("--model %s: a %s model; gen convert writes Flux.1 models only", model, info.Family)
	}
	if info.Layout == detect.Diffusers {
		return badInput("--model %s: already a diffusers folder", model)
	}
	if err := checkOutputFolder(out, overwrite); err != nil {
		return err
	}
	tok, err := clip.FindTokenizer(model, tokDir)
	if err != nil {
		return badInput("--tokenizer: %v", err)
	}
	t5Path, err := findT5Tokenizer(&genFlags{model: model, t5xxl: t5xxl, t5Tokenizer: t5Tok})
	if err != nil {
		return err
	}
	opts := flux.ConvertOptions{
		Options:   pipeline.Options{VAE: vaePath, ClipL: clipL, TextHeads: textHeads, T5XXL: t5xxl, T5Tokenizer: t5Path, TokenizerDir: tok},
		Overwrite: overwrite, MaxShard: maxShard,
	}
	if !quiet {
		opts.Log = func(s string) { fmt.Fprintln(stderr, s) }
	}
	t0 := time.Now()
	res, err := flux.Convert(model, out, opts)
	switch {
	case err == nil:
	case errors.Is(err, flux.ErrWriting):
		return err
	case errors.Is(err, flux.ErrOutput):
		return badInput("-o/--output: %v", err)
	case errors.Is(err, flux.ErrClipTokenizer):
		return badInput("--tokenizer: %v", err)
	default:
		return badInput("%s: %v", componentFlag(err), err)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(stderr, "warning: %s is not a transformer weight diffusers knows; not copied\n", s)
	}
	if !quiet {
		fmt.Fprintf(stderr, "%s: FluxPipeline (%s), %.2f GB of weights in %.1fs\n", out, res.Variant, float64(res.Bytes)/1e9, time.Since(t0).Seconds())
	}
	return nil
}

// checkOutputFolder makes sure the folder path can be created: its parent
// is a folder and, unless overwrite, path does not exist.
func checkOutputFolder(path string, overwrite bool) error {
	parent := filepath.Dir(path)
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		return badInput("-o/--output %s: folder %s does not exist", path, parent)
	}
	if _, err := os.Lstat(path); err == nil && !overwrite {
		return badInput("-o/--output %s: exists (use --overwrite to replace it)", path)
	}
	return nil
}

// parseByteSize reads a size as Hugging Face's max_shard_size writes it:
// a number of bytes, or a number with KB, MB, GB (powers of 1000) or KiB,
// MiB, GiB (powers of 1024).
func parseByteSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, mult := strings.TrimSpace(s), 1.0
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !(v*mult >= 1) || v*mult > 1<<62 {
		return 0, fmt.Errorf("expected a positive size such as 10GB, 500MB or a number of bytes")
	}
	return int64(v * mult), nil
}
