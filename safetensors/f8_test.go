package safetensors

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/godiffusion/godiffusion/asm"
)

// Every finite E4M3 value encodes to its own code; midpoints round to the
// even neighbour; values past 448 saturate.
func TestF32ToF8E4M3(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := uint8(c)
		if b&0x7F == 0x7F { // NaN
			continue
		}
		v := asm.E4M3ToFloat(b)
		if got := F32ToF8E4M3(v); got != b && !(v == 0 && got&0x7F == 0) {
			t.Errorf("code %#02x (%g) encodes to %#02x", b, v, got)
		}
	}
	// 1 = 0x38, next value 1.125 = 0x39: 1.0625 is the midpoint → even 0x38;
	// 1.1875 (between 0x39 and 1.25 = 0x3A) → 0x3A.
	cases := []struct {
		f    float32
		want uint8
	}{{1.0625, 0x38}, {1.07, 0x39}, {1.1875, 0x3A}, {-1.0625, 0xB8}, {1000, 0x7E}, {-1e9, 0xFE}, {1e-9, 0}}
	for _, c := range cases {
		if got := F32ToF8E4M3(c.f); got != c.want {
			t.Errorf("F32ToF8E4M3(%g) = %#02x, want %#02x", c.f, got, c.want)
		}
	}
	if got := F32ToF8E4M3(float32(math.NaN())); got&0x7F != 0x7F {
		t.Errorf("NaN encodes to %#02x", got)
	}
}

// f8Nearest is the definition F32ToF8E4M3 implements: the nearest of the
// 127 non-negative finite codes, ties to the even one, sign kept.
func f8Nearest(f float32) uint8 {
	var sign uint8
	if math.Signbit(float64(f)) {
		sign, f = 0x80, -f
	}
	best, bestDiff := uint8(0), float32(math.Inf(1))
	for c := uint8(0); c <= 0x7E; c++ {
		d := asm.E4M3ToFloat(c) - f
		if d < 0 {
			d = -d
		}
		if d < bestDiff || (d == bestDiff && c&1 == 0) {
			best, bestDiff = c, d
		}
	}
	return sign | best
}

// The bit-level rounding agrees with the exhaustive search on random
// values over the whole range, every midpoint and their neighbours.
func TestF32ToF8E4M3Search(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(f float32) {
		if f > 448 || f < -448 {
			return // saturation is tested above
		}
		if got, want := F32ToF8E4M3(f), f8Nearest(f); got != want {
			t.Fatalf("F32ToF8E4M3(%g) = %#02x, want %#02x", f, got, want)
		}
	}
	for range 200000 {
		check(float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(24)-14))))
	}
	for c := uint8(0); c < 0x7e; c++ {
		mid := (asm.E4M3ToFloat(c) + asm.E4M3ToFloat(c+1)) / 2
		for _, f := range []float32{mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1000)} {
			check(f)
			check(-f)
		}
	}
}
