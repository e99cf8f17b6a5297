package pipeline

import (
	"fmt"
	"slices"
	"sync"

	"github.com/godiffusion/godiffusion/tensor"
)

// netCall is one request's network evaluation, as the family's network
// takes it: the batch of latents x [B, C, h, w] (already scaled by the
// parameterisation), the B timesteps, the stacked contexts [B, L, D], the
// pooled vectors y [B, D_y] (nil for SD1) and, for a flow network, the B
// distilled guidance values. out and err are filled by the batcher.
type netCall struct {
	x          *tensor.Tensor
	t          []float32
	context, y *tensor.Tensor
	guidance   []float32

	out  *tensor.Tensor
	err  error
	done bool
}

// batcher gathers the network calls of several requests that sample at
// the same time (GenerateBatch runs each request's sampler in its own
// goroutine) and evaluates them as one network batch: when every request
// still sampling has handed in its next call, the calls are stacked along
// the batch axis, the network runs once, and each request gets its rows
// back. Every request keeps its own sampler and guider state; only the
// network call is shared.
//
// The goroutines take turns: a request's sampler runs only while it holds
// mu, which it gives up while it waits for its call, so callbacks
// (Observer, Progress) never run concurrently and the arithmetic outside
// the network is the same as a lone run's.
type batcher struct {
	mu      sync.Mutex
	wake    *sync.Cond
	live    int // requests still sampling
	pending []*netCall
	// net evaluates one stacked batch (calls with the same context length
	// and the same kind of inputs).
	net func(c *netCall) (*tensor.Tensor, error)
	// Calls counts the network evaluations, Rows the batch rows they ran.
	Calls, Rows int
}

func newBatcher(live int, net func(c *netCall) (*tensor.Tensor, error)) *batcher {
	b := &batcher{live: live, net: net}
	b.wake = sync.NewCond(&b.mu)
	return b
}

// call hands in c and waits (giving up the turn) until it is evaluated.
// The caller holds b.mu.
func (b *batcher) call(c *netCall) (*tensor.Tensor, error) {
	b.pending = append(b.pending, c)
	b.flushIfReady()
	for !c.done {
		b.wake.Wait()
	}
	return c.out, c.err
}

// leave marks one request as done sampling (its goroutine holds b.mu).
func (b *batcher) leave() {
	b.live--
	b.flushIfReady()
}

// flushIfReady runs the pending calls when every live request has one.
func (b *batcher) flushIfReady() {
	if len(b.pending) == 0 || len(b.pending) < b.live {
		return
	}
	calls := b.pending
	b.pending = nil
	// Stack only calls whose inputs have the same shapes (the contexts of
	// prompts of different chunk counts differ in length); each group is
	// one network call, in the order of the first call of each group.
	for len(calls) > 0 {
		key := inputKey(calls[0])
		var group, rest []*netCall
		for _, c := range calls {
			if inputKey(c) == key {
				group = append(group, c)
			} else {
				rest = append(rest, c)
			}
		}
		b.runGroup(group)
		calls = rest
	}
	b.wake.Broadcast()
}

// inputKey describes the shapes a call must share with the others of its
// batch.
func inputKey(c *netCall) string {
	k := fmt.Sprint(c.x.Shape[1:], c.context.Shape[1:], c.guidance != nil)
	if c.y != nil {
		k += fmt.Sprint(c.y.Shape[1:])
	}
	return k
}

// runGroup stacks the group's inputs, runs the network once and splits its
// output by rows back to the calls.
func (b *batcher) runGroup(group []*netCall) {
	all := &netCall{}
	var xs, ctxs, ys []*tensor.Tensor
	for _, c := range group {
		xs, ctxs = append(xs, c.x), append(ctxs, c.context)
		if c.y != nil {
			ys = append(ys, c.y)
		}
		all.t = append(all.t, c.t...)
		if c.guidance != nil {
			all.guidance = append(all.guidance, c.guidance...)
		}
	}
	all.x, all.context = tensor.Concat(0, xs...), tensor.Concat(0, ctxs...)
	if len(ys) > 0 {
		all.y = tensor.Concat(0, ys...)
	}
	out, err := b.net(all)
	if err == nil && !slices.Equal(out.Shape, all.x.Shape) {
		err = fmt.Errorf("the network returned %s for the batch input %s", tensor.ShapeString(out.Shape), tensor.ShapeString(all.x.Shape))
	}
	b.Calls++
	b.Rows += all.x.Shape[0]
	off := 0
	for _, c := range group {
		c.done, c.err = true, err
		if err == nil {
			n := len(c.x.Data)
			c.out = tensor.FromData(slices.Clone(out.Data[off:off+n]), c.x.Shape...)
			off += n
		}
	}
}

// batchedUNet is a UNet whose Eps hands the call to a batcher.
type batchedUNet struct {
	UNet
	b *batcher
}

// Eps evaluates x through the shared batch.
func (u batchedUNet) Eps(x *tensor.Tensor, t []float32, context, y *tensor.Tensor) *tensor.Tensor {
	out, err := u.b.call(&netCall{x: x, t: t, context: context, y: y})
	if err != nil {
		// Inputs were checked by CheckInputs before: an error here is the
		// network's, which a lone run would have met too.
		panic(batchError{err})
	}
	return out
}

// batchedFlowNet is a FlowNet whose Velocity hands the call to a batcher.
type batchedFlowNet struct {
	FlowNet
	b *batcher
}

// Velocity evaluates x through the shared batch.
func (f batchedFlowNet) Velocity(x *tensor.Tensor, t []float32, context, y *tensor.Tensor, guidance []float32) (*tensor.Tensor, error) {
	return f.b.call(&netCall{x: x, t: t, context: context, y: y, guidance: guidance})
}

// batchedModel returns a copy of m whose network calls go through a new
// batcher for live requests, or an error for a Model kind that cannot
// batch requests.
func batchedModel(m Model, live int) (Model, *batcher, error) {
	switch m := m.(type) {
	case *EPSModel:
		inner := m.Net
		b := newBatcher(live, func(c *netCall) (*tensor.Tensor, error) {
			if err := inner.CheckInputs(c.x, c.t, c.context, c.y); err != nil {
				return nil, err
			}
			return inner.Eps(c.x, c.t, c.context, c.y), nil
		})
		cp := *m
		cp.Net, cp.Closer = batchedUNet{UNet: inner, b: b}, nil
		return &cp, b, nil
	case *FlowModel:
		inner := m.Net
		b := newBatcher(live, func(c *netCall) (*tensor.Tensor, error) {
			return inner.Velocity(c.x, c.t, c.context, c.y, c.guidance)
		})
		cp := *m
		cp.Net, cp.Closer = batchedFlowNet{FlowNet: inner, b: b}, nil
		return &cp, b, nil
	}
	return nil, nil, fmt.Errorf("the model %T cannot run several requests as one batch", m)
}
