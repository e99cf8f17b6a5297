package nn

import (
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

func TestNormLoaders(t *testing.T) {
	g, b := randSlice(31, 8, 1), randSlice(32, 8, 1)
	p := buildParams(t, map[string]stTensor{
		"gn.weight":   {shape: []int{8}, data: g},
		"gn.bias":     {shape: []int{8}, data: b},
		"rms.scale":   {shape: []int{8}, data: g},
		"rms2.weight": {shape: []int{8}, data: b},
	})
	gn := LoadGroupNorm(p, "gn.", 4, 8, 1e-6)
	ln := LoadLayerNorm(p, "gn.", 8, 1e-5)
	rms := LoadRMSNorm(p, "rms.", 8, 1e-6)
	rms2 := LoadRMSNorm(p, "rms2.", 8, 1e-6)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	x := tensor.FromData(randSlice(33, 2*8*3, 2), 2, 8, 3)
	same := func(what string, a, b *tensor.Tensor) {
		t.Helper()
		for i := range a.Data {
			if a.Data[i] != b.Data[i] {
				t.Fatalf("%s differs from the tensor op at %d", what, i)
			}
		}
	}
	same("GroupNorm", gn.Forward(x), tensor.GroupNorm(x, 4, g, b, 1e-6))
	y := tensor.FromData(randSlice(34, 3*8, 2), 3, 8)
	same("LayerNorm", ln.Forward(y), tensor.LayerNorm(y, g, b, 1e-5))
	same("RMSNorm scale", rms.Forward(y), tensor.RMSNorm(y, g, 1e-6))
	same("RMSNorm weight", rms2.Forward(y), tensor.RMSNorm(y, b, 1e-6))
	if LoadGroupNorm(p, "gn.", 4, 16, 1e-6) != nil || p.Err() == nil {
		t.Error("wrong channel count accepted")
	}
}
