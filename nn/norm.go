package nn

import "github.com/godiffusion/godiffusion/tensor"

// GroupNorm is torch.nn.GroupNorm over x [N, C, ...] (see tensor.GroupNorm).
type GroupNorm struct {
	Groups      int
	Gamma, Beta []float32
	Eps         float32
}

// LoadGroupNorm loads prefix+"weight" and prefix+"bias" ([channels]). On
// error it records it in p and returns nil.
func LoadGroupNorm(p *Params, prefix string, groups, channels int, eps float32) *GroupNorm {
	g, b := p.F32(prefix+"weight", channels), p.F32(prefix+"bias", channels)
	if g == nil || b == nil {
		return nil
	}
	return &GroupNorm{Groups: groups, Gamma: g, Beta: b, Eps: eps}
}

// Forward returns the group-normalised x.
func (g *GroupNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.GroupNorm(x, g.Groups, g.Gamma, g.Beta, g.Eps)
}

// ForwardSiLU returns SiLU(GroupNorm(x)) in one pass (tensor.GroupNormSiLU).
func (g *GroupNorm) ForwardSiLU(x *tensor.Tensor) *tensor.Tensor {
	return tensor.GroupNormSiLU(x, g.Groups, g.Gamma, g.Beta, g.Eps)
}

// ForwardSiLUInPlace overwrites x with SiLU(GroupNorm(x)) and returns it,
// for an x nothing else reads afterwards.
func (g *GroupNorm) ForwardSiLUInPlace(x *tensor.Tensor) *tensor.Tensor {
	tensor.GroupNormSiLUInPlace(x, g.Groups, g.Gamma, g.Beta, g.Eps)
	return x
}

// LayerNorm is torch.nn.LayerNorm over the last axis (see tensor.LayerNorm).
// Gamma and Beta may be nil (elementwise_affine=False).
type LayerNorm struct {
	Gamma, Beta []float32
	Eps         float32
}

// LoadLayerNorm loads prefix+"weight" and prefix+"bias" ([dim]). On error
// it records it in p and returns nil.
func LoadLayerNorm(p *Params, prefix string, dim int, eps float32) *LayerNorm {
	g, b := p.F32(prefix+"weight", dim), p.F32(prefix+"bias", dim)
	if g == nil || b == nil {
		return nil
	}
	return &LayerNorm{Gamma: g, Beta: b, Eps: eps}
}

// Forward returns x normalised over its last axis.
func (l *LayerNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.LayerNorm(x, l.Gamma, l.Beta, l.Eps)
}

// RMSNorm is root-mean-square normalisation over the last axis,
// y = x / √(mean(x²) + eps) · gamma (T5 LayerNorm, Flux QKNorm).
type RMSNorm struct {
	Gamma []float32
	Eps   float32
}

// LoadRMSNorm loads the scale [dim] from prefix+"weight" (T5, diffusers)
// or, when that is absent, prefix+"scale" (black-forest-labs Flux). On
// error it records it in p and returns nil.
func LoadRMSNorm(p *Params, prefix string, dim int, eps float32) *RMSNorm {
	key := prefix + "weight"
	if !p.Has(key) && p.Has(prefix+"scale") {
		key = prefix + "scale"
	}
	g := p.F32(key, dim)
	if g == nil {
		return nil
	}
	return &RMSNorm{Gamma: g, Eps: eps}
}

// Forward returns x normalised over its last axis.
func (r *RMSNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.RMSNorm(x, r.Gamma, r.Eps)
}
