package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randTensor returns a tensor of the given shape with values uniform in
// [−scale, scale) + offset from a fixed seed.
func randTensor(seed uint64, scale, offset float32, shape ...int) *Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = (r.Float32()*2-1)*scale + offset
	}
	return t
}

func randSlice(seed uint64, n int) []float32 {
	return randTensor(seed, 1, 0, n).Data
}

// assertClose fails unless |got−want| ≤ atol + rtol·|want| everywhere.
func assertClose(t *testing.T, what string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		if math.IsNaN(d) || d > atol+rtol*math.Abs(want[i]) {
			t.Fatalf("%s: at %d got %g want %g (|diff| %.3g > atol %g + rtol %g)", what, i, got[i], want[i], d, atol, rtol)
		}
		if d > worst {
			worst, at = d, i
		}
	}
	t.Logf("%s: max |diff| %.3g at %d", what, worst, at)
}

func TestElementwise(t *testing.T) {
	for _, n := range []int{1, 7, 100003} {
		a, b := randTensor(1, 3, 0, n), randTensor(2, 3, 0, n)
		want := make([]float64, n)
		for i := range want {
			want[i] = float64(a.Data[i]) + float64(b.Data[i])
		}
		assertClose(t, "Add", Add(a, b).Data, want, 0, 1e-7)
		c := a.Clone()
		AddInPlace(c, b)
		assertClose(t, "AddInPlace", c.Data, want, 0, 1e-7)
		ScaleInPlace(c, -0.5)
		for i := range want {
			want[i] *= -0.5
		}
		assertClose(t, "ScaleInPlace", c.Data, want, 0, 1e-7)
		c = a.Clone()
		MulInPlace(c, b)
		for i := range want {
			want[i] = float64(a.Data[i]) * float64(b.Data[i])
		}
		assertClose(t, "MulInPlace", c.Data, want, 0, 1e-7)
	}
}

func TestBias(t *testing.T) {
	x := randTensor(3, 1, 0, 2, 5, 3, 7)
	bias := randSlice(4, 5)
	want := make([]float64, x.Len())
	for i := range want {
		want[i] = float64(x.Data[i]) + float64(bias[(i/21)%5])
	}
	y := x.Clone()
	AddChannelBiasInPlace(y, bias)
	assertClose(t, "AddChannelBiasInPlace", y.Data, want, 0, 1e-7)

	rb := randSlice(5, 7)
	for i := range want {
		want[i] = float64(x.Data[i]) + float64(rb[i%7])
	}
	y = x.Clone()
	AddRowBiasInPlace(y, rb)
	assertClose(t, "AddRowBiasInPlace", y.Data, want, 0, 1e-7)
}

func TestSoftmax(t *testing.T) {
	for _, dim := range []int{1, 5, 77, 1000} {
		x := randTensor(6, 30, 50, 3, 2, dim) // large offset: max subtraction matters
		want := make([]float64, x.Len())
		for r := 0; r < x.Len()/dim; r++ {
			row := x.Data[r*dim : (r+1)*dim]
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, float64(v))
			}
			var s float64
			for _, v := range row {
				s += math.Exp(float64(v) - m)
			}
			for j, v := range row {
				want[r*dim+j] = math.Exp(float64(v)-m) / s
			}
		}
		SoftmaxInPlace(x)
		assertClose(t, "Softmax", x.Data, want, 1e-7, 1e-5)
	}
	// A fully masked row becomes zeros, a partly masked one ignores −Inf.
	x := FromData([]float32{float32(math.Inf(-1)), float32(math.Inf(-1)), 0, float32(math.Inf(-1))}, 2, 2)
	SoftmaxInPlace(x)
	assertClose(t, "Softmax masked", x.Data, []float64{0, 0, 1, 0}, 0, 0)
}
