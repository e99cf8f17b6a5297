package flux

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/godiffusion/godiffusion/models/clip"
	"github.com/godiffusion/godiffusion/models/fluxnet"
	"github.com/godiffusion/godiffusion/models/vae"
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/safetensors"
)

// folderWriter writes the components of a FluxPipeline folder into dir.
type folderWriter struct {
	dir      string
	maxShard int64
	log      func(string)
	res      *ConvertResult
}

// ptMetadata is the safetensors metadata Hugging Face writers put in
// every file.
var ptMetadata = map[string]string{"format": "pt"}

// modelIndex is FLUX.1-dev's model_index.json: the pipeline class and the
// library and class of each component folder.
var modelIndex = map[string]any{
	"_class_name":    "FluxPipeline",
	"scheduler":      []string{"diffusers", "FlowMatchEulerDiscreteScheduler"},
	"text_encoder":   []string{"transformers", "CLIPTextModel"},
	"text_encoder_2": []string{"transformers", "T5EncoderModel"},
	"tokenizer":      []string{"transformers", "CLIPTokenizer"},
	"tokenizer_2":    []string{"transformers", "T5TokenizerFast"},
	"transformer":    []string{"diffusers", "FluxTransformer2DModel"},
	"vae":            []string{"diffusers", "AutoencoderKL"},
}

// schedulerConfig is scheduler/scheduler_config.json as FLUX.1-dev
// (guidance-distilled: resolution-dependent shift, mu from 0.5 at 256
// image tokens to 1.15 at 4096) and FLUX.1-schnell (no shift) ship it;
// these are the schedules of BFL's get_schedule that Load's FlowModel
// follows.
func schedulerConfig(dev bool) map[string]any {
	c := map[string]any{
		"_class_name":          "FlowMatchEulerDiscreteScheduler",
		"base_image_seq_len":   256,
		"base_shift":           0.5,
		"max_image_seq_len":    4096,
		"max_shift":            1.15,
		"num_train_timesteps":  1000,
		"shift":                1.0,
		"use_dynamic_shifting": false,
	}
	if dev {
		c["shift"], c["use_dynamic_shifting"] = 3.0, true
	}
	return c
}

// write writes every component.
func (w *folderWriter) write(s *sources) error {
	steps := []struct {
		name string
		fn   func(*sources) error
	}{
		{"model_index.json, scheduler", w.writePipelineFiles},
		{"transformer", w.writeTransformer},
		{"vae", w.writeVAE},
		{"text_encoder", w.writeClip},
		{"text_encoder_2", w.writeT5},
		{"tokenizer, tokenizer_2", w.writeTokenizers},
	}
	for _, st := range steps {
		if err := st.fn(s); err != nil {
			return fmt.Errorf("%w %s: %w", ErrWriting, st.name, err)
		}
		if w.log != nil {
			w.log("wrote " + st.name)
		}
	}
	return nil
}

func (w *folderWriter) writePipelineFiles(s *sources) error {
	if err := w.json("model_index.json", modelIndex); err != nil {
		return err
	}
	return w.json("scheduler/scheduler_config.json", schedulerConfig(s.net.GuidanceEmbed))
}

// writeTransformer writes transformer/: every BFL tensor under the file's
// prefix converted by fluxnet.DiffusersTensors, sharded.
func (w *folderWriter) writeTransformer(s *sources) error {
	f, err := safetensors.Open(s.model)
	if err != nil {
		return err
	}
	defer f.Close()
	var out []safetensors.Tensor
	for _, t := range f.Tensors() {
		name, ok := strings.CutPrefix(t.Name, s.prefix)
		if !ok {
			continue // another component of an all-in-one file
		}
		bfl := *t
		bfl.Name = name
		d, err := fluxnet.DiffusersTensors(bfl, s.net.HiddenSize)
		if errors.Is(err, fluxnet.ErrNoDiffusersName) {
			w.res.Skipped = append(w.res.Skipped, t.Name)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.model, err)
		}
		out = append(out, d...)
	}
	if err := w.tensors("transformer", "diffusion_pytorch_model", out, w.maxShard); err != nil {
		return err
	}
	return w.json("transformer/config.json", fluxnet.DiffusersConfig(s.net))
}

// writeVAE writes vae/: the autoencoder's tensors with diffusers names, one
// file (vae.Load reads no shards).
func (w *folderWriter) writeVAE(s *sources) error {
	files, err := openComponent(s.vaePath, "vae")
	if err != nil {
		return err
	}
	defer closeAll(files)
	names, err := vae.DetectNames(nn.NewParams(files...))
	if err != nil {
		return err
	}
	names.Levels = len(s.vae.BlockOutChannels)
	var out []safetensors.Tensor
	for _, f := range files {
		for _, t := range f.Tensors() {
			if d, ok := names.DiffusersTensor(*t); ok {
				out = append(out, d)
			}
		}
	}
	if err := w.tensors("vae", "diffusion_pytorch_model", out, 0); err != nil {
		return err
	}
	return w.json("vae/config.json", s.vae.DiffusersJSON())
}

// writeClip writes text_encoder/: the CLIP text model's tensors under
// "text_model." (CLIPTextModel, no projection), one file.
func (w *folderWriter) writeClip(s *sources) error {
	files, err := openComponent(s.clip.path, "text_encoder")
	if err != nil {
		return err
	}
	defer closeAll(files)
	prefix := s.clip.lo.Prefix
	if prefix == "" {
		if prefix, err = clip.DetectPrefix(nn.NewParams(files...)); err != nil {
			return err
		}
	}
	out := renamed(files, prefix, clip.PrefixHF)
	if err := w.tensors("text_encoder", "model", out, 0); err != nil {
		return err
	}
	return w.json("text_encoder/config.json", s.clipConfig.HFConfigJSON())
}

// writeT5 writes text_encoder_2/: the T5 encoder's tensors (Hugging Face names
// already) without the file's prefix, sharded.
func (w *folderWriter) writeT5(s *sources) error {
	files, err := openComponent(s.t5.path, "text_encoder_2")
	if err != nil {
		return err
	}
	defer closeAll(files)
	if err := w.tensors("text_encoder_2", "model", renamed(files, s.t5.prefix, ""), w.maxShard); err != nil {
		return err
	}
	return w.json("text_encoder_2/config.json", s.t5Config.HFConfigJSON())
}

// writeTokenizers copies the CLIP BPE files into tokenizer/ and the T5 model
// into tokenizer_2/, each with a tokenizer_config.json giving the special
// tokens and the sequence length the pipeline pads to.
func (w *folderWriter) writeTokenizers(s *sources) error {
	for _, n := range clipTokenizerFiles {
		if err := w.copy(filepath.Join(s.clipTokenizer, n), filepath.Join("tokenizer", n)); err != nil {
			return err
		}
	}
	if err := w.json("tokenizer/tokenizer_config.json", map[string]any{
		"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": true,
		"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
	}); err != nil {
		return err
	}
	if err := w.copy(s.t5Tokenizer, filepath.Join("tokenizer_2", filepath.Base(s.t5Tokenizer))); err != nil {
		return err
	}
	return w.json("tokenizer_2/tokenizer_config.json", map[string]any{
		"tokenizer_class": "T5Tokenizer", "model_max_length": MaxLengthDev,
		"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
	})
}

// tensors writes ts, sorted by name, as the component sub/stem.
func (w *folderWriter) tensors(sub, stem string, ts []safetensors.Tensor, maxShard int64) error {
	dir := filepath.Join(w.dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	if _, err := nn.WriteComponent(dir, stem, ts, ptMetadata, maxShard); err != nil {
		return err
	}
	for _, t := range ts {
		w.res.Bytes += int64(len(t.Data))
	}
	return nil
}

// json writes v as indented JSON (keys sorted) to the relative path rel.
func (w *folderWriter) json(rel string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(w.dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// copy copies the file src to the relative path rel.
func (w *folderWriter) copy(src, rel string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	path := filepath.Join(w.dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// openComponent opens the safetensors files of path: the file itself, or
// the weights of a component folder (path/sub/ when it exists, else path;
// see nn.ComponentFiles).
func openComponent(path, sub string) ([]*safetensors.File, error) {
	paths := []string{path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		dir := path
		if st, err := os.Stat(filepath.Join(path, sub)); err == nil && st.IsDir() {
			dir = filepath.Join(path, sub)
		}
		if paths, err = nn.ComponentFiles(dir, ""); err != nil {
			return nil, err
		}
	}
	var files []*safetensors.File
	for _, p := range paths {
		f, err := safetensors.Open(p)
		if err != nil {
			closeAll(files)
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func closeAll(files []*safetensors.File) {
	for _, f := range files {
		f.Close()
	}
}

// renamed returns the tensors of files whose names start with from, with
// from replaced by to (views of the files: nothing is copied).
func renamed(files []*safetensors.File, from, to string) []safetensors.Tensor {
	var out []safetensors.Tensor
	for _, f := range files {
		for _, t := range f.Tensors() {
			if rest, ok := strings.CutPrefix(t.Name, from); ok {
				c := *t
				c.Name = to + rest
				out = append(out, c)
			}
		}
	}
	return out
}
