package main

import (
	"bytes"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/internal/usercache"
)

// asCLIEnv makes the test binary run as gen (see TestMain).
const asCLIEnv = "GEN_TEST_AS_CLI"

// genCLI runs gen as a subprocess (the test binary in CLI mode) and returns
// its exit status, stdout and stderr.
func genCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	golden.SkipUnlessReexec(t)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asCLIEnv+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// noCrashText fails when stderr holds a Go crash report.
func noCrashText(t *testing.T, stderr string) {
	t.Helper()
	for _, w := range []string{"goroutine", "panic", "fatal error"} {
		if strings.Contains(stderr, w) {
			t.Errorf("stderr holds %q: %s", w, stderr)
		}
	}
}

// onlyFiles fails unless dir holds exactly the names want (no temporary
// file left behind).
func onlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

// quickRun are settings that make the tiny SD1 fixture finish in a moment.
var quickRun = []string{"-p", "a cat", "--seed", "1", "--steps", "1", "-W", "64", "-H", "64", "--quiet"}

func tinyRun(t *testing.T, extra ...string) []string {
	return append(append(tinyArgs(t), quickRun...), extra...)
}

// TestOutputNotRegularFile (#14 item 2): a FIFO (as a device node or
// socket) is never replaced, even with --overwrite; a symlink is written
// through and stays a link.
func TestOutputNotRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	code, _, stderr := genCLI(t, tinyRun(t, "-o", fifo, "--overwrite")...)
	if st, err := os.Lstat(fifo); code != 2 || err != nil || st.Mode()&os.ModeNamedPipe == 0 || !strings.Contains(stderr, "not a regular file") {
		t.Errorf("-o FIFO --overwrite: exit %d, stderr %q; want 2, 'not a regular file' and the FIFO intact", code, stderr)
	}
	noCrashText(t, stderr)
	onlyFiles(t, dir, "fifo.png")

	target := filepath.Join(dir, "real.png")
	os.WriteFile(target, []byte("old"), 0o600)
	link := filepath.Join(dir, "link.png")
	os.Symlink("real.png", link)
	code, _, stderr = genCLI(t, tinyRun(t, "-o", link, "--overwrite")...)
	if code != 0 {
		t.Fatalf("-o symlink --overwrite: exit %d, stderr %q", code, stderr)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced")
	}
	if b, _ := os.ReadFile(target); !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("the link's target does not hold the PNG")
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o600 {
		t.Errorf("target mode %v, want the replaced file's 0600", st.Mode().Perm())
	}
	onlyFiles(t, dir, "fifo.png", "link.png", "real.png")
}

// TestOutputUnwritable (#14 item 5): an output that cannot be written is
// bad input (exit 2) naming the flag, found before any work, with no
// partial result.
func TestOutputUnwritable(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.png")
	cases := []struct {
		name, flag string
		args       []string
	}{
		{"/proc", "-o/--output", []string{"-o", "/proc/x.png"}},
		{"latent in /proc", "--save-latent", []string{"-o", out, "--save-latent", "/proc/l.safetensors"}},
		{"dangling link into a missing folder", "-o/--output", []string{"-o", filepath.Join(dir, "dangling.png")}},
	}
	os.Symlink(filepath.Join(dir, "no", "such", "x.png"), filepath.Join(dir, "dangling.png"))
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o555)
		cases = append(cases, struct {
			name, flag string
			args       []string
		}{"read-only folder", "-o/--output", []string{"-o", filepath.Join(ro, "x.png")}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Now()
			code, _, stderr := genCLI(t, tinyRun(t, c.args...)...)
			if code != 2 || !strings.Contains(stderr, c.flag) || strings.Contains(stderr, ".tmp-") {
				t.Errorf("exit %d, stderr %q: want 2 and a message naming %s (not the temporary file)", code, stderr, c.flag)
			}
			noCrashText(t, stderr)
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written: a partial result", out)
			}
			t.Logf("%.2fs: %s", time.Since(t0).Seconds(), strings.TrimSpace(stderr))
		})
	}
	want := []string{"dangling.png"}
	if os.Geteuid() != 0 {
		want = append(want, "ro")
	}
	onlyFiles(t, dir, want...)
}

// TestInterruptRemovesTemps (#14 item 6): SIGINT while gen runs exits with
// 130 and leaves no temporary (or final) file.
func TestInterruptRemovesTemps(t *testing.T) {
	golden.SkipUnlessReexec(t)
	dir := t.TempDir()
	args := append(tinyArgs(t), "-p", "a cat", "--seed", "1", "--steps", "10000", "-W", "64", "-H", "64", "--quiet",
		"-o", filepath.Join(dir, "x.png"), "--save-latent", filepath.Join(dir, "x.safetensors"))
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asCLIEnv+"=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until gen has created its temporary files (before loading).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ents, _ := os.ReadDir(dir); len(ents) == 2 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("gen made no temporary files")
		}
	}
	time.Sleep(300 * time.Millisecond) // into loading or sampling
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != exitInterrupted {
		t.Errorf("exit %d (%v), want %d; stderr %q", code, err, exitInterrupted, errb.String())
	}
	noCrashText(t, errb.String())
	onlyFiles(t, dir)
}

// TestOutputUmask (#14 item 8): a new output gets 0666 &^ umask; a
// replaced one keeps its mode.
func TestOutputUmask(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o077) // inherited by the subprocess
	code, _, stderr := genCLI(t, tinyRun(t, "-o", filepath.Join(dir, "a.png"))...)
	syscall.Umask(old)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, _ := os.Stat(filepath.Join(dir, "a.png")); st.Mode().Perm() != 0o600 {
		t.Errorf("under umask 077: mode %v, want 0600", st.Mode().Perm())
	}
	old = syscall.Umask(0o022)
	defer syscall.Umask(old)
	b := filepath.Join(dir, "b.png")
	os.WriteFile(b, []byte("old"), 0o600)
	os.Chmod(b, 0o600)
	if code, _, stderr := genCLI(t, tinyRun(t, "-o", b, "--overwrite")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, _ := os.Stat(b); st.Mode().Perm() != 0o600 {
		t.Errorf("--overwrite of a 0600 file: mode %v, want 0600 kept", st.Mode().Perm())
	}
	c := filepath.Join(dir, "c.png")
	if code, _, stderr := genCLI(t, tinyRun(t, "-o", c)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, _ := os.Stat(c); st.Mode().Perm() != 0o644 {
		t.Errorf("under umask 022: mode %v, want 0644", st.Mode().Perm())
	}
	onlyFiles(t, dir, "a.png", "b.png", "c.png")
}

// TestPanicExit3 (#14 item 9): a panic becomes exit status 3 with one line
// and a hint to report it; the stack trace only with -v.
func TestPanicExit3(t *testing.T) {
	var errb bytes.Buffer
	code := runSafely(func() int { panic("index out of range [3] with length 2") }, false, &errb)
	if code != exitBug || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), "report") {
		t.Errorf("exit %d, stderr %q: want 3 and one line asking for a report", code, errb.String())
	}
	if strings.Contains(errb.String(), "goroutine") {
		t.Errorf("stack trace without -v: %q", errb.String())
	}
	errb.Reset()
	runSafely(func() int { panic("boom") }, true, &errb)
	if !strings.Contains(errb.String(), "goroutine") {
		t.Errorf("-v: no stack trace in %q", errb.String())
	}
	if !wantsVerbose([]string{"-p", "x", "-v"}) || wantsVerbose([]string{"-p", "-v-not"}) {
		t.Errorf("wantsVerbose")
	}
}

// TestNoSilentBlackImage (#14 item 3): a --cfg-scale float32 cannot hold is
// bad input; one that overflows while sampling is an error saying where
// the non-finite value appeared, with no image written.
func TestNoSilentBlackImage(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.png")
	code, _, stderr := gen(t, tinyRun(t, "--cfg-scale", "1e300", "-o", out)...)
	if code != 2 || !strings.Contains(stderr, "--cfg-scale") || !strings.Contains(stderr, "float32") {
		t.Errorf("--cfg-scale 1e300: exit %d, stderr %q; want 2 naming the flag and float32", code, stderr)
	}
	code, _, stderr = gen(t, tinyRun(t, "--cfg-scale", "3e38", "--steps", "3", "-o", out)...)
	if code != 1 || !strings.Contains(stderr, "appeared in the") || !strings.Contains(stderr, "--cfg-scale") {
		t.Errorf("--cfg-scale 3e38: exit %d, stderr %q; want 1 and where the NaN appeared", code, stderr)
	}
	t.Log(strings.TrimSpace(stderr))
	onlyFiles(t, dir)
}

// TestTokenizerCacheNotPoisoned (#14 item 4): a tokenizer that fails
// validation, or a run that fails, does not reach the cache; replacing a
// different cached tokenizer is said on stderr.
func TestTokenizerCacheNotPoisoned(t *testing.T) {
	good := golden.Tokenizer(t, "clip")
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	t.Setenv(usercache.Env, cache)
	cached := filepath.Join(cache, "clip-tokenizer", "merges.txt")

	bad := filepath.Join(dir, "bad")
	os.Mkdir(bad, 0o755)
	vocab, _ := os.ReadFile(filepath.Join(good, "vocab.json"))
	os.WriteFile(filepath.Join(bad, "vocab.json"), vocab, 0o644)
	os.WriteFile(filepath.Join(bad, "merges.txt"), nil, 0o644) // empty: no merges
	if code, _, stderr := gen(t, "tokens", "--tokenizer", bad, "-p", "a cat"); code != 2 || !strings.Contains(stderr, "no merges") {
		t.Errorf("empty merges.txt: exit %d, stderr %q; want 2 and 'no merges'", code, stderr)
	}
	out := filepath.Join(dir, "x.png")
	args := []string{"--model", golden.Core(t, "sd1/tiny-sd1.safetensors"), "--norm-groups", "4", "--text-heads", "4", "--tokenizer", good}
	if code, _, stderr := gen(t, append(append(args, quickRun...), "--cfg-scale", "3e38", "--steps", "3", "-o", out)...); code != 1 {
		t.Errorf("failing run: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(cached); err == nil {
		t.Fatalf("the cache was written by a failed run or a bad tokenizer")
	}
	if code, _, stderr := gen(t, "tokens", "--tokenizer", good, "-p", "a cat"); code != 0 || !strings.Contains(stderr, "tokenizer cached") {
		t.Fatalf("good tokenizer: exit %d, stderr %q", code, stderr)
	}
	// A different valid tokenizer (one merge fewer) replaces it, loudly.
	other := filepath.Join(dir, "other")
	os.Mkdir(other, 0o755)
	merges, _ := os.ReadFile(filepath.Join(good, "merges.txt"))
	lines := strings.Split(strings.TrimRight(string(merges), "\n"), "\n")
	os.WriteFile(filepath.Join(other, "merges.txt"), []byte(strings.Join(lines[:len(lines)-1], "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(other, "vocab.json"), vocab, 0o644)
	if code, _, stderr := gen(t, "tokens", "--tokenizer", other, "-p", "a cat"); code != 0 || !strings.Contains(stderr, "replaced") {
		t.Errorf("different tokenizer: exit %d, stderr %q; want a note that the cache was replaced", code, stderr)
	}
}

// TestTokenizerCrashCLI (#14 item 1): hostile vocab.json files are one
// line of bad input (exit 2) naming the file, not a goroutine dump or an
// out-of-memory death.
func TestTokenizerCrashCLI(t *testing.T) {
	good := golden.Tokenizer(t, "clip")
	merges, _ := os.ReadFile(filepath.Join(good, "merges.txt"))
	vocab, _ := os.ReadFile(filepath.Join(good, "vocab.json"))
	for _, c := range []struct{ name, from, to string }{
		{"negative id", `"cat</w>": 2368`, `"cat</w>": -5`},
		{"huge id", `"cat</w>": 2368`, `"cat</w>": 99999999`},
		{"id beyond memory", `"cat</w>": 2368`, `"cat</w>": 1000000000000`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if !bytes.Contains(vocab, []byte(c.from)) {
				t.Fatalf("vocab.json lacks %s", c.from)
			}
			os.WriteFile(filepath.Join(dir, "vocab.json"), bytes.Replace(vocab, []byte(c.from), []byte(c.to), 1), 0o644)
			os.WriteFile(filepath.Join(dir, "merges.txt"), merges, 0o644)
			code, stdout, stderr := genCLI(t, "tokens", "--tokenizer", dir, "-p", "a cat")
			if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "vocab.json") {
				t.Errorf("exit %d, stdout %q, stderr %q: want 2 and one line naming vocab.json", code, stdout, stderr)
			}
			noCrashText(t, stderr)
		})
	}
}

// TestErrorsInFlagWords (#14 item 10): errors name the flag to use and
// say what to do, in the command line's words.
func TestErrorsInFlagWords(t *testing.T) {
	dir := t.TempDir()
	tok := golden.Tokenizer(t, "clip")
	tiny := golden.Core(t, "sd1/tiny-sd1.safetensors")
	ckpt := filepath.Join(dir, "model.ckpt")
	os.WriteFile(ckpt, []byte("PK\x03\x04 a torch zip archive"), 0o644)
	out := filepath.Join(dir, "x.png")
	missing := filepath.Join(dir, "v1-5.safetensors")
	cases := []struct {
		name       string
		args       []string
		want, dont []string
	}{
		{"missing checkpoint", []string{"--model", missing, "--tokenizer", tok, "-o", out}, []string{"Hugging Face"}, nil},
		{"pickle checkpoint", []string{"--model", ckpt, "--tokenizer", tok, "-o", out}, []string{"pickle", ".safetensors"}, []string{"header"}},
		{"text heads", []string{"--model", tiny, "--norm-groups", "4", "--tokenizer", tok, "-o", out}, []string{"--text-heads"}, []string{"LoadOptions"}},
		{"norm groups", []string{"--model", tiny, "--text-heads", "4", "--tokenizer", tok, "-o", out}, []string{"--norm-groups"}, nil},
		{"unet head dim", append(tinyArgs(t), "--unet-head-dim", "3", "-o", out), []string{"--unet-head-dim"}, nil},
		{"init image folder", append(tinyArgs(t), "-i", dir, "-o", out), []string{"is a folder"}, []string{"unknown format"}},
		{"long flag spelling", append(tinyArgs(t), "--seed", "x", "-o", out), []string{"flag --seed"}, nil},
		{"text-embed on SDXL", []string{"text-embed", "--model", sharedPath("sdxl/tiny-sdxl.safetensors"), "--tokenizer", tok, "-p", "x", "-o", out},
			[]string{"SD 1.x models only"}, []string{"--arch"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, a := range c.args {
				if strings.HasPrefix(a, filepath.Join(golden.SharedDir(), "golden")+"/") {
					golden.Shared(t, strings.TrimPrefix(a, filepath.Join(golden.SharedDir(), "golden")+"/"))
				}
			}
			code, _, stderr := gen(t, c.args...)
			if code != 2 || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q: want 2 and one line", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			for _, w := range c.dont {
				if strings.Contains(stderr, w) {
					t.Errorf("stderr %q holds %q", stderr, w)
				}
			}
			if strings.Count(stderr, missing) > 1 {
				t.Errorf("the path is printed twice: %q", stderr)
			}
			t.Log(strings.TrimSpace(stderr))
		})
	}
	if got := inFlagWords("vae: no default scaling factor for 16 latent channels; set Options.ScalingFactor"); strings.Contains(got, "Options.") {
		t.Errorf("inFlagWords left the API name: %q", got)
	}
	onlyFiles(t, dir, "model.ckpt")
}

// TestSurprises (#14 item 11).
func TestSurprises(t *testing.T) {
	dir := t.TempDir()
	tok := golden.Tokenizer(t, "clip")
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"strength without -i", tinyRun(t, "--strength", "0.5", "-o", filepath.Join(dir, "a.png")), "--strength"},
		{"tokens without -p", []string{"tokens", "--tokenizer", tok}, "-p/--prompt"},
		{"webp", tinyRun(t, "-o", filepath.Join(dir, "a.webp")), ".webp"},
		{"seed wraps", tinyRun(t, "--seed", "18446744073709551615", "--batch-count", "2", "-o", filepath.Join(dir, "a.png")), "--seed"},
	}
	for _, c := range bad {
		code, _, stderr := gen(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 mentioning %q", c.name, code, stderr, c.want)
		}
	}
	// -o .jpg writes a JPEG carrying the parameters as its comment.
	jpg := filepath.Join(dir, "pic.jpg")
	if code, _, stderr := gen(t, tinyRun(t, "-o", jpg)...); code != 0 {
		t.Fatalf("-o pic.jpg: exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(jpg)
	if !bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF, 0xFE}) || !bytes.Contains(b, []byte("Steps: 1, Sampler: Euler")) {
		t.Errorf("pic.jpg is not a JPEG with the parameters comment: % x", b[:min(len(b), 16)])
	}
	if img, err := jpeg.Decode(bytes.NewReader(b)); err != nil || img.Bounds().Dx() != 64 {
		t.Errorf("pic.jpg does not decode as a 64-wide JPEG: %v", err)
	}
	// SDXL with only -W: the height is SDXL's default 1024, not SD1's 512.
	model := golden.Shared(t, "sdxl/tiny-sdxl.safetensors")
	xl := filepath.Join(dir, "xl.png")
	code, _, stderr := gen(t, "--model", model, "--tokenizer", tok, "--text-heads", "2", "--text-heads-2", "2", "--unet-head-dim", "16",
		"-p", "x", "--seed", "1", "--steps", "1", "-W", "64", "--quiet", "-o", xl)
	if code != 0 {
		t.Fatalf("SDXL -W 64: exit %d: %s", code, stderr)
	}
	f, _ := os.Open(xl)
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width != 64 || cfg.Height != 1024 {
		t.Errorf("SDXL -W 64: %dx%d (%v), want 64x1024", cfg.Width, cfg.Height, err)
	}
}
