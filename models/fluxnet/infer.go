package fluxnet

import (
	"fmt"
	"strings"
)

// inferConfig reads the hyper-parameters from the stored shapes (nothing
// comes from flags): hidden size and input channels from img_in, the text
// widths from txt_in and vector_in, the MLP ratio from img_mlp.0, block
// counts by counting, the head dim from the QK-norm scale length (heads =
// hidden/head dim, RoPE axes split 1/8, 7/16, 7/16), qkv bias and guidance
// embedding from the presence of their tensors. Shapes that must agree are
// then checked as each layer loads.
func inferConfig(s *paramsSource) (Config, error) {
	where := strings.Join(fileNames(s), ", ")
	img := s.shape("img_in")
	if img == nil {
		return Config{}, fmt.Errorf("%s: no Flux transformer: missing tensor %q", where, s.storedKey("img_in"))
	}
	c := Config{HiddenSize: img[0], InChannels: img[1], Theta: 10000}
	for _, l := range []struct {
		name string
		dst  *int
	}{{"txt_in", &c.ContextInDim}, {"vector_in.in_layer", &c.VecInDim}} {
		sh := s.shape(l.name)
		if sh == nil {
			return Config{}, fmt.Errorf("%s: missing tensor %q", where, s.storedKey(l.name))
		}
		*l.dst = sh[1]
	}
	if sh := s.shape("final_layer.linear"); sh != nil {
		c.OutChannels = sh[0]
	} else {
		return Config{}, fmt.Errorf("%s: missing tensor %q", where, s.storedKey("final_layer.linear"))
	}
	for s.has(fmt.Sprintf("double_blocks.%d.img_mod.lin", c.Depth)) {
		c.Depth++
	}
	for s.has(fmt.Sprintf("single_blocks.%d.modulation.lin", c.DepthSingleBlocks)) {
		c.DepthSingleBlocks++
	}
	if c.Depth+c.DepthSingleBlocks == 0 {
		return Config{}, fmt.Errorf("%s: no transformer blocks (missing %q)", where, s.storedKey("double_blocks.0.img_mod.lin"))
	}
	norm, mlp := "single_blocks.0.norm.query_norm", 0
	if c.Depth > 0 {
		norm = "double_blocks.0.img_attn.norm.query_norm"
		if sh := s.shape("double_blocks.0.img_mlp.0"); sh != nil {
			mlp = sh[0]
		}
		c.QKVBias = s.hasBias("double_blocks.0.img_attn.qkv")
	} else if sh := s.shape("single_blocks.0.linear1"); sh != nil {
		mlp = sh[0] - 3*c.HiddenSize
	}
	headDim := s.scaleLen(norm)
	if headDim == 0 || c.HiddenSize%headDim != 0 {
		return Config{}, fmt.Errorf("%s: QK-norm scale %q of length %d does not divide hidden size %d (img_in rows)", where, norm, headDim, c.HiddenSize)
	}
	c.NumHeads = c.HiddenSize / headDim
	axes, err := AxesFromHeadDim(headDim)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %v", where, err)
	}
	c.AxesDim = axes
	if mlp <= 0 {
		return Config{}, fmt.Errorf("%s: cannot tell the MLP width (tensor %q)", where, s.storedKey("double_blocks.0.img_mlp.0"))
	}
	c.MLPRatio = float64(mlp) / float64(c.HiddenSize)
	c.GuidanceEmbed = s.has("guidance_in.in_layer")
	return c, c.Validate()
}

func fileNames(s *paramsSource) []string {
	var out []string
	for _, f := range s.p.Files() {
		out = append(out, f.Path)
	}
	return out
}
