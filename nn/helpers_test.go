package nn

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/godiffusion/godiffusion/safetensors"
)

// stTensor is one tensor for buildParams: float32 values stored as F32, or
// as F16 when f16 is set.
type stTensor struct {
	shape []int
	data  []float32
	f16   bool
}

// buildParams serialises tensors into an in-memory safetensors file and
// returns Params over it.
func buildParams(t *testing.T, tensors map[string]stTensor) *Params {
	t.Helper()
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	var body []byte
	for _, n := range names {
		st := tensors[n]
		start := len(body)
		dt := "F32"
		for _, v := range st.data {
			if st.f16 {
				body = binary.LittleEndian.AppendUint16(body, safetensors.F32ToF16(v))
			} else {
				body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
			}
		}
		if st.f16 {
			dt = "F16"
		}
		header[n] = map[string]any{"dtype": dt, "shape": st.shape, "data_offsets": []int{start, len(body)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	buf = append(append(buf, h...), body...)
	// Copy into 4-byte-aligned memory so F32 tensors can alias it.
	aligned := make([]uint32, (len(buf)+3)/4)
	ab := unsafeBytes(aligned)[:len(buf)]
	copy(ab, buf)
	f, err := safetensors.Parse(ab)
	if err != nil {
		t.Fatal(err)
	}
	return NewParams(f)
}

func randSlice(seed uint64, n int, scale float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	out := make([]float32, n)
	for i := range out {
		out[i] = (r.Float32()*2 - 1) * scale
	}
	return out
}

// roundF16 rounds values through f16, as an F16-stored weight holds them.
func roundF16(d []float32) []float32 {
	out := make([]float32, len(d))
	for i, v := range d {
		out[i] = halfToFloat(safetensors.F32ToF16(v))
	}
	return out
}

func assertClose64(t *testing.T, what string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		if math.IsNaN(d) || d > atol+rtol*math.Abs(want[i]) {
			t.Fatalf("%s: at %d got %g want %g (|diff| %.3g)", what, i, got[i], want[i], d)
		}
		worst = math.Max(worst, d)
	}
	t.Logf("%s: max |diff| %.3g", what, worst)
}
