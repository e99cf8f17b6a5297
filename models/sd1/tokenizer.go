package sd1

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godiffusion/godiffusion/models/clip"
)

// tokenizerHint says where to get the SD1 tokenizer files.
const tokenizerHint = "the tokenizer/ folder (vocab.json, merges.txt) of the Hugging Face repository stable-diffusion-v1-5/stable-diffusion-v1-5 (or openai/clip-vit-large-patch14)"

// hasTokenizer reports whether dir holds CLIP tokenizer files.
func hasTokenizer(dir string) bool {
	exists := func(n string) bool { _, err := os.Stat(filepath.Join(dir, n)); return err == nil }
	return (exists("vocab.json") && exists("merges.txt")) || exists("bpe_simple_vocab_16e6.txt.gz")
}

// FindTokenizer returns where to load the CLIP tokenizer from: dir when
// given (a folder with vocab.json + merges.txt or openai's
// bpe_simple_vocab_16e6.txt.gz, or that .gz file itself), else the
// tokenizer/ sub-folder of a diffusers model folder. The error says where
// to get the files.
func FindTokenizer(modelPath, dir string) (string, error) {
	if dir != "" {
		st, err := os.Stat(dir)
		switch {
		case err != nil:
			return "", fmt.Errorf("tokenizer %s: %w", dir, err)
		case !st.IsDir() && strings.HasSuffix(dir, ".gz"):
			return dir, nil
		case !st.IsDir():
			return "", fmt.Errorf("tokenizer %s: not a folder (expected vocab.json and merges.txt inside; get %s)", dir, tokenizerHint)
		case !hasTokenizer(dir):
			return "", fmt.Errorf("tokenizer folder %s holds neither vocab.json + merges.txt nor bpe_simple_vocab_16e6.txt.gz; get %s", dir, tokenizerHint)
		}
		return dir, nil
	}
	if modelPath != "" {
		if st, err := os.Stat(modelPath); err == nil && st.IsDir() {
			if d := filepath.Join(modelPath, "tokenizer"); hasTokenizer(d) {
				return d, nil
			}
		}
	}
	return "", fmt.Errorf("no CLIP tokenizer: the model has no tokenizer/ folder; pass --tokenizer DIR with %s", tokenizerHint)
}

// LoadTokenizer loads the CLIP tokenizer found by FindTokenizer.
func LoadTokenizer(path string) (*clip.Tokenizer, error) {
	if strings.HasSuffix(path, ".gz") {
		return clip.LoadTokenizerFile(path)
	}
	return clip.LoadTokenizer(path)
}
