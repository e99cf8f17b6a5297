package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// modelHint says where to get a checkpoint.
const modelHint = "download one, e.g. v1-5-pruned-emaonly.safetensors from the Hugging Face repository " +
	"stable-diffusion-v1-5/stable-diffusion-v1-5, or sd_xl_base_1.0.safetensors from stabilityai/stable-diffusion-xl-base-1.0"

// checkModelFile turns the two commonest wrong --model paths into plain
// advice before the safetensors parser sees them: a path that does not
// exist (said once, with where to get a model), and a PyTorch pickle
// checkpoint (.ckpt, .pt, .pth, .bin: a zip archive or a raw pickle),
// which gen does not load because unpickling can run code.
func checkModelFile(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return badInput("--model %s: no such file or folder; %s", path, modelHint)
	}
	if err != nil || st.IsDir() {
		return nil // detect.Path reports the rest
	}
	if isPickle(path) {
		return badInput("--model %s: pickle checkpoints (.ckpt/.pt/.pth/.bin) are not supported: convert it to .safetensors "+
			"(e.g. with diffusers' scripts/convert_original_stable_diffusion_to_diffusers.py, or download the .safetensors file, "+
			"which most model pages offer)", path)
	}
	return nil
}

// isPickle reports whether the file at path is a PyTorch checkpoint: it
// starts as a zip archive (torch.save since 1.6) or a pickle stream
// (protocol byte 0x80), or has a pickle extension and no safetensors
// header.
func isPickle(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	switch {
	case n >= 4 && string(head[:4]) == "PK\x03\x04":
		return true
	case n >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5:
		return true
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ckpt", ".pt", ".pth":
		return true
	}
	return false
}
