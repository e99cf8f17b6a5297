package tensor

import (
	"slices"
	"testing"
)

func asF64(d []float32) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

// at returns the flat index of idx in shape.
func at(shape []int, idx ...int) int {
	f := 0
	for i, d := range shape {
		f = f*d + idx[i]
	}
	return f
}

func TestPad2dUpsample(t *testing.T) {
	x := randTensor(31, 1, 0, 2, 3, 4, 5)
	p := Pad2d(x, 1, 2, 0, 3)
	if !slices.Equal(p.Shape, []int{2, 3, 7, 8}) {
		t.Fatalf("Pad2d shape %v", p.Shape)
	}
	u := UpsampleNearest2x(x)
	if !slices.Equal(u.Shape, []int{2, 3, 8, 10}) {
		t.Fatalf("Upsample shape %v", u.Shape)
	}
	for n := range 2 {
		for c := range 3 {
			for y := range 7 {
				for xx := range 8 {
					want := float32(0)
					if y-1 >= 0 && y-1 < 4 && xx < 5 {
						want = x.Data[at(x.Shape, n, c, y-1, xx)]
					}
					if got := p.Data[at(p.Shape, n, c, y, xx)]; got != want {
						t.Fatalf("Pad2d[%d,%d,%d,%d] = %g, want %g", n, c, y, xx, got, want)
					}
				}
			}
			for y := range 8 {
				for xx := range 10 {
					if got, want := u.Data[at(u.Shape, n, c, y, xx)], x.Data[at(x.Shape, n, c, y/2, xx/2)]; got != want {
						t.Fatalf("Upsample[%d,%d,%d,%d] = %g, want %g", n, c, y, xx, got, want)
					}
				}
			}
		}
	}
}

func TestConcatSplit(t *testing.T) {
	a := randTensor(41, 1, 0, 2, 3, 4)
	b := randTensor(42, 1, 0, 2, 5, 4)
	c := Concat(1, a, b)
	if !slices.Equal(c.Shape, []int{2, 8, 4}) {
		t.Fatalf("Concat shape %v", c.Shape)
	}
	for n := range 2 {
		for i := range 8 {
			for j := range 4 {
				want := float32(0)
				if i < 3 {
					want = a.Data[at(a.Shape, n, i, j)]
				} else {
					want = b.Data[at(b.Shape, n, i-3, j)]
				}
				if got := c.Data[at(c.Shape, n, i, j)]; got != want {
					t.Fatalf("Concat[%d,%d,%d] = %g, want %g", n, i, j, got, want)
				}
			}
		}
	}
	parts := Split(c, -2, 3, 5)
	if !slices.Equal(parts[0].Data, a.Data) || !slices.Equal(parts[1].Data, b.Data) || !slices.Equal(parts[1].Shape, b.Shape) {
		t.Fatal("Split does not invert Concat")
	}
	// Last and first axes.
	l := Concat(-1, a, a)
	back := Split(l, 2, 4, 4)
	if !slices.Equal(back[0].Data, a.Data) || !slices.Equal(back[1].Data, a.Data) {
		t.Fatal("Concat/Split on the last axis")
	}
	f := Concat(0, a, a, a)
	if f.Shape[0] != 6 || !slices.Equal(f.Data[2*a.Len():], a.Data) {
		t.Fatal("Concat on axis 0")
	}
}

func TestPermute(t *testing.T) {
	x := randTensor(51, 1, 0, 2, 3, 4, 5)
	for _, perm := range [][]int{{0, 1, 2, 3}, {0, 2, 1, 3}, {3, 2, 1, 0}, {0, 2, 3, 1}, {1, 0, 3, 2}} {
		y := Permute(x, perm...)
		idx := make([]int, 4)
		src := make([]int, 4)
		for i := range y.Len() {
			r := i
			for a := 3; a >= 0; a-- {
				idx[a] = r % y.Shape[a]
				r /= y.Shape[a]
			}
			for a, p := range perm {
				src[p] = idx[a]
			}
			if y.Data[i] != x.Data[at(x.Shape, src...)] {
				t.Fatalf("Permute %v wrong at %v", perm, idx)
			}
		}
	}
}

func TestNCHWToNLC(t *testing.T) {
	x := randTensor(61, 1, 0, 2, 37, 5, 9)
	s := NCHWToNLC(x)
	if !slices.Equal(s.Shape, []int{2, 45, 37}) {
		t.Fatalf("shape %v", s.Shape)
	}
	p := Permute(x, 0, 2, 3, 1)
	if !slices.Equal(s.Data, p.Data) {
		t.Fatal("NCHWToNLC differs from permute(0,2,3,1)")
	}
	back := NLCToNCHW(s, 5, 9)
	if !slices.Equal(back.Shape, x.Shape) || !slices.Equal(back.Data, x.Data) {
		t.Fatal("NLCToNCHW does not invert NCHWToNLC")
	}
}
