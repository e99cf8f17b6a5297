// Package golden finds the reference fixtures tests compare against and
// compares float32 results with stated tolerances.
//
// Fixtures live in ../shared/golden/<model> beside the checkout (the full
// set, present on developer machines and CI) and, for a small core, in
// testdata/golden/<model> inside the repository so the essential tests also
// run on a fresh clone. Tests skip, saying why, when a fixture is absent.
package golden

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"

	"github.com/godiffusion/godiffusion/safetensors"
)

// Root returns the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// SharedDir returns ../shared beside the checkout (it may not exist).
func SharedDir() string {
	if d := os.Getenv("GODIFFUSION_SHARED"); d != "" {
		return d
	}
	return filepath.Join(Root(), "..", "shared")
}

// Shared returns the path of rel under ../shared/golden, skipping the test
// when it is absent.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedDir(), "golden", rel)
	if _, err := os.Stat(p); err != nil {
		skip(t, "golden fixture %s not available (needs ../shared/golden beside the checkout): %v", rel, err)
	}
	return p
}

// Core returns the path of rel in testdata/golden when it was copied there,
// else under ../shared/golden, else skips the test.
func Core(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(), "testdata", "golden", rel)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return Shared(t, rel)
}

// Tokenizer returns the path of rel under ../shared/tokenizers (the real
// CLIP vocabulary, never copied into the repository), skipping the test
// when it is absent.
func Tokenizer(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedDir(), "tokenizers", rel)
	if _, err := os.Stat(p); err != nil {
		skip(t, "tokenizer files %s not available (needs ../shared/tokenizers beside the checkout): %v", rel, err)
	}
	return p
}

// RequireEnv names the environment variable that turns a missing fixture
// from a skip into a failure. CI sets it: there ../shared is always present,
// so a skip would hide a broken path.
const RequireEnv = "GODIFFUSION_REQUIRE_GOLDEN"

func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf(format+" ("+RequireEnv+" is set)", args...)
	}
	t.Skipf(format, args...)
}

// Open opens a fixture file found with Core, failing the test on error and
// closing it when the test ends.
func Open(t testing.TB, rel string) *safetensors.File {
	t.Helper()
	f, err := safetensors.Open(Core(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Float32 reads tensor name of f as float32, failing the test on error.
func Float32(t testing.TB, f *safetensors.File, name string) ([]float32, []int) {
	t.Helper()
	v, shape, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v, shape
}

// Diff returns the largest |got−want| and its index, and the largest excess
// |got−want| − (atol + rtol·|want|) (≤ 0 when everything is within tolerance).
func Diff(got, want []float32, atol, rtol float64) (maxAbs float64, at int, excess float64) {
	excess = math.Inf(-1)
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if d > maxAbs || (i == 0) {
			maxAbs, at = d, i
		}
		if e := d - (atol + rtol*math.Abs(float64(want[i]))); e > excess {
			excess = e
		}
	}
	return maxAbs, at, excess
}

// AssertClose fails the test unless len(got) == len(want) and every
// |got[i]−want[i]| ≤ atol + rtol·|want[i]|. It logs the largest difference.
func AssertClose(t testing.TB, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	if len(want) == 0 {
		return
	}
	maxAbs, at, excess := Diff(got, want, atol, rtol)
	msg := fmt.Sprintf("%s: max |diff| %.3g at %d (got %g, want %g), tolerance atol %g rtol %g", what, maxAbs, at, got[at], want[at], atol, rtol)
	if excess > 0 {
		t.Error(msg)
	} else {
		t.Log(msg)
	}
}

// Run holds the fields every fixture's sampling runs share in its
// meta.json (sd1 "sampling" and "clip_l_alt" runs, sdxl and flux "runs");
// tests embed it in a struct with their model's extra fields.
type Run struct {
	Name          string  `json:"name"`
	Convention    string  `json:"convention"` // "comfyui", "diffusers", …
	Sampler       string  `json:"sampler"`
	Scheduler     string  `json:"scheduler"`
	Steps         int     `json:"steps"`
	CFG           float64 `json:"cfg"`
	Seed          uint64  `json:"seed"`
	Width         int     `json:"width"`
	Height        int     `json:"height"`
	Denoise       float64 `json:"denoise"`
	Prompt        string  `json:"prompt"`
	UncondSkipped bool    `json:"uncond_skipped"`
	MaxDenoise    *bool   `json:"max_denoise"`
}

// ReadJSON decodes the fixture JSON file at path into v. The files are
// written by Python's json module, which puts bare NaN and ±Infinity in
// (e.g. diffusers' lambda_min_clipped); they are read as null.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = pythonNonFinite.ReplaceAll(b, []byte("${1}null"))
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// pythonNonFinite matches a bare NaN or ±Infinity JSON value.
var pythonNonFinite = regexp.MustCompile(`([:\[,]\s*)-?(Infinity|NaN)`)

// SkipShort skips t under -short, saying why. CI runs the arm64 build's
// tests under qemu with -short, where emulation makes the end-to-end runs
// 10–20 times slower: those runs skip there (the native runs cover them)
// while the kernels and the cheap golden comparisons still run.
func SkipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s: skipped with -short (end-to-end; run without -short)", what)
	}
}

// SkipUnlessReexec skips t when the test binary cannot be started again as
// a child process, as when the arm64 tests run under qemu-aarch64-static
// without binfmt (the child is an arm64 binary the host cannot execute).
// Tests that run gen or a worker as a subprocess call it first.
func SkipUnlessReexec(t testing.TB) {
	t.Helper()
	reexecOnce.Do(func() {
		reexecErr = exec.Command(os.Args[0], "-test.run=^$").Run()
	})
	if reexecErr != nil {
		t.Skipf("the test binary cannot be run as a subprocess here (%v): a subprocess test (emulated run?)", reexecErr)
	}
}

var (
	reexecOnce sync.Once
	reexecErr  error
)
