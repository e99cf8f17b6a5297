package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/godiffusion/godiffusion/sampling"
	"github.com/godiffusion/godiffusion/tensor"
)

// GenerateBatch runs several requests that share the model as one network
// batch per model call, and returns their results in order. It is for
// requests that differ in what the network does not see as a shape or a
// schedule: the CFG scale, the prompts, the guidance rule and its options,
// the seed, Flux's distilled guidance. All must have the same image size,
// sampler and sigma schedule (steps, scheduler, denoise); GenerateBatch
// reports an error otherwise (run such requests as separate batches).
//
// Each request keeps its own sampler, guider and noise state, exactly as
// Generate would run it (each in its own goroutine, taking turns); only the
// network evaluation is shared: at every model call the requests' network
// inputs (x, timesteps, contexts, pooled vectors, distilled guidance) are
// stacked along the batch axis, the network runs once, and each request
// gets its own rows back. A network whose per-row results do not depend on
// the batch size (models/unet's, with the tensor package's kernels) makes
// every result bit-identical to Generate's for the same request; contexts
// of different lengths (prompts of different chunk counts) are run as
// separate network calls.
//
// Result.Sampling is the wall time of the whole batch's sampling, the same
// for every result. The model is released after sampling when any request
// asks for it (Request.ReleaseModel).
func (p *Pipeline) GenerateBatch(reqs []Request) ([]*Result, error) {
	if len(reqs) == 0 {
		return nil, fmt.Errorf("GenerateBatch: no requests")
	}
	sts := make([]*started, len(reqs))
	release := false
	for i := range reqs {
		r := &reqs[i]
		if i > 0 {
			if err := sameSchedule(&reqs[0], r); err != nil {
				return nil, fmt.Errorf("request %d: %w", i, err)
			}
		}
		st, err := p.prepare(r)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
		if i > 0 && !slices.Equal(st.res.Sigmas, sts[0].res.Sigmas) {
			return nil, fmt.Errorf("request %d: its sigma schedule differs from request 0's: run it in another batch", i)
		}
		sts[i] = st
		release = release || r.ReleaseModel
	}
	model, b, err := batchedModel(p.Model, len(reqs))
	if err != nil {
		return nil, err
	}
	finals := make([]*tensor.Tensor, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i := range reqs {
		reqs[i].stage("sample")
	}
	t0 := time.Now()
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.mu.Lock()
			defer b.mu.Unlock()
			defer b.leave() // with the turn held; lets the others' last calls run
			defer func() {
				if r := recover(); r != nil {
					be, ok := r.(batchError)
					if !ok {
						panic(r)
					}
					errs[i] = be.err
				}
			}()
			st := sts[i]
			finals[i], errs[i] = p.sample(&reqs[i], model, st.x, st.res.Sigmas, st.cond, st.uncond, st.res)
		}()
	}
	wg.Wait()
	endStage()
	elapsed := time.Since(t0)
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
	}
	if release {
		if err := p.releaseForDecode(); err != nil {
			return nil, err
		}
	}
	for i := range reqs {
		reqs[i].stage("decode")
	}
	out := make([]*Result, len(reqs))
	defer endStage()
	for i, st := range sts {
		st.res.Sampling = elapsed
		if err := p.decode(finals[i], st.res); err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
		out[i] = st.res
	}
	return out, nil
}

// sameSchedule checks what the batch's requests must share besides the
// sigmas: the image size and the sampler (which fixes how many model calls
// a step makes, and at which σ).
func sameSchedule(a, b *Request) error {
	if a.Width != b.Width || a.Height != b.Height {
		return fmt.Errorf("size %dx%d differs from request 0's %dx%d: run it in another batch", b.Width, b.Height, a.Width, a.Height)
	}
	sa, errA := sampling.CanonicalSampler(a.Sampler)
	sb, errB := sampling.CanonicalSampler(b.Sampler)
	if err := errors.Join(errA, errB); err != nil {
		return err
	}
	if sa != sb {
		return fmt.Errorf("sampler %s differs from request 0's %s: run it in another batch", sb, sa)
	}
	return nil
}

// batchError carries a network error out of a UNet's Eps (which returns
// no error) to GenerateBatch.
type batchError struct{ err error }
