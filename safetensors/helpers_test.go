package safetensors

import (
	"bytes"
	"fmt"
	"reflect"
)

// allDTypeTensors returns one small tensor of every dtype with varied bytes
// (not all zero, odd shapes, a scalar and an empty tensor among them).
func allDTypeTensors() []Tensor {
	var ts []Tensor
	for i, dt := range DTypes {
		shape := []int{i%3 + 1, 3}
		if i == 4 {
			shape = []int{} // scalar
		}
		if i == 7 {
			shape = []int{2, 0, 5} // empty
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]byte, n*dt.Size())
		for j := range data {
			data[j] = byte(31*i + 7*j + 1)
		}
		if dt == U64 { // keep U64 values within int64 so Int64 succeeds
			for j := 7; j < len(data); j += 8 {
				data[j] &= 0x7f
			}
		}
		ts = append(ts, Tensor{Name: "t." + string(dt), DType: dt, Shape: shape, Data: data})
	}
	return ts
}

// sameFile reports how two parsed files differ (tensors and metadata).
func sameFile(a, b *File) error {
	if !reflect.DeepEqual(a.Names(), b.Names()) {
		return fmt.Errorf("names differ: %q vs %q", a.Names(), b.Names())
	}
	if len(a.Metadata) != len(b.Metadata) || (len(a.Metadata) > 0 && !reflect.DeepEqual(a.Metadata, b.Metadata)) {
		return fmt.Errorf("metadata differs: %v vs %v", a.Metadata, b.Metadata)
	}
	for _, n := range a.Names() {
		x, _ := a.Tensor(n)
		y, _ := b.Tensor(n)
		if x.DType != y.DType || !reflect.DeepEqual(x.Shape, y.Shape) || !bytes.Equal(x.Data, y.Data) {
			return fmt.Errorf("tensor %q differs: %s %v vs %s %v", n, x.DType, x.Shape, y.DType, y.Shape)
		}
	}
	return nil
}
