package safetensors

import (
	"math"
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
