package nn

import (
	"math"
	"testing"

	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// A scaled-fp8 Linear (ComfyUI's X.weight in F8_E4M3 with X.scale_weight)
// computes with float(W)·scale: the same output as an F32 layer holding
// those dequantised values.
func TestScaledFP8Linear(t *testing.T) {
	const in, out = 24, 10
	w := randSlice(1, in*out, 300) // beyond ±448/scale only after scaling
	const scale = 0.0123
	q := make([]float32, len(w))
	deq := make([]float32, len(w))
	for i, v := range w {
		b := safetensors.F32ToF8E4M3(v)
		q[i] = v
		deq[i] = f8ToF32(b) * scale
	}
	bias := randSlice(2, out, 1)
	fp8 := openTensors(t,
		safetensors.NewF8E4M3Tensor("l.weight", []int{out, in}, q),
		safetensors.NewF32Tensor("l.scale_weight", []int{}, []float32{scale}),
		safetensors.NewF32Tensor("l.bias", []int{out}, bias))
	ref := openTensors(t,
		safetensors.NewF32Tensor("l.weight", []int{out, in}, deq),
		safetensors.NewF32Tensor("l.bias", []int{out}, bias))
	lq, lr := LoadLinear(fp8, "l.", in, out, true), LoadLinear(ref, "l.", in, out, true)
	if fp8.Err() != nil || ref.Err() != nil {
		t.Fatal(fp8.Err(), ref.Err())
	}
	if lq.W.DType != tensor.F8E4M3 || lq.W.Scale != scale {
		t.Fatalf("weight dtype %s scale %g, want F8_E4M3 scaled by %g", lq.W.DType, lq.W.Scale, scale)
	}
	if u := fp8.Unused(); len(u) != 0 {
		t.Errorf("unused after loading: %v (scale_weight must count as read)", u)
	}
	for _, rows := range []int{1, 7, 40} { // GEMV and GEMM paths
		x := tensor.FromData(randSlice(3, rows*in, 1), rows, in)
		got, want := lq.Forward(x), lr.Forward(x)
		for i := range want.Data {
			if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > 1e-5*(1+math.Abs(float64(want.Data[i]))) {
				t.Fatalf("rows %d: out[%d] = %g, want %g", rows, i, got.Data[i], want.Data[i])
			}
		}
	}
	// An F32 weight with a scale is multiplied out.
	f32 := openTensors(t,
		safetensors.NewF32Tensor("l.weight", []int{out, in}, q),
		safetensors.NewF32Tensor("l.scale_weight", []int{1}, []float32{2}))
	if l := LoadLinear(f32, "l.", in, out, false); l == nil || l.W.Float32()[5] != 2*q[5] {
		t.Errorf("F32 weight with scale_weight 2: not multiplied out (%v)", f32.Err())
	}
	// A scale that is not one value is an error naming the tensor.
	bad := openTensors(t,
		safetensors.NewF8E4M3Tensor("l.weight", []int{out, in}, q),
		safetensors.NewF32Tensor("l.scale_weight", []int{2}, []float32{1, 2}))
	if LoadLinear(bad, "l.", in, out, false); bad.Err() == nil {
		t.Error("scale_weight of 2 values: no error")
	}
}

func f8ToF32(b uint8) float32 {
	w, _ := tensor.NewWeight(tensor.F8E4M3, []int{1}, []byte{b})
	return w.Float32()[0]
}

// openTensors writes tensors to a temporary file and opens Params over it.
func openTensors(t *testing.T, ts ...safetensors.Tensor) *Params {
	t.Helper()
	path := t.TempDir() + "/w.safetensors"
	if err := safetensors.WriteFile(path, ts, nil); err != nil {
		t.Fatal(err)
	}
	p, err := OpenParams(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}
