package unet

import (
	"encoding/json"
	"fmt"
	"os"
)

// Config describes one UNet2DConditionModel. Per-level lists are indexed by
// down-block level (0 = full resolution); the up path uses them reversed,
// exactly as diffusers does.
type Config struct {
	InChannels  int // latent channels in (4)
	OutChannels int // eps channels out (4)

	// BlockOutChannels are the feature channels of each level
	// (SD1: 320, 640, 1280, 1280).
	BlockOutChannels []int
	// LayersPerBlock is the number of resnets per down block; up blocks have
	// one more (they also consume the skip of the downsampler/conv_in).
	LayersPerBlock int

	// CrossAttnDown[i] is true when down block i is a CrossAttnDownBlock2D
	// (resnet + Transformer2D pairs), false for a plain DownBlock2D.
	CrossAttnDown []bool
	// CrossAttnUp[i] is true when up block i (in up order, 0 = lowest
	// resolution) is a CrossAttnUpBlock2D.
	CrossAttnUp []bool
	// MidCrossAttn is true for UNetMidBlock2DCrossAttn (resnet, attention,
	// resnet), false for a mid block of resnets only.
	MidCrossAttn bool

	// TransformerLayers[i] is the number of BasicTransformerBlocks in each
	// Transformer2D of level i (SD1: 1; SDXL: 1, 2, 10). The mid block uses
	// the last entry.
	TransformerLayers []int
	// UpTransformerLayers[i] is the depth for up block i; diffusers defaults
	// it to TransformerLayers reversed.
	UpTransformerLayers []int
	// Heads[i] is the number of attention heads at level i. diffusers'
	// config calls this attention_head_dim (a historical misnomer): SD1 has
	// 8 heads everywhere, SD2/SDXL have C/64 heads. Head dim = C/Heads[i].
	Heads []int

	// CrossAttentionDim is the width of the context tokens (SD1: 768).
	CrossAttentionDim int
	// NormGroups is the GroupNorm group count of resnets, transformer
	// input norms and conv_norm_out (32 in real models).
	NormGroups int
	// NormEps is the GroupNorm eps of resnets and conv_norm_out (1e-5). The
	// Transformer2D input norm always uses 1e-6, its LayerNorms 1e-5.
	NormEps float32
	// UseLinearProjection records whether proj_in/proj_out are stored as
	// Linear [C, C] (SD2, SDXL) or 1×1 conv [C, C, 1, 1] (SD1) weights.
	// Both compute the same map over channels; only the key shape differs.
	UseLinearProjection bool

	// FlipSinToCos puts cos before sin in the timestep embedding (true for
	// SD); FreqShift is diffusers' downscale_freq_shift (0 for SD).
	FlipSinToCos bool
	FreqShift    float32

	// AdditionEmbedType is "" (SD1/SD2) or "text_time" (SDXL: a vector y of
	// ProjectionClassEmbeddingsInputDim values — the pooled text embedding
	// followed by the AdditionTimeEmbedDim-wide sinusoids of the six size
	// numbers, see SDXLVector — goes through add_embedding, Linear → SiLU →
	// Linear, and is added to the time embedding).
	AdditionEmbedType                 string
	ProjectionClassEmbeddingsInputDim int
	AdditionTimeEmbedDim              int
}

// Levels returns the number of resolution levels.
func (c *Config) Levels() int { return len(c.BlockOutChannels) }

// TimeEmbedDim is the width of the time embedding, 4·BlockOutChannels[0].
func (c *Config) TimeEmbedDim() int { return 4 * c.BlockOutChannels[0] }

// SD15Config returns the configuration of the Stable Diffusion 1.x UNet
// (v1-5 and its fine-tunes): 320/640/1280/1280 channels, 2 layers per
// block, cross-attention on the first three levels, 8 heads, context 768,
// 32 GroupNorm groups.
func SD15Config() *Config {
	return &Config{
		InChannels: 4, OutChannels: 4,
		BlockOutChannels:    []int{320, 640, 1280, 1280},
		LayersPerBlock:      2,
		CrossAttnDown:       []bool{true, true, true, false},
		CrossAttnUp:         []bool{false, true, true, true},
		MidCrossAttn:        true,
		TransformerLayers:   []int{1, 1, 1, 1},
		UpTransformerLayers: []int{1, 1, 1, 1},
		Heads:               []int{8, 8, 8, 8},
		CrossAttentionDim:   768,
		NormGroups:          32,
		NormEps:             1e-5,
		FlipSinToCos:        true,
	}
}

// SDXLBaseConfig returns the configuration of the SDXL base UNet
// (stabilityai/stable-diffusion-xl-base-1.0, unet/config.json):
// 320/640/1280 channels, 2 layers per block, no attention at level 0
// (DownBlock2D / UpBlock2D), transformer depth 2 at level 1 and 10 at
// level 2 and in the mid block (up path reversed: 10, 2, 1), 64-wide heads
// (5, 10, 20 heads), context 2048 (CLIP-L 768 ‖ bigG 1280), Linear
// projections, and the "text_time" added conditioning y of 2816 =
// 1280 (pooled bigG) + 6·256 (size sinusoids) values. 2,567,463,684
// parameters.
func SDXLBaseConfig() *Config {
	return &Config{
		InChannels: 4, OutChannels: 4,
		BlockOutChannels: []int{320, 640, 1280},
		LayersPerBlock:   2,
		CrossAttnDown:    []bool{false, true, true},
		CrossAttnUp:      []bool{true, true, false},
		MidCrossAttn:     true,
		// Level 0's 1 is never used (no attention there); diffusers'
		// config lists it all the same.
		TransformerLayers:                 []int{1, 2, 10},
		UpTransformerLayers:               []int{10, 2, 1},
		Heads:                             []int{5, 10, 20},
		CrossAttentionDim:                 2048,
		NormGroups:                        32,
		NormEps:                           1e-5,
		UseLinearProjection:               true,
		FlipSinToCos:                      true,
		AdditionEmbedType:                 "text_time",
		ProjectionClassEmbeddingsInputDim: 2816,
		AdditionTimeEmbedDim:              256,
	}
}

// Validate checks that the configuration is self-consistent and describes
// a network this package can run.
func (c *Config) Validate() error {
	n := c.Levels()
	switch {
	case n == 0:
		return fmt.Errorf("unet config: block_out_channels is empty")
	case c.InChannels <= 0 || c.OutChannels <= 0:
		return fmt.Errorf("unet config: in_channels %d / out_channels %d must be positive", c.InChannels, c.OutChannels)
	case c.LayersPerBlock <= 0:
		return fmt.Errorf("unet config: layers_per_block %d must be positive", c.LayersPerBlock)
	case len(c.CrossAttnDown) != n || len(c.CrossAttnUp) != n:
		return fmt.Errorf("unet config: %d down / %d up block types for %d levels", len(c.CrossAttnDown), len(c.CrossAttnUp), n)
	case len(c.TransformerLayers) != n || len(c.UpTransformerLayers) != n || len(c.Heads) != n:
		return fmt.Errorf("unet config: per-level lists (transformer layers %d, up %d, heads %d) must have %d entries", len(c.TransformerLayers), len(c.UpTransformerLayers), len(c.Heads), n)
	case c.NormGroups <= 0:
		return fmt.Errorf("unet config: norm_num_groups %d must be positive", c.NormGroups)
	case c.CrossAttentionDim <= 0:
		return fmt.Errorf("unet config: cross_attention_dim %d must be positive", c.CrossAttentionDim)
	case c.AdditionEmbedType != "" && c.AdditionEmbedType != "text_time":
		return fmt.Errorf("unet config: addition_embed_type %q is not supported (only SDXL's \"text_time\")", c.AdditionEmbedType)
	case c.AdditionEmbedType == "text_time" && c.ProjectionClassEmbeddingsInputDim <= 0:
		return fmt.Errorf("unet config: addition_embed_type \"text_time\" needs projection_class_embeddings_input_dim")
	}
	for i, ch := range c.BlockOutChannels {
		if ch <= 0 || ch%c.NormGroups != 0 {
			return fmt.Errorf("unet config: block_out_channels[%d] = %d is not a positive multiple of norm_num_groups %d", i, ch, c.NormGroups)
		}
		if c.Heads[i] <= 0 || ch%c.Heads[i] != 0 {
			return fmt.Errorf("unet config: %d attention heads do not divide %d channels at level %d", c.Heads[i], ch, i)
		}
		if c.TransformerLayers[i] <= 0 || c.UpTransformerLayers[i] <= 0 {
			return fmt.Errorf("unet config: transformer layers at level %d must be positive", i)
		}
	}
	return nil
}

// diffusersConfig is the subset of diffusers' unet/config.json we read.
// Fields that may be an int or a per-level list are decoded by intOrList.
type diffusersConfig struct {
	ClassName                    string          `json:"_class_name"`
	InChannels                   int             `json:"in_channels"`
	OutChannels                  int             `json:"out_channels"`
	BlockOutChannels             []int           `json:"block_out_channels"`
	LayersPerBlock               json.RawMessage `json:"layers_per_block"`
	DownBlockTypes               []string        `json:"down_block_types"`
	UpBlockTypes                 []string        `json:"up_block_types"`
	MidBlockType                 *string         `json:"mid_block_type"`
	CrossAttentionDim            json.RawMessage `json:"cross_attention_dim"`
	AttentionHeadDim             json.RawMessage `json:"attention_head_dim"`
	NumAttentionHeads            json.RawMessage `json:"num_attention_heads"`
	TransformerLayersPerBlock    json.RawMessage `json:"transformer_layers_per_block"`
	ReverseTransformerLayers     json.RawMessage `json:"reverse_transformer_layers_per_block"`
	NormNumGroups                *int            `json:"norm_num_groups"`
	NormEps                      *float64        `json:"norm_eps"`
	UseLinearProjection          bool            `json:"use_linear_projection"`
	FlipSinToCos                 *bool           `json:"flip_sin_to_cos"`
	FreqShift                    float64         `json:"freq_shift"`
	AdditionEmbedType            *string         `json:"addition_embed_type"`
	ProjectionClassEmbeddingsDim *int            `json:"projection_class_embeddings_input_dim"`
	AdditionTimeEmbedDim         *int            `json:"addition_time_embed_dim"`
	ClassEmbedType               *string         `json:"class_embed_type"`
	NumClassEmbeds               *int            `json:"num_class_embeds"`
	TimeEmbeddingType            *string         `json:"time_embedding_type"`
	TimeEmbeddingDim             *int            `json:"time_embedding_dim"`
	ResnetTimeScaleShift         *string         `json:"resnet_time_scale_shift"`
	ActFn                        *string         `json:"act_fn"`
	ConvInKernel                 *int            `json:"conv_in_kernel"`
	ConvOutKernel                *int            `json:"conv_out_kernel"`
	CenterInputSample            bool            `json:"center_input_sample"`
	OnlyCrossAttention           json.RawMessage `json:"only_cross_attention"`
	DualCrossAttention           bool            `json:"dual_cross_attention"`
	EncoderHidDimType            *string         `json:"encoder_hid_dim_type"`
	EncoderHidDim                *int            `json:"encoder_hid_dim"`
	TimeCondProjDim              *int            `json:"time_cond_proj_dim"`
	AttentionType                *string         `json:"attention_type"`
	ResnetOutScaleFactor         *float64        `json:"resnet_out_scale_factor"`
	MidBlockScaleFactor          *float64        `json:"mid_block_scale_factor"`
	DownsamplePadding            *int            `json:"downsample_padding"`
}

// intOrList decodes a JSON int or list of ints into n values (an int is
// repeated); an absent/null field gives def repeated.
func intOrList(name string, raw json.RawMessage, n, def int) ([]int, error) {
	out := make([]int, n)
	if len(raw) == 0 || string(raw) == "null" {
		for i := range out {
			out[i] = def
		}
		return out, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		for i := range out {
			out[i] = one
		}
		return out, nil
	}
	var list []int
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s: expected an int or a list of ints, found %s", name, raw)
	}
	if len(list) != n {
		return nil, fmt.Errorf("%s: %d entries for %d levels", name, len(list), n)
	}
	return list, nil
}

// ConfigFromDiffusersJSON parses a diffusers unet/config.json
// (UNet2DConditionModel) into a Config, rejecting options this package does
// not implement with an error naming the field.
func ConfigFromDiffusersJSON(data []byte) (*Config, error) {
	var d diffusersConfig
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("unet config.json: %w", err)
	}
	if d.ClassName != "" && d.ClassName != "UNet2DConditionModel" {
		return nil, fmt.Errorf("unet config.json: _class_name %q, expected UNet2DConditionModel", d.ClassName)
	}
	n := len(d.BlockOutChannels)
	if n == 0 {
		return nil, fmt.Errorf("unet config.json: block_out_channels missing")
	}
	if len(d.DownBlockTypes) != n || len(d.UpBlockTypes) != n {
		return nil, fmt.Errorf("unet config.json: %d down_block_types and %d up_block_types for %d block_out_channels", len(d.DownBlockTypes), len(d.UpBlockTypes), n)
	}
	unsupported := func(field string, v any) error {
		return fmt.Errorf("unet config.json: %s = %v is not supported", field, v)
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	switch {
	case str(d.ClassEmbedType) != "" || d.NumClassEmbeds != nil:
		return nil, unsupported("class_embed_type", str(d.ClassEmbedType))
	case str(d.TimeEmbeddingType) != "" && str(d.TimeEmbeddingType) != "positional":
		return nil, unsupported("time_embedding_type", str(d.TimeEmbeddingType))
	case d.TimeEmbeddingDim != nil:
		return nil, unsupported("time_embedding_dim", *d.TimeEmbeddingDim)
	case str(d.ResnetTimeScaleShift) != "" && str(d.ResnetTimeScaleShift) != "default":
		return nil, unsupported("resnet_time_scale_shift", str(d.ResnetTimeScaleShift))
	case str(d.ActFn) != "" && str(d.ActFn) != "silu":
		return nil, unsupported("act_fn", str(d.ActFn))
	case d.ConvInKernel != nil && *d.ConvInKernel != 3:
		return nil, unsupported("conv_in_kernel", *d.ConvInKernel)
	case d.ConvOutKernel != nil && *d.ConvOutKernel != 3:
		return nil, unsupported("conv_out_kernel", *d.ConvOutKernel)
	case d.CenterInputSample:
		return nil, unsupported("center_input_sample", true)
	case d.DualCrossAttention:
		return nil, unsupported("dual_cross_attention", true)
	case str(d.EncoderHidDimType) != "" || d.EncoderHidDim != nil:
		return nil, unsupported("encoder_hid_dim_type", str(d.EncoderHidDimType))
	case d.TimeCondProjDim != nil:
		return nil, unsupported("time_cond_proj_dim", *d.TimeCondProjDim)
	case str(d.AttentionType) != "" && str(d.AttentionType) != "default":
		return nil, unsupported("attention_type", str(d.AttentionType))
	case d.ResnetOutScaleFactor != nil && *d.ResnetOutScaleFactor != 1:
		return nil, unsupported("resnet_out_scale_factor", *d.ResnetOutScaleFactor)
	case d.MidBlockScaleFactor != nil && *d.MidBlockScaleFactor != 1:
		return nil, unsupported("mid_block_scale_factor", *d.MidBlockScaleFactor)
	case d.DownsamplePadding != nil && *d.DownsamplePadding != 1:
		return nil, unsupported("downsample_padding", *d.DownsamplePadding)
	case len(d.NumAttentionHeads) != 0 && string(d.NumAttentionHeads) != "null":
		// diffusers itself refuses num_attention_heads for this class.
		return nil, unsupported("num_attention_heads", string(d.NumAttentionHeads))
	}
	if len(d.OnlyCrossAttention) != 0 {
		var b bool
		if json.Unmarshal(d.OnlyCrossAttention, &b) != nil || b {
			return nil, unsupported("only_cross_attention", string(d.OnlyCrossAttention))
		}
	}
	c := &Config{
		InChannels:          d.InChannels,
		OutChannels:         d.OutChannels,
		BlockOutChannels:    append([]int(nil), d.BlockOutChannels...),
		UseLinearProjection: d.UseLinearProjection,
		FlipSinToCos:        true,
		FreqShift:           float32(d.FreqShift),
		NormGroups:          32,
		NormEps:             1e-5,
		AdditionEmbedType:   str(d.AdditionEmbedType),
	}
	if d.InChannels == 0 {
		c.InChannels = 4
	}
	if d.OutChannels == 0 {
		c.OutChannels = 4
	}
	if d.FlipSinToCos != nil {
		c.FlipSinToCos = *d.FlipSinToCos
	}
	if d.NormNumGroups != nil {
		c.NormGroups = *d.NormNumGroups
	}
	if d.NormEps != nil {
		c.NormEps = float32(*d.NormEps)
	}
	if d.ProjectionClassEmbeddingsDim != nil {
		c.ProjectionClassEmbeddingsInputDim = *d.ProjectionClassEmbeddingsDim
	}
	if d.AdditionTimeEmbedDim != nil {
		c.AdditionTimeEmbedDim = *d.AdditionTimeEmbedDim
	}
	lpb, err := intOrList("layers_per_block", d.LayersPerBlock, n, 2)
	if err != nil {
		return nil, fmt.Errorf("unet config.json: %w", err)
	}
	for _, v := range lpb[1:] {
		if v != lpb[0] {
			return nil, unsupported("layers_per_block", lpb)
		}
	}
	c.LayersPerBlock = lpb[0]
	for i, t := range d.DownBlockTypes {
		switch t {
		case "CrossAttnDownBlock2D":
			c.CrossAttnDown = append(c.CrossAttnDown, true)
		case "DownBlock2D":
			c.CrossAttnDown = append(c.CrossAttnDown, false)
		default:
			return nil, fmt.Errorf("unet config.json: down_block_types[%d] = %q is not supported", i, t)
		}
	}
	for i, t := range d.UpBlockTypes {
		switch t {
		case "CrossAttnUpBlock2D":
			c.CrossAttnUp = append(c.CrossAttnUp, true)
		case "UpBlock2D":
			c.CrossAttnUp = append(c.CrossAttnUp, false)
		default:
			return nil, fmt.Errorf("unet config.json: up_block_types[%d] = %q is not supported", i, t)
		}
	}
	switch mid := str(d.MidBlockType); mid {
	case "", "UNetMidBlock2DCrossAttn":
		c.MidCrossAttn = true
	default:
		// UNetMidBlock2D (self-attention only) is not implemented.
		return nil, unsupported("mid_block_type", mid)
	}
	if c.Heads, err = intOrList("attention_head_dim", d.AttentionHeadDim, n, 8); err != nil {
		return nil, fmt.Errorf("unet config.json: %w", err)
	}
	if c.TransformerLayers, err = intOrList("transformer_layers_per_block", d.TransformerLayersPerBlock, n, 1); err != nil {
		return nil, fmt.Errorf("unet config.json: %w", err)
	}
	c.UpTransformerLayers = make([]int, n)
	for i := range n {
		c.UpTransformerLayers[i] = c.TransformerLayers[n-1-i]
	}
	if len(d.ReverseTransformerLayers) != 0 && string(d.ReverseTransformerLayers) != "null" {
		// diffusers allows a list of lists here (per resnet); only a flat
		// per-block list is supported.
		if c.UpTransformerLayers, err = intOrList("reverse_transformer_layers_per_block", d.ReverseTransformerLayers, n, 1); err != nil {
			return nil, fmt.Errorf("unet config.json: %w", err)
		}
	}
	cad, err := intOrList("cross_attention_dim", d.CrossAttentionDim, n, 1280)
	if err != nil {
		return nil, fmt.Errorf("unet config.json: %w", err)
	}
	for _, v := range cad[1:] {
		if v != cad[0] {
			return nil, unsupported("cross_attention_dim", cad)
		}
	}
	c.CrossAttentionDim = cad[0]
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadConfigFile reads a diffusers unet/config.json.
func LoadConfigFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ConfigFromDiffusersJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
