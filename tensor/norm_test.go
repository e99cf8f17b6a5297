package tensor

import (
	"math"
	"testing"
)

// groupNormRef is GroupNorm in float64, straight from the definition.
func groupNormRef(x *Tensor, groups int, gamma, beta []float32, eps float64) []float64 {
	n, c := x.Shape[0], x.Shape[1]
	plane := x.Len() / (n * c)
	cpg := c / groups
	out := make([]float64, x.Len())
	for b := range n {
		for g := range groups {
			seg := x.Data[(b*c+g*cpg)*plane : (b*c+(g+1)*cpg)*plane]
			var mean, v float64
			for _, e := range seg {
				mean += float64(e)
			}
			mean /= float64(len(seg))
			for _, e := range seg {
				v += (float64(e) - mean) * (float64(e) - mean)
			}
			v /= float64(len(seg))
			for i, e := range seg {
				ch := g*cpg + i/plane
				y := (float64(e) - mean) / math.Sqrt(v+eps)
				if gamma != nil {
					y *= float64(gamma[ch])
				}
				if beta != nil {
					y += float64(beta[ch])
				}
				out[(b*c+g*cpg)*plane+i] = y
			}
		}
	}
	return out
}

func TestGroupNorm(t *testing.T) {
	cases := []struct {
		shape  []int
		groups int
		offset float32
		eps    float32
	}{
		{[]int{1, 4, 8, 8}, 4, 0, 1e-5},
		{[]int{2, 6, 5, 3}, 3, 100, 1e-6}, // mean ≫ spread: naive Σx² − (Σx)² would lose it
		{[]int{3, 32, 7}, 8, -3, 1e-5},
		{[]int{2, 64, 17, 13}, 32, 0.5, 1e-6},
		{[]int{2, 8, 1, 1}, 4, 0, 1e-6}, // one value per channel, tiny variance groups
	}
	for _, c := range cases {
		x := randTensor(11, 2, c.offset, c.shape...)
		gamma, beta := randSlice(12, c.shape[1]), randSlice(13, c.shape[1])
		got := GroupNorm(x, c.groups, gamma, beta, c.eps)
		assertClose(t, "GroupNorm affine", got.Data, groupNormRef(x, c.groups, gamma, beta, float64(c.eps)), 2e-6, 2e-6)
		got = GroupNorm(x, c.groups, nil, nil, c.eps)
		assertClose(t, "GroupNorm plain", got.Data, groupNormRef(x, c.groups, nil, nil, float64(c.eps)), 2e-6, 2e-6)

		// Fused with SiLU, out of place and in place: the reference
		// activated in float64 (tolerance: GroupNorm's plus SiLU's 2e-6).
		want := groupNormRef(x, c.groups, gamma, beta, float64(c.eps))
		for i, v := range want {
			want[i] = v / (1 + math.Exp(-v))
		}
		xc := x.Clone()
		got = GroupNormSiLU(x, c.groups, gamma, beta, c.eps)
		assertClose(t, "GroupNormSiLU", got.Data, want, 4e-6, 4e-6)
		assertClose(t, "GroupNormSiLU input untouched", x.Data, f64(xc.Data), 0, 0)
		GroupNormSiLUInPlace(xc, c.groups, gamma, beta, c.eps)
		assertClose(t, "GroupNormSiLUInPlace", xc.Data, want, 4e-6, 4e-6)
	}
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func TestLayerNormRMSNorm(t *testing.T) {
	for _, shape := range [][]int{{1, 1}, {2, 7, 33}, {3, 77, 768}, {5, 1000}} {
		dim := shape[len(shape)-1]
		x := randTensor(21, 3, 10, shape...)
		gamma, beta := randSlice(22, dim), randSlice(23, dim)
		rows := x.Len() / dim
		wantLN := make([]float64, x.Len())
		wantLNplain := make([]float64, x.Len())
		wantRMS := make([]float64, x.Len())
		for r := range rows {
			row := x.Data[r*dim : (r+1)*dim]
			var mean, v, ss float64
			for _, e := range row {
				mean += float64(e)
				ss += float64(e) * float64(e)
			}
			mean /= float64(dim)
			for _, e := range row {
				v += (float64(e) - mean) * (float64(e) - mean)
			}
			v /= float64(dim)
			for j, e := range row {
				y := (float64(e) - mean) / math.Sqrt(v+1e-5)
				wantLNplain[r*dim+j] = y
				wantLN[r*dim+j] = y*float64(gamma[j]) + float64(beta[j])
				wantRMS[r*dim+j] = float64(e) / math.Sqrt(ss/float64(dim)+1e-6) * float64(gamma[j])
			}
		}
		assertClose(t, "LayerNorm", LayerNorm(x, gamma, beta, 1e-5).Data, wantLN, 2e-6, 2e-6)
		assertClose(t, "LayerNorm plain", LayerNorm(x, nil, nil, 1e-5).Data, wantLNplain, 2e-6, 2e-6)
		assertClose(t, "RMSNorm", RMSNorm(x, gamma, 1e-6).Data, wantRMS, 1e-6, 2e-6)
	}
}
