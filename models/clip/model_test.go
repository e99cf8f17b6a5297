package clip

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/nn"
	"github.com/godiffusion/godiffusion/safetensors"
	"github.com/godiffusion/godiffusion/tensor"
)

// Tolerance for a single text-encoder call in float32 (sd1 README §9:
// reference fp32 vs float64 differs by ≤ 2.3e-6).
const atolEncoder = 1e-4

// fixtureHeads is the tiny fixture model's head count (model/text_encoder/config.json):
// a single-file checkpoint does not record it and width 32 is no released size.
const fixtureHeads = 4

func loadModel(t *testing.T, path string, opt LoadOptions) *TextModel {
	t.Helper()
	m, err := LoadTextEncoder(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func diffusersModel(t *testing.T) *TextModel {
	return loadModel(t, golden.Shared(t, "sd1/model"), LoadOptions{})
}

// fixtureRows returns the input_ids rows of a text-encoder fixture file.
func fixtureRows(t *testing.T, f *safetensors.File) [][]int {
	t.Helper()
	return idRows(t, f, "input_ids")
}

// idRows returns the rows of the int64 [N, 77] token-id tensor name of f.
func idRows(t *testing.T, f *safetensors.File, name string) [][]int {
	t.Helper()
	ids, shape, err := f.Int64(name)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]int, shape[0])
	for i := range rows {
		for _, v := range ids[i*shape[1] : (i+1)*shape[1]] {
			rows[i] = append(rows[i], int(v))
		}
	}
	return rows
}

// encodeRows runs m on every row and gathers the fixture's tensors.
func encodeRows(t *testing.T, m *TextModel, rows [][]int) (map[string][]float32, []int) {
	t.Helper()
	got := map[string][]float32{}
	var eos []int
	for _, ids := range rows {
		o, err := m.Forward(ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range o.Hidden {
			k := fmt.Sprintf("hidden_states.%d", i)
			got[k] = append(got[k], h.Data...)
		}
		got["last_hidden_state"] = append(got["last_hidden_state"], o.Last.Data...)
		skip2, err := m.SkipState(o, 2)
		if err != nil {
			t.Fatal(err)
		}
		got["penultimate_hidden_state_final_ln"] = append(got["penultimate_hidden_state_final_ln"], skip2.Data...)
		got["pooled_output"] = append(got["pooled_output"], o.Pooled.Data...)
		eos = append(eos, o.EOSIndex)
	}
	return got, eos
}

var encoderTensors = []string{"hidden_states.0", "hidden_states.1", "hidden_states.2", "last_hidden_state", "penultimate_hidden_state_final_ln", "pooled_output"}

// checkEncoderFixture compares m on every fixture row with the stored
// outputs (sd1 README §3 / §10.1).
func checkEncoderFixture(t *testing.T, m *TextModel, fixture string) map[string][]float32 {
	t.Helper()
	f := golden.Open(t, fixture)
	got, eos := encodeRows(t, m, fixtureRows(t, f))
	for _, name := range encoderTensors {
		want, _ := golden.Float32(t, f, name)
		golden.AssertClose(t, fixture+" "+name, got[name], want, atolEncoder, 0)
	}
	wantEOS, _, err := f.Int64("eos_index")
	if err != nil {
		t.Fatal(err)
	}
	for i := range eos {
		if int64(eos[i]) != wantEOS[i] {
			t.Errorf("row %d: EOS index %d, want %d", i, eos[i], wantEOS[i])
		}
	}
	return got
}

func TestTextEncoderDiffusersFolder(t *testing.T) {
	m := diffusersModel(t)
	if m.Config.Heads != 4 || m.Config.Layers != 2 || m.Config.Hidden != 32 || m.Config.Intermediate != 64 {
		t.Fatalf("config %+v", m.Config)
	}
	checkEncoderFixture(t, m, "sd1/text_encoder.safetensors")
}

func TestTextEncoderSingleFile(t *testing.T) {
	path := golden.Shared(t, "sd1/tiny-sd1.safetensors")
	m := loadModel(t, path, LoadOptions{Heads: fixtureHeads})
	got := checkEncoderFixture(t, m, "sd1/text_encoder.safetensors")

	// The diffusers folder holds the same weights: identical outputs.
	ref, _ := encodeRows(t, diffusersModel(t), fixtureRows(t, golden.Open(t, "sd1/text_encoder.safetensors")))
	for _, name := range encoderTensors {
		if !slices.Equal(got[name], ref[name]) {
			t.Errorf("%s: single file and diffusers folder differ", name)
		}
	}

	// Shapes cannot tell the head count of an unknown width: the loader says so.
	if _, err := LoadTextEncoder(path, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "heads") {
		t.Errorf("loading width 32 without a head count: err = %v", err)
	}
}

func TestDetectPrefix(t *testing.T) {
	for file, want := range map[string]string{
		"sd1/tiny-sd1.safetensors":                 PrefixSD1,
		"sd1/model/text_encoder/model.safetensors": PrefixHF,
		"sd1/clip_l_alt.safetensors":               PrefixHF,
	} {
		f := golden.Open(t, file)
		got, err := DetectPrefix(nnParams(f))
		if err != nil || got != want {
			t.Errorf("%s: prefix %q, %v; want %q", file, got, err, want)
		}
	}
	if _, err := DetectPrefix(nnParams(golden.Open(t, "sd1/unet.safetensors"))); err == nil {
		t.Error("a file without a text model: no error")
	}
}

// roundF16 rounds v to the nearest float16 (ties to even) and back, as
// torch's .half() does, for values in float16's normal and subnormal range.
func roundF16(v float32) float32 {
	if v == 0 || math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return v
	}
	a := math.Abs(float64(v))
	e := math.Floor(math.Log2(a))
	e = max(e, -14) // subnormals share the exponent of the smallest normal
	quantum := math.Ldexp(1, int(e)-10)
	q := math.RoundToEven(float64(v)/quantum) * quantum
	return float32(q)
}

// roundModelToF16 replaces every weight of m by its float16-rounded value
// (kept as F32), giving the fp32 model that an fp16 checkpoint stores.
func roundModelToF16(m *TextModel) {
	roundW := func(w **tensor.Weight) {
		v := slices.Clone((*w).Float32())
		for i := range v {
			v[i] = roundF16(v[i])
		}
		*w = tensor.WeightFromFloat32(v, (*w).Shape...)
	}
	roundV := func(v []float32) {
		for i := range v {
			v[i] = roundF16(v[i])
		}
	}
	roundW(&m.TokenEmbedding.W)
	roundW(&m.PositionEmbedding.W)
	for _, l := range m.Layers {
		for _, lin := range linears(l) {
			roundW(&lin.W)
			lin.B = slices.Clone(lin.B)
			roundV(lin.B)
		}
		for _, n := range []*[]float32{&l.Norm1.Gamma, &l.Norm1.Beta, &l.Norm2.Gamma, &l.Norm2.Beta} {
			*n = slices.Clone(*n)
			roundV(*n)
		}
	}
	m.FinalNorm.Gamma = slices.Clone(m.FinalNorm.Gamma)
	m.FinalNorm.Beta = slices.Clone(m.FinalNorm.Beta)
	roundV(m.FinalNorm.Gamma)
	roundV(m.FinalNorm.Beta)
}

// TestTextEncoderFP16 loads the fp16 single file. The fixtures hold outputs
// of the fp32 weights only, so the reference here is the fp32 model with
// every weight rounded to float16 (what .half() stored): the same
// computation on the same values, held to the fp32 tolerance. The distance
// to the fp32-weight fixture is the cost of fp16 storage and is logged.
func TestTextEncoderFP16(t *testing.T) {
	m16 := loadModel(t, golden.Shared(t, "sd1/tiny-sd1-fp16.safetensors"), LoadOptions{Heads: fixtureHeads})
	if dt := m16.Layers[0].FC1.W.DType; dt != tensor.F16 {
		t.Fatalf("fc1 weight kept as %v, want f16", dt)
	}
	ref := loadModel(t, golden.Shared(t, "sd1/tiny-sd1.safetensors"), LoadOptions{Heads: fixtureHeads})
	roundModelToF16(ref)
	f := golden.Open(t, "sd1/text_encoder.safetensors")
	rows := fixtureRows(t, f)
	got, _ := encodeRows(t, m16, rows)
	want, _ := encodeRows(t, ref, rows)
	for _, name := range encoderTensors {
		golden.AssertClose(t, "fp16 file vs fp16-rounded fp32 model: "+name, got[name], want[name], atolEncoder, 0)
		fp32, _ := golden.Float32(t, f, name)
		d, _, _ := golden.Diff(got[name], fp32, 0, 0)
		t.Logf("%s: fp16 weights vs fp32 fixture max |diff| %.3g", name, d)
	}
}

func linears(l *EncoderLayer) []*nn.Linear {
	return []*nn.Linear{l.Attn.Q, l.Attn.K, l.Attn.V, l.Attn.Out, l.FC1, l.FC2}
}

func TestClipSkipBounds(t *testing.T) {
	m := diffusersModel(t)
	o, err := m.Forward(Window(nil, EOS))
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := m.SkipState(o, 1); h != o.Last {
		t.Error("clip skip 1 is not the last hidden state")
	}
	if h, _ := m.SkipState(o, 0); h != o.Last {
		t.Error("clip skip 0 is not the last hidden state")
	}
	if _, err := m.SkipState(o, 3); err != nil { // embeddings + final LN: allowed (Hidden[0])
		t.Errorf("clip skip 3 of 2 layers: %v", err)
	}
	if _, err := m.SkipState(o, 4); err == nil {
		t.Error("clip skip 4 of a 2-layer model: no error")
	}
	if _, err := m.Forward(make([]int, 78)); err == nil {
		t.Error("78 ids: no error")
	}
	if _, err := m.Forward([]int{BOS, 49408}); err == nil {
		t.Error("id outside the vocabulary: no error")
	}
}

func TestLoadTextModelShapeError(t *testing.T) {
	f := golden.Open(t, "sd1/model/text_encoder/model.safetensors")
	cfg := CLIPLConfig() // width 768: does not fit the tiny model
	cfg.Layers = 2
	_, err := LoadTextModel(nnParams(f), PrefixHF, &cfg)
	if err == nil || !strings.Contains(err.Error(), "text_model.embeddings.token_embedding.weight") ||
		!strings.Contains(err.Error(), "[49408, 32]") || !strings.Contains(err.Error(), "[49408, 768]") {
		t.Errorf("err = %v; want the key and both shapes", err)
	}
}

func TestContexts(t *testing.T) {
	enc := &Encoder{Tokenizer: realTokenizer(t), Model: diffusersModel(t)}
	checkContexts(t, enc, "sd1/sampling/contexts.safetensors")
}

func checkContexts(t *testing.T, enc *Encoder, fixture string) {
	f := golden.Open(t, fixture)
	rows := fixtureRows(t, f)
	prompts := []string{"a photo of an astronaut riding a horse on mars", "", "blurry, low quality, watermark"}
	for i, name := range []string{"cond", "uncond_empty", "uncond_text"} {
		if got := enc.Tokenizer.Window77(prompts[i]); !slices.Equal(got, rows[i]) {
			t.Errorf("%s: ids %v, want %v", name, got, rows[i])
		}
		want, shape := golden.Float32(t, f, name)
		for _, raw := range []bool{true, false} {
			h, _, err := enc.EncodePrompt(prompts[i], 1, raw)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(h.Shape, shape) {
				t.Fatalf("%s: shape %v, want %v", name, h.Shape, shape)
			}
			golden.AssertClose(t, fmt.Sprintf("%s %s raw=%v", fixture, name, raw), h.Data, want, atolEncoder, 0)
		}
	}
}

func TestClipLReplacement(t *testing.T) {
	alt := golden.Shared(t, "sd1/clip_l_alt.safetensors")
	for _, base := range []string{"sd1/model", "sd1/tiny-sd1.safetensors"} {
		t.Run(filepath.Base(base), func(t *testing.T) {
			b := loadModel(t, golden.Shared(t, base), LoadOptions{Heads: fixtureHeads})
			m, err := LoadReplacement(b, alt)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			if m.Layers[0].FC1.W.DType != tensor.F16 || m.Config != b.Config {
				t.Errorf("replacement: dtype %v, config %+v vs %+v", m.Layers[0].FC1.W.DType, m.Config, b.Config)
			}
			checkEncoderFixture(t, m, "sd1/text_encoder_alt.safetensors")
			checkContexts(t, &Encoder{Tokenizer: realTokenizer(t), Model: m}, "sd1/sampling/contexts_clipalt.safetensors")
			// The base model is untouched.
			checkEncoderFixture(t, b, "sd1/text_encoder.safetensors")
		})
	}
}

func nnParams(files ...*safetensors.File) *nn.Params { return nn.NewParams(files...) }
