package fluxnet

import (
	"math"
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// TestNumParams checks the count from the shapes against the tiny files'
// element counts, and the released Flux.1-dev count (11 901 408 320).
func TestNumParams(t *testing.T) {
	for _, kind := range []string{"dev", "schnell"} {
		var n int64
		for _, x := range readAll(t, tinyPath(t, kind)) {
			n += int64(len(x.data))
		}
		m := loadTiny(t, tinyPath(t, kind))
		if got := m.Config.NumParams(); got != n {
			t.Errorf("%s: NumParams %d, the file holds %d", kind, got, n)
		}
	}
	if got := DevConfig().NumParams(); got != 11901408320 {
		t.Errorf("Flux.1-dev NumParams %d, want 11901408320", got)
	}
}

// TestFLOPs checks that the count is attention plus two FLOPs per weight
// per token: at 1024 image and 512 text tokens the linear layers of the
// blocks dominate, so FLOPs − attention ≈ 2·T·(block weights), where a
// double block counts one stream's weights (each token passes through the
// stream of its kind).
func TestFLOPs(t *testing.T) {
	c := DevConfig()
	img, txt := 1024, 512
	tt, h := float64(img+txt), float64(c.HiddenSize)
	f := c.FLOPs(img, txt)
	attn := float64(c.Depth+c.DepthSingleBlocks) * 4 * tt * tt * h
	mlp := float64(c.MLPHidden())
	blockWeights := float64(c.Depth)*(4*h*h+2*h*mlp) + float64(c.DepthSingleBlocks)*(h*(3*h+mlp)+(h+mlp)*h)
	if r := (f - attn) / (2 * tt * blockWeights); math.Abs(r-1) > 0.01 {
		t.Errorf("FLOPs %.4g, attention %.4g, linear part %.4g of the expected", f, attn, r)
	}
	t.Logf("Flux.1-dev, 1024 image + 512 text tokens: %.1f GFLOP per forward", f/1e9)
}

// TestNewRandom builds a small random model in every dtype, checks that
// blocks share their weights and that the forward pass runs, is finite and
// is reproducible.
func TestNewRandom(t *testing.T) {
	cfg := DevConfig()
	cfg.HiddenSize, cfg.NumHeads, cfg.AxesDim, cfg.ContextInDim, cfg.VecInDim = 64, 2, []int{4, 14, 14}, 48, 32
	cfg.Depth, cfg.DepthSingleBlocks = 2, 3
	var first []float32
	for _, dt := range []tensor.DType{tensor.F32, tensor.BF16, tensor.F8E4M3, tensor.F32} {
		m, err := NewRandom(cfg, dt, 7)
		if err != nil {
			t.Fatal(err)
		}
		if m.double[0].img.qkv != m.double[1].img.qkv || m.single[0].linear1 != m.single[2].linear1 {
			t.Fatal("blocks do not share weights")
		}
		latent := tensor.New(1, 16, 4, 6)
		for i := range latent.Data {
			latent.Data[i] = float32(math.Sin(float64(i)))
		}
		txt, y := tensor.New(1, 5, 48), tensor.New(1, 32)
		for i := range txt.Data {
			txt.Data[i] = float32(math.Cos(float64(i)))
		}
		v, err := m.Velocity(latent, 0.7, txt, y, 3.5)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range v.Data {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) || x == 0 {
				t.Fatalf("%s: velocity value %g", dt, x)
			}
		}
		if dt == tensor.F32 {
			if first == nil {
				first = v.Data
			} else {
				for i := range first {
					if first[i] != v.Data[i] {
						t.Fatal("same seed, different outputs")
					}
				}
			}
		}
	}
	if _, err := NewRandom(cfg, tensor.F8E5M2, 1); err == nil {
		t.Error("f8_e5m2 accepted")
	}
}
