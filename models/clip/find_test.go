package clip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTok makes dir a stand-in tokenizer folder (FindTokenizer only
// checks that the files exist).
func writeTok(t *testing.T, dir, vocab string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(vocab), 0o644)
	os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\n"), 0o644)
	return dir
}

func TestFindTokenizer(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	t.Setenv(CacheEnv, cache) // an empty cache: nothing found there
	model := filepath.Join(dir, "model")
	tok := writeTok(t, filepath.Join(model, "tokenizer"), "{}")
	single := filepath.Join(dir, "m.safetensors")
	os.WriteFile(single, nil, 0o644)
	os.Mkdir(filepath.Join(dir, "openai"), 0o755)
	gz := filepath.Join(dir, "openai", "bpe_simple_vocab_16e6.txt.gz")
	os.WriteFile(gz, nil, 0o644)
	// A single file with a tokenizer/ folder beside it, and one with
	// openai's .gz beside it.
	withFolder := filepath.Join(dir, "a", "m.safetensors")
	besideTok := writeTok(t, filepath.Join(dir, "a", "tokenizer"), "{}")
	os.WriteFile(withFolder, nil, 0o644)
	withGz := filepath.Join(dir, "openai", "m.safetensors")
	os.WriteFile(withGz, nil, 0o644)

	for _, c := range []struct {
		model, dir, want string
	}{
		{model, "", tok},            // the diffusers folder's tokenizer/
		{single, tok, tok},          // explicit folder
		{model, gz, gz},             // explicit openai .gz file
		{"", tok, tok},              // no model (gen tokens)
		{withFolder, "", besideTok}, // tokenizer/ next to a single file
		{withGz, "", gz},            // openai .gz next to a single file
		{withFolder, tok, tok},      // --tokenizer wins over the folder beside the file
		{single, "", ""},            // a single file with nothing beside it, empty cache
		{"", "", ""},                // nothing at all
		{single, dir, ""},           // a folder without the files
		{single, single, ""},        // a file that is not the .gz
		{withFolder, filepath.Join(dir, "missing"), ""}, // a bad --tokenizer is an error, not skipped
	} {
		got, err := FindTokenizer(c.model, c.dir)
		if c.want == "" {
			if err == nil {
				t.Errorf("FindTokenizer(%q, %q) = %q, want an error", c.model, c.dir, got)
			} else if !strings.Contains(err.Error(), "stable-diffusion-v1-5/stable-diffusion-v1-5") && !strings.Contains(err.Error(), "missing") {
				t.Errorf("error %q does not say where to get the tokenizer", err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("FindTokenizer(%q, %q) = %q, %v; want %q", c.model, c.dir, got, err, c.want)
		}
	}
	// The error lists the places searched, the cache included.
	_, err := FindTokenizer(single, "")
	for _, want := range []string{filepath.Join(dir, "tokenizer"), cache} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not list %s", err, want)
		}
	}
}

// TestTokenizerCache: a tokenizer given once is copied into the cache
// (GODIFFUSION_CACHE/clip-tokenizer), found there when nothing else is,
// and ranks after the places next to the model.
func TestTokenizerCache(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(CacheEnv, filepath.Join(dir, "cache"))
	want := filepath.Join(dir, "cache", "clip-tokenizer")
	if got, err := TokenizerCacheDir(); err != nil || got != want {
		t.Fatalf("TokenizerCacheDir() = %q, %v; want %q", got, err, want)
	}
	single := filepath.Join(dir, "m.safetensors")
	os.WriteFile(single, nil, 0o644)
	src := writeTok(t, filepath.Join(dir, "src"), `{"a": 0}`)

	got, copied, err := CacheTokenizer(src)
	if err != nil || got != want || !copied {
		t.Fatalf("CacheTokenizer = %q, %v, %v; want %q, true", got, copied, err, want)
	}
	for _, n := range []string{"vocab.json", "merges.txt"} {
		a, _ := os.ReadFile(filepath.Join(src, n))
		b, err := os.ReadFile(filepath.Join(want, n))
		if err != nil || string(a) != string(b) {
			t.Errorf("cached %s = %q, %v; want %q", n, b, err, a)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(want, "*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// Same bytes again: nothing copied (so gen says "cached" only once).
	if _, copied, err := CacheTokenizer(src); err != nil || copied {
		t.Errorf("second CacheTokenizer copied %v, %v", copied, err)
	}
	// Caching the cache itself is a no-op.
	if _, copied, err := CacheTokenizer(want); err != nil || copied {
		t.Errorf("CacheTokenizer(cache) copied %v, %v", copied, err)
	}
	// Now a single file with nothing beside it finds the cache...
	if got, err := FindTokenizer(single, ""); err != nil || got != want {
		t.Errorf("FindTokenizer with a filled cache = %q, %v; want %q", got, err, want)
	}
	// ...but a tokenizer/ folder next to the model comes first.
	beside := writeTok(t, filepath.Join(dir, "tokenizer"), "{}")
	if got, err := FindTokenizer(single, ""); err != nil || got != beside {
		t.Errorf("FindTokenizer = %q, %v; want the folder beside the model %q", got, err, beside)
	}
	// A changed tokenizer replaces the cached one.
	writeTok(t, src, `{"b": 1}`)
	if _, copied, err := CacheTokenizer(src); err != nil || !copied {
		t.Errorf("changed tokenizer: copied %v, %v", copied, err)
	}
	if b, _ := os.ReadFile(filepath.Join(want, "vocab.json")); string(b) != `{"b": 1}` {
		t.Errorf("cache holds %q after an update", b)
	}
	// openai's .gz given as a file is cached under its canonical name.
	gz := filepath.Join(dir, "renamed.txt.gz")
	os.WriteFile(gz, []byte("gz bytes"), 0o644)
	if _, copied, err := CacheTokenizer(gz); err != nil || !copied {
		t.Errorf("CacheTokenizer(.gz) copied %v, %v", copied, err)
	}
	if b, _ := os.ReadFile(filepath.Join(want, "bpe_simple_vocab_16e6.txt.gz")); string(b) != "gz bytes" {
		t.Errorf("cached .gz holds %q", b)
	}
	if _, _, err := CacheTokenizer(filepath.Join(dir, "nothing")); err == nil {
		t.Error("caching a folder without tokenizer files succeeded")
	}
}
