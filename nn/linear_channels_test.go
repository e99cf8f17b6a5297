package nn

import (
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// TestLinearChannels checks ForwardChannels and AddToChannels against the
// float64 reference of Linear applied to the transposed map (f32 and f16
// weights; tolerance as TestLinear).
func TestLinearChannels(t *testing.T) {
	const in, out, b, h, w = 23, 17, 2, 5, 7
	wt, bias := randSlice(4, out*in, 0.3), randSlice(5, out, 1)
	for _, f16 := range []bool{false, true} {
		p := buildParams(t, map[string]stTensor{
			"l.weight": {shape: []int{out, in}, data: wt, f16: f16},
			"l.bias":   {shape: []int{out}, data: bias},
		})
		l := LoadLinear(p, "l.", in, out, true)
		if err := p.Err(); err != nil {
			t.Fatal(err)
		}
		wf := wt
		if f16 {
			wf = roundF16(wt)
		}

		// ForwardChannels: x [B, in, H, W] -> tokens [B, H·W, out].
		x := tensor.FromData(randSlice(6, b*in*h*w, 2), b, in, h, w)
		nlc := tensor.NCHWToNLC(x)
		want := linearRef(nlc.Data, wf, bias, b*h*w, in, out)
		got := l.ForwardChannels(x)
		if len(got.Shape) != 3 || got.Shape[0] != b || got.Shape[1] != h*w || got.Shape[2] != out {
			t.Fatalf("ForwardChannels shape %v", got.Shape)
		}
		assertClose64(t, "ForwardChannels", got.Data, want, 1e-5, 1e-5)

		// AddToChannels: dst [B, out, H, W] += NCHW(tokens·Wᵀ + b).
		tokens := tensor.FromData(randSlice(7, b*h*w*in, 1), b, h*w, in)
		dst := tensor.FromData(randSlice(8, b*out*h*w, 1), b, out, h, w)
		lin := linearRef(tokens.Data, wf, bias, b*h*w, in, out)
		wantAdd := make([]float64, len(dst.Data))
		for bi := range b {
			for pix := range h * w {
				for o := range out {
					i := (bi*out+o)*h*w + pix
					wantAdd[i] = float64(dst.Data[i]) + lin[(bi*h*w+pix)*out+o]
				}
			}
		}
		l.AddToChannels(dst, tokens)
		assertClose64(t, "AddToChannels", dst.Data, wantAdd, 1e-5, 1e-5)
	}
}
