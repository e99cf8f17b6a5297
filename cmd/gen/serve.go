package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/godiffusion/godiffusion/models/pipeline"
	"github.com/godiffusion/godiffusion/server"
	"github.com/godiffusion/godiffusion/tensor"
)

// serveFlags are the flags of gen serve and gen worker.
type serveFlags struct {
	listen, modelsDir, model, natsURL, apiKey, state string
	workers, queueLimit, threads                     int
	tokenizer                                        string
	normGroups, textHeads, textHeads2, unetHeadDim   int
}

func parseServeFlags(name string, args []string) (*serveFlags, error) {
	f := &serveFlags{}
	fs := newFlagSet(name)
	stringFlag(fs, &f.listen, "127.0.0.1:7860", "HTTP address", "listen")
	stringFlag(fs, &f.modelsDir, "", "models folder (its .safetensors files and diffusers folders)", "models")
	stringFlag(fs, &f.model, "", "default model: a name in --models or a path", "model", "m")
	stringFlag(fs, &f.natsURL, "", "external NATS server (nats://host:4222); default: embedded", "nats")
	stringFlag(fs, &f.apiKey, "", "API key clients must send (needed to listen beyond 127.0.0.1)", "api-key")
	stringFlag(fs, &f.state, "", "embedded NATS store folder (default: the user's state folder)", "state")
	intFlag(fs, &f.workers, 1, "in-process workers", "workers")
	intFlag(fs, &f.queueLimit, 100, "most jobs queued or running", "queue-limit")
	intFlag(fs, &f.threads, 0, "compute threads (0 = all cores)", "threads", "t")
	stringFlag(fs, &f.tokenizer, "", "CLIP tokenizer folder", "tokenizer")
	intFlag(fs, &f.normGroups, 0, "GroupNorm groups of single-file models", "norm-groups")
	intFlag(fs, &f.textHeads, 0, "CLIP heads of single-file models", "text-heads")
	intFlag(fs, &f.textHeads2, 0, "bigG heads of single-file SDXL models", "text-heads-2")
	intFlag(fs, &f.unetHeadDim, 0, "UNet head width of single-file models", "unet-head-dim")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	switch {
	case f.workers < 0 || f.workers > 64:
		return nil, badInput("--workers %d: must be between 0 and 64", f.workers)
	case f.queueLimit < 1 || f.queueLimit > 1_000_000:
		return nil, badInput("--queue-limit %d: must be between 1 and 1000000", f.queueLimit)
	case f.threads < 0 || f.threads > maxThreads:
		return nil, badInput("--threads %d: must be between 0 and %d", f.threads, maxThreads)
	}
	if f.modelsDir != "" {
		if st, err := os.Stat(f.modelsDir); err != nil || !st.IsDir() {
			return nil, badInput("--models %s: not a folder", f.modelsDir)
		}
	}
	return f, nil
}

// registry is the model registry of the flags and the default model's
// name: --model is a name in --models or a path of its own.
func (f *serveFlags) registry() (*server.Models, string, error) {
	m := &server.Models{Dir: f.modelsDir, Extra: map[string]string{}}
	if f.model == "" {
		if list := m.List(); len(list) > 0 {
			return m, list[0].Title, nil
		}
		return m, "", nil
	}
	if mi, err := m.Resolve(f.model); err == nil {
		return m, mi.Title, nil
	}
	if _, err := os.Stat(f.model); err != nil {
		return nil, "", badInput("--model %s: neither in --models nor a file or folder", f.model)
	}
	title := filepath.Base(filepath.Clean(f.model))
	m.Extra[title] = f.model
	return m, title, nil
}

func (f *serveFlags) engine(models *server.Models) *server.PipelineEngine {
	return &server.PipelineEngine{Models: models, Options: pipeline.Options{TokenizerDir: f.tokenizer,
		NormGroups: f.normGroups, TextHeads: f.textHeads, TextHeads2: f.textHeads2, UNetHeadDim: f.unetHeadDim}}
}

func runServe(args []string, stdout, stderr io.Writer) error {
	f, err := parseServeFlags("serve", args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, f, stdout, stderr, nil)
}

// serve runs gen serve until ctx ends; ready, when set, receives the
// HTTP address once it listens.
func serve(ctx context.Context, f *serveFlags, stdout, stderr io.Writer, ready func(addr string)) error {
	if err := server.CheckListen(f.listen, f.apiKey); err != nil {
		return badInput("%v", err)
	}
	models, def, err := f.registry()
	if err != nil {
		return err
	}
	if f.threads > 0 {
		tensor.SetThreads(f.threads)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	url := f.natsURL
	if url == "" {
		dir := f.state
		if dir == "" {
			if dir, err = server.StateDir(); err != nil {
				return badInput("--state: %v", err)
			}
		}
		ns, err := server.StartEmbedded(dir, 0)
		if err != nil {
			return err
		}
		defer ns.Shutdown()
		url = ns.URL()
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	store, err := server.Open(octx, url, server.StoreConfig{QueueLimit: f.queueLimit})
	cancel()
	if err != nil {
		return badInput("%v", err)
	}
	defer store.Close()

	var wg sync.WaitGroup
	wctx, stopWorkers := context.WithCancel(ctx)
	defer func() { stopWorkers(); wg.Wait() }()
	if f.natsURL == "" { // with --nats, workers are gen worker processes
		startWorkers(wctx, &wg, f, store, models, log)
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return badInput("--listen %s: %v", f.listen, err)
	}
	srv := &http.Server{
		Handler:           (&server.Server{Store: store, Models: models, DefaultModel: def, APIKey: f.apiKey, Log: log}).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Fprintf(stdout, "gen serve: listening on http://%s (queue %s, %d workers, default model %q)\n", ln.Addr(), url, f.workers, def)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}

// startWorkers runs f.workers workers, each with its own engine (and so
// its own loaded model).
func startWorkers(ctx context.Context, wg *sync.WaitGroup, f *serveFlags, store *server.Store, models *server.Models, log *slog.Logger) {
	host, _ := os.Hostname()
	for i := range f.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			eng := f.engine(models)
			defer eng.Close()
			w := &server.Worker{Store: store, Engine: eng, Name: fmt.Sprintf("%s:%d/%d", host, os.Getpid(), i), Log: log}
			if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("worker stopped", "err", err)
			}
		}()
	}
}

// runWorker is gen worker: workers on this machine taking jobs from the
// queue of an external NATS server.
func runWorker(args []string, stdout, stderr io.Writer) error {
	f, err := parseServeFlags("worker", args)
	if err != nil {
		return err
	}
	if f.natsURL == "" {
		return badInput("--nats: gen worker needs the NATS server's URL (nats://host:4222)")
	}
	if f.workers == 0 {
		return badInput("--workers 0: a worker process needs at least one")
	}
	models, _, err := f.registry()
	if err != nil {
		return err
	}
	if models.Empty() {
		return badInput("--models/--model: the worker has no model to load")
	}
	if f.threads > 0 {
		tensor.SetThreads(f.threads)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	store, err := server.Open(octx, f.natsURL, server.StoreConfig{QueueLimit: f.queueLimit})
	cancel()
	if err != nil {
		return badInput("%v", err)
	}
	defer store.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var names []string
	for _, m := range models.List() {
		names = append(names, m.Title)
	}
	fmt.Fprintf(stdout, "gen worker: %d workers on %s, models %s\n", f.workers, f.natsURL, strings.Join(names, ", "))
	var wg sync.WaitGroup
	startWorkers(ctx, &wg, f, store, models, log)
	wg.Wait()
	return nil
}
