package unet

import (
	"fmt"
	"strconv"
	"strings"
)

// Layout says how a checkpoint names the UNet's tensors.
type Layout int

const (
	// LayoutDiffusers is diffusers' UNet2DConditionModel naming
	// (down_blocks.i.resnets.j.conv1.weight, …), as in
	// unet/diffusion_pytorch_model.safetensors.
	LayoutDiffusers Layout = iota
	// LayoutLDM is the original CompVis/Stability naming of single-file
	// checkpoints (input_blocks.N.M, middle_block.M, output_blocks.N.M,
	// time_embed, out), normally under the prefix "model.diffusion_model.".
	LayoutLDM
)

// String names the layout as error messages print it.
func (l Layout) String() string {
	if l == LayoutLDM {
		return "ldm"
	}
	return "diffusers"
}

// LDMPrefix is where single-file SD checkpoints keep the UNet.
const LDMPrefix = "model.diffusion_model."

// resnetLDM renames the layers inside a diffusers ResnetBlock2D to the LDM
// ResBlock names: in_layers = [GroupNorm, SiLU, conv], emb_layers = [SiLU,
// Linear], out_layers = [GroupNorm, SiLU, Dropout, conv].
var resnetLDM = map[string]string{
	"norm1":         "in_layers.0",
	"conv1":         "in_layers.2",
	"time_emb_proj": "emb_layers.1",
	"norm2":         "out_layers.0",
	"conv2":         "out_layers.3",
	"conv_shortcut": "skip_connection",
}

// LDMName translates a diffusers module or tensor name (e.g.
// "down_blocks.1.attentions.0.proj_in" or "up_blocks.0.resnets.2.conv1.weight")
// to its name in an original LDM checkpoint (without "model.diffusion_model."),
// for a UNet of configuration cfg:
//
//	time_embedding.linear_{1,2}        → time_embed.{0,2}
//	add_embedding.linear_{1,2}         → label_emb.0.{0,2}
//	conv_in                            → input_blocks.0.0
//	down_blocks.i.resnets.j            → input_blocks.(1 + i·(L+1) + j).0   (resnet layers renamed)
//	down_blocks.i.attentions.j         → input_blocks.(1 + i·(L+1) + j).1
//	down_blocks.i.downsamplers.0.conv  → input_blocks.((i+1)·(L+1)).0.op
//	mid_block.resnets.0 / attentions.0 / resnets.1 → middle_block.0 / 1 / 2
//	up_blocks.i.resnets.j              → output_blocks.(i·(L+1) + j).0
//	up_blocks.i.attentions.j           → output_blocks.(i·(L+1) + j).1
//	up_blocks.i.upsamplers.0           → output_blocks.(i·(L+1) + L).{1, or 2 after an attention}
//	conv_norm_out / conv_out           → out.0 / out.2
//
// with L = LayersPerBlock. Names inside attentions (norm, proj_in,
// transformer_blocks.k.attn1.to_q, …) are the same in both layouts.
func LDMName(cfg *Config, name string) (string, error) {
	parts := strings.Split(name, ".")
	rest := func(k int) string {
		if k >= len(parts) {
			return ""
		}
		return "." + strings.Join(parts[k:], ".")
	}
	idx := func(k int) (int, bool) {
		if k >= len(parts) {
			return 0, false
		}
		v, err := strconv.Atoi(parts[k])
		return v, err == nil && v >= 0
	}
	bad := func() (string, error) { return "", fmt.Errorf("unet: no LDM name for diffusers module %q", name) }
	L := cfg.LayersPerBlock
	// resnet renames the first layer name after a resnet's own prefix.
	resnet := func(prefix string, k int) (string, error) {
		if k >= len(parts) {
			return prefix, nil
		}
		r, ok := resnetLDM[parts[k]]
		if !ok {
			return bad()
		}
		return prefix + "." + r + rest(k+1), nil
	}
	switch parts[0] {
	case "time_embedding", "add_embedding":
		base := "time_embed."
		if parts[0] == "add_embedding" {
			base = "label_emb.0."
		}
		if len(parts) < 2 {
			return bad()
		}
		switch parts[1] {
		case "linear_1":
			return base + "0" + rest(2), nil
		case "linear_2":
			return base + "2" + rest(2), nil
		}
		return bad()
	case "conv_in":
		return "input_blocks.0.0" + rest(1), nil
	case "conv_norm_out":
		return "out.0" + rest(1), nil
	case "conv_out":
		return "out.2" + rest(1), nil
	case "down_blocks", "up_blocks":
		i, ok1 := idx(1)
		j, ok2 := idx(3)
		if !ok1 || !ok2 || i >= cfg.Levels() {
			return bad()
		}
		down := parts[0] == "down_blocks"
		blocks, base := "output_blocks.", i*(L+1)
		if down {
			blocks, base = "input_blocks.", 1+i*(L+1)
		}
		switch parts[2] {
		case "resnets":
			return resnet(blocks+strconv.Itoa(base+j)+".0", 4)
		case "attentions":
			return blocks + strconv.Itoa(base+j) + ".1" + rest(4), nil
		case "downsamplers":
			if !down || j != 0 || len(parts) < 5 || parts[4] != "conv" {
				return bad()
			}
			return blocks + strconv.Itoa(base+L) + ".0.op" + rest(5), nil
		case "upsamplers":
			if down || j != 0 {
				return bad()
			}
			m := ".1"
			if cfg.CrossAttnUp[i] {
				m = ".2"
			}
			return blocks + strconv.Itoa(base+L) + m + rest(4), nil
		}
		return bad()
	case "mid_block":
		j, ok := idx(2)
		if !ok || len(parts) < 3 {
			return bad()
		}
		switch {
		case parts[1] == "attentions" && j == 0:
			return "middle_block.1" + rest(3), nil
		case parts[1] == "resnets" && j <= 1:
			m := j
			if j == 1 && cfg.MidCrossAttn {
				m = 2
			}
			return resnet("middle_block."+strconv.Itoa(m), 3)
		}
		return bad()
	}
	return bad()
}
