package vae

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/godiffusion/godiffusion/tensor"
)

// toByte maps a decoder output value in [−1, 1] to 0..255 as diffusers'
// VaeImageProcessor.postprocess does (and the reference fixtures' *_uint8):
//
//	u8 = round(clamp(x/2 + ½, 0, 1) · 255)     (float32 arithmetic, round half to even)
func toByte(x float32) uint8 {
	v := x/2 + 0.5
	v = min(max(v, 0), 1)
	return uint8(math.RoundToEven(float64(v * 255)))
}

// fromByte is the inverse mapping used to encode an image: 2·(u8/255) − 1.
func fromByte(u uint8) float32 { return 2*(float32(u)/255) - 1 }

// ToUint8 converts an image tensor [B, C, H, W] with values in [−1, 1] to
// bytes in NHWC order ([B, H, W, C], as image files store pixels).
func ToUint8(t *tensor.Tensor) ([]uint8, error) {
	if len(t.Shape) != 4 {
		return nil, fmt.Errorf("vae.ToUint8: image tensor has shape %s, expected [B, C, H, W]", tensor.ShapeString(t.Shape))
	}
	b, c, h, w := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	out := make([]uint8, b*h*w*c)
	for n := 0; n < b; n++ {
		for ch := 0; ch < c; ch++ {
			src := t.Data[(n*c+ch)*h*w : (n*c+ch+1)*h*w]
			for p, x := range src {
				out[(n*h*w+p)*c+ch] = toByte(x)
			}
		}
	}
	return out, nil
}

// ToImage converts image idx of a [B, 3, H, W] tensor (values in [−1, 1])
// into an opaque NRGBA image, with ToUint8's rounding.
func ToImage(t *tensor.Tensor, idx int) (*image.NRGBA, error) {
	if len(t.Shape) != 4 || t.Shape[1] != 3 {
		return nil, fmt.Errorf("vae.ToImage: image tensor has shape %s, expected [B, 3, H, W]", tensor.ShapeString(t.Shape))
	}
	if idx < 0 || idx >= t.Shape[0] {
		return nil, fmt.Errorf("vae.ToImage: index %d out of range for batch %d", idx, t.Shape[0])
	}
	h, w := t.Shape[2], t.Shape[3]
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	plane := func(ch int) []float32 { return t.Data[(idx*3+ch)*h*w : (idx*3+ch+1)*h*w] }
	r, g, b := plane(0), plane(1), plane(2)
	for p := 0; p < h*w; p++ {
		o := 4 * p
		img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = toByte(r[p]), toByte(g[p]), toByte(b[p]), 255
	}
	return img, nil
}

// FromImage converts an image to a [1, 3, H, W] tensor with values
// 2·(u8/255) − 1 (the encoder's input range); alpha is ignored (colours are
// taken un-premultiplied, i.e. as stored in an NRGBA image).
func FromImage(img image.Image) *tensor.Tensor {
	bnd := img.Bounds()
	h, w := bnd.Dy(), bnd.Dx()
	t := tensor.New(1, 3, h, w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBAModel.Convert(img.At(bnd.Min.X+x, bnd.Min.Y+y)).(color.NRGBA)
			p := y*w + x
			t.Data[p] = fromByte(c.R)
			t.Data[h*w+p] = fromByte(c.G)
			t.Data[2*h*w+p] = fromByte(c.B)
		}
	}
	return t
}

// FromUint8 converts NHWC bytes [b, h, w, c] to a [b, c, h, w] tensor with
// values 2·(u8/255) − 1.
func FromUint8(data []uint8, b, h, w, c int) (*tensor.Tensor, error) {
	if len(data) != b*h*w*c {
		return nil, fmt.Errorf("vae.FromUint8: %d bytes for shape [%d, %d, %d, %d]", len(data), b, h, w, c)
	}
	t := tensor.New(b, c, h, w)
	for n := 0; n < b; n++ {
		for p := 0; p < h*w; p++ {
			for ch := 0; ch < c; ch++ {
				t.Data[(n*c+ch)*h*w+p] = fromByte(data[(n*h*w+p)*c+ch])
			}
		}
	}
	return t, nil
}
