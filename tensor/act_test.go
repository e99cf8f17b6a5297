package tensor

import (
	"math"
	"testing"
)

func TestExpf32(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 88.7; x += 0.001237 {
		got := float64(expf32(float32(x)))
		want := math.Exp(float64(float32(x)))
		rel := math.Abs(got-want) / want
		if rel > 3e-7 {
			t.Fatalf("expf32(%g) = %g, want %g (rel err %.3g)", x, got, want, rel)
		}
		worst = math.Max(worst, rel)
	}
	t.Logf("expf32 max relative error %.3g", worst)
	if expf32(-100) != 0 || !math.IsInf(float64(expf32(100)), 1) || !math.IsNaN(float64(expf32(float32(math.NaN())))) {
		t.Error("expf32 limits wrong")
	}
	if v := expf32(float32(math.Inf(-1))); v != 0 {
		t.Errorf("expf32(-Inf) = %g", v)
	}
}

func TestActivations(t *testing.T) {
	x := randTensor(9, 12, 0, 3, 1001)
	x.Data[0], x.Data[1], x.Data[2] = 0, -100, 100
	cases := []struct {
		name string
		fn   func(*Tensor)
		ref  func(float64) float64
	}{
		{"SiLU", SiLUInPlace, func(v float64) float64 { return v / (1 + math.Exp(-v)) }},
		{"GELU", GELUInPlace, func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }},
		{"GELUTanh", GELUTanhInPlace, func(v float64) float64 {
			return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
		}},
		{"QuickGELU", QuickGELUInPlace, func(v float64) float64 { return v / (1 + math.Exp(-1.702*v)) }},
	}
	for _, c := range cases {
		y := x.Clone()
		c.fn(y)
		want := make([]float64, x.Len())
		for i, v := range x.Data {
			want[i] = c.ref(float64(v))
		}
		assertClose(t, c.name, y.Data, want, 1e-6, 1e-6)
	}
}

var sinkF32 float32

func BenchmarkExpf32(b *testing.B) {
	x := randTensor(1, 20, -20, 4096).Data
	b.SetBytes(4 * 4096)
	for range b.N {
		var s float32
		for _, v := range x {
			s += expf32(v)
		}
		sinkF32 = s
	}
}

func TestExpSubInPlace(t *testing.T) {
	x := randTensor(5, 50, -40, 10000).Data
	x[0], x[1] = float32(math.Inf(-1)), -1000
	want := make([]float64, len(x))
	var sum float64
	for i, v := range x {
		want[i] = math.Exp(float64(v - 3)) // the argument is rounded to float32 first
		if want[i] < 0x1p-126 {
			want[i] = 0
		}
		sum += want[i]
	}
	got := append([]float32(nil), x...)
	s := expSubInPlace(got, 3)
	assertClose(t, "expSubInPlace", got, want, 0, 3e-7)
	if math.Abs(float64(s)-sum) > 1e-5*sum {
		t.Errorf("sum %g, want %g", s, sum)
	}
}

func TestErf32(t *testing.T) {
	worst := 0.0
	for x := -9.0; x <= 9; x += 1e-4 {
		xf := float32(x)
		d := math.Abs(float64(erf32(xf)) - math.Erf(float64(xf)))
		if d > 5e-7 {
			t.Fatalf("erf32(%g) = %g, want %g", xf, erf32(xf), math.Erf(float64(xf)))
		}
		worst = math.Max(worst, d)
	}
	t.Logf("erf32 max abs error %.3g", worst)
}

func TestGEGLU(t *testing.T) {
	x := randTensor(15, 5, 0, 2, 3, 14)
	got := GEGLU(x)
	if got.Shape[2] != 7 {
		t.Fatalf("shape %v", got.Shape)
	}
	want := make([]float64, got.Len())
	for r := range 6 {
		for i := range 7 {
			v, g := float64(x.Data[r*14+i]), float64(x.Data[r*14+7+i])
			want[r*7+i] = v * 0.5 * g * (1 + math.Erf(g/math.Sqrt2))
		}
	}
	assertClose(t, "GEGLU", got.Data, want, 2e-6, 2e-6)
}

// benchAct times f on a fresh copy of a [2, 320, 64, 64] feature map each
// iteration (repeated in-place SiLU would drift into subnormals).
func benchAct(b *testing.B, f func(*Tensor)) {
	src := randTensor(1, 4, 0, 2, 320, 64, 64)
	x := src.Clone()
	b.SetBytes(int64(4 * x.Len()))
	for range b.N {
		copy(x.Data, src.Data)
		f(x)
	}
}

// BenchmarkSiLU and friends time the activations on the UNet's largest
// feature map, [2, 320, 64, 64].
func BenchmarkSiLU(b *testing.B) { benchAct(b, SiLUInPlace) }
func BenchmarkGELU(b *testing.B) { benchAct(b, GELUInPlace) }
func BenchmarkAddBias(b *testing.B) {
	bias := randSlice(2, 320)
	benchAct(b, func(x *Tensor) { AddChannelBiasInPlace(x, bias) })
}
func BenchmarkGroupNorm(b *testing.B) {
	gamma, beta := randSlice(2, 320), randSlice(3, 320)
	benchAct(b, func(x *Tensor) { GroupNorm(x, 32, gamma, beta, 1e-5) })
}
func BenchmarkLayerNorm(b *testing.B) {
	gamma, beta := randSlice(2, 320), randSlice(3, 320)
	benchAct(b, func(x *Tensor) { LayerNorm(x.Reshape(2, 4096, 320), gamma, beta, 1e-5) })
}

// BenchmarkGroupNormInto and BenchmarkLayerNormInto time the norms alone
// on the same feature map, into a reused output (no allocation, no copy).
func BenchmarkGroupNormInto(b *testing.B) {
	x := randTensor(1, 4, 0, 2, 320, 64, 64)
	out := New(x.Shape...)
	gamma, beta := randSlice(2, 320), randSlice(3, 320)
	b.SetBytes(int64(4 * x.Len()))
	for b.Loop() {
		groupNorm(out, x, 32, gamma, beta, 1e-5, false)
	}
}
func BenchmarkLayerNormInto(b *testing.B) {
	x := randTensor(1, 4, 0, 2, 4096, 320)
	out := New(x.Shape...)
	gamma, beta := randSlice(2, 320), randSlice(3, 320)
	b.SetBytes(int64(4 * x.Len()))
	for b.Loop() {
		LayerNormInto(out, x, gamma, beta, 1e-5)
	}
}
func BenchmarkNCHWToNLC(b *testing.B) { benchAct(b, func(x *Tensor) { NCHWToNLC(x) }) }

func TestExp2SubColsInPlace(t *testing.T) {
	const n = 4096
	row := randTensor(19, 5000, -4000, n).Data // scores in units of ln2/64
	row[0], row[1] = float32(math.Inf(-1)), -9000
	m := randTensor(20, 10, 0, n).Data
	sum := make([]float32, n)
	want := make([]float64, n)
	for j := range row {
		t := float64(row[j] - m[j]) // the difference is rounded to float32 first
		if want[j] = math.Exp2(t / 64); want[j] < 0x1p-126 {
			want[j] = 0
		}
	}
	got := append([]float32(nil), row...)
	if !exp2SubColsInPlace(got, m, sum, float32(math.Inf(1))) {
		t.Fatal("exp2SubColsInPlace gave up without a bound")
	}
	assertClose(t, "exp2SubColsInPlace", got, want, 0, 3e-7)
	for j := range sum {
		if sum[j] != got[j] {
			t.Fatalf("sum[%d] = %g, want %g", j, sum[j], got[j])
		}
	}
	// With a bound it stops at the first difference above it.
	again := append([]float32(nil), row...)
	again[100] = m[100] + 2000
	if exp2SubColsInPlace(again, m, make([]float32, n), 1000) {
		t.Fatal("bound 1000 not enforced")
	}
	if again[101] != row[101] || again[99] != got[99] {
		t.Fatal("row not left as it was after the bound was hit")
	}
}
