package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godiffusion/godiffusion/hub"
	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/internal/hubtest"
	"github.com/godiffusion/godiffusion/internal/usercache"
)

const sd15Repo = "stable-diffusion-v1-5/stable-diffusion-v1-5"

// fakeHub serves the tiny SD1 fixture as the sd15 registry files and the
// tiny SD1 diffusers folder as tiny/sd1, and points the environment
// (HF_ENDPOINT, an empty HF_HUB_CACHE, an empty tokenizer cache) at it.
func fakeHub(t *testing.T) (*hubtest.Server, string) {
	t.Helper()
	srv := hubtest.New(t)
	single, err := os.ReadFile(golden.Core(t, "sd1/tiny-sd1.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	tok := map[string][]byte{}
	hubtest.ReadDir(t, golden.Tokenizer(t, "clip"), "tokenizer", tok)
	delete(tok, "tokenizer/README.md")
	delete(tok, "tokenizer/bpe_simple_vocab_16e6.txt.gz")
	files := map[string][]byte{"v1-5-pruned-emaonly-fp16.safetensors": single}
	folder := map[string][]byte{}
	hubtest.ReadDir(t, golden.Shared(t, "sd1/model"), "", folder)
	for k, v := range tok {
		files[k], folder[k] = v, v
	}
	srv.AddRepo(sd15Repo, false, files)
	srv.AddRepo("tiny/sd1", false, folder)
	dir := t.TempDir()
	t.Setenv(hub.EnvEndpoint, srv.URL)
	t.Setenv(hub.EnvHubCache, filepath.Join(dir, "hf"))
	t.Setenv(hub.EnvOffline, "")
	t.Setenv(hub.EnvToken, "")
	t.Setenv(usercache.Env, filepath.Join(dir, "godiffusion"))
	return srv, dir
}

// TestHubModelSameImage: gen -m sd15 through the fake Hub renders the image
// gen --model renders from the same files, byte for byte; the second run
// makes no request; gen models and gen pull see the cached files.
func TestHubModelSameImage(t *testing.T) {
	golden.SkipShort(t, "gen -m through the fake Hub vs gen --model")
	srv, dir := fakeHub(t)
	tiny := []string{"--norm-groups", "4", "--text-heads", "4"}
	settings := append(append([]string{}, refRun...), tiny...)

	hubPNG := filepath.Join(dir, "hub.png")
	code, _, errs := gen(t, append([]string{"-m", "sd15", "-o", hubPNG}, settings...)...)
	if code != 0 {
		t.Fatalf("gen -m sd15: exit %d: %s", code, errs)
	}
	local := filepath.Join(dir, "v1-5-pruned-emaonly-fp16.safetensors")
	b, _ := os.ReadFile(golden.Core(t, "sd1/tiny-sd1.safetensors"))
	os.WriteFile(local, b, 0o644)
	localPNG := filepath.Join(dir, "local.png")
	code, _, errs = gen(t, append([]string{"--model", local, "--tokenizer", golden.Tokenizer(t, "clip"), "-o", localPNG}, settings...)...)
	if code != 0 {
		t.Fatalf("gen --model: exit %d: %s", code, errs)
	}
	a, _ := os.ReadFile(hubPNG)
	l, _ := os.ReadFile(localPNG)
	if len(a) == 0 || !bytes.Equal(a, l) {
		t.Errorf("gen -m sd15 and gen --model PATH wrote different PNGs (%d and %d bytes)", len(a), len(l))
	}

	n := len(srv.Requests())
	code, _, errs = gen(t, append([]string{"-m", "sd15", "-o", filepath.Join(dir, "again.png")}, settings...)...)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errs)
	}
	if r := srv.Requests()[n:]; len(r) != 0 {
		t.Errorf("second run made requests: %v", r)
	}

	code, out, _ := gen(t, "models")
	if code != 0 || !strings.Contains(out, "sd15") || !strings.Contains(out, "yes") || !strings.Contains(out, "flux1-dev") {
		t.Errorf("gen models: exit %d:\n%s", code, out)
	}
	code, out, errs = gen(t, "pull", "sd15", "--quiet")
	if code != 0 || !strings.Contains(out, "model\t") || !strings.Contains(out, "v1-5-pruned-emaonly-fp16.safetensors") {
		t.Errorf("gen pull sd15: exit %d: %s %s", code, out, errs)
	}
	code, _, errs = gen(t, "pull", "nobody/nothing", "--quiet")
	if code != 2 || !strings.Contains(errs, "nobody/nothing") {
		t.Errorf("gen pull of a missing repository: exit %d: %s", code, errs)
	}
}

// TestHubRecommended: the card's settings are printed when they differ and
// applied with --recommended, except those given on the command line.
func TestHubRecommended(t *testing.T) {
	f := &genFlags{steps: 20, cfg: 8, sampler: "euler", scheduler: "normal", width: 512, height: 512, given: map[string]bool{"steps": true}}
	var errb bytes.Buffer
	recommend(f, hub.Lookup("animagine-xl-3.1"), &errb)
	if f.steps != 20 || f.cfg != 8 || !strings.Contains(errb.String(), "--steps 28") || !strings.Contains(errb.String(), "--recommended") {
		t.Errorf("without --recommended: %+v\n%s", f, errb.String())
	}
	f = &genFlags{steps: 10, cfg: 8, sampler: "euler", scheduler: "normal", width: 512, height: 512, recommended: true, given: map[string]bool{"steps": true}}
	errb.Reset()
	recommend(f, hub.Lookup("animagine-xl-3.1"), &errb)
	r := hub.Lookup("animagine-xl-3.1").Recommended
	if f.steps != 10 || f.cfg != 7 || f.sampler != "euler_ancestral" || f.width != 832 || f.height != 1216 || f.negative != r.Negative {
		t.Errorf("--recommended: %+v", f)
	}
	if !strings.Contains(errb.String(), "--steps 28") {
		t.Errorf("the kept --steps is not reported: %s", errb.String())
	}
}

// TestHubDiffusersRepo: -m owner/repo fetches a diffusers repository and
// renders what --model renders from the same folder.
func TestHubDiffusersRepo(t *testing.T) {
	_, dir := fakeHub(t)
	args := append([]string{}, refRun...)
	hubPNG, localPNG := filepath.Join(dir, "hub.png"), filepath.Join(dir, "local.png")
	if code, _, errs := gen(t, append([]string{"-m", "tiny/sd1", "-o", hubPNG}, args...)...); code != 0 {
		t.Fatalf("gen -m tiny/sd1: exit %d: %s", code, errs)
	}
	if code, _, errs := gen(t, append([]string{"--model", golden.Shared(t, "sd1/model"), "--tokenizer", golden.Tokenizer(t, "clip"), "-o", localPNG}, args...)...); code != 0 {
		t.Fatalf("gen --model folder: exit %d: %s", code, errs)
	}
	ab, _ := os.ReadFile(hubPNG)
	lb, _ := os.ReadFile(localPNG)
	a, b := decodePNG(t, ab), decodePNG(t, lb)
	if !bytes.Equal(a, b) { // the PNGs' texts differ: the model name is the folder's
		t.Error("gen -m owner/repo and gen --model FOLDER rendered different pixels")
	}
}

// TestReadmeFirstCommand runs the README's first command against the fake
// Hub with an empty cache, adding only the tiny fixture's hyper-parameters
// and a small size (later flags win).
func TestReadmeFirstCommand(t *testing.T) {
	_, dir := fakeHub(t)
	b, err := os.ReadFile(filepath.Join(golden.Root(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cmd string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "go run ./cmd/gen ") {
			cmd = strings.TrimPrefix(line, "go run ./cmd/gen ")
			break
		}
	}
	if cmd == "" {
		t.Fatal("README has no `go run ./cmd/gen` command")
	}
	args := shellWords(cmd)
	out := filepath.Join(dir, "first.png")
	args = append(args, "--norm-groups", "4", "--text-heads", "4", "-W", "64", "-H", "64", "--steps", "2", "-o", out, "--quiet")
	if code, _, errs := gen(t, args...); code != 0 {
		t.Fatalf("README command %q: exit %d: %s", cmd, code, errs)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
}

// shellWords splits a command line on spaces, keeping "quoted words".
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, in := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

func TestParseModelRef(t *testing.T) {
	for s, want := range map[string]refKind{
		"sd15": refRegistry, "owner/repo": refRepo, "owner/repo@v1": refRepo, "owner/repo/sub/x.safetensors": refFile,
		"/abs/x.safetensors": refLocal, "./x.safetensors": refLocal, "models/x.safetensors": refLocal, "x.safetensors": refLocal,
		"owner/repo/README.md": refLocal,
	} {
		if got := parseModelRef(s).kind; got != want {
			t.Errorf("%s: kind %d, want %d", s, got, want)
		}
	}
}
