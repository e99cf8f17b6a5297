package nn

import (
	"math"
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// TestRoPE checks RoPE/ApplyRoPE against the rotation written out directly:
// for head channel pair k belonging to axis a (local index i in that axis),
// angle = pos[a]·theta^(−2i/d_a) and (x0, x1) ↦ (x0·cos − x1·sin, x0·sin + x1·cos).
func TestRoPE(t *testing.T) {
	axesDim := []int{4, 6, 2}
	const theta, l, heads, b = 10000.0, 5, 3, 2
	d := 12
	pos := make([]float64, l*3)
	for n := range l {
		pos[n*3], pos[n*3+1], pos[n*3+2] = float64(n%2), float64(n)*1.5, float64(7-n)
	}
	freqs := RoPE(pos, axesDim, theta)
	x := tensor.FromData(randSlice(41, b*l*heads*d, 1), b, l, heads*d)
	got := ApplyRoPE(x, freqs)
	want := make([]float64, len(x.Data))
	for bi := range b {
		for n := range l {
			for h := range heads {
				k := 0
				for a, da := range axesDim {
					for i := 0; i < da/2; i++ {
						angle := pos[n*3+a] * math.Pow(theta, -float64(2*i)/float64(da))
						off := ((bi*l+n)*heads+h)*d + 2*k
						x0, x1 := float64(x.Data[off]), float64(x.Data[off+1])
						want[off] = x0*math.Cos(angle) - x1*math.Sin(angle)
						want[off+1] = x0*math.Sin(angle) + x1*math.Cos(angle)
						k++
					}
				}
			}
		}
	}
	assertClose64(t, "ApplyRoPE", got.Data, want, 1e-6, 1e-6)
}

// TestTimestepEmbedding checks the formula, including an odd width (zero
// padded), a frequency shift, a scale and both orders.
func TestTimestepEmbedding(t *testing.T) {
	ts := []float32{0, 1, 321.5, 999}
	for _, c := range []struct {
		dim         int
		flip        bool
		shift, scal float32
	}{{320, true, 0, 1}, {7, false, 1, 1}, {256, true, 0, 1000}} {
		got := TimestepEmbedding(ts, c.dim, c.flip, c.shift, c.scal, 10000)
		half := c.dim / 2
		want := make([]float64, len(ts)*c.dim)
		for n, tv := range ts {
			for i := range half {
				arg := float64(c.scal) * float64(tv) * math.Exp(-math.Log(10000)*float64(i)/(float64(half)-float64(c.shift)))
				s, co := math.Sin(arg), math.Cos(arg)
				if c.flip {
					s, co = co, s
				}
				want[n*c.dim+i], want[n*c.dim+half+i] = s, co
			}
		}
		// float32 rounding of t·freq at arguments up to ~1e6 dominates.
		atol := 1e-6 + 2e-7*float64(c.scal)*999
		assertClose64(t, "TimestepEmbedding", got.Data, want, atol, 0)
	}
}

func TestGEGLU(t *testing.T) {
	const dim, inner = 6, 10
	wp, bp := randSlice(51, 2*inner*dim, 0.5), randSlice(52, 2*inner, 0.5)
	wo, bo := randSlice(53, dim*inner, 0.5), randSlice(54, dim, 0.5)
	p := buildParams(t, map[string]stTensor{
		"ff.net.0.proj.weight": {shape: []int{2 * inner, dim}, data: wp},
		"ff.net.0.proj.bias":   {shape: []int{2 * inner}, data: bp},
		"ff.net.2.weight":      {shape: []int{dim, inner}, data: wo},
		"ff.net.2.bias":        {shape: []int{dim}, data: bo},
	})
	ff := LoadGEGLU(p, "ff.", dim, inner)
	if ff == nil {
		t.Fatal(p.Err())
	}
	x := tensor.FromData(randSlice(55, 2*3*dim, 2), 2, 3, dim)
	h := linearRef(x.Data, wp, bp, 6, dim, 2*inner)
	g := make([]float32, 6*inner)
	for r := range 6 {
		for i := range inner {
			v, gate := h[r*2*inner+i], h[r*2*inner+inner+i]
			g[r*inner+i] = float32(v * 0.5 * gate * (1 + math.Erf(gate/math.Sqrt2)))
		}
	}
	assertClose64(t, "GEGLU", ff.Forward(x).Data, linearRef(g, wo, bo, 6, inner, dim), 1e-5, 1e-5)
}
