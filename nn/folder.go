package nn

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// componentStems are the weight-file stems of a Hugging Face component
// folder: diffusers models (unet/, vae/, transformer/) save
// diffusion_pytorch_model.*, transformers models (text_encoder/,
// text_encoder_2/) model.*.
var componentStems = []string{"diffusion_pytorch_model", "model"}

// ComponentFiles returns the safetensors files of a diffusers or
// transformers component folder dir, as save_pretrained writes them: one
// STEM.safetensors, or shards listed by STEM.safetensors.index.json
// (weight_map: tensor name → shard file), for STEM diffusion_pytorch_model
// or model. variant "fp16" prefers the STEM.fp16.* files, "" the plain
// ones; each falls back to the other. Every shard the index names must
// exist: a missing one is an error naming it and the index.
func ComponentFiles(dir, variant string) ([]string, error) {
	var plain, fp16, tried []string
	for _, s := range componentStems {
		plain = append(plain, s+".safetensors", s+".safetensors.index.json")
		fp16 = append(fp16, s+".fp16.safetensors", s+".safetensors.index.fp16.json", s+".fp16.safetensors.index.json")
	}
	names := append(plain, fp16...)
	if variant == "fp16" {
		names = append(fp16, plain...)
	}
	for _, n := range names {
		tried = append(tried, n)
		path := filepath.Join(dir, n)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if !strings.HasSuffix(n, ".json") {
			return []string{path}, nil
		}
		return shardFiles(dir, path)
	}
	return nil, fmt.Errorf("%s: no weights (looked for %s)", dir, strings.Join(tried, ", "))
}

// shardFiles reads a sharded checkpoint's index.json and returns its shard
// paths, sorted, checking that each exists.
func shardFiles(dir, index string) ([]string, error) {
	data, err := os.ReadFile(index)
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", index, err)
	}
	set := map[string]bool{}
	for _, f := range idx.WeightMap {
		set[f] = true
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", index)
	}
	var files []string
	for f := range set {
		if f != filepath.Base(f) || f == "." || f == ".." {
			return nil, fmt.Errorf("%s: shard %q is not a file name in the same folder", index, f)
		}
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s names shard %s, which is missing: %w", index, f, err)
		}
		files = append(files, p)
	}
	sort.Strings(files)
	return files, nil
}
