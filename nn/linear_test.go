package nn

import (
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// linearRef computes x·Wᵀ + b in float64 for x [rows, in], W [out, in].
func linearRef(x, w, b []float32, rows, in, out int) []float64 {
	y := make([]float64, rows*out)
	for r := range rows {
		for o := range out {
			var s float64
			for i := range in {
				s += float64(x[r*in+i]) * float64(w[o*in+i])
			}
			if b != nil {
				s += float64(b[o])
			}
			y[r*out+o] = s
		}
	}
	return y
}

func TestLinear(t *testing.T) {
	const in, out = 37, 19
	w, b := randSlice(1, out*in, 0.3), randSlice(2, out, 1)
	p := buildParams(t, map[string]stTensor{
		"a.weight": {shape: []int{out, in}, data: w},
		"a.bias":   {shape: []int{out}, data: b},
		"c.weight": {shape: []int{out, in, 1, 1}, data: w}, // a 1×1 conv stored projection
		"h.weight": {shape: []int{out, in}, data: w, f16: true},
	})
	x := tensor.FromData(randSlice(3, 2*5*in, 2), 2, 5, in)
	want := linearRef(x.Data, w, b, 10, in, out)

	a := LoadLinear(p, "a.", in, out, true)
	c := LoadLinear(p, "c.", in, out, false)
	h := LoadLinear(p, "h.", in, out, false)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	ya := a.Forward(x)
	if ya.Shape[0] != 2 || ya.Shape[1] != 5 || ya.Shape[2] != out {
		t.Fatalf("shape %v", ya.Shape)
	}
	assertClose64(t, "Linear", ya.Data, want, 1e-5, 1e-5)
	assertClose64(t, "Linear from [out,in,1,1]", c.Forward(x).Data, linearRef(x.Data, w, nil, 10, in, out), 1e-5, 1e-5)
	if h.W.DType != tensor.F16 {
		t.Errorf("F16 weight converted to %v", h.W.DType)
	}
	assertClose64(t, "Linear f16", h.Forward(x).Data, linearRef(x.Data, roundF16(w), nil, 10, in, out), 1e-5, 1e-5)

	// Errors are recorded, naming the key, and the loader returns nil.
	if l := LoadLinear(p, "a.", in+1, out, true); l != nil || p.Err() == nil || !strings.Contains(p.Err().Error(), "a.weight") {
		t.Errorf("wrong shape: got %v, err %v", l, p.Err())
	}
	q := buildParams(t, map[string]stTensor{"a.weight": {shape: []int{out, in}, data: w}})
	if l := LoadLinear(q, "a.", in, out, true); l != nil || q.Err() == nil || !strings.Contains(q.Err().Error(), "a.bias") {
		t.Errorf("missing bias: got %v, err %v", l, q.Err())
	}
}

// convRef is a direct float64 convolution of x [N, Cin, H, W] with w
// [Cout, Cin, k, k].
func convRef(x []float32, n, cin, h, wd int, w, b []float32, cout, k, stride, pad int) ([]float64, int, int) {
	oh, ow := (h+2*pad-k)/stride+1, (wd+2*pad-k)/stride+1
	out := make([]float64, n*cout*oh*ow)
	for bi := range n {
		for o := range cout {
			for y := range oh {
				for xx := range ow {
					s := float64(b[o])
					for c := range cin {
						for i := range k {
							for j := range k {
								iy, ix := y*stride+i-pad, xx*stride+j-pad
								if iy >= 0 && iy < h && ix >= 0 && ix < wd {
									s += float64(w[((o*cin+c)*k+i)*k+j]) * float64(x[((bi*cin+c)*h+iy)*wd+ix])
								}
							}
						}
					}
					out[((bi*cout+o)*oh+y)*ow+xx] = s
				}
			}
		}
	}
	return out, oh, ow
}

func TestConv2d(t *testing.T) {
	const cin, cout = 5, 6
	w3, w1, b := randSlice(11, cout*cin*9, 0.3), randSlice(12, cout*cin, 0.3), randSlice(13, cout, 1)
	p := buildParams(t, map[string]stTensor{
		"k3.weight": {shape: []int{cout, cin, 3, 3}, data: w3},
		"k3.bias":   {shape: []int{cout}, data: b},
		"k1.weight": {shape: []int{cout, cin}, data: w1}, // a Linear-stored 1×1 conv
		"k1.bias":   {shape: []int{cout}, data: b},
	})
	k3 := LoadConv2d(p, "k3.", cin, cout, 3, 2, 1)
	k1 := LoadConv2d(p, "k1.", cin, cout, 1, 1, 0)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	if len(k1.W.Shape) != 4 {
		t.Fatalf("1×1 weight shape %v", k1.W.Shape)
	}
	x := tensor.FromData(randSlice(14, 2*cin*7*6, 1), 2, cin, 7, 6)
	want, oh, ow := convRef(x.Data, 2, cin, 7, 6, w3, b, cout, 3, 2, 1)
	got := k3.Forward(x)
	if got.Shape[2] != oh || got.Shape[3] != ow {
		t.Fatalf("shape %v", got.Shape)
	}
	assertClose64(t, "Conv2d 3×3 s2", got.Data, want, 1e-5, 1e-5)
	want, _, _ = convRef(x.Data, 2, cin, 7, 6, w1, b, cout, 1, 1, 0)
	assertClose64(t, "Conv2d 1×1 from [out,in]", k1.Forward(x).Data, want, 1e-5, 1e-5)
	if c := LoadConv2d(p, "k3.", cin, cout, 1, 1, 0); c != nil || p.Err() == nil {
		t.Error("3×3 weight accepted as 1×1")
	}
}

func TestEmbedding(t *testing.T) {
	w := randSlice(21, 10*4, 1)
	p := buildParams(t, map[string]stTensor{"e.weight": {shape: []int{10, 4}, data: w, f16: true}})
	e := LoadEmbedding(p, "e.", 10, 4)
	if e == nil {
		t.Fatal(p.Err())
	}
	ids := []int{3, 0, 9, 3}
	got := e.Forward(ids)
	w16 := roundF16(w)
	for i, id := range ids {
		for j := range 4 {
			if got.Data[i*4+j] != w16[id*4+j] {
				t.Fatalf("row %d col %d: %g, want %g", i, j, got.Data[i*4+j], w16[id*4+j])
			}
		}
	}
}
