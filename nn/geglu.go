package nn

import "github.com/godiffusion/godiffusion/tensor"

// GEGLU is the gated feed-forward of the SD transformer blocks (diffusers
// FeedForward with activation "geglu"): Proj maps C to 2·inner, its first
// half is the value and its second half the gate, and
//
//	out = Out(value ⊙ gelu(gate))
//
// with the exact (erf) GELU; Out maps inner back to C.
type GEGLU struct {
	Proj, Out *Linear
}

// LoadGEGLU loads a diffusers FeedForward: prefix+"net.0.proj." (Linear
// dim -> 2·inner) and prefix+"net.2." (Linear inner -> dim), both with
// bias. On error it records it in p and returns nil.
func LoadGEGLU(p *Params, prefix string, dim, inner int) *GEGLU {
	f := &GEGLU{
		Proj: LoadLinear(p, prefix+"net.0.proj.", dim, 2*inner, true),
		Out:  LoadLinear(p, prefix+"net.2.", inner, dim, true),
	}
	if p.Err() != nil {
		return nil
	}
	return f
}

// Forward maps x [..., C] to [..., C].
func (f *GEGLU) Forward(x *tensor.Tensor) *tensor.Tensor {
	h := f.Proj.Forward(x)
	g := tensor.GEGLU(h)
	tensor.Recycle(h)
	y := f.Out.Forward(g)
	tensor.Recycle(g)
	return y
}
