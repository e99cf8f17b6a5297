package fluxnet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/godiffusion/godiffusion/nn"
)

// ComfyPrefix is the key prefix of the transformer in ComfyUI checkpoints
// (which may also hold the VAE and the text encoders under other prefixes).
const ComfyPrefix = "model.diffusion_model."

// Load reads a Flux.1 transformer from
//   - a single .safetensors file in BFL naming (flux1-dev.safetensors,
//     flux1-schnell.safetensors), at the top level or under
//     "model.diffusion_model." (ComfyUI files, possibly holding other
//     components too: only the transformer's keys are read);
//   - a diffusers pipeline folder (with transformer/) or transformer folder
//     (FluxTransformer2DModel: diffusion_pytorch_model.safetensors or its
//     shards with the index, and config.json, checked against the shapes).
//
// Weights stay in their stored dtype (f32, f16, bf16, f8 e4m3fn with or
// without ComfyUI's scale_weight), mapped from the files; the
// configuration comes from the shapes. Close the model to release the files.
func Load(path string) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var files []string
	dir := ""
	if st.IsDir() {
		dir = path
		if sub := filepath.Join(path, "transformer"); isDir(sub) {
			dir = sub
		}
		if files, err = nn.ComponentFiles(dir, ""); err != nil {
			return nil, err
		}
	} else {
		files = []string{path}
	}
	p, err := nn.OpenParams(files...)
	if err != nil {
		return nil, err
	}
	m, err := FromParams(p)
	if err == nil && dir != "" {
		err = checkDiffusersConfig(filepath.Join(dir, "config.json"), m.Config)
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	m.params = p
	return m, nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// FromParams builds the transformer from open weights: BFL keys at the top
// level or under ComfyPrefix, or diffusers keys (x_embedder, …) at the top
// level. The model does not own p (Close does nothing).
func FromParams(p *nn.Params) (*Model, error) {
	var src *paramsSource
	for _, c := range []struct {
		prefix    string
		diffusers bool
	}{{"", false}, {ComfyPrefix, false}, {"", true}, {ComfyPrefix, true}} {
		s := &paramsSource{p: p.Sub(c.prefix), diffusers: c.diffusers}
		if s.has("img_in") {
			src = s
			break
		}
	}
	if src == nil {
		return nil, fmt.Errorf("%s: no Flux transformer: none of the tensors %q, %q, %q", joinPaths(p), "img_in.weight", ComfyPrefix+"img_in.weight", "x_embedder.weight")
	}
	cfg, err := inferConfig(src)
	if err != nil {
		return nil, err
	}
	return build(src, cfg)
}

func joinPaths(p *nn.Params) string {
	s := ""
	for i, f := range p.Files() {
		if i > 0 {
			s += ", "
		}
		s += f.Path
	}
	return s
}

// diffusersConfig is the part of a FluxTransformer2DModel config.json that
// the shapes also tell.
type diffusersConfig struct {
	InChannels        *int  `json:"in_channels"`
	NumLayers         *int  `json:"num_layers"`
	NumSingleLayers   *int  `json:"num_single_layers"`
	AttentionHeadDim  *int  `json:"attention_head_dim"`
	NumAttentionHeads *int  `json:"num_attention_heads"`
	JointAttentionDim *int  `json:"joint_attention_dim"`
	PooledProjDim     *int  `json:"pooled_projection_dim"`
	GuidanceEmbeds    *bool `json:"guidance_embeds"`
	AxesDimsRope      []int `json:"axes_dims_rope"`
}

// checkDiffusersConfig compares config.json (when present) with the
// configuration read from the shapes; a disagreement is an error naming
// the field and both values.
func checkDiffusersConfig(path string, c Config) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var d diffusersConfig
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	for _, f := range []struct {
		field     string
		json      *int
		fromShape int
	}{
		{"in_channels", d.InChannels, c.InChannels},
		{"num_layers", d.NumLayers, c.Depth},
		{"num_single_layers", d.NumSingleLayers, c.DepthSingleBlocks},
		{"attention_head_dim", d.AttentionHeadDim, c.HeadDim()},
		{"num_attention_heads", d.NumAttentionHeads, c.NumHeads},
		{"joint_attention_dim", d.JointAttentionDim, c.ContextInDim},
		{"pooled_projection_dim", d.PooledProjDim, c.VecInDim},
	} {
		if f.json != nil && *f.json != f.fromShape {
			return fmt.Errorf("%s: %s is %d, the weights have %d", path, f.field, *f.json, f.fromShape)
		}
	}
	if d.GuidanceEmbeds != nil && *d.GuidanceEmbeds != c.GuidanceEmbed {
		return fmt.Errorf("%s: guidance_embeds is %v, the weights %s guidance_embedder", path, *d.GuidanceEmbeds, map[bool]string{true: "have a", false: "have no"}[c.GuidanceEmbed])
	}
	if d.AxesDimsRope != nil && fmt.Sprint(d.AxesDimsRope) != fmt.Sprint(c.AxesDim) {
		return fmt.Errorf("%s: axes_dims_rope is %v, the head dim %d splits as %v", path, d.AxesDimsRope, c.HeadDim(), c.AxesDim)
	}
	return nil
}
