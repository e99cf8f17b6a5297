package unet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godiffusion/godiffusion/nn"
)

// LoadUNet builds the UNet of cfg from p, whose keys (after p's prefix) use
// layout: diffusers names, or original LDM names (pass
// p.Sub(LDMPrefix) for a single-file checkpoint). Weights keep their
// stored dtype and, for memory-mapped files, alias the mapping, so p's
// files must stay open while the UNet is used. Errors name the missing key
// or the key with its expected and found shape; tensors under p's prefix
// that the configuration does not use are an error too (the config does not
// describe these weights).
func LoadUNet(p *nn.Params, cfg *Config, layout Layout) (*UNet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if p.Err() != nil {
		return nil, p.Err()
	}
	u := build(&checkpointSource{p: p, cfg: cfg, layout: layout}, cfg)
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("unet (%s layout): %w", layout, err)
	}
	var extra []string
	for _, k := range p.Unused() {
		if strings.HasPrefix(k, p.Prefix()) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		return nil, fmt.Errorf("unet (%s layout): %d UNet tensors are not part of the configured network (first: %q): the config does not match the checkpoint", layout, len(extra), extra[0])
	}
	return u, nil
}

// DetectLayout says how p names a UNet's tensors and under which prefix:
// LDM under "model.diffusion_model." (single-file SD checkpoints) or at the
// root, or diffusers names at the root.
func DetectLayout(p *nn.Params) (Layout, string, error) {
	switch {
	case p.Has(LDMPrefix + "input_blocks.0.0.weight"):
		return LayoutLDM, LDMPrefix, nil
	case p.Has("input_blocks.0.0.weight"):
		return LayoutLDM, "", nil
	case p.Has("conv_in.weight") && p.Has("time_embedding.linear_1.weight"):
		return LayoutDiffusers, "", nil
	}
	names := []string{}
	for _, f := range p.Files() {
		names = append(names, f.Path)
	}
	return 0, "", fmt.Errorf("%s: no UNet found (neither %q nor diffusers %q)", strings.Join(names, ", "), LDMPrefix+"input_blocks.0.0.weight", "conv_in.weight")
}

// LoadLDM loads the UNet of an opened single-file checkpoint (LDM names,
// under "model.diffusion_model." or at the root), inferring its Config from
// the tensor shapes (see InferConfig for what opts must supply).
func LoadLDM(p *nn.Params, opts InferOptions) (*UNet, error) {
	layout, prefix, err := DetectLayout(p)
	if err != nil {
		return nil, err
	}
	if layout != LayoutLDM {
		return nil, fmt.Errorf("unet: checkpoint uses diffusers names; load it with its config.json (LoadDiffusersFolder or LoadUNet)")
	}
	sub := p.Sub(prefix)
	cfg, err := InferConfig(sub, opts)
	if err != nil {
		return nil, err
	}
	return LoadUNet(sub, cfg, LayoutLDM)
}

// LoadSingleFile opens a single-file SD checkpoint (.safetensors with
// model.diffusion_model.* keys) and loads its UNet; Close releases the file.
func LoadSingleFile(path string, opts InferOptions) (*UNet, error) {
	p, err := nn.OpenParams(path)
	if err != nil {
		return nil, err
	}
	u, err := LoadLDM(p, opts)
	if err != nil {
		p.Close()
		return nil, err
	}
	u.closer = p.Close
	return u, nil
}

// DiffusersWeightFiles returns the safetensors files of the diffusers model
// folder dir (nn.ComponentFiles); variant "fp16" prefers the fp16 files, ""
// the fp32 ones (falling back to the other when absent).
func DiffusersWeightFiles(dir, variant string) ([]string, error) {
	return nn.ComponentFiles(dir, variant)
}

// LoadDiffusersFolder loads a UNet from a diffusers folder: dir is the unet
// folder (config.json + diffusion_pytorch_model[.fp16].safetensors) or the
// pipeline folder containing unet/. variant is "" (fp32 preferred) or
// "fp16". Close releases the files.
func LoadDiffusersFolder(dir, variant string) (*UNet, error) {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		if _, err2 := os.Stat(filepath.Join(dir, "unet", "config.json")); err2 == nil {
			dir = filepath.Join(dir, "unet")
		} else {
			return nil, fmt.Errorf("unet: %s has no config.json (nor unet/config.json)", dir)
		}
	}
	cfg, err := LoadConfigFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	files, err := DiffusersWeightFiles(dir, variant)
	if err != nil {
		return nil, err
	}
	p, err := nn.OpenParams(files...)
	if err != nil {
		return nil, err
	}
	u, err := LoadUNet(p, cfg, LayoutDiffusers)
	if err != nil {
		p.Close()
		return nil, err
	}
	u.closer = p.Close
	return u, nil
}
