package tensor

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestFirstNonFinite puts one NaN or Inf at every position of a short
// weight of each dtype and checks the scan finds exactly it, and that the
// largest finite values are not reported.
func TestFirstNonFinite(t *testing.T) {
	type enc struct {
		dt        DType
		nan, inf  []byte
		maxFinite []byte
		size      int
	}
	le16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	encs := []enc{
		{F32, le32(0x7fc00000), le32(0xff800000), le32(math.Float32bits(math.MaxFloat32)), 4},
		{F16, le16(0x7e00), le16(0xfc00), le16(0x7bff), 2},
		{BF16, le16(0x7fc0), le16(0x7f80), le16(0x7f7f), 2},
		{F8E4M3, []byte{0x7f}, []byte{0xff}, []byte{0x7e}, 1}, // e4m3fn: no Inf, 0xff is -NaN
		{F8E5M2, []byte{0x7e}, []byte{0xfc}, []byte{0x7b}, 1},
	}
	for _, e := range encs {
		for _, n := range []int{1, 7, 8, 9, 33} {
			for pos := -1; pos < n; pos++ {
				for _, bad := range [][]byte{e.nan, e.inf} {
					raw := make([]byte, 0, n*e.size)
					for i := 0; i < n; i++ {
						if i == pos {
							raw = append(raw, bad...)
						} else {
							raw = append(raw, e.maxFinite...)
						}
					}
					w, err := NewWeight(e.dt, []int{n}, raw)
					if err != nil {
						t.Fatal(err)
					}
					if got := w.FirstNonFinite(); got != pos {
						t.Fatalf("%s n=%d: non-finite at %d, found %d", e.dt, n, pos, got)
					}
				}
			}
		}
	}
	x := []float32{1, 2, float32(math.Inf(-1)), float32(math.NaN())}
	if FirstNonFinite(x) != 2 || FirstNonFinite(x[:2]) != -1 || FirstNonFinite(x[3:]) != 0 {
		t.Error("FirstNonFinite on float32")
	}
	if err := CheckFinite(FromData(x, 4), "the test tensor", "try again"); err == nil || err.Error() != "-Inf appeared in the test tensor (value 2 of 4): try again" {
		t.Errorf("CheckFinite: %v", err)
	}
}

// BenchmarkWeightScan measures the load-time scan of f16 weights per
// value (SD 1.5 stores 1.07e9 values: multiply for the cost per load).
func BenchmarkWeightScan(b *testing.B) {
	raw := make([]byte, 2<<24)
	for i := range raw {
		raw[i] = byte(i) & 0x3b // finite f16 values
	}
	w, _ := NewWeight(F16, []int{1 << 24}, raw)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if w.FirstNonFinite() != -1 {
			b.Fatal("finite values reported")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(1<<24), "ns/value")
}

// BenchmarkCheckFiniteLatent measures one per-step check of a 512×512
// SD latent batch as the UNet returns it ([2, 4, 64, 64]).
func BenchmarkCheckFiniteLatent(b *testing.B) {
	x := New(2, 4, 64, 64)
	for b.Loop() {
		if CheckFinite(x, "x", "") != nil {
			b.Fatal("zeros reported")
		}
	}
}
