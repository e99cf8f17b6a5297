package safetensors

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseRejects builds one broken file per validation rule and checks
// that Parse and Open reject it with an error that names the problem, the
// tensor where there is one, and (for Open) the file.
func TestParseRejects(t *testing.T) {
	f32x2 := `{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`
	eight := make([]byte, 8)
	hugeLen := make([]byte, 16)
	binary.LittleEndian.PutUint64(hugeLen, MaxHeaderSize+1)
	pastEnd := make([]byte, 16)
	binary.LittleEndian.PutUint64(pastEnd, 9)
	wrapLen := make([]byte, 16)
	binary.LittleEndian.PutUint64(wrapLen, ^uint64(0))

	cases := []struct {
		name   string
		file   []byte
		tensor string   // tensor the error must name ("" = none)
		want   []string // substrings the error must contain
	}{
		{"empty file", nil, "", []string{"empty file"}},
		{"shorter than length", []byte{1, 0, 0}, "", []string{"3 bytes", "shorter than the 8-byte header length"}},
		{"header over limit", hugeLen, "", []string{"header length 100000001", "limit"}},
		{"header length wraps", wrapLen, "", []string{"header length 18446744073709551615", "limit"}},
		{"header past end", pastEnd, "", []string{"header length 9 runs past the end of the file (16 bytes"}},
		{"empty header", rawFile("", nil), "", []string{"header is empty"}},
		{"invalid JSON", rawFile(`{"a":`, nil), "", []string{"invalid JSON header"}},
		{"invalid JSON syntax", rawFile(`{"a" 1}`, nil), "", []string{"invalid JSON header at byte"}},
		{"trailing comma", rawFile(`{"a":{"dtype":"U8","shape":[1,],"data_offsets":[0,1]}}`, []byte{1}), "", []string{"invalid JSON header at byte 30"}},
		{"unterminated object", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}`, []byte{1}), "", []string{"invalid JSON header: unexpected end"}},
		{"not UTF-8", rawFile("{\"\xff\":1}", nil), "", []string{"not valid UTF-8"}},
		{"array header", rawFile(`[1,2]`, nil), "", []string{"not a JSON object", "array"}},
		{"number header", rawFile(`42`, nil), "", []string{"not a JSON object", "number 42"}},
		{"trailing JSON", rawFile(`{}{}`, nil), "", []string{"unexpected data", "after the header's JSON object"}},
		{"trailing garbage", rawFile(`{} x`, nil), "", []string{"unexpected data", "after the header's JSON object"}},
		{"NUL padding", rawFile("{}\x00\x00", nil), "", []string{"after the header's JSON object"}},
		{"duplicate tensor", rawFile(`{"a":`+f32x2+`,"a":`+f32x2+`}`, append(eight, eight...)), "a", []string{"named twice"}},
		{"duplicate field", rawFile(`{"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}`, eight), "a", []string{`field "dtype" given twice`}},
		{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), "", []string{`"__metadata__" appears twice`}},
		{"duplicate metadata key", rawFile(`{"__metadata__":{"k":"1","k":"2"}}`, nil), "", []string{`__metadata__ names key "k" twice`}},
		{"metadata not a map", rawFile(`{"__metadata__":["x"]}`, nil), "", []string{"__metadata__ must be an object mapping strings to strings", "array"}},
		{"metadata non-string value", rawFile(`{"__metadata__":{"epochs":3}}`, nil), "", []string{`__metadata__ value of "epochs" must be a string`, "number 3"}},
		{"metadata null value", rawFile(`{"__metadata__":{"k":null}}`, nil), "", []string{`value of "k" must be a string`, "null"}},
		{"entry not an object", rawFile(`{"a":[1]}`, nil), "a", []string{"header entry must be an object"}},
		{"missing dtype", rawFile(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, eight), "a", []string{`has no "dtype"`}},
		{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, eight[:4]), "a", []string{`has no "shape"`}},
		{"missing offsets", rawFile(`{"a":{"dtype":"F32","shape":[2]}}`, eight), "a", []string{`has no "data_offsets"`}},
		{"null shape", rawFile(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, eight[:4]), "a", []string{"shape must be an array", "null"}},
		{"dtype not string", rawFile(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, eight[:4]), "a", []string{"dtype must be a string"}},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, eight), "a", []string{`unknown dtype "F33"`}},
		{"lower-case dtype", rawFile(`{"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}`, eight), "a", []string{`unknown dtype "f32"`}},
		{"unsupported dtype", rawFile(`{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}`, eight), "a", []string{`dtype "C64"`, "not supported"}},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, eight), "a", []string{"shape must hold non-negative integers", "-2"}},
		{"fractional dim", rawFile(`{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}`, eight), "a", []string{"non-negative integers", "2.0"}},
		{"exponent dim", rawFile(`{"a":{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}}`, eight), "a", []string{"non-negative integers", "2e0"}},
		{"dim over 2^64", rawFile(`{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}}`, eight), "a", []string{"below 2^64"}},
		{"dim over int", rawFile(`{"a":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}}`, nil), "a", []string{"too large"}},
		{"element count overflow", rawFile(`{"a":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, nil), "a", []string{"overflows"}},
		{"byte count overflow", rawFile(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, nil), "a", []string{"overflows"}},
		{"shape vs span", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight), "a", []string{"shape [3] of F32 is 12 bytes but data_offsets [0, 8] span 8"}},
		{"dtype vs span", rawFile(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}`, eight), "a", []string{"is 4 bytes but data_offsets [0, 8] span 8"}},
		{"offsets reversed", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, eight), "a", []string{"end before they begin"}},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, eight), "a", []string{"data_offsets must be [begin, end], found 3"}},
		{"offsets out of range", rawFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight), "a", []string{"run past the end of the 8-byte data section"}},
		{"offsets huge", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}}`, eight), "a", []string{"run past the end"}},
		{"overlap", rawFile(`{"a":`+f32x2+`,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), "b", []string{"overlap", `"a"`}},
		{"same span twice", rawFile(`{"a":`+f32x2+`,"b":`+f32x2+`}`, eight), "b", []string{"overlap"}},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), "a", []string{"gap of 4 unused bytes"}},
		{"trailing data", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight), "", []string{"4 bytes of trailing data"}},
		{"data without tensors", rawFile(`{}`, eight), "", []string{"8 bytes of trailing data"}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := func(f *File, err error, path string) {
				t.Helper()
				if err == nil {
					f.Close()
					t.Fatalf("accepted a broken file")
				}
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not a *FormatError", err)
				}
				if fe.Tensor != c.tensor || fe.Path != path {
					t.Errorf("error names tensor %q in %q, want %q in %q: %v", fe.Tensor, fe.Path, c.tensor, path, err)
				}
				msg := err.Error()
				for _, w := range append(c.want, path) {
					if !strings.Contains(msg, w) {
						t.Errorf("error %q does not mention %q", msg, w)
					}
				}
			}
			f, err := Parse(c.file)
			check(f, err, "")
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".safetensors")
			if err := os.WriteFile(p, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err = Open(p)
			check(f, err, p)
		})
	}
}

// TestParseAccepts covers what the reference accepts and a stricter
// reader might wrongly reject.
func TestParseAccepts(t *testing.T) {
	cases := []struct {
		name string
		file []byte
	}{
		{"no tensors", rawFile(`{}`, nil)},
		{"unpadded header, unaligned data", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, []byte{0, 0, 128, 63})},
		{"null metadata", rawFile(`{"__metadata__":null}`, nil)},
		{"unknown fields ignored", rawFile(`{"a":{"dtype":"U8","extra":{"x":[1,{}]},"shape":[1],"data_offsets":[0,1]}}`, []byte{7})},
		{"whitespace", rawFile(" {\n\t\"a\" : {\"dtype\":\"I8\", \"shape\":[ ], \"data_offsets\":[0, 1]} }\n ", []byte{0xff})},
		{"empty tensors share an offset", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1,0],"data_offsets":[0,0]}}`, nil)},
		{"empty name", rawFile(`{"":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}`, []byte{1})},
		{"escaped name", rawFile(`{"a\u00e9\n":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}`, []byte{1})},
		{"offsets out of name order", rawFile(`{"z":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2})},
	}
	for _, c := range cases {
		f, err := Parse(c.file)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for _, tn := range f.Tensors() {
			if _, err := tn.Float32(); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	}
	f, err := Parse(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, []byte{0, 0, 128, 63}))
	if err != nil {
		t.Fatal(err)
	}
	if v, shape, err := f.Float32("a"); err != nil || len(shape) != 1 || v[0] != 1 {
		t.Errorf("unaligned F32: got %v %v %v, want [1] [1]", v, shape, err)
	}
	f, _ = Parse(rawFile(`{"a\u00e9\n":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}`, []byte{1}))
	if !f.Has("aé\n") {
		t.Errorf("escaped name not decoded: %q", f.Names())
	}
}

func TestOpenRejectsDirectoryAndMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), "is a directory") || !strings.Contains(err.Error(), dir) {
		t.Errorf("Open(directory) = %v, want an error naming it a directory", err)
	}
	missing := filepath.Join(dir, "missing.safetensors")
	_, err = Open(missing)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Open(missing) = %v, want a not-exist error naming the file", err)
	}
}

// TestConversionErrors checks that inconsistent hand-built tensors are
// reported, never indexed out of range.
func TestConversionErrors(t *testing.T) {
	cases := []struct {
		t    Tensor
		want string
	}{
		{Tensor{Name: "short", DType: F32, Shape: []int{3}, Data: make([]byte, 8)}, "needs 3×4 bytes but Data has 8"},
		{Tensor{Name: "neg", DType: F32, Shape: []int{-1}, Data: nil}, "invalid shape"},
		{Tensor{Name: "huge", DType: F32, Shape: []int{math.MaxInt/2 + 1, 4}, Data: nil}, "invalid shape"},
		{Tensor{Name: "dt", DType: "X", Shape: nil, Data: nil}, `unknown dtype "X"`},
	}
	for _, c := range cases {
		if _, err := c.t.Float32(); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.t.Name) {
			t.Errorf("%s: Float32 error %v, want one mentioning %q", c.t.Name, err, c.want)
		}
		if _, err := c.t.Int64(); err == nil {
			t.Errorf("%s: Int64 accepted an inconsistent tensor", c.t.Name)
		}
	}
	f := NewF32Tensor("f", []int{1}, []float32{1})
	if _, err := f.Int64(); err == nil || !strings.Contains(err.Error(), "not an integer type") {
		t.Errorf("Int64 of F32: %v", err)
	}
	u := Tensor{Name: "u", DType: U64, Shape: []int{1}, Data: []byte{0, 0, 0, 0, 0, 0, 0, 0x80}}
	if _, err := u.Int64(); err == nil || !strings.Contains(err.Error(), "does not fit in int64") {
		t.Errorf("Int64 of U64 2^63: %v", err)
	}
	if v, err := u.Float32(); err != nil || v[0] != 1<<63 {
		t.Errorf("Float32 of U64 2^63 = %v, %v", v, err)
	}
}
