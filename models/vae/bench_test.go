package vae

import (
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
