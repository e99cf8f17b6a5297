package unet

import (
	"math"
	"slices"
	"testing"

	"github.com/godiffusion/godiffusion/asm"
	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// tinyConfig is the fixture's topology (README §1.1) without any file.
func tinyConfig() *Config {
	c := SD15Config()
	c.BlockOutChannels = []int{8, 16, 32, 32}
	c.CrossAttentionDim = 32
	c.NormGroups = 4
	return c
}

func randomInputs(b, h, w, l, d int) (*tensor.Tensor, []float32, *tensor.Tensor) {
	x := tensor.New(b, 4, h, w)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i) * 0.37))
	}
	ctx := tensor.New(b, l, d)
	for i := range ctx.Data {
		ctx.Data[i] = float32(math.Cos(float64(i) * 0.11))
	}
	ts := make([]float32, b)
	for i := range ts {
		ts[i] = 999 - 333.5*float32(i)
	}
	return x, ts, ctx
}

func TestNewRandom(t *testing.T) {
	cfg := tinyConfig()
	x, ts, ctx := randomInputs(2, 8, 16, 77, 32)
	var first []float32
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16} {
		u, err := NewRandom(cfg, dt, 7)
		if err != nil {
			t.Fatal(err)
		}
		if u.convIn.W.DType != dt || u.up[3].resnets[0].Conv1.W.DType != dt {
			t.Errorf("%s: weights stored as %s", dt, u.convIn.W.DType)
		}
		eps := u.Forward(x, ts, ctx)
		if tensor.ShapeString(eps.Shape) != "[2, 4, 8, 16]" {
			t.Fatalf("%s: eps shape %v", dt, eps.Shape)
		}
		for i, v := range eps.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s: eps[%d] = %g", dt, i, v)
			}
		}
		if first == nil {
			first = eps.Data
			// Same seed, same network; another seed, another one.
			again, _ := NewRandom(cfg, dt, 7)
			if e := again.Forward(x, ts, ctx); e.Data[0] != eps.Data[0] || e.Data[len(e.Data)-1] != eps.Data[len(e.Data)-1] {
				t.Error("NewRandom is not deterministic")
			}
			other, _ := NewRandom(cfg, dt, 8)
			if e := other.Forward(x, ts, ctx); e.Data[0] == eps.Data[0] {
				t.Error("different seeds gave the same network")
			}
		}
	}
	if _, err := NewRandom(cfg, tensor.F8E4M3, 1); err == nil {
		t.Error("NewRandom accepted f8 weights")
	}
}

// float32ToHalf must invert the f16 decoder exactly on every finite half
// and round to nearest, ties to even, in between.
func TestFloat32ToHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := asm.HalfToFloat(uint16(h))
		if math.IsNaN(float64(f)) {
			if g := safetensors.F32ToF16(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN → %#04x", g)
			}
			continue
		}
		if g := safetensors.F32ToF16(f); g != uint16(h) {
			t.Fatalf("%#04x (%g) → %#04x", h, f, g)
		}
	}
	cases := []struct {
		f    float32
		want uint16
	}{
		{1 + 1.0/2048, 0x3c00},                   // tie between 1 and 1+2⁻¹⁰ → even (1)
		{1 + 3.0/2048, 0x3c02},                   // tie → even (1+2·2⁻¹⁰)
		{1 + 1.0/2048 + 1.0/65536, 0x3c01},       // above the tie
		{65520, 0x7c00},                          // rounds past the largest half → Inf
		{1e-8, 0},                                // below half the smallest subnormal
		{-3 * float32(math.Pow(2, -25)), 0x8002}, // subnormal tie 1.5·2⁻²⁴ → even
	}
	for _, c := range cases {
		if g := safetensors.F32ToF16(c.f); g != c.want {
			t.Errorf("safetensors.F32ToF16(%g) = %#04x, want %#04x", c.f, g, c.want)
		}
	}
	if g := safetensors.F32ToBF16(1 + 1.0/256); g != 0x3f80 {
		t.Errorf("float32ToBFloat tie → %#04x, want 0x3f80", g)
	}
}

// Latent sizes that are not multiples of 2^(levels−1): downsamplers round
// up, and the up path resizes to each skip's size (diffusers' upsample_size).
func TestOddLatentSize(t *testing.T) {
	u, err := NewRandom(tinyConfig(), tensor.F32, 3)
	if err != nil {
		t.Fatal(err)
	}
	x, ts, ctx := randomInputs(1, 5, 7, 10, 32)
	eps := u.Forward(x, ts, ctx)
	if tensor.ShapeString(eps.Shape) != "[1, 4, 5, 7]" {
		t.Fatalf("eps shape %v", eps.Shape)
	}
}

// upsampleNearest follows torch's nearest rule src = ⌊dst·in/out⌋.
func TestUpsampleNearest(t *testing.T) {
	x := tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 1, 1, 2, 3)
	got := upsampleNearest(x, 3, 5)
	// rows: 0,0,1; columns ⌊i·3/5⌋: 0,0,1,1,2
	want := []float32{1, 1, 2, 2, 3, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6}
	for i := range want {
		if got.Data[i] != want[i] {
			t.Fatalf("got %v, want %v", got.Data, want)
		}
	}
	if d := upsampleNearest(x, 4, 6); tensor.ShapeString(d.Shape) != "[1, 1, 4, 6]" || d.Data[7] != 1 || d.Data[23] != 6 {
		t.Fatalf("2× case: %v %v", d.Shape, d.Data)
	}
}

// The parameter count of the loaded tiny model equals the number of values
// in its file.
func TestNumParams(t *testing.T) {
	u := loadFolder(t)
	f := golden.Open(t, "sd1/model/unet/diffusion_pytorch_model.safetensors")
	var n int64
	for _, k := range f.Names() {
		st, _ := f.Tensor(k)
		n += int64(st.NumElements())
	}
	if u.NumParams() != n || u.WeightBytes() != 4*n {
		t.Errorf("NumParams %d, WeightBytes %d; file has %d values", u.NumParams(), u.WeightBytes(), n)
	}
}

// shapeSource makes layers whose weights have shapes but no values, to
// count a large configuration's parameters without allocating them.
type shapeSource struct{}

func (shapeSource) linear(_ string, in, out int, bias bool) *nn.Linear {
	l := &nn.Linear{W: &tensor.Weight{DType: tensor.F16, Shape: []int{out, in}}}
	if bias {
		l.B = make([]float32, out)
	}
	return l
}

func (shapeSource) conv(_ string, in, out, k, stride, pad int) *nn.Conv2d {
	return &nn.Conv2d{W: &tensor.Weight{DType: tensor.F16, Shape: []int{out, in, k, k}}, B: make([]float32, out), Stride: stride, Pad: pad}
}

func (shapeSource) groupNorm(_ string, groups, ch int, eps float32) *nn.GroupNorm {
	return &nn.GroupNorm{Groups: groups, Gamma: make([]float32, ch), Beta: make([]float32, ch), Eps: eps}
}

func (shapeSource) layerNorm(_ string, dim int, eps float32) *nn.LayerNorm {
	return &nn.LayerNorm{Gamma: make([]float32, dim), Beta: make([]float32, dim), Eps: eps}
}

// SD15Config builds the network of Stable Diffusion 1.5, whose UNet has
// 859,520,964 parameters.
func TestSD15ParamCount(t *testing.T) {
	u := build(shapeSource{}, SD15Config())
	if n := u.NumParams(); n != 859520964 {
		t.Errorf("SD1.5 UNet has %d parameters, want 859520964", n)
	}
}

// TestForwardRecycles checks that the activations a pass recycles
// (tensor.Recycle) change nothing: a UNet that has already run another
// input, so that the recycled storage holds its values, gives the bits of
// a fresh one; and that once the recycled set has settled a pass of the
// same size allocates none afresh. At 32×32 the activations of the first
// levels are large enough to be recycled.
func TestForwardRecycles(t *testing.T) {
	golden.SkipShort(t, "five UNet passes at 32×32 (minutes under qemu)")
	tensor.FreeRecycled()
	defer tensor.FreeRecycled()
	cfg := tinyConfig()
	newUNet := func() *UNet {
		u, err := NewRandom(cfg, tensor.F16, 5)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	xa, ts, ctx := randomInputs(2, 32, 32, 77, 32)
	want := newUNet().Forward(xa, ts, ctx).Data
	if tensor.RecycledBytes() == 0 {
		t.Fatal("a pass recycled none of its activations")
	}
	u := newUNet()
	xb := xa.Clone()
	for i := range xb.Data {
		xb.Data[i] = -2 * xb.Data[i]
	}
	u.Forward(xb, ts, ctx)
	if got := u.Forward(xa, ts, ctx).Data; !slices.Equal(got, want) {
		t.Fatal("a pass on recycled storage differs from a fresh UNet's")
	}
	held := tensor.RecycledBytes()
	if got := u.Forward(xa, ts, ctx).Data; !slices.Equal(got, want) {
		t.Fatal("a pass on recycled storage differs from a fresh UNet's")
	}
	if got := tensor.RecycledBytes(); got != held {
		t.Fatalf("recycled storage went from %d to %d bytes over a pass of the same size: it allocated afresh", held, got)
	}
}
