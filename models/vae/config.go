// Package vae is the AutoencoderKL of latent diffusion (Rombach et al.,
// "High-Resolution Image Synthesis with Latent Diffusion Models"): an
// encoder that maps an RGB image in [-1, 1] to a diagonal Gaussian over a
// latent 8× smaller on each side, and a decoder that maps a latent back to
// an image. Stable Diffusion 1.x/2.x and SDXL use 4 latent channels, Flux 16.
//
// One implementation of the blocks serves both weight layouts: the
// diffusers folder (vae/config.json + diffusion_pytorch_model.safetensors,
// keys like decoder.up_blocks.0.resnets.1.conv1) and the original LDM /
// CompVis single-file checkpoint (first_stage_model.decoder.up.3.block.1.conv1);
// names.go maps one to the other.
//
// Diffusion models work on a scaled latent: z_diffusion = (z − shift)·scale,
// where z is the VAE's own latent, scale is Config.ScalingFactor (SD1 0.18215,
// SDXL 0.13025, Flux 0.3611) and shift is Config.ShiftFactor (0 except Flux,
// 0.1159). Decode takes the scaled latent, Encode returns the VAE's own
// distribution and EncodeLatent the scaled mean.
package vae

import (
	"encoding/json"
	"fmt"
	"os"
)

// Config describes an AutoencoderKL. Field names follow diffusers'
// vae/config.json.
type Config struct {
	InChannels       int     // image channels fed to the encoder (3)
	OutChannels      int     // image channels produced by the decoder (3)
	LatentChannels   int     // z channels (SD1/SDXL 4, Flux 16)
	BlockOutChannels []int   // channels of each resolution level, highest resolution first (SD1: 128, 256, 512, 512)
	LayersPerBlock   int     // resnets per encoder level; decoder levels have LayersPerBlock+1
	Groups           int     // GroupNorm groups (32 in every released model)
	Eps              float32 // GroupNorm epsilon (1e-6 throughout the VAE)
	ScalingFactor    float32 // z_diffusion = (z − ShiftFactor)·ScalingFactor
	ShiftFactor      float32 // 0 except Flux (0.1159)
	UseQuantConv     bool    // 1×1 conv after the encoder (absent in Flux)
	UsePostQuantConv bool    // 1×1 conv before the decoder (absent in Flux)
	MidAttention     bool    // single-head self-attention in the mid blocks
}

// SD1Config is the Stable Diffusion 1.x/2.x VAE (also the SDXL VAE except for
// ScalingFactor 0.13025).
func SD1Config() Config {
	return Config{
		InChannels: 3, OutChannels: 3, LatentChannels: 4,
		BlockOutChannels: []int{128, 256, 512, 512}, LayersPerBlock: 2,
		Groups: 32, Eps: 1e-6, ScalingFactor: 0.18215,
		UseQuantConv: true, UsePostQuantConv: true, MidAttention: true,
	}
}

// SDXLConfig is the SDXL VAE (stabilityai/stable-diffusion-xl-base-1.0,
// vae/config.json): SD1's architecture with ScalingFactor 0.13025.
func SDXLConfig() Config {
	c := SD1Config()
	c.ScalingFactor = 0.13025
	return c
}

// Factor is the spatial down-sampling factor between image and latent:
// 2^(levels−1) (8 for every released model).
func (c Config) Factor() int { return 1 << (len(c.BlockOutChannels) - 1) }

// Validate checks that the configuration describes a buildable network.
func (c Config) Validate() error {
	if c.InChannels < 1 || c.OutChannels < 1 || c.LatentChannels < 1 {
		return fmt.Errorf("vae config: channels must be positive (in %d, out %d, latent %d)", c.InChannels, c.OutChannels, c.LatentChannels)
	}
	if len(c.BlockOutChannels) == 0 || c.LayersPerBlock < 1 {
		return fmt.Errorf("vae config: need at least one level and one layer per block (block_out_channels %v, layers_per_block %d)", c.BlockOutChannels, c.LayersPerBlock)
	}
	if c.Groups < 1 {
		return fmt.Errorf("vae config: norm_num_groups %d must be positive", c.Groups)
	}
	for _, ch := range c.BlockOutChannels {
		if ch < 1 || ch%c.Groups != 0 {
			return fmt.Errorf("vae config: block_out_channels %v must be positive multiples of norm_num_groups %d", c.BlockOutChannels, c.Groups)
		}
	}
	if c.ScalingFactor == 0 {
		return fmt.Errorf("vae config: scaling_factor must not be 0")
	}
	return nil
}

// diffusersConfig is vae/config.json as diffusers writes it.
type diffusersConfig struct {
	ClassName            string    `json:"_class_name"`
	ActFn                string    `json:"act_fn"`
	InChannels           *int      `json:"in_channels"`
	OutChannels          *int      `json:"out_channels"`
	LatentChannels       *int      `json:"latent_channels"`
	BlockOutChannels     []int     `json:"block_out_channels"`
	LayersPerBlock       *int      `json:"layers_per_block"`
	NormNumGroups        *int      `json:"norm_num_groups"`
	ScalingFactor        *float64  `json:"scaling_factor"`
	ShiftFactor          *float64  `json:"shift_factor"`
	UseQuantConv         *bool     `json:"use_quant_conv"`
	UsePostQuantConv     *bool     `json:"use_post_quant_conv"`
	MidBlockAddAttention *bool     `json:"mid_block_add_attention"`
	DownBlockTypes       []string  `json:"down_block_types"`
	UpBlockTypes         []string  `json:"up_block_types"`
	LatentsMean          []float64 `json:"latents_mean"`
	LatentsStd           []float64 `json:"latents_std"`
}

// ParseConfig reads a diffusers AutoencoderKL config.json. Missing fields
// take diffusers' defaults (AutoencoderKL.__init__), except block_out_channels
// which must be given.
func ParseConfig(data []byte) (Config, error) {
	var d diffusersConfig
	if err := json.Unmarshal(data, &d); err != nil {
		return Config{}, fmt.Errorf("vae config: %v", err)
	}
	if d.ClassName != "" && d.ClassName != "AutoencoderKL" {
		return Config{}, fmt.Errorf("vae config: _class_name %q, only AutoencoderKL is supported", d.ClassName)
	}
	if d.ActFn != "" && d.ActFn != "silu" {
		return Config{}, fmt.Errorf("vae config: act_fn %q, only silu is supported", d.ActFn)
	}
	for _, t := range d.DownBlockTypes {
		if t != "DownEncoderBlock2D" {
			return Config{}, fmt.Errorf("vae config: down block type %q, only DownEncoderBlock2D is supported", t)
		}
	}
	for _, t := range d.UpBlockTypes {
		if t != "UpDecoderBlock2D" {
			return Config{}, fmt.Errorf("vae config: up block type %q, only UpDecoderBlock2D is supported", t)
		}
	}
	if len(d.LatentsMean) > 0 || len(d.LatentsStd) > 0 {
		return Config{}, fmt.Errorf("vae config: per-channel latents_mean/latents_std are not supported")
	}
	if len(d.BlockOutChannels) == 0 {
		return Config{}, fmt.Errorf("vae config: block_out_channels missing")
	}
	c := Config{
		InChannels: 3, OutChannels: 3, LatentChannels: 4,
		BlockOutChannels: d.BlockOutChannels, LayersPerBlock: 1,
		Groups: 32, Eps: 1e-6, ScalingFactor: 0.18215,
		UseQuantConv: true, UsePostQuantConv: true, MidAttention: true,
	}
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setBool := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	setInt(&c.InChannels, d.InChannels)
	setInt(&c.OutChannels, d.OutChannels)
	setInt(&c.LatentChannels, d.LatentChannels)
	setInt(&c.LayersPerBlock, d.LayersPerBlock)
	setInt(&c.Groups, d.NormNumGroups)
	setBool(&c.UseQuantConv, d.UseQuantConv)
	setBool(&c.UsePostQuantConv, d.UsePostQuantConv)
	setBool(&c.MidAttention, d.MidBlockAddAttention)
	if d.ScalingFactor != nil {
		c.ScalingFactor = float32(*d.ScalingFactor)
	}
	if d.ShiftFactor != nil {
		c.ShiftFactor = float32(*d.ShiftFactor)
	}
	if d.DownBlockTypes != nil && len(d.DownBlockTypes) != len(c.BlockOutChannels) ||
		d.UpBlockTypes != nil && len(d.UpBlockTypes) != len(c.BlockOutChannels) {
		return Config{}, fmt.Errorf("vae config: %d down / %d up block types for %d block_out_channels", len(d.DownBlockTypes), len(d.UpBlockTypes), len(c.BlockOutChannels))
	}
	return c, c.Validate()
}

// LoadConfig reads and parses a diffusers vae/config.json.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %v", path, err)
	}
	return c, nil
}
