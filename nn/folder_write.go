package nn

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/godiffusion/godiffusion/safetensors"
)

// WriteComponent writes tensors into the component folder dir as
// save_pretrained lays them out, the inverse of ComponentFiles: one
// STEM.safetensors when their data add up to at most maxShard bytes (or
// maxShard ≤ 0), else shards STEM-0000i-of-0000n.safetensors filled in the
// given order up to maxShard bytes each (a larger tensor gets a shard of
// its own, as in transformers' shard_checkpoint) and the index
// STEM.safetensors.index.json ({"metadata": {"total_size": bytes},
// "weight_map": name → shard}). The tensors' Data may be views of mapped
// files: each shard is written by safetensors.WriteFile (atomically,
// streamed from Data) and nothing is copied. It returns the files written.
func WriteComponent(dir, stem string, tensors []safetensors.Tensor, metadata map[string]string, maxShard int64) ([]string, error) {
	var total int64
	for _, t := range tensors {
		total += int64(len(t.Data))
	}
	if maxShard <= 0 || total <= maxShard {
		path := filepath.Join(dir, stem+".safetensors")
		if err := safetensors.WriteFile(path, tensors, metadata); err != nil {
			return nil, err
		}
		return []string{path}, nil
	}
	var shards [][]safetensors.Tensor
	var size int64
	for _, t := range tensors {
		n := int64(len(t.Data))
		if len(shards) == 0 || size > 0 && size+n > maxShard {
			shards = append(shards, nil)
			size = 0
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], t)
		size += n
	}
	weightMap := map[string]string{}
	var files []string
	for i, part := range shards {
		name := fmt.Sprintf("%s-%05d-of-%05d.safetensors", stem, i+1, len(shards))
		path := filepath.Join(dir, name)
		if err := safetensors.WriteFile(path, part, metadata); err != nil {
			return files, err
		}
		files = append(files, path)
		for _, t := range part {
			weightMap[t.Name] = name
		}
	}
	index := map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}
	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return files, err
	}
	path := filepath.Join(dir, stem+".safetensors.index.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return files, err
	}
	return append(files, path), nil
}
