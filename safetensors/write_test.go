package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/asm"
)

// TestRoundTripAllDTypes writes one tensor of every dtype, checks the header
// with encoding/json (an independent reader) for layout, order, padding and
// alignment, and parses it back unchanged.
func TestRoundTripAllDTypes(t *testing.T) {
	ts := allDTypeTensors()
	md := map[string]string{"format": "pt", "b": "line\nbreak \"quoted\" é \x01"}
	buf, err := Marshal(ts, md)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(buf)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	hdr := buf[8 : 8+n]
	if trimmed := bytes.TrimRight(hdr, " "); hdr[0] != '{' || trimmed[len(trimmed)-1] != '}' || len(hdr)-len(trimmed) >= 8 {
		t.Errorf("header is not a JSON object padded with < 8 spaces: %q", hdr)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		t.Fatalf("header is not JSON: %v", err)
	}
	var gotMD map[string]string
	if err := json.Unmarshal(raw["__metadata__"], &gotMD); err != nil || !reflect.DeepEqual(gotMD, md) {
		t.Errorf("metadata = %v (%v), want %v", gotMD, err, md)
	}
	type info struct {
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets []uint64 `json:"data_offsets"`
	}
	prevSize := 8
	var end uint64
	for _, name := range headerKeys(t, hdr) {
		if name == "__metadata__" {
			continue
		}
		var e info
		if err := json.Unmarshal(raw[name], &e); err != nil {
			t.Fatal(err)
		}
		size := DType(e.DType).Size()
		if size > prevSize {
			t.Errorf("tensor %q (%s) comes after a smaller dtype", name, e.DType)
		}
		prevSize = size
		if e.Offsets[0] != end {
			t.Errorf("tensor %q begins at %d, want %d", name, e.Offsets[0], end)
		}
		end = e.Offsets[1]
		if (8+n+e.Offsets[0])%uint64(size) != 0 {
			t.Errorf("tensor %q (%s) at file offset %d is not aligned", name, e.DType, 8+n+e.Offsets[0])
		}
	}
	if 8+n+end != uint64(len(buf)) {
		t.Errorf("data ends at %d, file is %d bytes", 8+n+end, len(buf))
	}

	f, err := Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Metadata, md) {
		t.Errorf("Metadata = %v, want %v", f.Metadata, md)
	}
	if len(f.Names()) != len(ts) {
		t.Fatalf("%d tensors read back, want %d", len(f.Names()), len(ts))
	}
	for _, want := range ts {
		got, err := f.Tensor(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("tensor %q: got %s %v, want %s %v (or data differs)", want.Name, got.DType, got.Shape, want.DType, want.Shape)
		}
		if _, err := got.Float32(); err != nil {
			t.Errorf("Float32(%q): %v", want.Name, err)
		}
		if got.DType.IsInteger() {
			if _, err := got.Int64(); err != nil {
				t.Errorf("Int64(%q): %v", want.Name, err)
			}
		}
	}
	// Writing is deterministic: the input order does not matter.
	rev := append([]Tensor(nil), ts...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	buf2, err := Marshal(rev, md)
	if err != nil || !bytes.Equal(buf, buf2) {
		t.Errorf("writing the same tensors in another order gave different bytes (%v)", err)
	}
}

// headerKeys lists the top-level keys of a JSON object in file order.
func headerKeys(t *testing.T, hdr []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.Token()
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return keys
}

// TestWriteMatchesReferenceBytes checks the exact bytes the reference
// implementation's own tests expect (safetensors/src/tensor.rs:
// test_serialization, test_empty, test_serialization_forced_alignement).
func TestWriteMatchesReferenceBytes(t *testing.T) {
	six := []float32{0, 1, 2, 3, 4, 5}
	cases := []struct {
		name    string
		tensors []Tensor
		md      map[string]string
		header  string
	}{
		{"serialization", []Tensor{NewF32Tensor("attn.0", []int{1, 2, 3}, six)}, nil,
			`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`},
		{"forced alignment", []Tensor{NewF32Tensor("attn0", []int{1, 1, 2, 3}, six)}, nil,
			`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `},
		{"empty", nil, nil, `{}      `},
		{"empty with metadata", nil, map[string]string{"framework": "pt"}, `{"__metadata__":{"framework":"pt"}}     `},
	}
	for _, c := range cases {
		got, err := Marshal(c.tensors, c.md)
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		for _, ts := range c.tensors {
			data = append(data, ts.Data...)
		}
		want := rawFile(c.header, data)
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, want)
		}
		if len(c.header)%8 != 0 && c.name != "serialization" {
			t.Errorf("%s: test header not padded", c.name)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	ok := NewF32Tensor("a", []int{2}, []float32{1, 2})
	cases := []struct {
		name    string
		tensors []Tensor
		md      map[string]string
		want    string
	}{
		{"duplicate", []Tensor{ok, ok}, nil, `tensor "a": given twice`},
		{"reserved", []Tensor{NewF32Tensor("__metadata__", nil, []float32{1})}, nil, "reserved"},
		{"shape mismatch", []Tensor{NewF32Tensor("b", []int{3}, []float32{1, 2})}, nil, `tensor "b": shape [3] of F32 needs 3×4 bytes but Data has 8`},
		{"negative dim", []Tensor{{Name: "c", DType: U8, Shape: []int{-1}}}, nil, "invalid shape"},
		{"unknown dtype", []Tensor{{Name: "d", DType: "Q4", Shape: []int{1}, Data: []byte{1}}}, nil, `unknown dtype "Q4"`},
		{"bad name", []Tensor{NewF32Tensor("\xff", nil, []float32{1})}, nil, "not valid UTF-8"},
		{"bad metadata", []Tensor{ok}, map[string]string{"k": "\xfe"}, "not valid UTF-8"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := Write(&buf, c.tensors, c.md)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Write error %v, want one mentioning %q", c.name, err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error", c.name, buf.Len())
		}
	}
}

// TestWriteFileAtomic checks that WriteFile creates and replaces files, and
// that a failed write leaves the old file and no temporary file behind.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	first := []Tensor{NewI64Tensor("ids", []int{1, 3}, []int64{0, 1, 2}), NewF16Tensor("w", []int{2}, []float32{0.5, -1})}
	if err := WriteFile(path, first, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(path)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ids, shape, err := f.Int64("ids")
	if err != nil || !reflect.DeepEqual(ids, []int64{0, 1, 2}) || !reflect.DeepEqual(shape, []int{1, 3}) {
		t.Errorf("ids = %v %v %v", ids, shape, err)
	}
	w, _, err := f.Float32("w")
	if err != nil || !reflect.DeepEqual(w, []float32{0.5, -1}) {
		t.Errorf("w = %v %v", w, err)
	}
	f.Close()
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}

	bad := []Tensor{NewF32Tensor("x", []int{5}, []float32{1})}
	if err := WriteFile(path, bad, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("WriteFile of a bad tensor: %v, want an error naming %s", err, path)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Error("a failed WriteFile changed the existing file")
	}
	if err := WriteFile(filepath.Join(dir, "missing", "m.safetensors"), first, nil); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
	// Replacing works, and leaves only the target behind.
	if err := WriteFile(path, bad[:0], nil); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after WriteFile, want 1 (temporary files left?)", len(entries))
	}
	if f, err := Open(path); err != nil || len(f.Names()) != 0 {
		t.Errorf("replaced file: %v", err)
	}
}

// TestF32ToF16 checks the binary16 encoder: exact for every binary16 value,
// and for random float32 values the nearest binary16 (ties to even).
func TestF32ToF16(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := asm.HalfToFloat(uint16(h))
		got := F32ToF16(f)
		if f != f {
			if back := asm.HalfToFloat(got); back == back {
				t.Fatalf("NaN %#04x encoded as non-NaN %#04x", h, got)
			}
			continue
		}
		if got != uint16(h) {
			t.Fatalf("F32ToF16(%g) = %#04x, want %#04x", f, got, h)
		}
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		f := math.Float32frombits(rng.Uint32())
		if i%2 == 0 { // concentrate on the binary16 range
			f = float32(rng.NormFloat64() * math.Pow(2, float64(rng.Intn(44)-26)))
		}
		if f != f {
			continue
		}
		checkNearest(t, "F32ToF16", f, F32ToF16(f), asm.HalfToFloat, 0x7c00)
		checkNearest(t, "F32ToBF16", f, F32ToBF16(f), asm.BFloatToFloat, 0x7f80)
	}
	// Ties: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 and rounds to even.
	if got := F32ToF16(1 + 1.0/2048); got != 0x3c00 {
		t.Errorf("tie rounded to %#04x, want 0x3c00", got)
	}
	if got := F32ToF16(65520); got != 0x7c00 { // halfway to 2^16 rounds to Inf
		t.Errorf("F32ToF16(65520) = %#04x, want Inf", got)
	}
}

// checkNearest verifies that h decodes to the representable value nearest
// to f, the even one on a tie, or ±Inf beyond the largest finite value.
func checkNearest(t *testing.T, what string, f float32, h uint16, decode func(uint16) float32, inf uint16) {
	t.Helper()
	got := float64(decode(h))
	mag := h &^ 0x8000
	if mag == inf {
		if math.IsInf(got, 0) && math.Signbit(got) == math.Signbit(float64(f)) {
			// Overflow: f must be at least halfway past the largest finite.
			maxF := float64(decode(inf - 1))
			ulp := maxF - float64(decode(inf-2))
			if math.Abs(float64(f)) < maxF+ulp/2 {
				t.Fatalf("%s(%g) overflowed to Inf", what, f)
			}
			return
		}
	}
	d := math.Abs(got - float64(f))
	for _, nb := range []uint16{h + 1, h - 1} {
		if nb&^0x8000 >= inf || (h&0x7fff == 0 && nb == h-1) {
			continue
		}
		dn := math.Abs(float64(decode(nb)) - float64(f))
		if dn < d || (dn == d && h&1 == 1) {
			t.Fatalf("%s(%g) = %#04x (%g), but %#04x (%g) is nearer or even", what, f, h, got, nb, decode(nb))
		}
	}
}
