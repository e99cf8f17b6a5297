package sd1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindTokenizer(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	tok := filepath.Join(model, "tokenizer")
	os.MkdirAll(tok, 0o755)
	os.WriteFile(filepath.Join(tok, "vocab.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(tok, "merges.txt"), []byte(""), 0o644)
	single := filepath.Join(dir, "m.safetensors")
	os.WriteFile(single, nil, 0o644)
	os.Mkdir(filepath.Join(dir, "openai"), 0o755)
	gz := filepath.Join(dir, "openai", "bpe_simple_vocab_16e6.txt.gz")
	os.WriteFile(gz, nil, 0o644)

	for _, c := range []struct {
		model, dir, want string
	}{
		{model, "", tok},     // the diffusers folder's tokenizer/
		{single, tok, tok},   // explicit folder
		{model, gz, gz},      // explicit openai .gz file
		{"", tok, tok},       // no model (gen tokens)
		{single, "", ""},     // a single file has no tokenizer
		{single, dir, ""},    // a folder without the files
		{single, single, ""}, // a file that is not the .gz
		{single, filepath.Join(dir, "missing"), ""},
	} {
		got, err := FindTokenizer(c.model, c.dir)
		if c.want == "" {
			if err == nil {
				t.Errorf("FindTokenizer(%q, %q) = %q, want an error", c.model, c.dir, got)
			} else if !strings.Contains(err.Error(), "stable-diffusion-v1-5") && !strings.Contains(err.Error(), "missing") {
				t.Errorf("error %q does not say where to get the tokenizer", err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("FindTokenizer(%q, %q) = %q, %v; want %q", c.model, c.dir, got, err, c.want)
		}
	}
}

func TestCanonicalNames(t *testing.T) {
	for in, want := range map[string]string{"euler_a": "euler_ancestral", "dpm++2m": "dpmpp_2m", "heun": "heun"} {
		if got, err := CanonicalSampler(in); err != nil || got != want {
			t.Errorf("CanonicalSampler(%q) = %q, %v", in, got, err)
		}
	}
	for in, want := range map[string]string{"discrete": "normal", "karras": "karras", "sgm_uniform": "sgm_uniform"} {
		if got, err := CanonicalScheduler(in); err != nil || got != want {
			t.Errorf("CanonicalScheduler(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := CanonicalSampler("nope"); err == nil {
		t.Error("unknown sampler accepted")
	}
	if _, err := CanonicalScheduler("nope"); err == nil {
		t.Error("unknown scheduler accepted")
	}
}
