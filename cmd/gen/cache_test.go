package main

import (
	"fmt"
	"github.com/godiffusion/godiffusion/models/clip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/internal/golden"
)

// TestMain points the tokenizer cache at a temporary folder, so that tests
// passing --tokenizer never write into the user's real cache.
//
// With GEN_TEST_AS_CLI=1 the test binary is gen itself (main with the
// process's arguments): crash tests run the CLI as a subprocess this way
// (see genCLI) without building a second binary.
func TestMain(m *testing.M) {
	if os.Getenv(asCLIEnv) == "1" {
		main()
		return
	}
	dir, err := os.MkdirTemp("", "gen-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(clip.CacheEnv, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestTokenizerCacheCLI: a --tokenizer that loads is cached (said once on
// stderr), later runs work without the flag, and an unwritable cache is a
// warning, not a failure.
func TestTokenizerCacheCLI(t *testing.T) {
	tok := golden.Tokenizer(t, "clip")
	dir := t.TempDir()
	t.Setenv(clip.CacheEnv, filepath.Join(dir, "cache"))
	if code, _, stderr := gen(t, "tokens", "-p", "a cat"); code != 2 || !strings.Contains(stderr, "stable-diffusion-v1-5/stable-diffusion-v1-5") {
		t.Fatalf("before caching: exit %d %q, want the missing-tokenizer error", code, stderr)
	}
	code, want, stderr := gen(t, "tokens", "--tokenizer", tok, "-p", "a cat")
	if code != 0 || !strings.Contains(stderr, "tokenizer cached in "+filepath.Join(dir, "cache", "clip-tokenizer")) {
		t.Fatalf("first run: exit %d, stderr %q: want the cache notice", code, stderr)
	}
	code, _, stderr = gen(t, "tokens", "--tokenizer", tok, "-p", "a cat")
	if code != 0 || stderr != "" {
		t.Errorf("second run with the flag: exit %d, stderr %q (the notice is said once)", code, stderr)
	}
	code, got, stderr := gen(t, "tokens", "-p", "a cat")
	if code != 0 || got != want {
		t.Errorf("run without the flag: exit %d, ids %q, want %q (stderr %q)", code, got, want, stderr)
	}

	// A cache path that cannot be a folder (it is a file): a warning only.
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	t.Setenv(clip.CacheEnv, blocker)
	code, got, stderr = gen(t, "tokens", "--tokenizer", tok, "-p", "a cat")
	if code != 0 || got != want || !strings.Contains(stderr, "warning") {
		t.Errorf("unwritable cache: exit %d, ids %q, stderr %q; want success and a warning", code, got, stderr)
	}
}
