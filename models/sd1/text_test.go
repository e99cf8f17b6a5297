package sd1

import (
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
)

// TestFreeTextEncoder: with FreeTextEncoder the weights are dropped after
// each encoding and reloaded on demand, giving the same contexts
// (compared with the fixture's recorded ones).
func TestFreeTextEncoder(t *testing.T) {
	tok := golden.Tokenizer(t, "clip")
	opts := tinyOptions(tok, "")
	opts.FreeTextEncoder = true
	te, err := LoadTextEncoder(golden.Core(t, "sd1/tiny-sd1.safetensors"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer te.Close()
	ctx := golden.Open(t, "sd1/sampling/contexts.safetensors")
	for _, c := range []struct{ prompt, name string }{
		{"a photo of an astronaut riding a horse on mars", "cond"},
		{"blurry, low quality, watermark", "uncond_text"},
		{"", "uncond_empty"},
	} {
		h, _, err := te.Encode(c.prompt, 0, true)
		if err != nil {
			t.Fatal(err)
		}
		if te.model != nil {
			t.Error("text model kept after Encode with FreeTextEncoder")
		}
		want, _ := golden.Float32(t, ctx, c.name)
		golden.AssertClose(t, c.name, h.Data, want, 1e-4, 0)
	}
}
