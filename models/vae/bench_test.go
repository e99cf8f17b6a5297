package vae

import (
	"os"
	"runtime/pprof"
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// BenchmarkDecodeSD1 decodes a 32×32 latent (a 256×256 image) with the real
// SD1 VAE shapes and random fp16 weights.
func BenchmarkDecodeSD1(b *testing.B) {
	v, err := NewRandom(SD1Config(), tensor.F16, 1)
	if err != nil {
		b.Fatal(err)
	}
	lat := tensor.New(1, 4, 32, 32)
	for i := range lat.Data {
		lat.Data[i] = float32(i%13) * 0.05
	}
	b.ResetTimer()
	for range b.N {
		v.Decode(lat)
	}
}

// BenchmarkDecodeSD1At512 decodes a 64×64 latent (a 512×512 image), the
// size of the gen benchmark. VAE_PROFILE=file writes a CPU profile of the
// decodes only.
func BenchmarkDecodeSD1At512(b *testing.B) {
	v, err := NewRandom(SD1Config(), tensor.F16, 1)
	if err != nil {
		b.Fatal(err)
	}
	lat := tensor.New(1, 4, 64, 64)
	for i := range lat.Data {
		lat.Data[i] = float32(i%13) * 0.05
	}
	if path := os.Getenv("VAE_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	for range b.N {
		v.Decode(lat)
	}
}
