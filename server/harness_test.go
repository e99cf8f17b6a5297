package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// harness is a whole deployment on loopback: an embedded NATS server with
// its store in a temporary folder, the HTTP API, and in-process workers.
type harness struct {
	t      *testing.T
	dir    string
	ns     *Embedded
	store  *Store
	srv    *Server
	http   *httptest.Server
	cfg    StoreConfig
	engine Engine

	stopWorkers context.CancelFunc
	wg          sync.WaitGroup
}

type harnessOpts struct {
	workers   int
	stepDelay time.Duration
	cfg       StoreConfig
	apiKey    string
	dir       string // reuse a store folder (restart tests)
	engine    Engine // default: the fake engine
}

// modelsDir makes a models folder with three (fake) checkpoints.
func modelsDir(t *testing.T) string {
	dir := t.TempDir()
	for _, n := range []string{"a.safetensors", "b.safetensors", "broken.safetensors"} {
		os.WriteFile(filepath.Join(dir, n), []byte("{}"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o644)
	return dir
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, dir: o.dir, cfg: o.cfg}
	if h.dir == "" {
		h.dir = t.TempDir()
	}
	var err error
	if h.ns, err = StartEmbedded(filepath.Join(h.dir, "nats"), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if h.store, err = Open(ctx, h.ns.URL(), o.cfg); err != nil {
		h.ns.Shutdown()
		t.Fatal(err)
	}
	h.engine = o.engine
	if h.engine == nil {
		h.engine = &fakeEngine{stepDelay: o.stepDelay, badModel: "broken.safetensors"}
	}
	h.srv = &Server{Store: h.store, Models: &Models{Dir: modelsDir(t)}, DefaultModel: "a.safetensors", APIKey: o.apiKey}
	h.http = httptest.NewServer(h.srv.Handler())
	h.startWorkers(o.workers)
	t.Cleanup(h.close)
	return h
}

// startWorkers runs n in-process workers.
func (h *harness) startWorkers(n int) {
	ctx, cancel := context.WithCancel(context.Background())
	prev := h.stopWorkers
	h.stopWorkers = func() {
		if prev != nil {
			prev()
		}
		cancel()
	}
	for i := range n {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			w := &Worker{Store: h.store, Engine: h.engine, Name: "inproc-" + string(rune('a'+i))}
			w.Run(ctx)
		}()
	}
}

func (h *harness) close() {
	if h.http == nil {
		return
	}
	h.http.Close()
	if h.stopWorkers != nil {
		h.stopWorkers()
	}
	h.wg.Wait()
	h.store.Close()
	h.ns.Shutdown()
	h.http = nil
}

// do sends a request with a JSON body (nil for none) and returns the
// status and body; it fails the test on transport errors.
func (h *harness) do(method, path string, body any, hdr ...string) (int, []byte) {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, h.http.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// decode unmarshals JSON or fails the test.
func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("response %.300s: %v", b, err)
	}
	return v
}

// waitJob polls a job until cond holds (10 s at most).
func (h *harness) waitJob(id string, cond func(*Job) bool) *Job {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		j, err := h.store.Get(context.Background(), id)
		if err == nil && cond(j) {
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	j, _ := h.store.Get(context.Background(), id)
	h.t.Fatalf("job %s: condition not reached in 10 s; last record %+v", id, j)
	return nil
}
