package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
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

type job struct {
	fn     func(lo, hi int)
	lo, hi int
	wg     *sync.WaitGroup
}

var (
	poolOnce sync.Once
	jobs     chan job
)

func startPool() {
	jobs = make(chan job, 256)
	n := runtime.NumCPU()
	if n < 4 {
		n = 4
	}
	for range n {
		go func() {
			for j := range jobs {
				j.fn(j.lo, j.hi)
				j.wg.Done()
			}
		}()
	}
}

// Parallel splits [0, n) into at most Threads() contiguous chunks of at
// least grain items and calls fn(lo, hi) for each, concurrently, returning
// when all are done. The calling goroutine runs the first chunk itself.
func Parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	parts := Threads()
	if maxParts := (n + grain - 1) / grain; parts > maxParts {
		parts = maxParts
	}
	if parts <= 1 {
		fn(0, n)
		return
	}
	poolOnce.Do(startPool)
	var wg sync.WaitGroup
	wg.Add(parts - 1)
	chunk, rem := n/parts, n%parts
	lo := 0
	var first [2]int
	for p := 0; p < parts; p++ {
		size := chunk
		if p < rem {
			size++
		}
		if p == 0 {
			first = [2]int{lo, lo + size}
		} else {
			jobs <- job{fn: fn, lo: lo, hi: lo + size, wg: &wg}
		}
		lo += size
	}
	fn(first[0], first[1])
	wg.Wait()
}
