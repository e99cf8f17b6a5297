package unet

import (
	"github.com/godiffusion/godiffusion/nn"
)

// weightSource gives the network its layers by diffusers module name
// ("down_blocks.0.resnets.1.conv1"). The network structure is written once
// (build.go) against this interface; checkpoints (either key layout) and
// random initialisation (NewRandom) are two implementations.
type weightSource interface {
	linear(module string, in, out int, bias bool) *nn.Linear
	conv(module string, in, out, kernel, stride, pad int) *nn.Conv2d
	groupNorm(module string, groups, channels int, eps float32) *nn.GroupNorm
	layerNorm(module string, dim int, eps float32) *nn.LayerNorm
}

// checkpointSource loads layers from nn.Params, translating diffusers module
// names to LDM names when the checkpoint uses the original layout.
type checkpointSource struct {
	p      *nn.Params
	cfg    *Config
	layout Layout
}

// prefix returns the key prefix (with its trailing ".") of module in the
// checkpoint's layout, recording an error if the module has no name there.
func (s *checkpointSource) prefix(module string) string {
	if s.layout == LayoutDiffusers {
		return module + "."
	}
	name, err := LDMName(s.cfg, module)
	if err != nil {
		s.p.Fail(err)
		return module + "."
	}
	return name + "."
}

func (s *checkpointSource) linear(module string, in, out int, bias bool) *nn.Linear {
	return nn.LoadLinear(s.p, s.prefix(module), in, out, bias)
}

func (s *checkpointSource) conv(module string, in, out, kernel, stride, pad int) *nn.Conv2d {
	return nn.LoadConv2d(s.p, s.prefix(module), in, out, kernel, stride, pad)
}

func (s *checkpointSource) groupNorm(module string, groups, channels int, eps float32) *nn.GroupNorm {
	return nn.LoadGroupNorm(s.p, s.prefix(module), groups, channels, eps)
}

func (s *checkpointSource) layerNorm(module string, dim int, eps float32) *nn.LayerNorm {
	return nn.LoadLayerNorm(s.p, s.prefix(module), dim, eps)
}

// countingSource passes layers through from another source, tallying their
// parameters and the bytes their weights occupy.
type countingSource struct {
	weightSource
	params, bytes int64
}

func (c *countingSource) addWeight(w interface {
	Len() int
	Bytes() int
}, extra int) {
	c.params += int64(w.Len() + extra)
	c.bytes += int64(w.Bytes() + 4*extra)
}

func (c *countingSource) linear(module string, in, out int, bias bool) *nn.Linear {
	l := c.weightSource.linear(module, in, out, bias)
	if l != nil {
		c.addWeight(l.W, len(l.B))
	}
	return l
}

func (c *countingSource) conv(module string, in, out, kernel, stride, pad int) *nn.Conv2d {
	l := c.weightSource.conv(module, in, out, kernel, stride, pad)
	if l != nil {
		c.addWeight(l.W, len(l.B))
	}
	return l
}

func (c *countingSource) groupNorm(module string, groups, channels int, eps float32) *nn.GroupNorm {
	l := c.weightSource.groupNorm(module, groups, channels, eps)
	if l != nil {
		c.params += int64(len(l.Gamma) + len(l.Beta))
		c.bytes += 4 * int64(len(l.Gamma)+len(l.Beta))
	}
	return l
}

func (c *countingSource) layerNorm(module string, dim int, eps float32) *nn.LayerNorm {
	l := c.weightSource.layerNorm(module, dim, eps)
	if l != nil {
		c.params += int64(len(l.Gamma) + len(l.Beta))
		c.bytes += 4 * int64(len(l.Gamma)+len(l.Beta))
	}
	return l
}
