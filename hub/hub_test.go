package hub

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godiffusion/godiffusion/internal/golden"
	"github.com/godiffusion/godiffusion/internal/hubtest"
)

const sdRepo = "stable-diffusion-v1-5/stable-diffusion-v1-5"

// sdFiles is the tiny SD1 fixture served as the sd15 registry files.
func sdFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	b, err := os.ReadFile(golden.Core(t, "sd1/tiny-sd1.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	files["v1-5-pruned-emaonly-fp16.safetensors"] = b
	tok := golden.Tokenizer(t, "clip")
	for _, f := range []string{"vocab.json", "merges.txt"} {
		b, err := os.ReadFile(filepath.Join(tok, f))
		if err != nil {
			t.Fatal(err)
		}
		files["tokenizer/"+f] = b
	}
	return files
}

// newClient is a client of srv with an empty cache in a temp folder.
func newClient(t *testing.T, srv *hubtest.Server) *Client {
	return &Client{Endpoint: srv.URL, Cache: Cache{Dir: filepath.Join(t.TempDir(), "hub")}}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

var sdList = []string{"v1-5-pruned-emaonly-fp16.safetensors", "tokenizer/vocab.json", "tokenizer/merges.txt"}

// TestFetchLayout downloads the sd15 files and checks the cache is
// huggingface_hub's: refs/main, blobs named by etag, relative links.
func TestFetchLayout(t *testing.T) {
	srv := hubtest.New(t)
	files := sdFiles(t)
	srv.AddRepo(sdRepo, false, files)
	c := newClient(t, srv)
	snap, err := c.Fetch(ctx(t), sdRepo, "main", sdList)
	if err != nil {
		t.Fatal(err)
	}
	commit := srv.Commit(sdRepo)
	repoDir := filepath.Join(c.Cache.Dir, "models--stable-diffusion-v1-5--stable-diffusion-v1-5")
	if want := filepath.Join(repoDir, "snapshots", commit); snap != want {
		t.Errorf("snapshot %s, want %s", snap, want)
	}
	if b, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err != nil || string(b) != commit {
		t.Errorf("refs/main = %q (%v), want %q without newline", b, err, commit)
	}
	for _, f := range sdList {
		etag := hubtest.GitBlobSHA1(files[f])
		if hubtest.IsLFS(f) {
			etag = hubtest.SHA256(files[f])
		}
		link, err := os.Readlink(filepath.Join(snap, f))
		want := strings.Repeat("../", strings.Count(f, "/")+2) + "blobs/" + etag
		if err != nil || link != want {
			t.Errorf("%s: link %q (%v), want %q", f, link, err, want)
		}
		got, err := os.ReadFile(filepath.Join(snap, f))
		if err != nil || !bytes.Equal(got, files[f]) {
			t.Errorf("%s: content differs from the served file (%v)", f, err)
		}
	}
	// The LFS file came from the storage host (which refuses a token).
	var storage int
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r, "GET storage") {
			storage++
		}
	}
	if storage != 1 {
		t.Errorf("%d GETs on the storage host, want 1: %v", storage, srv.Requests())
	}
	n := len(srv.Requests())
	if _, err := c.Fetch(ctx(t), sdRepo, "main", sdList); err != nil {
		t.Fatal(err)
	}
	if r := srv.Requests()[n:]; len(r) != 0 {
		t.Errorf("second fetch made requests: %v", r)
	}
}

// TestFetchDiffusers fetches the tiny SD1 and SDXL diffusers folders as
// repositories, leaves what a pipeline does not need, and fetches nothing
// the second time.
func TestFetchDiffusers(t *testing.T) {
	srv := hubtest.New(t)
	for _, fx := range []struct{ repo, dir string }{{"tiny/sd1", "sd1/model"}, {"tiny/sdxl", "sdxl/diffusers"}} {
		files := map[string][]byte{}
		hubtest.ReadDir(t, golden.Shared(t, fx.dir), "", files)
		files["unet/diffusion_pytorch_model.bin"] = []byte("pytorch pickle: not fetched")
		files["safety_checker/model.safetensors"] = []byte("not fetched")
		files["README.md"] = []byte("card")
		srv.AddRepo(fx.repo, false, files)
		c := newClient(t, srv)
		snap, err := c.FetchDiffusers(ctx(t), fx.repo, "")
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			b, err := os.ReadFile(filepath.Join(snap, name))
			skip := strings.HasSuffix(name, ".bin") || strings.HasPrefix(name, "safety_checker") || name == "README.md"
			switch {
			case skip && err == nil:
				t.Errorf("%s: %s was downloaded", fx.repo, name)
			case !skip && (err != nil || !bytes.Equal(b, data)):
				t.Errorf("%s: %s missing or different (%v)", fx.repo, name, err)
			}
		}
		n := len(srv.Requests())
		if _, err := c.FetchDiffusers(ctx(t), fx.repo, ""); err != nil {
			t.Fatal(err)
		}
		if r := srv.Requests()[n:]; len(r) != 0 {
			t.Errorf("%s: second fetch made requests: %v", fx.repo, r)
		}
	}
}

func TestDiffusersFilesPrefersFP16(t *testing.T) {
	got := DiffusersFiles([]string{"model_index.json", "v1-5.safetensors", "unet/config.json",
		"unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
		"vae/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.bin", "tokenizer/vocab.json",
		"text_encoder/model.fp16-00001-of-00002.safetensors", "text_encoder/model.safetensors.index.fp16.json",
		"text_encoder/model.safetensors.index.json", "text_encoder/model-00001-of-00002.safetensors"})
	want := "model_index.json text_encoder/model.fp16-00001-of-00002.safetensors text_encoder/model.safetensors.index.fp16.json " +
		"tokenizer/vocab.json unet/config.json unet/diffusion_pytorch_model.fp16.safetensors vae/diffusion_pytorch_model.safetensors"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

// TestResume: a partial blob left by an interrupted run is completed with
// a Range request, and a connection cut mid-transfer resumes in the same
// call; the bytes before the cut are never sent twice.
func TestResume(t *testing.T) {
	srv := hubtest.New(t)
	files := sdFiles(t)
	srv.AddRepo(sdRepo, false, files)
	const f = "v1-5-pruned-emaonly-fp16.safetensors"
	data := files[f]
	key := sdRepo + "/" + f

	c := newClient(t, srv)
	const have = 3_000_000
	blob := c.Cache.BlobPath(sdRepo, hubtest.SHA256(data))
	os.MkdirAll(filepath.Dir(blob), 0o755)
	if err := os.WriteFile(blob+".incomplete", data[:have], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(ctx(t), sdRepo, "main", []string{f}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Served(key); got != int64(len(data)-have) {
		t.Errorf("served %d bytes to resume, want %d", got, len(data)-have)
	}
	if !hasRequest(srv, "bytes=3000000-") {
		t.Errorf("no Range request: %v", srv.Requests())
	}

	// Cut the connection at 4 MB: the same Fetch resumes there.
	c2 := newClient(t, srv)
	before := srv.Served(key)
	srv.CutAfter(key, 4_000_000)
	p, err := c2.Fetch(ctx(t), sdRepo, "main", []string{f})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Served(key) - before; got != int64(len(data)) {
		t.Errorf("served %d bytes with a cut, want exactly %d", got, len(data))
	}
	if !hasRequest(srv, "bytes=4000000-") {
		t.Errorf("no resume after the cut: %v", srv.Requests())
	}
	if b, _ := os.ReadFile(filepath.Join(p, f)); !bytes.Equal(b, data) {
		t.Error("resumed file differs")
	}
}

func hasRequest(srv *hubtest.Server, sub string) bool {
	for _, r := range srv.Requests() {
		if strings.Contains(r, sub) {
			return true
		}
	}
	return false
}

// TestCorrupt: a transfer whose bytes do not hash to the etag is deleted
// and fetched again; one that keeps failing is an error and leaves nothing
// visible. A stale partial blob that is not the file's prefix is caught too.
func TestCorrupt(t *testing.T) {
	srv := hubtest.New(t)
	files := sdFiles(t)
	srv.AddRepo(sdRepo, false, files)
	const f = "tokenizer/merges.txt" // a git file: git-blob sha1 etag
	const w = "v1-5-pruned-emaonly-fp16.safetensors"
	c := newClient(t, srv)
	srv.Corrupt(sdRepo+"/"+f, 1)
	srv.Corrupt(sdRepo+"/"+w, 1)
	snap, err := c.Fetch(ctx(t), sdRepo, "main", []string{f, w})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{f, w} {
		if b, _ := os.ReadFile(filepath.Join(snap, name)); !bytes.Equal(b, files[name]) {
			t.Errorf("%s: refetched file differs", name)
		}
		if got := srv.Served(sdRepo + "/" + name); got != 2*int64(len(files[name])) {
			t.Errorf("%s: served %d bytes, want two transfers (%d)", name, got, 2*len(files[name]))
		}
	}

	c2 := newClient(t, srv)
	srv.Corrupt(sdRepo+"/"+w, 10)
	_, err = c2.Fetch(ctx(t), sdRepo, "main", []string{w})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), w) {
		t.Fatalf("err = %v, want a corrupted-download error naming %s", err, w)
	}
	srv.Corrupt(sdRepo+"/"+w, 0)
	if _, ok := c2.Cache.Lookup(sdRepo, "main", w); ok {
		t.Error("a corrupted file became visible")
	}
	blob := c2.Cache.BlobPath(sdRepo, hubtest.SHA256(files[w]))
	if exists(blob) || exists(blob+".incomplete") {
		t.Error("a corrupted blob was kept")
	}

	// A partial file of the wrong bytes (e.g. from another tool's crash).
	c3 := newClient(t, srv)
	blob = c3.Cache.BlobPath(sdRepo, hubtest.SHA256(files[w]))
	os.MkdirAll(filepath.Dir(blob), 0o755)
	os.WriteFile(blob+".incomplete", bytes.Repeat([]byte{1}, 1000), 0o644)
	if _, err := c3.Fetch(ctx(t), sdRepo, "main", []string{w}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(blob); !bytes.Equal(b, files[w]) {
		t.Error("the bad partial file was not replaced")
	}
}

// TestOffline: HF_HUB_OFFLINE uses the cache without a request, and names
// what is missing when the cache lacks it.
func TestOffline(t *testing.T) {
	srv := hubtest.New(t)
	srv.AddRepo(sdRepo, false, sdFiles(t))
	c := newClient(t, srv)
	c.Offline = true
	_, err := c.Fetch(ctx(t), sdRepo, "main", sdList)
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "v1-5-pruned-emaonly-fp16.safetensors") || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("offline, empty cache: err = %v", err)
	}
	if _, err := c.FetchDiffusers(ctx(t), sdRepo, "main"); !errors.Is(err, ErrOffline) {
		t.Errorf("offline diffusers, empty cache: err = %v", err)
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("offline made requests: %v", srv.Requests())
	}
	c.Offline = false
	if _, err := c.Fetch(ctx(t), sdRepo, "main", sdList[:2]); err != nil {
		t.Fatal(err)
	}
	c.Offline, c.Refresh = true, true
	n := len(srv.Requests())
	if _, err := c.Fetch(ctx(t), sdRepo, "main", sdList[:2]); err != nil {
		t.Errorf("offline with the files cached: %v", err)
	}
	_, err = c.Fetch(ctx(t), sdRepo, "main", sdList)
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "tokenizer/merges.txt") || strings.Contains(err.Error(), "vocab.json") {
		t.Errorf("offline, one file missing: err = %v", err)
	}
	if r := srv.Requests()[n:]; len(r) != 0 {
		t.Errorf("offline made requests: %v", r)
	}
}

// TestPythonCache builds a cache as huggingface_hub lays it out and checks
// that it is used with no request (the endpoint is closed).
func TestPythonCache(t *testing.T) {
	files := sdFiles(t)
	dir := filepath.Join(t.TempDir(), "hub")
	repo := filepath.Join(dir, "models--stable-diffusion-v1-5--stable-diffusion-v1-5")
	commit := "39593d5650112b4cc580433f6b0435385882d819"
	for _, f := range sdList {
		etag := hubtest.GitBlobSHA1(files[f])
		if hubtest.IsLFS(f) {
			etag = hubtest.SHA256(files[f])
		}
		os.MkdirAll(filepath.Join(repo, "blobs"), 0o755)
		os.WriteFile(filepath.Join(repo, "blobs", etag), files[f], 0o644)
		link := filepath.Join(repo, "snapshots", commit, f)
		os.MkdirAll(filepath.Dir(link), 0o755)
		if err := os.Symlink(strings.Repeat("../", strings.Count(f, "/")+2)+"blobs/"+etag, link); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit), 0o644)

	srv := hubtest.New(t)
	srv.Hub.Close() // any request fails
	c := &Client{Endpoint: srv.URL, Cache: Cache{Dir: dir}}
	snap, err := c.Fetch(ctx(t), sdRepo, "main", sdList)
	if err != nil {
		t.Fatal(err)
	}
	if snap != filepath.Join(repo, "snapshots", commit) {
		t.Errorf("snapshot %s", snap)
	}
	m := Lookup("sd15")
	paths, err := c.Pull(ctx(t), m)
	if err != nil {
		t.Fatal(err)
	}
	if paths[RoleModel] != filepath.Join(snap, "v1-5-pruned-emaonly-fp16.safetensors") || paths[RoleTokenizer] != filepath.Join(snap, "tokenizer") {
		t.Errorf("paths %v", paths)
	}
	if n, all := c.Cached(m); !all || n != int64(len(files[sdList[0]])+len(files[sdList[1]])+len(files[sdList[2]])) {
		t.Errorf("Cached = %d, %v", n, all)
	}
}

// TestErrors: 401 on a gated repository without a token says how to get
// access; with the token it downloads; 404 names the repository and file;
// a full disk is refused before any byte is fetched.
func TestErrors(t *testing.T) {
	srv := hubtest.New(t)
	srv.AddRepo("black-forest-labs/FLUX.1-dev", true, map[string][]byte{"ae.safetensors": []byte("tiny ae")})
	srv.AddRepo(sdRepo, false, sdFiles(t))
	c := newClient(t, srv)
	_, err := c.Fetch(ctx(t), "black-forest-labs/FLUX.1-dev", "main", []string{"ae.safetensors"})
	if !errors.Is(err, ErrGated) || !strings.Contains(err.Error(), "HF_TOKEN") || !strings.Contains(err.Error(), "licence") {
		t.Errorf("gated without token: %v", err)
	}
	c.Token = "wrong"
	if _, err := c.Fetch(ctx(t), "black-forest-labs/FLUX.1-dev", "main", []string{"ae.safetensors"}); !errors.Is(err, ErrGated) {
		t.Errorf("gated with a wrong token: %v", err)
	}
	c.Token = srv.Token
	if _, err := c.Fetch(ctx(t), "black-forest-labs/FLUX.1-dev", "main", []string{"ae.safetensors"}); err != nil {
		t.Errorf("gated with the token: %v", err)
	}
	_, err = c.Fetch(ctx(t), sdRepo, "main", []string{"no/such.safetensors"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), sdRepo) || !strings.Contains(err.Error(), "no/such.safetensors") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := c.Fetch(ctx(t), "nobody/nothing", "main", []string{"x.safetensors"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nobody/nothing") {
		t.Errorf("missing repo: %v", err)
	}
	if _, err := c.Fetch(ctx(t), "../etc", "main", []string{"passwd"}); err == nil {
		t.Error("a bad repository id was accepted")
	}
	if _, err := c.Fetch(ctx(t), sdRepo, "main", []string{"../../x"}); err == nil {
		t.Error("a path escaping the snapshot was accepted")
	}

	old := freeSpace
	freeSpace = func(string) int64 { return 1000 }
	defer func() { freeSpace = old }()
	n := len(srv.Requests())
	_, err = c.Fetch(ctx(t), sdRepo, "main", sdList)
	if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "free") {
		t.Errorf("disk full: %v", err)
	}
	for _, r := range srv.Requests()[n:] {
		if strings.HasPrefix(r, "GET") {
			t.Errorf("disk full: a file was fetched: %s", r)
		}
	}
}

// TestTwoProcesses runs two copies of the test binary that download the
// same file into the same cache at once: the lock makes one wait for the
// other, the file is sent once and arrives intact.
func TestTwoProcesses(t *testing.T) {
	if os.Getenv("HUB_TEST_CHILD") != "" {
		c := FromEnv()
		if _, err := c.Fetch(context.Background(), sdRepo, "main", sdList[:1]); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(3)
		}
		os.Exit(0)
	}
	golden.SkipUnlessReexec(t)
	srv := hubtest.New(t)
	files := sdFiles(t)
	srv.AddRepo(sdRepo, false, files)
	srv.Delay = 5 * time.Millisecond // ~160 transfers of 64 KiB: under a second, long enough to overlap
	cache := filepath.Join(t.TempDir(), "hub")
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcesses$", "-test.timeout=60s")
		cmd.Env = append(os.Environ(), "HUB_TEST_CHILD=1", "HF_ENDPOINT="+srv.URL, "HF_HUB_CACHE="+cache, "HF_HUB_OFFLINE=", "HF_TOKEN=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v: %s", i, err, outs[i])
		}
	}
	f := sdList[0]
	if got := srv.Served(sdRepo + "/" + f); got != int64(len(files[f])) {
		t.Errorf("served %d bytes, want one transfer of %d", got, len(files[f]))
	}
	c := &Client{Cache: Cache{Dir: cache}}
	p, ok := c.Cache.Lookup(sdRepo, "main", f)
	if !ok {
		t.Fatal("file not in the cache")
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, files[f]) {
		t.Error("file corrupted")
	}
	lock := c.Cache.LockPath(sdRepo, hubtest.SHA256(files[f]))
	if !exists(lock) {
		t.Errorf("no lock file at %s", lock)
	}
}

func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Registry {
		if seen[m.Name] {
			t.Errorf("%s twice", m.Name)
		}
		seen[m.Name] = true
		if m.Part(RoleModel) == nil || m.Part(RoleTokenizer) == nil {
			t.Errorf("%s: no model or tokenizer", m.Name)
		}
		if m.Family == "flux" {
			for _, r := range []Role{RoleVAE, RoleClipL, RoleT5XXL, RoleT5Tokenizer} {
				if m.Part(r) == nil {
					t.Errorf("%s: no %s", m.Name, r)
				}
			}
		}
		for _, p := range m.Parts {
			for _, f := range p.Files {
				if err := checkRepoFile(p.Repo, f); err != nil {
					t.Errorf("%s: %v", m.Name, err)
				}
			}
		}
	}
	for _, n := range []string{"sd15", "sdxl", "sdxl-turbo", "animagine-xl-3.1", "flux1-schnell", "flux1-dev"} {
		if Lookup(n) == nil {
			t.Errorf("%s missing", n)
		}
	}
	if !Lookup("flux1-dev").Gated || Lookup("animagine-xl-3.1").Recommended.Negative == "" {
		t.Error("flux1-dev gated / animagine negative prompt")
	}
}
