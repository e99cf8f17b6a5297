package vae

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/godiffusion/godiffusion/nn"
)

// Options adjust loading. The zero value is fine for diffusers folders and
// SD1/SD2/Flux single files.
type Options struct {
	// Groups is the GroupNorm group count used when there is no config.json
	// (single files): shapes cannot tell it. 0 means 32, the value of every
	// released model (the tiny test fixtures use 4).
	Groups int
	// ScalingFactor, when non-zero, overrides the scaling factor and
	// ShiftFactor together (e.g. SDXL single files: 0.13025, 0). Without
	// config.json the default is chosen by the latent channel count:
	// 4 → 0.18215 (SD1/SD2), 16 → 0.3611 with shift 0.1159 (Flux; SD3 would
	// need 1.5305 / 0.0609 given here).
	ScalingFactor, ShiftFactor float32
}

// Load reads a VAE from
//   - a diffusers pipeline folder (containing vae/) or a vae folder itself:
//     config.json + diffusion_pytorch_model.safetensors (or .fp16.safetensors);
//   - a single .safetensors file: a full checkpoint (keys under
//     first_stage_model. or vae.) or a standalone VAE file (no prefix), in
//     LDM or diffusers naming; the configuration is inferred from the shapes
//     (see InferConfig).
//
// opts may be nil. Close the VAE to release the file.
func Load(path string, opts *Options) (*VAE, error) {
	if opts == nil {
		opts = &Options{}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return loadFolder(path, opts)
	}
	p, err := nn.OpenParams(path)
	if err != nil {
		return nil, err
	}
	v, err := FromCheckpoint(p, opts)
	if err != nil {
		p.Close()
		return nil, err
	}
	v.params = p
	return v, nil
}

func loadFolder(dir string, opts *Options) (*VAE, error) {
	if _, err := os.Stat(filepath.Join(dir, "vae", "config.json")); err == nil {
		dir = filepath.Join(dir, "vae")
	}
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("vae: %v", err)
	}
	if opts.ScalingFactor != 0 {
		cfg.ScalingFactor, cfg.ShiftFactor = opts.ScalingFactor, opts.ShiftFactor
	}
	var weights string
	for _, name := range []string{"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			weights = filepath.Join(dir, name)
			break
		}
	}
	if weights == "" {
		return nil, fmt.Errorf("vae: %s has no diffusion_pytorch_model.safetensors", dir)
	}
	p, err := nn.OpenParams(weights)
	if err != nil {
		return nil, err
	}
	names, err := DetectNames(p)
	if err != nil {
		p.Close()
		return nil, err
	}
	names.Levels = len(cfg.BlockOutChannels)
	v, err := New(p, names, cfg)
	if err != nil {
		p.Close()
		return nil, err
	}
	v.params = p
	return v, nil
}

// FromCheckpoint builds the VAE from already opened parameters (for
// example a full single-file checkpoint the pipeline loader also reads the
// UNet from), detecting the key prefix and layout and inferring the
// configuration. The VAE does not close p.
func FromCheckpoint(p *nn.Params, opts *Options) (*VAE, error) {
	if opts == nil {
		opts = &Options{}
	}
	names, err := DetectNames(p)
	if err != nil {
		return nil, err
	}
	cfg, err := InferConfig(p, names, opts)
	if err != nil {
		return nil, err
	}
	names.Levels = len(cfg.BlockOutChannels)
	return New(p, names, cfg)
}

// prefixes are the places VAE weights live in the files we read: full SD
// checkpoints, some merged files, standalone VAE files.
var prefixes = []string{"first_stage_model.", "vae.", ""}

// DetectNames finds where the VAE weights are in p (key prefix) and which
// naming they use, by probing for the encoder's first resnet.
func DetectNames(p *nn.Params) (Names, error) {
	for _, pre := range prefixes {
		if p.Has(pre + "encoder.down.0.block.0.conv1.weight") {
			return Names{Layout: LDM, Prefix: pre}, nil
		}
		if p.Has(pre + "encoder.down_blocks.0.resnets.0.conv1.weight") {
			return Names{Layout: Diffusers, Prefix: pre}, nil
		}
	}
	return Names{}, fmt.Errorf("vae: no VAE weights found in %v (looked for encoder.down.0.block.0.conv1.weight and encoder.down_blocks.0.resnets.0.conv1.weight under the prefixes %q)", fileNames(p), prefixes)
}

func fileNames(p *nn.Params) []string {
	var out []string
	for _, f := range p.Files() {
		out = append(out, f.Path)
	}
	return out
}

// InferConfig reads a VAE configuration from the weight shapes:
// block_out_channels from each encoder level's first resnet, layers_per_block
// from the resnets of level 0, latent channels from decoder.conv_in, image
// channels from encoder.conv_in / decoder.conv_out, quant convs and mid
// attention from their presence. GroupNorm groups and the scaling factor
// are not recorded in the weights: they come from opts (see Options).
func InferConfig(p *nn.Params, names Names, opts *Options) (Config, error) {
	if opts == nil {
		opts = &Options{}
	}
	shape := func(name string) []int { return p.Shape(names.Key(name)) }
	has := func(name string) bool { return p.Has(names.Key(name)) }
	c := Config{Groups: 32, Eps: 1e-6}
	if opts.Groups > 0 {
		c.Groups = opts.Groups
	}
	for i := 0; ; i++ {
		s := shape(fmt.Sprintf("encoder.down_blocks.%d.resnets.0.conv1.weight", i))
		if s == nil {
			break
		}
		if len(s) != 4 {
			return Config{}, fmt.Errorf("vae: %s has shape %v, expected a 4-D conv weight", names.Key(fmt.Sprintf("encoder.down_blocks.%d.resnets.0.conv1.weight", i)), s)
		}
		c.BlockOutChannels = append(c.BlockOutChannels, s[0])
	}
	for has(fmt.Sprintf("encoder.down_blocks.0.resnets.%d.conv1.weight", c.LayersPerBlock)) {
		c.LayersPerBlock++
	}
	names.Levels = len(c.BlockOutChannels)
	for _, q := range []struct {
		key  string
		axis int
		dst  *int
	}{
		{"encoder.conv_in.weight", 1, &c.InChannels},
		{"decoder.conv_in.weight", 1, &c.LatentChannels},
		{"decoder.conv_out.weight", 0, &c.OutChannels},
	} {
		s := shape(q.key)
		if len(s) != 4 {
			return Config{}, fmt.Errorf("vae: %s: missing or not a 4-D conv weight (shape %v) in %v", names.Key(q.key), s, fileNames(p))
		}
		*q.dst = s[q.axis]
	}
	c.UseQuantConv = has("quant_conv.weight")
	c.UsePostQuantConv = has("post_quant_conv.weight")
	c.MidAttention = has("encoder.mid_block.attentions.0.to_q.weight") || has("encoder.mid_block.attentions.0.query.weight")
	switch {
	case opts.ScalingFactor != 0:
		c.ScalingFactor, c.ShiftFactor = opts.ScalingFactor, opts.ShiftFactor
	case c.LatentChannels == 4:
		c.ScalingFactor = 0.18215
	case c.LatentChannels == 16:
		c.ScalingFactor, c.ShiftFactor = 0.3611, 0.1159
	default:
		return Config{}, fmt.Errorf("vae: no default scaling factor for %d latent channels; set Options.ScalingFactor", c.LatentChannels)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("vae: inferred from %v: %v", fileNames(p), err)
	}
	return c, nil
}

// New builds the VAE described by cfg from p, whose keys are named as
// names says. Every missing tensor or wrong shape is an error naming the
// file and key. The VAE does not close p.
func New(p *nn.Params, names Names, cfg Config) (*VAE, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	names.Levels = len(cfg.BlockOutChannels)
	v := build(&paramSource{p: p, names: names, cfg: cfg}, cfg)
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("vae (%s): %v", names, err)
	}
	return v, nil
}

// paramSource reads layers from checkpoint parameters.
type paramSource struct {
	p     *nn.Params
	names Names
	cfg   Config
}

func (s *paramSource) conv(path string, in, out, kernel, stride, pad int) *nn.Conv2d {
	key := s.names.Key(path)
	// nn.LoadConv2d treats the bias as optional; every VAE conv has one.
	if s.p.Err() == nil && s.p.Has(key+".weight") && !s.p.Has(key+".bias") {
		s.p.Fail(fmt.Errorf("%v: missing tensor %q", fileNames(s.p), key+".bias"))
		return nil
	}
	return nn.LoadConv2d(s.p, key+".", in, out, kernel, stride, pad)
}

func (s *paramSource) norm(path string, channels int) *nn.GroupNorm {
	return nn.LoadGroupNorm(s.p, s.names.Key(path)+".", s.cfg.Groups, channels, s.cfg.Eps)
}

// legacyAttention are the attention names of diffusers files written before
// diffusers 0.14 (query/key/value/proj_attn).
var legacyAttention = map[string]string{".to_q": ".query", ".to_k": ".key", ".to_v": ".value", ".to_out.0": ".proj_attn"}

func (s *paramSource) linear(path string, in, out int) *nn.Linear {
	key := s.names.Key(path)
	if s.names.Layout == Diffusers && !s.p.Has(key+".weight") {
		for suffix, old := range legacyAttention {
			if n := len(key) - len(suffix); n > 0 && key[n:] == suffix && s.p.Has(key[:n]+old+".weight") {
				key = key[:n] + old
				break
			}
		}
	}
	return nn.LoadLinear(s.p, key+".", in, out, true)
}
