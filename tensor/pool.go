package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The worker pool: a fixed set of goroutines, shared by every operation,
// that run the chunks handed to Parallel. Its size is Threads(), initially
// GOMAXPROCS; SetThreads changes it (gen --threads).

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// Threads returns how many workers operations may use.
func Threads() int { return int(threads.Load()) }

// SetThreads sets how many workers operations may use (n < 1 means GOMAXPROCS).
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	threads.Store(int32(min(n, 1<<16)))
}

// job is part p of a run call.
type job struct {
	body func(p int)
	p    int
	done *doneCount
}

// doneCount counts the chunks of one Parallel call still running.
type doneCount struct {
	left atomic.Int32
	wg   sync.WaitGroup
}

func (d *doneCount) finish() {
	d.left.Add(-1)
	d.wg.Done()
}

var (
	poolOnce sync.Once
	jobs     chan job      // the queue; workers only ever poll it
	wake     chan struct{} // one token wakes one parked worker
	spinning atomic.Int32  // workers polling jobs right now
)

// spinWindow is how long a worker that has finished a chunk keeps polling
// for the next one, and how long Parallel's caller polls for its workers
// to finish, before either blocks. Operations come back to back (a UNet
// step is thousands of them), and a parked goroutine costs a wake-up when
// the next one arrives: on a virtual machine whose idle vCPU has halted
// that was measured at 100–470 µs, 4–20% of a 2.5 ms GEMM, all of it
// spent by the other workers waiting for the late one. A poller yields the
// CPU between polls (osYield), so that when there are more busy threads
// than cores (two test binaries at once, another program) it does not
// keep a core from the thread that has the work: without that, the test
// suite ran 2–4× slower.
const spinWindow = 200 * time.Microsecond

func startPool() {
	n := max(runtime.NumCPU(), 4)
	jobs = make(chan job, 256)
	wake = make(chan struct{}, n)
	for range n {
		go worker()
	}
}

// worker runs jobs: it polls the queue while it has had work within the
// last spinWindow, then parks until Parallel sends a wake token. Parked
// workers never wait on the queue itself: a channel hands a sent value
// straight to a blocked receiver, which would give each job to a parked
// worker (and its wake-up latency) while a polling one looks on.
func worker() {
	for {
		spinning.Add(1)
		for deadline := time.Now().Add(spinWindow); ; {
			select {
			case j := <-jobs:
				spinning.Add(-1)
				j.body(j.p)
				j.done.finish()
				spinning.Add(1)
				deadline = time.Now().Add(spinWindow)
				continue
			default:
			}
			osYield()
			if time.Now().After(deadline) {
				break
			}
		}
		spinning.Add(-1)
		// A job queued after the last poll but before the decrement was
		// counted on this worker and sent no wake token: look once more.
		select {
		case j := <-jobs:
			j.body(j.p)
			j.done.finish()
			continue
		default:
		}
		<-wake
	}
}

// Parallel splits [0, n) into at most Threads() contiguous chunks of at
// least grain items and calls fn(lo, hi) for each, concurrently, returning
// when all are done. The calling goroutine runs the first chunk itself.
func Parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	parts := min(Threads(), (n+max(grain, 1)-1)/max(grain, 1))
	if parts <= 1 {
		fn(0, n)
		return
	}
	chunk, rem := n/parts, n%parts
	run(parts, func(p int) {
		lo := p*chunk + min(p, rem)
		hi := lo + chunk
		if p < rem {
			hi++
		}
		fn(lo, hi)
	})
}

// ParallelDynamic calls fn(lo, hi) over consecutive chunks of [0, n),
// handing them out one at a time to up to Threads() goroutines as each
// becomes free. Chunks shrink as the work runs out ("guided" scheduling):
// each is 1/(2·workers) of what is left, at least minChunk items, so the
// first ones are long runs and the last ones short. Use it where a chunk
// costs the same wherever it runs: a worker that is slowed down (by the
// OS, by another process, by a virtual machine's host) then takes less of
// the work, instead of every other worker waiting for it at the end as
// with Parallel's fixed shares.
func ParallelDynamic(n, minChunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	minChunk = max(minChunk, 1)
	parts := min(Threads(), (n+minChunk-1)/minChunk)
	if parts <= 1 {
		fn(0, n)
		return
	}
	var next atomic.Int64
	run(parts, func(int) {
		for {
			lo := int(next.Load())
			if lo >= n {
				return
			}
			hi := min(n, lo+max(minChunk, (n-lo)/(2*parts)))
			if next.CompareAndSwap(int64(lo), int64(hi)) {
				fn(lo, hi)
			}
		}
	})
}

// run calls body(p) for p in [0, parts) concurrently: part 0 on the
// calling goroutine, the others on pool workers; it returns when all are done.
func run(parts int, body func(p int)) {
	poolOnce.Do(startPool)
	var done doneCount
	done.left.Store(int32(parts - 1))
	done.wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		jobs <- job{body: body, p: p, done: &done}
	}
	// Wake a parked worker for each job the polling ones cannot take.
	for range parts - 1 - int(spinning.Load()) {
		select {
		case wake <- struct{}{}:
		default: // every worker already has a token
		}
	}
	body(0)
	for deadline := time.Now().Add(spinWindow); done.left.Load() > 0 && time.Now().Before(deadline); {
		osYield()
	}
	done.wg.Wait()
}
