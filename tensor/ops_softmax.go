package tensor

import "math"

// SoftmaxInPlace replaces each row of x (its last axis) by its softmax,
// computed max-subtracted so large logits cannot overflow:
//
//	y_j = e^(x_j − m) / Σ_k e^(x_k − m),  m = max_k x_k
//
// A row that is entirely −Inf becomes all zeros.
func SoftmaxInPlace(x *Tensor) {
	rows, dim := rowsOf("SoftmaxInPlace", x)
	Parallel(rows, max(1, elementwiseGrain/max(dim, 1)/4), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			softmaxRow(x.Data[r*dim : (r+1)*dim])
		}
	})
}

func softmaxRow(d []float32) {
	m := float32(math.Inf(-1))
	for _, v := range d {
		if v > m {
			m = v
		}
	}
	if math.IsInf(float64(m), -1) { // every entry masked
		clear(d)
		return
	}
	inv := 1 / expSubInPlace(d, m)
	for i := range d {
		d[i] *= inv
	}
}
