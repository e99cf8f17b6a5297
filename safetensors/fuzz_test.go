package safetensors

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// rawFile assembles a file from a header string and a data section, with
// the header length field set to len(header).
func rawFile(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// seedFiles are small valid files of every dtype plus broken ones.
func seedFiles(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, ts := range [][]Tensor{
		allDTypeTensors(),
		{NewF32Tensor("w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})},
		{NewI64Tensor("position_ids", []int{1, 4}, []int64{0, 1, 2, 3}), NewF16Tensor("h", []int{3}, []float32{0.5, -2, 65504})},
		{NewU8Tensor("img", []int{1, 2, 2, 3}, make([]uint8, 12)), NewBF16Tensor("s", []int{}, []float32{3})},
		{},
	} {
		b, err := Marshal(ts, map[string]string{"format": "pt"})
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	zeros := make([]byte, 16)
	seeds = append(seeds,
		nil,
		[]byte{1, 2, 3},
		rawFile(`{}`, nil),
		rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, zeros[:8]),
		rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}`, zeros[:8]),
		rawFile(`{"a":{"dtype":"I64","shape":[0,18446744073709551615],"data_offsets":[0,0]}}`, nil),
		rawFile(`{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil),
		rawFile(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, zeros[:4]),
		rawFile(`{"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1],"extra":[{}]}}`, zeros[:1]),
		rawFile(`{"__metadata__":{"k":"v","k":"w"}}`, nil),
		rawFile(`{"__metadata__":null,"a":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}}`, bytes.Repeat([]byte{0xff}, 8)),
		rawFile(`{"a":{"dtype":"F8_E8M0","shape":[2],"data_offsets":[0,2]}} `, []byte{0, 255}),
		rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, zeros[:8]),
	)
	return seeds
}

// FuzzParse checks that Parse never panics, and that every file it accepts
// is internally consistent: each tensor's Data is NumElements × Size bytes,
// inside the buffer, converts without error, and the file survives a
// Write/Parse round trip unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sf, err := Parse(b)
		if err != nil {
			if sf != nil {
				t.Fatal("Parse returned both a File and an error")
			}
			return
		}
		var total int
		for _, name := range sf.Names() {
			tn, err := sf.Tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			n := tn.NumElements()
			if n < 0 || len(tn.Data) != n*tn.DType.Size() {
				t.Fatalf("tensor %q: %d bytes for shape %v of %s", name, len(tn.Data), tn.Shape, tn.DType)
			}
			total += len(tn.Data)
			if tn.DType.IsInteger() {
				v, _, err := sf.Int64(name)
				if err != nil && tn.DType != U64 {
					t.Fatalf("Int64(%q): %v", name, err)
				}
				if err == nil && len(v) != n {
					t.Fatalf("Int64(%q): %d values, want %d", name, len(v), n)
				}
			}
			v, _, err := sf.Float32(name)
			if err != nil {
				t.Fatalf("Float32(%q): %v", name, err)
			}
			if len(v) != n {
				t.Fatalf("Float32(%q): %d values, want %d", name, len(v), n)
			}
		}
		hdr := binary.LittleEndian.Uint64(b)
		if uint64(total) != uint64(len(b))-8-hdr {
			t.Fatalf("tensors hold %d bytes, data section is %d", total, uint64(len(b))-8-hdr)
		}
		// Round trip: what we write must parse back to the same tensors.
		var ts []Tensor
		for _, tn := range sf.Tensors() {
			ts = append(ts, *tn)
		}
		out, err := Marshal(ts, sf.Metadata)
		if err != nil {
			t.Fatalf("Marshal of a parsed file: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse of a re-written file: %v", err)
		}
		if err := sameFile(sf, back); err != nil {
			t.Fatal(err)
		}
	})
}
