package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Worker takes jobs from the queue one at a time and renders them with
// its Engine.
type Worker struct {
	Store  *Store
	Engine Engine
	Name   string       // shown in job records (host:pid/n)
	Log    *slog.Logger // nil: slog.Default()
}

// Run processes jobs until ctx is done. A job being rendered when ctx ends
// is abandoned without an ack, so JetStream gives it to another worker.
func (w *Worker) Run(ctx context.Context) error {
	log := w.Log
	if log == nil {
		log = slog.Default()
	}
	cons, err := w.Store.js.Consumer(ctx, StreamName, ConsumerName)
	if err != nil {
		return fmt.Errorf("worker %s: %w", w.Name, err)
	}
	for ctx.Err() == nil {
		// A bounded pull: a pull request of a worker that vanished
		// expires on the server by itself.
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		msg, err := cons.Next(jetstream.FetchContext(fctx))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.DeadlineExceeded) {
				continue
			}
			log.Warn("fetching a job", "worker", w.Name, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		w.handle(ctx, msg, log)
	}
	return nil
}

// handle runs one delivered job to its end: done, failed or cancelled
// (acked), or abandoned when the worker stops (not acked: redelivered).
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg, log *slog.Logger) {
	id := msg.Headers().Get("Gen-Job-Id")
	job, err := w.Store.Get(ctx, id)
	if err != nil {
		// A job without a record (expired, or a foreign message): drop it.
		log.Warn("job without a record", "id", id, "err", err)
		msg.Term()
		return
	}
	if Terminal(job.State) || w.Store.cancelled(ctx, id) {
		if !Terminal(job.State) {
			job.State = StateCancelled
			job.Updated = time.Now().UTC()
			w.Store.put(ctx, job)
		}
		msg.Ack()
		return
	}
	var spec JobSpec
	if err := json.Unmarshal(msg.Data(), &spec); err != nil {
		w.finish(ctx, job, StateFailed, fmt.Sprintf("job spec: %v", err))
		msg.Term()
		return
	}

	// Hold the message while the job runs.
	jobCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		t := time.NewTicker(w.Store.Config.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-jobCtx.Done():
				return
			case <-t.C:
				msg.InProgress()
			}
		}
	}()
	// Watch the cancel flag.
	var cancelled atomic.Bool
	if cw, err := w.Store.kv.Watch(jobCtx, cancelKey(id)); err == nil {
		go func() {
			defer cw.Stop()
			for e := range cw.Updates() {
				if e != nil && e.Operation() == jetstream.KeyValuePut {
					cancelled.Store(true)
					stop()
					return
				}
			}
		}()
	}

	if md, err := msg.Metadata(); err == nil {
		job.Attempts = int(md.NumDelivered)
	}
	job.State, job.Worker, job.Error = StateRunning, w.Name, ""
	job.Started = time.Now().UTC()
	job.Updated = job.Started
	job.Image, job.Step, job.Steps = 0, 0, 0
	w.Store.put(ctx, job)

	var init []byte
	if spec.InitImage != "" {
		if init, err = w.Store.objects.GetBytes(jobCtx, spec.InitImage); err != nil {
			w.finish(ctx, job, StateFailed, fmt.Sprintf("init image: %v", err))
			msg.Term()
			return
		}
	}
	for i := range spec.Images() {
		name := imageName(id, i)
		if _, err := w.Store.objects.GetInfo(jobCtx, name); err == nil {
			continue // stored by an earlier delivery of this job
		}
		job.Image, job.Step, job.Steps = i, 0, 0
		progress := func(step, total int) {
			job.Step, job.Steps, job.Updated = step, total, time.Now().UTC()
			w.Store.put(jobCtx, job)
		}
		png, _, err := w.render(jobCtx, spec, i, init, progress)
		if err == nil {
			_, err = w.Store.objects.PutBytes(jobCtx, name, png)
		}
		switch {
		case err == nil:
		case cancelled.Load():
			w.finish(ctx, job, StateCancelled, "")
			msg.Ack()
			return
		case ctx.Err() != nil:
			// The worker is stopping: leave the job to another.
			log.Info("worker stopping; job left for redelivery", "worker", w.Name, "id", id)
			return
		default:
			log.Warn("job failed", "worker", w.Name, "id", id, "err", err)
			w.finish(ctx, job, StateFailed, err.Error())
			msg.Term()
			return
		}
	}
	job.Image = spec.Images()
	w.finish(ctx, job, StateDone, "")
	msg.DoubleAck(ctx)
}

// render calls the engine, turning a panic into an error: no engine bug
// may take down the worker (or leave its job running forever).
func (w *Worker) render(ctx context.Context, spec JobSpec, i int, init []byte, progress func(int, int)) (png []byte, info string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return w.Engine.Generate(ctx, spec, i, init, progress)
}

// finish writes a job's final state (with a context that outlives a
// cancelled job's).
func (w *Worker) finish(ctx context.Context, job *Job, state, msg string) {
	job.State, job.Error, job.Updated = state, msg, time.Now().UTC()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.Store.put(ctx, job); err != nil {
		slog.Warn("writing job state", "id", job.ID, "err", err)
	}
}
