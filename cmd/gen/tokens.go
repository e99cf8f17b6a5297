package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/pipeline"
	"io"
	"path/filepath"
	"time"

	"github.com/godiffusion/godiffusion/models/detect"
	"github.com/godiffusion/godiffusion/models/sd1"
	"github.com/godiffusion/godiffusion/tensor"
)

// runTokens implements `gen tokens`: the ids of the first 77-token window
// of the prompt, as a JSON array on stdout.
func runTokens(args []string, stdout, stderr io.Writer) error {
	var tokDir, model, prompt string
	var raw bool
	fs := newFlagSet("gen tokens")
	stringFlag(fs, &tokDir, "", "tokenizer folder", "tokenizer")
	stringFlag(fs, &model, "", "model whose tokenizer/ folder to use", "m", "model")
	stringFlag(fs, &prompt, "", "text", "p", "prompt")
	fs.BoolVar(&raw, "raw", false, "tokenise literally (no A1111 weighting)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	promptSet := false // -p "" is an empty prompt; no -p at all is a mistake
	fs.Visit(func(fl *flag.Flag) { promptSet = promptSet || fl.Name == "p" || fl.Name == "prompt" })
	if !promptSet {
		return badInput("-p/--prompt: no prompt given (the text to tokenize; -p \"\" for the empty prompt)")
	}
	dir, err := clip.FindTokenizer(model, tokDir)
	if err != nil {
		return badInput("--tokenizer: %v", err)
	}
	tok, err := clip.OpenTokenizer(dir)
	if err != nil {
		return badInput("--tokenizer: %v", err)
	}
	ids, err := sd1.FirstWindow(tok, prompt, raw)
	if err != nil {
		return badInput("-p/--prompt: %v", err)
	}
	rememberTokenizer(tokDir, dir, stderr)
	b, _ := json.Marshal(ids)
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}

// runTextEmbed implements `gen text-embed`: the text encoder's hidden
// states (the UNet context, after CLIP skip) and pooled output.
func runTextEmbed(args []string, stdout, stderr io.Writer) error {
	var model, tokDir, clipL, prompt, out string
	var clipSkip, textHeads int
	var raw, overwrite bool
	fs := newFlagSet("gen text-embed")
	stringFlag(fs, &model, "", "checkpoint", "m", "model")
	stringFlag(fs, &tokDir, "", "tokenizer folder", "tokenizer")
	stringFlag(fs, &clipL, "", "replacement CLIP-L text encoder", "clip-l", "clip_l")
	stringFlag(fs, &prompt, "", "text", "p", "prompt")
	stringFlag(fs, &out, "", "output .safetensors", "o", "output")
	intFlag(fs, &clipSkip, 0, "CLIP skip", "clip-skip")
	intFlag(fs, &textHeads, 0, "CLIP attention heads of a single-file model (0 = 12)", "text-heads")
	fs.BoolVar(&raw, "raw", false, "tokenise literally")
	fs.BoolVar(&overwrite, "overwrite", false, "replace an existing output file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case model == "":
		return badInput("--model: no model given")
	case out == "":
		return badInput("-o/--output: no output file given")
	case clipSkip < 0:
		return badInput("--clip-skip %d: must not be negative", clipSkip)
	}
	if info, err := checkModel(model, "auto"); err != nil {
		return err
	} else if info.Family != detect.SD1 {
		return badInput("--model %s: gen text-embed supports SD 1.x models only; this is a %s model", model, info.Family)
	}
	dir, err := clip.FindTokenizer(model, tokDir)
	if err != nil {
		return badInput("--tokenizer: %v", err)
	}
	if err := checkClipL(clipL); err != nil {
		return err
	}
	outFile, err := prepareOutput("-o/--output", out, overwrite)
	if err != nil {
		return err
	}
	defer outFile.Discard()
	t0 := time.Now()
	te, err := sd1.LoadTextEncoder(model, pipeline.Options{TokenizerDir: dir, ClipL: clipL, TextHeads: textHeads})
	if err != nil {
		if errors.Is(err, pipeline.ErrClipL) {
			return badInput("--clip-l: %v", err)
		}
		return badInput("--model: %v", err)
	}
	defer te.Close()
	hidden, pooled, err := te.Encode(prompt, clipSkip, raw)
	if err != nil {
		return err
	}
	if err := writeTensors(outFile, named{"hidden", hidden}, named{"pooled", pooled}); err != nil {
		return err
	}
	if err := outFile.Commit(); err != nil {
		return err
	}
	rememberTokenizer(tokDir, dir, stderr)
	fmt.Fprintf(stderr, "%s: hidden %s pooled %s (%.2fs)\n", filepath.Base(out), tensor.ShapeString(hidden.Shape), tensor.ShapeString(pooled.Shape), time.Since(t0).Seconds())
	return nil
}

// rememberTokenizer copies a tokenizer given with --tokenizer (flagValue;
// nothing happens without the flag) into the user cache, so that later
// runs find it without the flag (see clip.FindTokenizer). Callers call it
// only after the run succeeded, so a tokenizer that fails validation, or a
// run that fails, never replaces a good cached one. It says so on stderr
// when it fills the cache and, louder, when it replaces a different cached
// tokenizer; a cache that cannot be written is a warning, never an error:
// this run has its tokenizer either way.
func rememberTokenizer(flagValue, found string, stderr io.Writer) {
	if flagValue == "" {
		return
	}
	cache, _ := clip.TokenizerCacheDir()
	had, _ := clip.FindTokenizer("", "")
	dir, copied, err := clip.CacheTokenizer(found)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "gen: warning: the tokenizer was not cached (%v); pass --tokenizer again next time\n", err)
	case copied && had != "" && had == cache:
		fmt.Fprintf(stderr, "gen: note: the tokenizer cached in %s differed from %s and was replaced by it\n", dir, flagValue)
	case copied:
		fmt.Fprintf(stderr, "tokenizer cached in %s: later runs find it without --tokenizer\n", dir)
	}
}
