package tensor

import "fmt"

// elementwiseGrain is the number of elements below which an elementwise
// operation is not worth splitting across workers.
const elementwiseGrain = 1 << 15

func mustSameShape(op string, a, b *Tensor) {
	if !SameShape(a, b) {
		panic(fmt.Sprintf("tensor.%s: shapes %s and %s differ", op, ShapeString(a.Shape), ShapeString(b.Shape)))
	}
}

// Add returns a + b elementwise; a and b must have the same shape.
func Add(a, b *Tensor) *Tensor {
	mustSameShape("Add", a, b)
	out := emptyLike(a)
	ad, bd, od := a.Data, b.Data, out.Data
	Parallel(len(od), elementwiseGrain, func(lo, hi int) {
		x, y, o := ad[lo:hi], bd[lo:hi], od[lo:hi]
		for i := range o {
			o[i] = x[i] + y[i]
		}
	})
	return out
}

// AddInPlace computes dst += src elementwise; both must have the same shape.
func AddInPlace(dst, src *Tensor) {
	mustSameShape("AddInPlace", dst, src)
	dd, sd := dst.Data, src.Data
	Parallel(len(dd), elementwiseGrain, func(lo, hi int) {
		d, s := dd[lo:hi], sd[lo:hi]
		for i := range d {
			d[i] += s[i]
		}
	})
}

// ScaleInPlace computes t *= s elementwise.
func ScaleInPlace(t *Tensor, s float32) {
	td := t.Data
	Parallel(len(td), elementwiseGrain, func(lo, hi int) {
		d := td[lo:hi]
		for i := range d {
			d[i] *= s
		}
	})
}

// AddChannelBiasInPlace adds bias[c] to every element of channel c of
// x [N, C, ...] (the trailing axes, if any, are the spatial extent):
//
//	x[n, c, ...] += bias[c]
func AddChannelBiasInPlace(x *Tensor, bias []float32) {
	if len(x.Shape) < 2 || x.Shape[1] != len(bias) {
		panic(fmt.Sprintf("tensor.AddChannelBiasInPlace: x %s needs %d-channel axis 1, bias has %d", ShapeString(x.Shape), len(bias), len(bias)))
	}
	c := x.Shape[1]
	plane := len(x.Data) / (x.Shape[0] * c)
	xd := x.Data
	Parallel(x.Shape[0]*c, max(1, elementwiseGrain/max(plane, 1)), func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			b := bias[nc%c]
			row := xd[nc*plane : (nc+1)*plane]
			for i := range row {
				row[i] += b
			}
		}
	})
}

// addRowBias adds bias to every row of the [rows, len(bias)] matrix d.
func addRowBias(d []float32, bias []float32) {
	n := len(bias)
	rows := len(d) / n
	Parallel(rows, max(1, elementwiseGrain/max(n, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := d[r*n:][:len(bias)]
			for i, b := range bias {
				row[i] += b
			}
		}
	})
}

// AddRowBiasInPlace adds bias to the last axis of x (x[..., j] += bias[j]),
// the bias of a Linear layer over [..., out].
func AddRowBiasInPlace(x *Tensor, bias []float32) {
	if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != len(bias) {
		panic(fmt.Sprintf("tensor.AddRowBiasInPlace: x %s last axis is not %d", ShapeString(x.Shape), len(bias)))
	}
	if len(bias) == 0 {
		return
	}
	addRowBias(x.Data, bias)
}

// MulInPlace computes dst *= src elementwise; both must have the same shape.
func MulInPlace(dst, src *Tensor) {
	mustSameShape("MulInPlace", dst, src)
	dd, sd := dst.Data, src.Data
	Parallel(len(dd), elementwiseGrain, func(lo, hi int) {
		d, s := dd[lo:hi], sd[lo:hi]
		for i := range d {
			d[i] *= s[i]
		}
	})
}
