package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/godiffusion/godiffusion/internal/infotext"
	"github.com/godiffusion/godiffusion/internal/pngmeta"
)

// fakeEngine renders a w×h image whose pixels depend on the seed, the
// prompt and the size, taking stepDelay per sampling step: the queue, API
// and fault logic run against it in milliseconds.
type fakeEngine struct {
	stepDelay time.Duration
	badModel  string // a model whose "load" fails

	mu    sync.Mutex
	seeds map[uint64]int // images rendered to the end, by seed
}

func (f *fakeEngine) Generate(ctx context.Context, spec JobSpec, index int, init []byte, progress func(int, int)) ([]byte, string, error) {
	if spec.Model == f.badModel {
		return nil, "", errors.New("loading model " + spec.Model + ": safetensors header: not a safetensors file")
	}
	for s := 1; s <= spec.Steps; s++ {
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(f.stepDelay):
		}
		if progress != nil {
			progress(s, spec.Steps)
		}
	}
	seed := spec.Seed + uint64(index)
	f.mu.Lock()
	if f.seeds == nil {
		f.seeds = map[uint64]int{}
	}
	f.seeds[seed]++
	f.mu.Unlock()
	return fakePNG(spec, seed)
}

// fakePNG is the fake engine's image for one seed (tests compute the
// expected bytes with it).
func fakePNG(spec JobSpec, seed uint64) ([]byte, string, error) {
	w, h := spec.Width, spec.Height
	rgb := make([]uint8, w*h*3)
	for i := range rgb {
		rgb[i] = uint8(seed*31 + uint64(i)*7 + uint64(len(spec.Prompt)))
	}
	p := pngmeta.Parameters{Prompt: spec.Prompt, Negative: spec.Negative, Steps: spec.Steps,
		Sampler: infotext.Label(infotext.Samplers, spec.Sampler), Schedule: infotext.Label(infotext.Schedules, spec.Scheduler),
		CFG: spec.CFG, Seed: seed, Width: w, Height: h, Model: spec.Model, ClipSkip: spec.ClipSkip}
	png, err := infotext.PNG(rgb, w, h, p)
	return png, p.String(), err
}

// Environment of the worker subprocess: the test binary re-executed runs a
// worker instead of the tests (TestMain).
const (
	envWorkerNATS  = "GEN_TEST_WORKER_NATS"
	envWorkerDelay = "GEN_TEST_WORKER_STEP_MS"
	envWorkerAck   = "GEN_TEST_WORKER_ACKWAIT_MS"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(envWorkerNATS); url != "" {
		os.Exit(workerProcess(url))
	}
	os.Exit(m.Run())
}

// workerProcess is the subprocess worker: fake engine, until killed (or 2
// minutes, so a leaked process ends by itself).
func workerProcess(url string) int {
	ms, _ := strconv.Atoi(os.Getenv(envWorkerDelay))
	ack, _ := strconv.Atoi(os.Getenv(envWorkerAck))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := Open(ctx, url, StoreConfig{AckWait: time.Duration(ack) * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	w := &Worker{Store: st, Engine: &fakeEngine{stepDelay: time.Duration(ms) * time.Millisecond}, Name: fmt.Sprintf("subprocess-%d", os.Getpid())}
	fmt.Println("worker ready")
	w.Run(ctx)
	return 0
}
