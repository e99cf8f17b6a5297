package hub

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// diffusersComponents are the component folders of a diffusers pipeline
// that text-to-image needs; safety_checker, feature_extractor and
// image_encoder are left on the Hub.
var diffusersComponents = map[string]bool{
	"unet": true, "vae": true, "transformer": true, "scheduler": true,
	"text_encoder": true, "text_encoder_2": true, "tokenizer": true, "tokenizer_2": true,
}

// DiffusersFiles picks from a diffusers repository's file list what a
// pipeline needs: model_index.json, and in each needed component folder
// its configuration and tokenizer files and its safetensors weights, the
// fp16 variant (*.fp16.safetensors and its index) where the folder has one,
// else the plain files. PyTorch .bin, ONNX, Flax and root-level single-file
// checkpoints are skipped.
func DiffusersFiles(names []string) []string {
	hasFP16 := map[string]bool{}
	for _, n := range names {
		dir, base := path.Split(n)
		if strings.Contains(base, ".fp16") && strings.HasSuffix(base, ".safetensors") {
			hasFP16[dir] = true
		}
	}
	var out []string
	for _, n := range names {
		dir, base := path.Split(n)
		if dir == "" {
			if base == "model_index.json" {
				out = append(out, n)
			}
			continue
		}
		if strings.Count(n, "/") != 1 || !diffusersComponents[strings.TrimSuffix(dir, "/")] {
			continue
		}
		fp16 := strings.Contains(base, ".fp16") // model.fp16.safetensors, model.fp16-00001-of-00002.safetensors, *.index.fp16.json
		switch {
		case strings.HasSuffix(base, ".safetensors") || strings.Contains(base, ".safetensors.index"):
			if fp16 == hasFP16[dir] {
				out = append(out, n)
			}
		case strings.HasSuffix(base, ".json") || strings.HasSuffix(base, ".txt") || base == "spiece.model":
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// DiffusersComplete reports whether the snapshot folder dir holds a usable
// diffusers pipeline: model_index.json, and for each needed component it
// names, the folder with its configuration and, for networks, every weight
// file (each shard an index names). A download cut short leaves it
// incomplete, so the next run downloads the rest.
func DiffusersComplete(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "model_index.json"))
	if err != nil {
		return false
	}
	var index map[string]any
	if json.Unmarshal(b, &index) != nil {
		return false
	}
	for comp, v := range index {
		if lib, ok := v.([]any); !ok || len(lib) != 2 || lib[0] == nil || !diffusersComponents[comp] {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(dir, comp))
		if err != nil || len(entries) == 0 {
			return false
		}
		if strings.HasPrefix(comp, "tokenizer") || comp == "scheduler" {
			continue
		}
		weights := false
		for _, e := range entries {
			name := e.Name()
			if strings.HasSuffix(name, ".safetensors") {
				weights = true
			}
			if strings.Contains(name, ".safetensors.index") && !indexComplete(filepath.Join(dir, comp, name)) {
				return false
			}
		}
		if !weights || !exists(filepath.Join(dir, comp, "config.json")) {
			return false
		}
	}
	return true
}

// indexComplete reports whether every shard a *.safetensors.index.json
// names exists beside it.
func indexComplete(p string) bool {
	b, err := os.ReadFile(p)
	if err != nil {
		return false
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if json.Unmarshal(b, &idx) != nil {
		return false
	}
	for _, shard := range idx.WeightMap {
		if !exists(filepath.Join(filepath.Dir(p), filepath.FromSlash(shard))) {
			return false
		}
	}
	return true
}
