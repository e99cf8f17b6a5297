package server

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"github.com/godiffusion/godiffusion/internal/golden"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBadRequests: each bad request gets the right 4xx with a detail that
// names the field, and the server keeps serving.
func TestBadRequests(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 1})
	cases := []struct {
		name, path string
		body       any
		status     int
		want       string
	}{
		{"malformed JSON", "/sdapi/v1/txt2img", `{"prompt": "x",`, 400, "request body"},
		{"wrong type", "/sdapi/v1/txt2img", `{"steps": "many"}`, 400, "steps"},
		{"unknown sampler", "/sdapi/v1/txt2img", map[string]any{"sampler_name": "Euler z"}, 422, "sampler_name"},
		{"unknown scheduler", "/sdapi/v1/txt2img", map[string]any{"scheduler": "wobbly"}, 422, "scheduler"},
		{"absurd width", "/sdapi/v1/txt2img", map[string]any{"width": 1 << 40}, 422, "width"},
		{"odd height", "/sdapi/v1/txt2img", map[string]any{"height": 100}, 422, "height"},
		{"absurd steps", "/sdapi/v1/txt2img", map[string]any{"steps": 100000}, 422, "steps"},
		{"zero steps", "/sdapi/v1/txt2img", map[string]any{"steps": 0}, 422, "steps"},
		{"absurd batch", "/sdapi/v1/txt2img", map[string]any{"batch_size": 1000}, 422, "batch_size"},
		{"negative cfg", "/sdapi/v1/txt2img", map[string]any{"cfg_scale": -1}, 422, "cfg_scale"},
		{"bad seed", "/sdapi/v1/txt2img", map[string]any{"seed": -5}, 422, "seed"},
		{"model outside the folder", "/sdapi/v1/txt2img", map[string]any{"override_settings": map[string]any{"sd_model_checkpoint": "../../etc/passwd"}}, 422, "sd_model_checkpoint"},
		{"unknown model", "/sdapi/v1/options", map[string]any{"sd_model_checkpoint": "nope"}, 422, "sd_model_checkpoint"},
		{"bad base64", "/sdapi/v1/img2img", map[string]any{"init_images": []string{"!!!not base64"}}, 422, "init_images[0]"},
		{"not an image", "/sdapi/v1/img2img", map[string]any{"init_images": []string{base64.StdEncoding.EncodeToString([]byte("hello"))}}, 422, "init_images[0]"},
		{"no init image", "/sdapi/v1/img2img", map[string]any{"prompt": "x"}, 422, "init_images"},
		{"init image on txt2img", "/sdapi/v1/txt2img", map[string]any{"init_images": []string{"x"}}, 422, "init_images"},
		{"bad strength", "/sdapi/v1/img2img", map[string]any{"init_images": []string{base64.StdEncoding.EncodeToString(testPNG(t, 8, 8))}, "denoising_strength": 2}, 422, "denoising_strength"},
		{"bad png-info", "/sdapi/v1/png-info", map[string]any{"image": "%%%"}, 422, "image"},
		{"openai size", "/v1/images/generations", map[string]any{"prompt": "x", "size": "huge"}, 422, "size"},
		{"openai n", "/v1/images/generations", map[string]any{"prompt": "x", "n": 0}, 422, "n"},
		{"openai no prompt", "/v1/images/generations", map[string]any{}, 422, "prompt"},
		{"openai url format", "/v1/images/generations", map[string]any{"prompt": "x", "response_format": "url"}, 422, "response_format"},
		{"openai model outside", "/v1/images/generations", map[string]any{"prompt": "x", "model": "/etc/passwd"}, 422, "model"},
		{"body too large", "/sdapi/v1/txt2img", `{"prompt": "` + strings.Repeat("x", 33<<20) + `"}`, 413, "request body"},
		{"wrong method", "/sdapi/v1/samplers", map[string]any{}, 405, "GET"},
		{"no endpoint", "/sdapi/v1/nope", nil, 404, "/sdapi/v1/nope"},
	}
	for _, c := range cases {
		code, body := h.do("POST", c.path, c.body)
		e := decode[map[string]string](t, body)
		if code != c.status || !strings.Contains(e["detail"], c.want) || e["error"] == "" {
			t.Errorf("%s: %d %s; want %d naming %q", c.name, code, body, c.status, c.want)
		}
	}
	if code, _ := h.do("GET", "/sdapi/v1/samplers", nil); code != 200 {
		t.Errorf("the server stopped serving: %d", code)
	}
}

// TestAuth: with --api-key every request needs it, as a bearer token or
// Basic credentials; a non-loopback address needs a key.
func TestAuth(t *testing.T) {
	h := newHarness(t, harnessOpts{apiKey: "s3cret"})
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"Bearer s3cret", 200}, {basic("user:s3cret"), 200}, {basic("s3cret"), 200}, {basic("user:nope"), 401}} {
		var hdr []string
		if c.auth != "" {
			hdr = []string{"Authorization", c.auth}
		}
		code, body := h.do("GET", "/sdapi/v1/samplers", nil, hdr...)
		if code != c.want {
			t.Errorf("Authorization %q: %d %s, want %d", c.auth, code, body, c.want)
		}
		if code == 401 && !strings.Contains(string(body), "Authorization") {
			t.Errorf("401 body %s does not say what is missing", body)
		}
	}
	for _, c := range []struct {
		addr, key string
		ok        bool
	}{{"127.0.0.1:7860", "", true}, {"localhost:7860", "", true}, {"[::1]:7860", "", true}, {"0.0.0.0:7860", "", false},
		{":7860", "", false}, {"192.168.1.5:7860", "", false}, {"0.0.0.0:7860", "k", true}} {
		if err := CheckListen(c.addr, c.key); (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, %q) = %v", c.addr, c.key, err)
		}
	}
}

// TestQueueFull: beyond QueueLimit jobs, 503 with Retry-After.
func TestQueueFull(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: StoreConfig{QueueLimit: 3}})
	for i := range 3 {
		if code, body := h.do("POST", "/jobs", map[string]any{"steps": 1, "width": 8, "height": 8}); code != 202 {
			t.Fatalf("job %d: %d %s", i, code, body)
		}
	}
	req, _ := http.NewRequest("POST", h.http.URL+"/jobs", strings.NewReader(`{"steps": 1}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := readAll(resp)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "queue") {
		t.Errorf("4th job: %d (Retry-After %q) %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	jobs, _ := h.store.Jobs(t.Context())
	if len(jobs) != 3 {
		t.Errorf("%d job records after a refused job, want 3", len(jobs))
	}
}

// TestClientDisconnect: a client that leaves a synchronous call cancels
// its job, and the worker is free for the next.
func TestClientDisconnect(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 1, stepDelay: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", h.http.URL+"/sdapi/v1/txt2img", strings.NewReader(`{"steps": 150, "width": 8, "height": 8}`))
		_, err := http.DefaultClient.Do(req)
		done <- err
	}()
	var id string
	deadline := time.Now().Add(10 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		jobs, _ := h.store.Jobs(t.Context())
		for _, j := range jobs {
			if j.State == StateRunning && j.Step > 0 {
				id = j.ID
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("the job never ran")
	}
	cancel()
	<-done
	j := h.waitJob(id, func(j *Job) bool { return Terminal(j.State) })
	if j.State != StateCancelled || j.Step >= 150 {
		t.Errorf("after the client left, the job is %s at step %d", j.State, j.Step)
	}
	start := time.Now()
	if code, body := h.do("POST", "/sdapi/v1/txt2img", map[string]any{"steps": 2, "width": 8, "height": 8}); code != 200 {
		t.Errorf("next job: %d %s", code, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the next job took %v: the worker was not freed", d)
	}
}

// TestModelLoadFails: a worker whose model fails to load fails the job
// with the error (the synchronous caller gets it), not stuck.
func TestModelLoadFails(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 1})
	code, body := h.do("POST", "/sdapi/v1/txt2img", map[string]any{"steps": 1, "width": 8, "height": 8,
		"override_settings": map[string]any{"sd_model_checkpoint": "broken"}})
	if code != 500 || !strings.Contains(string(body), "not a safetensors file") {
		t.Errorf("broken model: %d %s", code, body)
	}
	_, body = h.do("POST", "/jobs", map[string]any{"steps": 1, "override_settings": map[string]any{"sd_model_checkpoint": "broken.safetensors"}})
	id := decode[map[string]string](t, body)["id"]
	j := h.waitJob(id, func(j *Job) bool { return Terminal(j.State) })
	if j.State != StateFailed || !strings.Contains(j.Error, "loading model broken.safetensors") {
		t.Errorf("job %s: %q", j.State, j.Error)
	}
	if code, _ := h.do("POST", "/sdapi/v1/txt2img", map[string]any{"steps": 1, "width": 8, "height": 8}); code != 200 {
		t.Errorf("a good job after the failure: %d", code)
	}
}

// TestRestartKeepsJobs: jobs queued when the server stops are all done
// after it restarts on the same store.
func TestRestartKeepsJobs(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, harnessOpts{dir: dir})
	var ids []string
	for i := range 5 {
		_, body := h.do("POST", "/jobs", map[string]any{"seed": i, "steps": 1, "width": 8, "height": 8})
		ids = append(ids, decode[map[string]string](t, body)["id"])
	}
	h.close()
	h2 := newHarness(t, harnessOpts{dir: dir, workers: 2})
	for _, id := range ids {
		j := h2.waitJob(id, func(j *Job) bool { return Terminal(j.State) })
		if n, _ := h2.store.ImageCount(t.Context(), id); j.State != StateDone || n != 1 {
			t.Errorf("job %s after restart: %s, %d images", id, j.State, n)
		}
	}
}

// TestWorkerKilled: a worker process killed mid-job; the job is
// redelivered after the ack wait, finishes on another worker, and each of
// its images is stored once.
func TestWorkerKilled(t *testing.T) {
	golden.SkipUnlessReexec(t)
	const ackWait = 700 * time.Millisecond
	h := newHarness(t, harnessOpts{cfg: StoreConfig{AckWait: ackWait}, stepDelay: 5 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWorkerNATS+"="+h.ns.URL(), envWorkerDelay+"=40", envWorkerAck+"="+fmt.Sprint(ackWait.Milliseconds()))
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, _ := bufio.NewReader(out).ReadString('\n'); !strings.Contains(line, "worker ready") {
		t.Fatalf("worker subprocess: %q", line)
	}
	// Three images of 10 steps: 400 ms each in the subprocess.
	_, body := h.do("POST", "/jobs", map[string]any{"seed": 100, "steps": 10, "batch_size": 3, "width": 8, "height": 8})
	id := decode[map[string]string](t, body)["id"]
	name := fmt.Sprintf("subprocess-%d", cmd.Process.Pid)
	h.waitJob(id, func(j *Job) bool { return j.Worker == name && j.Image == 1 && j.Step >= 3 })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if n, _ := h.store.ImageCount(t.Context(), id); n != 1 {
		t.Fatalf("%d images stored when the worker died, want 1", n)
	}
	h.startWorkers(1)
	j := h.waitJob(id, func(j *Job) bool { return Terminal(j.State) })
	if j.State != StateDone || j.Worker == name || j.Attempts != 2 {
		t.Errorf("job %s by %s after %d deliveries", j.State, j.Worker, j.Attempts)
	}
	if n, _ := h.store.ImageCount(t.Context(), id); n != 3 {
		t.Errorf("%d images stored, want 3", n)
	}
	// The image stored before the kill is not rendered again.
	fe := h.engine.(*fakeEngine)
	fe.mu.Lock()
	if len(fe.seeds) != 2 || fe.seeds[101] != 1 || fe.seeds[102] != 1 {
		t.Errorf("the second worker rendered seeds %v, want 101 and 102 once each", fe.seeds)
	}
	fe.mu.Unlock()
	images, _ := h.store.Images(t.Context(), j)
	for i, img := range images {
		want, _, _ := fakePNG(j.Spec, 100+uint64(i))
		if string(img) != string(want) {
			t.Errorf("image %d differs from the engine's", i)
		}
	}
}
