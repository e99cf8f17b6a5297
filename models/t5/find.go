package t5

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godiffusion/godiffusion/internal/usercache"
)

// tokenizerHint says where to get the T5 tokenizer.
const tokenizerHint = "spiece.model from the Hugging Face repository google/t5-v1_1-xxl (or tokenizer_2/ of black-forest-labs/FLUX.1-schnell)"

// tokenizerFiles are the files that make a folder a T5 tokenizer, in order
// of preference.
var tokenizerFiles = []string{"spiece.model", "tokenizer.json"}

// TokenizerCacheDir is where a T5 tokenizer given once is kept for later
// runs: usercache.Dir("t5-tokenizer").
func TokenizerCacheDir() (string, error) { return usercache.Dir("t5-tokenizer") }

// tokenizerIn returns the tokenizer file in dir, or "".
func tokenizerIn(dir string) string {
	for _, n := range tokenizerFiles {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// FindTokenizer returns the T5 tokenizer file to load, trying in order:
//
//  1. given, when not empty (a spiece.model or tokenizer.json file, or a
//     folder holding one; a bad path is an error, never replaced by a
//     later place);
//  2. the tokenizer_2/ folder of a diffusers model folder modelPath;
//  3. the folder of the T5 weights file t5Path (spiece.model or
//     tokenizer.json beside it), and its tokenizer_2/ or tokenizer/;
//  4. the user cache (TokenizerCacheDir), filled by CacheTokenizer.
//
// The error lists the places searched and says where to get the file.
func FindTokenizer(given, modelPath, t5Path string) (string, error) {
	if given != "" {
		st, err := os.Stat(given)
		if err != nil {
			return "", fmt.Errorf("T5 tokenizer %s: %w", given, err)
		}
		if !st.IsDir() {
			return given, nil
		}
		if f := tokenizerIn(given); f != "" {
			return f, nil
		}
		return "", fmt.Errorf("T5 tokenizer folder %s holds neither %s; get %s", given, strings.Join(tokenizerFiles, " nor "), tokenizerHint)
	}
	var dirs []string
	if st, err := os.Stat(modelPath); err == nil && st.IsDir() {
		dirs = append(dirs, filepath.Join(modelPath, "tokenizer_2"))
	}
	if t5Path != "" {
		d := t5Path
		if st, err := os.Stat(t5Path); err != nil || !st.IsDir() {
			d = filepath.Dir(t5Path)
		}
		dirs = append(dirs, d, filepath.Join(d, "tokenizer_2"), filepath.Join(d, "tokenizer"))
	}
	cache, cacheErr := TokenizerCacheDir()
	if cacheErr == nil {
		dirs = append(dirs, cache)
	}
	for _, d := range dirs {
		if f := tokenizerIn(d); f != "" {
			return f, nil
		}
	}
	searched := strings.Join(dirs, ", ")
	if cacheErr != nil {
		searched += " (" + cacheErr.Error() + ")"
	}
	return "", fmt.Errorf("no T5 tokenizer found (searched %s); get %s and pass it once with --t5-tokenizer FILE (it is then cached for later runs)", searched, tokenizerHint)
}

// CacheTokenizer copies the tokenizer file src (which loaded successfully)
// into TokenizerCacheDir under its own name, through a temporary file
// renamed into place. copied is false when the cache already held the
// same bytes or src is the cached file.
func CacheTokenizer(src string) (dst string, copied bool, err error) {
	dir, err := TokenizerCacheDir()
	if err != nil {
		return "", false, err
	}
	name := filepath.Base(src)
	if name != "tokenizer.json" {
		name = "spiece.model" // any *.model file is a SentencePiece model
	}
	dst = filepath.Join(dir, name)
	data, err := os.ReadFile(src)
	if err != nil {
		return dst, false, err
	}
	if old, err := os.ReadFile(dst); err == nil && string(old) == string(data) {
		return dst, false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return dst, false, err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return dst, false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return dst, false, err
	}
	if err := tmp.Close(); err != nil {
		return dst, false, err
	}
	// Only one tokenizer lives in the cache: drop the other format's file.
	for _, n := range tokenizerFiles {
		if n != name {
			os.Remove(filepath.Join(dir, n))
		}
	}
	return dst, true, os.Rename(tmp.Name(), dst)
}
