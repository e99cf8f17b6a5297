package clip

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/nn"
)

// SDXL's tiny text towers: width 16, 2 heads (sdxl/diffusers/text_encoder*/config.json).
const sdxlHeads = 2

// sdxlEncoderTensors computes, for each fixture row, SDXL's use of the two
// towers: the penultimate hidden state without the final LayerNorm, the
// final-LN state, and the pooled output (projected for bigG).
func sdxlEncoderTensors(t *testing.T, m *TextModel, rows [][]int) (pen, last, pooled []float32) {
	t.Helper()
	for _, ids := range rows {
		o, err := m.Forward(ids)
		if err != nil {
			t.Fatal(err)
		}
		pen = append(pen, o.Hidden[len(o.Hidden)-2].Data...)
		last = append(last, o.Last.Data...)
		if o.TextEmbeds != nil {
			pooled = append(pooled, o.TextEmbeds.Data...)
		} else {
			pooled = append(pooled, o.Pooled.Data...)
		}
	}
	return
}

func sdxlRows(t *testing.T, name string) [][]int {
	return idRows(t, golden.Open(t, "sdxl/text_encoders.safetensors"), name)
}

func checkSDXLTower(t *testing.T, what string, m *TextModel, tower string) {
	t.Helper()
	f := golden.Open(t, "sdxl/text_encoders.safetensors")
	idsName, pooledName := "ids_clip_l", "clip_l.pooler_output"
	if tower == "clip_g" {
		idsName, pooledName = "ids_clip_g", "clip_g.text_embeds"
	}
	pen, last, pooled := sdxlEncoderTensors(t, m, sdxlRows(t, idsName))
	for name, got := range map[string][]float32{tower + ".hidden_penultimate": pen, tower + ".last_hidden_state": last, pooledName: pooled} {
		want, _ := golden.Float32(t, f, name)
		golden.AssertClose(t, what+" "+name, got, want, atolEncoder, 0)
	}
}

// TestSDXLTextEncoders checks the design extends to SDXL: CLIP-L (HF
// layout) and bigG (OpenCLIP layout in the single file, HF layout with
// projection in the diffusers folder), against sdxl/text_encoders.safetensors.
func TestSDXLTextEncoders(t *testing.T) {
	if testing.Short() {
		t.Skip("bigG has 32 layers; the SD1 tests cover the same code")
	}
	single := golden.Shared(t, "sdxl/tiny-sdxl.safetensors")
	checkSDXLTower(t, "single-file CLIP-L", loadModel(t, single, LoadOptions{Heads: sdxlHeads}), "clip_l")
	checkSDXLTower(t, "diffusers text_encoder", loadModel(t, golden.Shared(t, "sdxl/diffusers/text_encoder"), LoadOptions{}), "clip_l")
	g2 := loadModel(t, golden.Shared(t, "sdxl/diffusers/text_encoder_2"), LoadOptions{})
	if g2.Projection == nil || g2.Config.Act != "gelu" || g2.Config.Layers != 32 {
		t.Fatalf("text_encoder_2: projection %v, config %+v", g2.Projection != nil, g2.Config)
	}
	checkSDXLTower(t, "diffusers text_encoder_2", g2, "clip_g")

	p, err := nn.OpenParams(single)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	g, err := LoadOpenCLIPTextModel(p, PrefixSDXLBigG, sdxlHeads)
	if err != nil {
		t.Fatal(err)
	}
	if g.Config != g2.Config {
		t.Errorf("OpenCLIP config %+v, HF config %+v", g.Config, g2.Config)
	}
	checkSDXLTower(t, "single-file OpenCLIP bigG", g, "clip_g")
}

func sdxlPrompts(t *testing.T) []string {
	b, err := os.ReadFile(golden.Shared(t, "sdxl/meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Prompts []string `json:"prompts"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	return meta.Prompts
}

// TestSDXLTokenIDs: CLIP-L windows pad with EOS, bigG windows with 0;
// longer prompts are truncated to 75 tokens.
func TestSDXLTokenIDs(t *testing.T) {
	tok := realTokenizer(t)
	l, g := sdxlRows(t, "ids_clip_l"), sdxlRows(t, "ids_clip_g")
	for i, p := range sdxlPrompts(t) {
		ids := tok.Encode(p)
		if !slices.Equal(Window(ids, EOS), l[i]) || !slices.Equal(Window(ids, 0), g[i]) {
			t.Errorf("%q: ids differ from the fixture", p)
		}
	}
}

// TestSDXLEncodePrompt runs the full prompt path as SDXL uses it: both
// towers' penultimate states without the final norm, bigG padded with 0,
// and the projected bigG pooled output.
func TestSDXLEncodePrompt(t *testing.T) {
	if testing.Short() {
		t.Skip("bigG has 32 layers; TestContexts covers the same path")
	}
	tok := realTokenizer(t)
	f := golden.Open(t, "sdxl/text_encoders.safetensors")
	towers := []struct {
		name, pooled string
		enc          *Encoder
	}{
		{"clip_l", "clip_l.pooler_output", &Encoder{Tokenizer: tok, Model: loadModel(t, golden.Shared(t, "sdxl/diffusers/text_encoder"), LoadOptions{}), NoFinalNorm: true}},
		{"clip_g", "clip_g.text_embeds", &Encoder{Tokenizer: tok, Model: loadModel(t, golden.Shared(t, "sdxl/diffusers/text_encoder_2"), LoadOptions{}), NoFinalNorm: true, ZeroPad: true}},
	}
	for _, tw := range towers {
		var pen, pooled []float32
		for _, p := range sdxlPrompts(t) {
			h, pl, err := tw.enc.EncodePrompt(p, 2, true)
			if err != nil {
				t.Fatal(err)
			}
			pen, pooled = append(pen, h.Data...), append(pooled, pl.Data...)
		}
		want, _ := golden.Float32(t, f, tw.name+".hidden_penultimate")
		golden.AssertClose(t, tw.name+" EncodePrompt penultimate", pen, want, atolEncoder, 0)
		want, _ = golden.Float32(t, f, tw.pooled)
		golden.AssertClose(t, tw.name+" EncodePrompt pooled", pooled, want, atolEncoder, 0)
	}
}
