package unet

import (
	"encoding/binary"
	"encoding/json"
	"sort"
)

// testTensor is one tensor for encodeSafetensors (dtype "" means F32).
type testTensor struct {
	name  string
	shape []int
	data  []byte
	dtype string
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// encodeSafetensors serialises tensors in the safetensors format
// (8-byte header length, JSON header, data), for tests that need altered
// checkpoints.
func encodeSafetensors(ts []testTensor) []byte {
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	hdr := map[string]any{}
	off := 0
	for _, t := range ts {
		dt := t.dtype
		if dt == "" {
			dt = "F32"
		}
		hdr[t.name] = map[string]any{"dtype": dt, "shape": t.shape, "data_offsets": []int{off, off + len(t.data)}}
		off += len(t.data)
	}
	h, _ := json.Marshal(hdr)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+off)
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	for _, t := range ts {
		out = append(out, t.data...)
	}
	return out
}
