package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/godiffusion/godiffusion/internal/golden"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/godiffusion/godiffusion/internal/pngmeta"
)

// startServe runs gen serve in-process on a free loopback port with the
// embedded queue and the given workers, serving the tiny SD1 fixture as
// its default model, and returns its base URL.
func startServe(t *testing.T, workers int) string {
	t.Helper()
	return startServeModel(t, workers, tinyArgs(t)...)
}

// startServeModel is startServe with the default model given by gen's
// model flags (--model and the hyper-parameters of a tiny single file).
func startServeModel(t *testing.T, workers int, model ...string) string {
	t.Helper()
	f, err := parseServeFlags("serve", append([]string{"--listen", "127.0.0.1:0", "--state", t.TempDir(),
		"--workers", fmt.Sprint(workers), "--queue-limit", "1000"}, model...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, f, io.Discard, io.Discard, func(a string) { addr <- a }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("gen serve did not stop")
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-done:
		t.Fatalf("gen serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("gen serve did not start")
	}
	return ""
}

// cliPNG is the PNG gen writes for the settings of serveRequest and seed
// on the tiny SD1 model.
func cliPNG(t *testing.T, seed int) []byte { return cliPNGModel(t, seed, tinyArgs(t)...) }

// cliPNGModel is cliPNG on the model given by gen's model flags.
func cliPNGModel(t *testing.T, seed int, model ...string) []byte {
	out := filepath.Join(t.TempDir(), "cli.png")
	args := append(append([]string{}, model...), "-p", "a photo of a cat", "-n", "blurry", "--seed", fmt.Sprint(seed), "--steps", "4",
		"--cfg-scale", "7.5", "--sampler", "euler_a", "--scheduler", "karras", "-W", "64", "-H", "64", "--quiet", "-o", out)
	if code, _, stderr := gen(t, args...); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveRequest is the A1111 body with the settings of cliPNG.
func serveRequest(seed int) map[string]any {
	return map[string]any{"prompt": "a photo of a cat", "negative_prompt": "blurry", "seed": seed, "steps": 4, "cfg_scale": 7.5,
		"sampler_name": "Euler a", "scheduler": "Karras", "width": 64, "height": 64}
}

type txt2imgResponse struct {
	Images     []string       `json:"images"`
	Parameters map[string]any `json:"parameters"`
	Info       string         `json:"info"`
}

func postTxt2Img(base string, body map[string]any) (*txt2imgResponse, error) {
	data, _ := json.Marshal(body)
	resp, err := http.Post(base+"/sdapi/v1/txt2img", "application/json", bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var r txt2imgResponse
	return &r, json.Unmarshal(b, &r)
}

// TestServeMatchesCLI: an image from gen serve's txt2img on the tiny SD1
// and SDXL models is byte-identical to gen's PNG for the same settings and
// seed, and the parameters chunk and info agree.
func TestServeMatchesCLI(t *testing.T) {
	t.Run("sd1", func(t *testing.T) { checkServeMatchesCLI(t, tinyArgs(t)) })
	t.Run("sdxl", func(t *testing.T) {
		golden.SkipShort(t, "the server on SDXL")
		checkServeMatchesCLI(t, tinySDXLArgs(t))
	})
}

func checkServeMatchesCLI(t *testing.T, model []string) {
	base := startServeModel(t, 1, model...)
	want := cliPNGModel(t, 42, model...)
	r, err := postTxt2Img(base, serveRequest(42))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Images) != 1 {
		t.Fatalf("%d images", len(r.Images))
	}
	got, _ := base64.StdEncoding.DecodeString(r.Images[0])
	if !bytes.Equal(got, want) {
		t.Errorf("the server's PNG (%d bytes) differs from gen's (%d bytes)", len(got), len(want))
	}
	text, err := pngmeta.ReadText(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Infotexts []string `json:"infotexts"`
		Seed      int      `json:"seed"`
		AllSeeds  []int    `json:"all_seeds"`
	}
	if err := json.Unmarshal([]byte(r.Info), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Infotexts) != 1 || info.Infotexts[0] != text["parameters"] || info.Seed != 42 || len(info.AllSeeds) != 1 || info.AllSeeds[0] != 42 {
		t.Errorf("info %+v vs parameters chunk %q", info, text["parameters"])
	}
}

// TestServeLoad: requests at concurrency 20 on the tiny model with 2
// workers: none lost or duplicated, every image equal to gen's for its
// seed; logs the throughput and p50/p99 latency (BENCHMARKS.md). It sends
// 20 requests over 5 seeds, the 200 over 10 seeds with
// GEN_LOAD_TEST=1 (about 1.5 minutes on 2 busy cores), none with -short.
func TestServeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	requests, seeds := 20, 5
	if os.Getenv("GEN_LOAD_TEST") == "1" {
		requests, seeds = 200, 10
	}
	const concurrency = 20
	base := startServe(t, 2)
	ref := make([][]byte, seeds)
	for s := range seeds {
		ref[s] = cliPNG(t, s)
	}
	lat := make([]time.Duration, requests)
	jobIDs := make([]string, requests)
	errs := make(chan error, requests)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				r, err := postTxt2Img(base, serveRequest(i%seeds))
				lat[i] = time.Since(t0)
				if err != nil {
					errs <- fmt.Errorf("request %d: %v", i, err)
					continue
				}
				var info struct {
					JobID string `json:"job_id"`
				}
				json.Unmarshal([]byte(r.Info), &info)
				jobIDs[i] = info.JobID
				got, _ := base64.StdEncoding.DecodeString(r.Images[0])
				if len(r.Images) != 1 || !bytes.Equal(got, ref[i%seeds]) {
					errs <- fmt.Errorf("request %d (seed %d): %d images, not gen's", i, i%seeds, len(r.Images))
				}
			}
		}()
	}
	deadline := time.After(10 * time.Minute)
feed:
	for i := range requests {
		select {
		case next <- i:
		case <-deadline:
			t.Error("load test: 10 minutes passed")
			break feed
		}
	}
	close(next)
	wg.Wait()
	wall := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for i, id := range jobIDs {
		if id == "" || seen[id] {
			t.Errorf("request %d: job id %q missing or duplicated", i, id)
		}
		seen[id] = true
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	t.Logf("%d requests, concurrency %d, 2 workers, GOMAXPROCS %d: %.2f s, %.1f images/s, latency p50 %.0f ms, p99 %.0f ms",
		requests, concurrency, runtime.GOMAXPROCS(0), wall.Seconds(), float64(requests)/wall.Seconds(),
		float64(lat[requests/2].Microseconds())/1000, float64(lat[requests*99/100].Microseconds())/1000)
}
