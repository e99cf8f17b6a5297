package tensor

import "fmt"

// Pad2d returns x [N, C, H, W] zero-padded to
// [N, C, top+H+bottom, left+W+right].
func Pad2d(x *Tensor, top, bottom, left, right int) *Tensor {
	if len(x.Shape) != 4 || top < 0 || bottom < 0 || left < 0 || right < 0 {
		panic(fmt.Sprintf("tensor.Pad2d: x %s, padding %d %d %d %d", ShapeString(x.Shape), top, bottom, left, right))
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := h+top+bottom, w+left+right
	out := New(n, c, oh, ow)
	Parallel(n*c, max(1, elementwiseGrain/max(oh*ow, 1)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := x.Data[p*h*w : (p+1)*h*w]
			dst := out.Data[p*oh*ow : (p+1)*oh*ow]
			for y := 0; y < h; y++ {
				copy(dst[(y+top)*ow+left:(y+top)*ow+left+w], src[y*w:(y+1)*w])
			}
		}
	})
	return out
}

// UpsampleNearest2x returns x [N, C, H, W] enlarged to [N, C, 2H, 2W] by
// nearest-neighbour sampling: out[n, c, y, x] = in[n, c, y/2, x/2].
func UpsampleNearest2x(x *Tensor) *Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("tensor.UpsampleNearest2x: x %s is not NCHW", ShapeString(x.Shape)))
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := Empty(n, c, 2*h, 2*w)
	Parallel(n*c, max(1, elementwiseGrain/max(4*h*w, 1)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := x.Data[p*h*w : (p+1)*h*w]
			dst := out.Data[p*4*h*w : (p+1)*4*h*w]
			for y := 0; y < h; y++ {
				row := dst[2*y*2*w : (2*y+1)*2*w]
				for i, v := range src[y*w : (y+1)*w] {
					row[2*i] = v
					row[2*i+1] = v
				}
				copy(dst[(2*y+1)*2*w:(2*y+2)*2*w], row)
			}
		}
	})
	return out
}

// normAxis resolves a possibly negative axis against rank.
func normAxis(op string, axis, rank int) int {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		panic(fmt.Sprintf("tensor.%s: axis out of range for rank %d", op, rank))
	}
	return axis
}

// Concat joins tensors along axis (negative counts from the end); all other
// axes must agree. The result is a new tensor.
func Concat(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Concat: no tensors")
	}
	rank := len(ts[0].Shape)
	axis = normAxis("Concat", axis, rank)
	shape := append([]int(nil), ts[0].Shape...)
	shape[axis] = 0
	for _, t := range ts {
		if len(t.Shape) != rank {
			panic(fmt.Sprintf("tensor.Concat: shapes %s and %s differ in rank", ShapeString(ts[0].Shape), ShapeString(t.Shape)))
		}
		for i := range rank {
			if i != axis && t.Shape[i] != ts[0].Shape[i] {
				panic(fmt.Sprintf("tensor.Concat: shapes %s and %s differ off axis %d", ShapeString(ts[0].Shape), ShapeString(t.Shape), axis))
			}
		}
		shape[axis] += t.Shape[axis]
	}
	out := Empty(shape...)
	outer := numel(shape[:axis])
	inner := numel(shape[axis+1:])
	orow := shape[axis] * inner
	off := 0
	for _, t := range ts {
		trow := t.Shape[axis] * inner
		for o := range outer {
			copy(out.Data[o*orow+off:o*orow+off+trow], t.Data[o*trow:(o+1)*trow])
		}
		off += trow
	}
	return out
}

// Split cuts x along axis into consecutive pieces of the given sizes (which
// must sum to the axis length), each a new tensor.
func Split(x *Tensor, axis int, sizes ...int) []*Tensor {
	axis = normAxis("Split", axis, len(x.Shape))
	total := 0
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("tensor.Split: negative size in %v", sizes))
		}
		total += s
	}
	if total != x.Shape[axis] {
		panic(fmt.Sprintf("tensor.Split: sizes %v do not sum to axis %d of %s", sizes, axis, ShapeString(x.Shape)))
	}
	outer := numel(x.Shape[:axis])
	inner := numel(x.Shape[axis+1:])
	xrow := x.Shape[axis] * inner
	outs := make([]*Tensor, len(sizes))
	off := 0
	for i, s := range sizes {
		shape := append([]int(nil), x.Shape...)
		shape[axis] = s
		t := Empty(shape...)
		trow := s * inner
		for o := range outer {
			copy(t.Data[o*trow:(o+1)*trow], x.Data[o*xrow+off:o*xrow+off+trow])
		}
		off += trow
		outs[i] = t
	}
	return outs
}

// Permute returns a copy of x with its axes reordered: axis i of the result
// is axis perm[i] of x, like torch's x.permute(perm).contiguous().
func Permute(x *Tensor, perm ...int) *Tensor {
	rank := len(x.Shape)
	if len(perm) != rank {
		panic(fmt.Sprintf("tensor.Permute: perm %v for shape %s", perm, ShapeString(x.Shape)))
	}
	seen := make([]bool, rank)
	shape := make([]int, rank)
	for i, p := range perm {
		if p < 0 || p >= rank || seen[p] {
			panic(fmt.Sprintf("tensor.Permute: %v is not a permutation of %d axes", perm, rank))
		}
		seen[p] = true
		shape[i] = x.Shape[p]
	}
	// Strides of x, read in output axis order.
	xs := make([]int, rank)
	s := 1
	for i := rank - 1; i >= 0; i-- {
		xs[i] = s
		s *= x.Shape[i]
	}
	ps := make([]int, rank)
	for i, p := range perm {
		ps[i] = xs[p]
	}
	out := Empty(shape...)
	if len(out.Data) == 0 {
		return out
	}
	if rank == 0 {
		copy(out.Data, x.Data)
		return out
	}
	// Walk the output in order; the last output axis is the inner loop.
	last := shape[rank-1]
	lastStride := ps[rank-1]
	rows := len(out.Data) / last
	Parallel(rows, max(1, elementwiseGrain/max(last, 1)), func(lo, hi int) {
		idx := make([]int, rank-1)
		for r := lo; r < hi; r++ {
			// Decompose r into output indices of the leading axes.
			rr := r
			src := 0
			for a := rank - 2; a >= 0; a-- {
				idx[a] = rr % shape[a]
				rr /= shape[a]
				src += idx[a] * ps[a]
			}
			dst := out.Data[r*last : (r+1)*last]
			if lastStride == 1 {
				copy(dst, x.Data[src:src+last])
				continue
			}
			for j := range dst {
				dst[j] = x.Data[src+j*lastStride]
			}
		}
	})
	return out
}

// NCHWToNLC turns a feature map [N, C, H, W] into a token sequence
// [N, H·W, C] (token index y·W + x), as x.flatten(2).transpose(1, 2).
func NCHWToNLC(x *Tensor) *Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("tensor.NCHWToNLC: x %s is not NCHW", ShapeString(x.Shape)))
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := Empty(n, h*w, c)
	for b := range n {
		transpose(out.Data[b*c*h*w:(b+1)*c*h*w], x.Data[b*c*h*w:(b+1)*c*h*w], c, h*w)
	}
	return out
}

// NLCToNCHW is the inverse of NCHWToNLC: [N, H·W, C] -> [N, C, H, W].
func NLCToNCHW(x *Tensor, h, w int) *Tensor {
	if len(x.Shape) != 3 || x.Shape[1] != h*w {
		panic(fmt.Sprintf("tensor.NLCToNCHW: x %s is not [N, %d·%d, C]", ShapeString(x.Shape), h, w))
	}
	n, c := x.Shape[0], x.Shape[2]
	out := Empty(n, c, h, w)
	for b := range n {
		transpose(out.Data[b*c*h*w:(b+1)*c*h*w], x.Data[b*c*h*w:(b+1)*c*h*w], h*w, c)
	}
	return out
}

// transpose writes the transpose of the row-major [rows, cols] matrix src
// into dst ([cols, rows]), in cache-sized tiles, in parallel over column
// tiles.
func transpose(dst, src []float32, rows, cols int) {
	const tile = 32
	nt := (cols + tile - 1) / tile
	Parallel(nt, max(1, elementwiseGrain/max(tile*rows, 1)), func(lo, hi int) {
		for jt := lo; jt < hi; jt++ {
			j0, j1 := jt*tile, min((jt+1)*tile, cols)
			for i0 := 0; i0 < rows; i0 += tile {
				i1 := min(i0+tile, rows)
				j := j0
				// Four output rows at a time: each source row gives four
				// adjacent values.
				for ; j+4 <= j1; j += 4 {
					d0 := dst[j*rows : (j+1)*rows]
					d1 := dst[(j+1)*rows : (j+2)*rows]
					d2 := dst[(j+2)*rows : (j+3)*rows]
					d3 := dst[(j+3)*rows : (j+4)*rows]
					for i := i0; i < i1; i++ {
						s := src[i*cols+j : i*cols+j+4 : i*cols+j+4]
						d0[i], d1[i], d2[i], d3[i] = s[0], s[1], s[2], s[3]
					}
				}
				for ; j < j1; j++ {
					d := dst[j*rows : (j+1)*rows]
					for i := i0; i < i1; i++ {
						d[i] = src[i*cols+j]
					}
				}
			}
		}
	})
}
