package vae

import (
	"fmt"
	"strconv"
	"strings"
)

// Layout is a checkpoint's key naming scheme.
type Layout int

const (
	// Diffusers is the diffusers AutoencoderKL naming:
	// encoder.down_blocks.i.resnets.j, decoder.up_blocks.i.upsamplers.0,
	// mid_block.attentions.0.to_q, conv_norm_out, conv_shortcut.
	Diffusers Layout = iota
	// LDM is the original latent-diffusion (CompVis) naming used by single-file
	// checkpoints (under first_stage_model.) and standalone VAE files:
	// encoder.down.i.block.j, decoder.up.k.upsample, mid.attn_1.q, norm_out,
	// nin_shortcut.
	LDM
)

// String names the layout as error messages print it.
func (l Layout) String() string {
	if l == LDM {
		return "ldm"
	}
	return "diffusers"
}

// The model is built with diffusers names; Names.Key translates each module
// path to the name stored in the checkpoint.
//
// The two layouts differ in these places (n = number of levels):
//
//	diffusers                                   LDM
//	encoder.down_blocks.i.resnets.j             encoder.down.i.block.j
//	encoder.down_blocks.i.downsamplers.0.conv   encoder.down.i.downsample.conv
//	decoder.up_blocks.i.resnets.j               decoder.up.(n−1−i).block.j     (up levels are numbered from the
//	decoder.up_blocks.i.upsamplers.0.conv       decoder.up.(n−1−i).upsample.conv  lowest resolution in diffusers,
//	                                                                              from the highest in LDM)
//	*.mid_block.resnets.k                       *.mid.block_(k+1)
//	*.mid_block.attentions.0.group_norm         *.mid.attn_1.norm
//	*.mid_block.attentions.0.to_q / to_k / to_v *.mid.attn_1.q / k / v   (LDM: 1×1 conv weights [C, C, 1, 1])
//	*.mid_block.attentions.0.to_out.0           *.mid.attn_1.proj_out
//	*.conv_norm_out                             *.norm_out
//	resnet conv_shortcut                        resnet nin_shortcut
//
// conv_in, conv_out, norm1/2, conv1/2, quant_conv and post_quant_conv are the
// same in both.

// DiffusersToLDM maps a diffusers key or module path of a VAE with levels
// resolution levels to its LDM name. Names it does not recognise are
// returned unchanged.
func DiffusersToLDM(name string, levels int) string {
	s := strings.Split(name, ".")
	var out []string
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == "down_blocks" && i+1 < len(s):
			out = append(out, "down", s[i+1])
			i++
		case s[i] == "up_blocks" && i+1 < len(s):
			out = append(out, "up", flipLevel(s[i+1], levels))
			i++
		case s[i] == "resnets" && i+1 < len(s) && len(out) > 0 && out[len(out)-1] == "mid":
			k, err := strconv.Atoi(s[i+1])
			if err != nil {
				return name
			}
			out[len(out)-1] = "mid"
			out = append(out, "block_"+strconv.Itoa(k+1))
			i++
		case s[i] == "resnets":
			out = append(out, "block")
		case s[i] == "downsamplers" && i+1 < len(s):
			out = append(out, "downsample")
			i++
		case s[i] == "upsamplers" && i+1 < len(s):
			out = append(out, "upsample")
			i++
		case s[i] == "mid_block":
			out = append(out, "mid")
		case s[i] == "attentions" && i+1 < len(s):
			out = append(out, "attn_1")
			i++
		case s[i] == "group_norm":
			out = append(out, "norm")
		case s[i] == "to_q" || s[i] == "to_k" || s[i] == "to_v":
			out = append(out, s[i][3:])
		case s[i] == "to_out" && i+1 < len(s) && s[i+1] == "0":
			out = append(out, "proj_out")
			i++
		case s[i] == "conv_norm_out":
			out = append(out, "norm_out")
		case s[i] == "conv_shortcut":
			out = append(out, "nin_shortcut")
		default:
			out = append(out, s[i])
		}
	}
	return strings.Join(out, ".")
}

// LDMToDiffusers is the inverse of DiffusersToLDM.
func LDMToDiffusers(name string, levels int) string {
	s := strings.Split(name, ".")
	var out []string
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == "down" && i+1 < len(s):
			out = append(out, "down_blocks", s[i+1])
			i++
		case s[i] == "up" && i+1 < len(s):
			out = append(out, "up_blocks", flipLevel(s[i+1], levels))
			i++
		case s[i] == "block":
			out = append(out, "resnets")
		case strings.HasPrefix(s[i], "block_"):
			k, err := strconv.Atoi(s[i][len("block_"):])
			if err != nil {
				return name
			}
			out = append(out, "resnets", strconv.Itoa(k-1))
		case s[i] == "downsample":
			out = append(out, "downsamplers", "0")
		case s[i] == "upsample":
			out = append(out, "upsamplers", "0")
		case s[i] == "mid":
			out = append(out, "mid_block")
		case s[i] == "attn_1":
			out = append(out, "attentions", "0")
		case s[i] == "norm" && len(out) > 0 && out[len(out)-1] == "0" && len(out) > 1 && out[len(out)-2] == "attentions":
			out = append(out, "group_norm")
		case (s[i] == "q" || s[i] == "k" || s[i] == "v") && len(out) > 1 && out[len(out)-2] == "attentions":
			out = append(out, "to_"+s[i])
		case s[i] == "proj_out":
			out = append(out, "to_out", "0")
		case s[i] == "norm_out":
			out = append(out, "conv_norm_out")
		case s[i] == "nin_shortcut":
			out = append(out, "conv_shortcut")
		default:
			out = append(out, s[i])
		}
	}
	return strings.Join(out, ".")
}

// flipLevel turns an up-block index i into levels−1−i (the same in both
// directions).
func flipLevel(idx string, levels int) string {
	i, err := strconv.Atoi(idx)
	if err != nil {
		return idx
	}
	return strconv.Itoa(levels - 1 - i)
}

// Names resolves the diffusers module paths the model is built from to the
// keys stored in one checkpoint.
type Names struct {
	Layout Layout
	Prefix string // prepended to every key, e.g. "first_stage_model." or "vae."
	Levels int    // len(Config.BlockOutChannels)
}

// Key returns the stored name of the diffusers module path or key name.
func (n Names) Key(name string) string {
	if n.Layout == LDM {
		name = DiffusersToLDM(name, n.Levels)
	}
	return n.Prefix + name
}

// String describes the naming (layout and key prefix) for error messages.
func (n Names) String() string {
	return fmt.Sprintf("%s layout, prefix %q", n.Layout, n.Prefix)
}
