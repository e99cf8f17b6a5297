package clip

import (
	"fmt"
	"github.com/godiffusion/godiffusion/internal/usercache"
	"os"
	"path/filepath"
	"strings"
)

// tokenizerHint says where to get the CLIP tokenizer files.
const tokenizerHint = "the tokenizer/ folder (vocab.json, merges.txt) of the Hugging Face repository stable-diffusion-v1-5/stable-diffusion-v1-5 (or openai/clip-vit-large-patch14)"

// openaiVocab is the file name of openai's gzipped BPE vocabulary, which
// holds the same merges as Hugging Face's vocab.json + merges.txt.
const openaiVocab = "bpe_simple_vocab_16e6.txt.gz"

// CacheEnv is the environment variable that moves godiffusion's cache:
// when set, the tokenizer cache is $GODIFFUSION_CACHE/clip-tokenizer
// instead of os.UserCacheDir()/godiffusion/clip-tokenizer.
const CacheEnv = usercache.Env

// hasTokenizer reports whether dir holds CLIP tokenizer files.
func hasTokenizer(dir string) bool {
	return (isFile(filepath.Join(dir, "vocab.json")) && isFile(filepath.Join(dir, "merges.txt"))) ||
		isFile(filepath.Join(dir, openaiVocab))
}

func isFile(p string) bool { st, err := os.Stat(p); return err == nil && !st.IsDir() }

// TokenizerCacheDir returns the folder where a tokenizer given once with
// --tokenizer is kept for later runs: $GODIFFUSION_CACHE/clip-tokenizer
// when that variable is set, else os.UserCacheDir()/godiffusion/clip-tokenizer
// (~/.cache/godiffusion/clip-tokenizer on Linux). The folder may not exist.
func TokenizerCacheDir() (string, error) { return usercache.Dir("clip-tokenizer") }

// FindTokenizer returns where to load the CLIP tokenizer from, trying in
// order:
//
//  1. dir, when given: a folder with vocab.json + merges.txt or openai's
//     bpe_simple_vocab_16e6.txt.gz, or that .gz file itself (a bad dir is
//     an error, never silently replaced by a later place);
//  2. the tokenizer/ sub-folder of a diffusers model folder;
//  3. next to a single-file checkpoint: a tokenizer/ folder, or
//     bpe_simple_vocab_16e6.txt.gz in the checkpoint's folder;
//  4. the user cache (TokenizerCacheDir), filled by CacheTokenizer.
//
// The error lists the places searched and says where to get the files.
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
			return "", fmt.Errorf("tokenizer folder %s holds neither vocab.json + merges.txt nor %s; get %s", dir, openaiVocab, tokenizerHint)
		}
		return dir, nil
	}
	var candidates []string
	if modelPath != "" {
		if st, err := os.Stat(modelPath); err == nil && st.IsDir() {
			candidates = append(candidates, filepath.Join(modelPath, "tokenizer"))
		} else if err == nil {
			next := filepath.Dir(modelPath)
			candidates = append(candidates, filepath.Join(next, "tokenizer"), filepath.Join(next, openaiVocab))
		}
	}
	cache, cacheErr := TokenizerCacheDir()
	if cacheErr == nil {
		candidates = append(candidates, cache)
	}
	for _, c := range candidates {
		if (strings.HasSuffix(c, ".gz") && isFile(c)) || hasTokenizer(c) {
			return c, nil
		}
	}
	searched := strings.Join(candidates, ", ")
	if cacheErr != nil {
		searched += " (" + cacheErr.Error() + ")"
	}
	if searched == "" {
		searched = "nothing"
	}
	return "", fmt.Errorf("no CLIP tokenizer found (searched %s); get %s and pass it once with --tokenizer DIR (it is then cached for later runs)", searched, tokenizerHint)
}

// OpenTokenizer loads the CLIP tokenizer at a path FindTokenizer returned:
// a folder (LoadTokenizer) or openai's .gz file (LoadTokenizerFile).
func OpenTokenizer(path string) (*Tokenizer, error) {
	if strings.HasSuffix(path, ".gz") {
		return LoadTokenizerFile(path)
	}
	return LoadTokenizer(path)
}
