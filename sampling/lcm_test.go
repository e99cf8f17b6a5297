package sampling

import (
	"testing"

	"github.com/godiffusion/godiffusion/tensor"
)

// TestLCMStep checks the consistency-model step against its definition:
// the model sees x_0 first, then x_{i+1} = denoised_i + σ_{i+1}·z_i with z_i
// the i-th draw of the ancestral noise stream, and the result is the last
// denoised exactly (no noise is added on the step to σ = 0).
func TestLCMStep(t *testing.T) {
	sigmas := KarrasSigmasFor(SD1Schedule(), 4)
	x0 := PrepareNoise(5, 1, 2, 3, 3)
	var seen, predicted []*tensor.Tensor
	model := DenoiserFunc(func(x *tensor.Tensor, sigma float64) (*tensor.Tensor, error) {
		seen = append(seen, x.Clone())
		d := tensor.New(x.Shape...)
		for i, v := range x.Data {
			d.Data[i] = 0.5*v + float32(sigma)
		}
		predicted = append(predicted, d)
		return d, nil
	})
	out, err := SampleLCM(model, x0, sigmas, &Options{Noise: TorchNoiseSampler(9)})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(sigmas)-1 {
		t.Fatalf("%d model calls, want %d", len(seen), len(sigmas)-1)
	}
	for i, v := range seen[0].Data {
		if v != x0.Data[i] {
			t.Fatalf("first call saw x[%d] = %v, want x0 %v", i, v, x0.Data[i])
		}
	}
	noise := TorchNoiseSampler(9)
	for i := 0; i+1 < len(seen); i++ {
		z := noise(x0, sigmas[i], sigmas[i+1])
		for j, v := range seen[i+1].Data {
			want := float32(z.Data[j]*float32(sigmas[i+1])) + predicted[i].Data[j]
			if v != want {
				t.Fatalf("call %d saw x[%d] = %v, want denoised + σ·z = %v", i+1, j, v, want)
			}
		}
	}
	last := predicted[len(predicted)-1]
	for i, v := range out.Data {
		if v != last.Data[i] {
			t.Fatalf("result[%d] = %v, want the last denoised %v", i, v, last.Data[i])
		}
	}
}
