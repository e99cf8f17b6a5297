package vae

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

func TestConfigFromFolderAndInferred(t *testing.T) {
	want, err := LoadConfig(filepath.Join(golden.Core(t, "sd1/model"), "vae", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(want.BlockOutChannels) != "[8 16 32 32]" || want.Groups != 4 || want.LayersPerBlock != 2 ||
		want.ScalingFactor != 0.18215 || want.LatentChannels != 4 || !want.UseQuantConv || !want.MidAttention {
		t.Fatalf("config.json parsed as %+v", want)
	}
	for _, file := range []string{"sd1/tiny-sd1.safetensors", "sd1/tiny-sd1-fp16.safetensors"} {
		p, err := nn.OpenParams(golden.Core(t, file))
		if err != nil {
			t.Fatal(err)
		}
		names, err := DetectNames(p)
		if err != nil {
			t.Fatal(err)
		}
		if names.Layout != LDM || names.Prefix != "first_stage_model." {
			t.Errorf("%s: detected %v", file, names)
		}
		got, err := InferConfig(p, names, &Options{Groups: tinyGroups})
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("%s: inferred %+v\nconfig.json  %+v", file, got, want)
		}
	}
}

// TestNameMapping checks the diffusers ↔ LDM mapping on the real key sets:
// every LDM key of the single file maps to a key of the diffusers file and
// back, and the two sets have the same size.
func TestNameMapping(t *testing.T) {
	ldm := golden.Open(t, "sd1/tiny-sd1.safetensors")
	dif := golden.Open(t, "sd1/model/vae/diffusion_pytorch_model.safetensors")
	difKeys := map[string]bool{}
	for _, k := range dif.Names() {
		difKeys[k] = true
	}
	n := 0
	for _, k := range ldm.Names() {
		if !strings.HasPrefix(k, "first_stage_model.") {
			continue
		}
		n++
		k = strings.TrimPrefix(k, "first_stage_model.")
		d := LDMToDiffusers(k, 4)
		if !difKeys[d] {
			t.Errorf("LDM %s -> %s: not a diffusers key", k, d)
		}
		if back := DiffusersToLDM(d, 4); back != k {
			t.Errorf("LDM %s -> %s -> %s", k, d, back)
		}
	}
	if n != len(difKeys) {
		t.Errorf("%d LDM VAE keys, %d diffusers keys", n, len(difKeys))
	}
	if got := DiffusersToLDM("decoder.up_blocks.0.upsamplers.0.conv.weight", 4); got != "decoder.up.3.upsample.conv.weight" {
		t.Errorf("up block flip: %s", got)
	}
}

func TestLoadErrors(t *testing.T) {
	dif := golden.Core(t, "sd1/model/vae/diffusion_pytorch_model.safetensors")
	cfg, err := LoadConfig(filepath.Join(filepath.Dir(dif), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.OpenParams(dif)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Wrong shape: claim 64 channels at the last level.
	bad := cfg
	bad.BlockOutChannels = []int{8, 16, 32, 64}
	_, err = New(p, Names{Layout: Diffusers}, bad)
	if err == nil || !strings.Contains(err.Error(), "shape") || !strings.Contains(err.Error(), "encoder.down_blocks.3.resnets.0.conv1.weight") {
		t.Errorf("wrong shape: error %v", err)
	}
	t.Logf("wrong shape: %v", err)
	// Missing key: LDM names against a diffusers file.
	p2, _ := nn.OpenParams(dif)
	defer p2.Close()
	_, err = New(p2, Names{Layout: LDM}, cfg)
	if err == nil || !strings.Contains(err.Error(), "missing tensor") || !strings.Contains(err.Error(), "encoder.down.0.block.0") {
		t.Errorf("missing key: error %v", err)
	}
	t.Logf("missing key: %v", err)
	// A file without a VAE.
	p3, err := nn.OpenParams(golden.Core(t, "sd1/unet.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer p3.Close()
	if _, err := FromCheckpoint(p3, nil); err == nil || !strings.Contains(err.Error(), "no VAE weights") {
		t.Errorf("no VAE: error %v", err)
	}
}

func TestNewRandom(t *testing.T) {
	cfg := Config{InChannels: 3, OutChannels: 3, LatentChannels: 4, BlockOutChannels: []int{8, 16}, LayersPerBlock: 1,
		Groups: 4, Eps: 1e-6, ScalingFactor: 0.18215, UseQuantConv: true, UsePostQuantConv: true, MidAttention: true}
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16} {
		a, err := NewRandom(cfg, dt, 7)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NewRandom(cfg, dt, 7)
		lat := tensor.New(1, 4, 3, 5)
		for i := range lat.Data {
			lat.Data[i] = float32(i%7) * 0.1
		}
		x, y := a.Decode(lat), b.Decode(lat)
		if fmt.Sprint(x.Shape) != "[1 3 6 10]" {
			t.Fatalf("%s: decode shape %v", dt, x.Shape)
		}
		assertTensor(t, dt.String()+" same seed", x, y, 0)
		for _, v := range x.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s: non-finite output", dt)
			}
		}
		m, _ := a.Encode(x)
		if fmt.Sprint(m.Shape) != "[1 4 3 5]" {
			t.Errorf("%s: encode shape %v", dt, m.Shape)
		}
	}
}

func TestHalfConversion(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {6.1035156e-05, 0x0400}, {5.9604645e-08, 0x0001}, {1.0009766, 0x3c01}, {1.00048828125, 0x3c00}, {1.00146484375, 0x3c02}} {
		if got := safetensors.F32ToF16(c.f); got != c.h {
			t.Errorf("safetensors.F32ToF16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
}

// TestDecodeRecycles: a decoder whose recycled activations (tensor.Recycle)
// hold another latent's values gives the bits of a fresh one, and once the
// recycled set has settled a decode of the same size allocates none
// afresh. (A 32×32 latent: activations large enough to be recycled.)
func TestDecodeRecycles(t *testing.T) {
	tensor.FreeRecycled()
	defer tensor.FreeRecycled()
	cfg := Config{InChannels: 3, OutChannels: 3, LatentChannels: 4, BlockOutChannels: []int{8, 16}, LayersPerBlock: 1,
		Groups: 4, Eps: 1e-6, ScalingFactor: 0.18215, UseQuantConv: true, UsePostQuantConv: true, MidAttention: true}
	newVAE := func() *VAE {
		v, err := NewRandom(cfg, tensor.F16, 7)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	latent := func(s float64) *tensor.Tensor {
		l := tensor.New(1, 4, 32, 32)
		for i := range l.Data {
			l.Data[i] = float32(math.Sin(s * float64(i)))
		}
		return l
	}
	want := newVAE().DecodeWhole(latent(0.3)).Data
	if tensor.RecycledBytes() == 0 {
		t.Fatal("a decode recycled none of its activations")
	}
	v := newVAE()
	v.DecodeWhole(latent(1.7))
	if got := v.DecodeWhole(latent(0.3)).Data; !slices.Equal(got, want) {
		t.Fatal("a decode on recycled storage differs from a fresh decoder's")
	}
	held := tensor.RecycledBytes()
	if got := v.DecodeWhole(latent(0.3)).Data; !slices.Equal(got, want) {
		t.Fatal("a decode on recycled storage differs from a fresh decoder's")
	}
	if got := tensor.RecycledBytes(); got != held {
		t.Fatalf("recycled storage went from %d to %d bytes over a decode of the same size: it allocated afresh", held, got)
	}
}
