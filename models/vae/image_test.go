package vae

import (
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
)

// TestImageConversion checks ToUint8 against the fixtures' image_uint8
// (±1 at rounding boundaries) and FromUint8 against the encoder inputs.
func TestImageConversion(t *testing.T) {
	f := golden.Open(t, "sd1/vae.safetensors")
	for _, c := range []string{"dec_8x8", "dec_4x6"} {
		img := fixture(t, f, c+".image")
		got, err := ToUint8(img)
		if err != nil {
			t.Fatal(err)
		}
		want, err := f.Tensor(c + ".image_uint8")
		if err != nil {
			t.Fatal(err)
		}
		diff, worst := 0, 0
		for i := range got {
			d := int(got[i]) - int(want.Data[i])
			if d != 0 {
				diff++
				worst = max(worst, d, -d)
			}
		}
		if worst > 1 {
			t.Errorf("%s: uint8 differs by up to %d (%d values)", c, worst, diff)
		}
		t.Logf("%s: %d of %d bytes differ by 1", c, diff, len(got))
		nrgba, err := ToImage(img, 0)
		if err != nil {
			t.Fatal(err)
		}
		h, w := img.Shape[2], img.Shape[3]
		for p := 0; p < h*w; p++ {
			for ch := 0; ch < 3; ch++ {
				if nrgba.Pix[4*p+ch] != got[3*p+ch] {
					t.Fatalf("%s: ToImage and ToUint8 disagree at pixel %d", c, p)
				}
			}
		}
	}
	for _, c := range []string{"enc_64x64", "enc_32x48_taps"} {
		u8, err := f.Tensor(c + ".image_uint8")
		if err != nil {
			t.Fatal(err)
		}
		s := u8.Shape
		x, err := FromUint8(u8.Data, s[0], s[1], s[2], s[3])
		if err != nil {
			t.Fatal(err)
		}
		assertTensor(t, c+" FromUint8", x, fixture(t, f, c+".image"), 0)
		nrgba, _ := ToImage(x, 0)
		assertTensor(t, c+" FromImage(ToImage)", FromImage(nrgba), x, 0)
	}
}
