package tensor

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkCover runs par over [0, n) and checks that every index was visited
// exactly once, by chunks that lie inside [0, n).
func checkCover(t *testing.T, name string, n int, par func(fn func(lo, hi int))) {
	t.Helper()
	seen := make([]atomic.Int32, n)
	par(func(lo, hi int) {
		if lo < 0 || hi > n || lo >= hi {
			t.Errorf("%s: chunk [%d, %d) outside [0, %d) or empty", name, lo, hi, n)
			return
		}
		for i := lo; i < hi; i++ {
			seen[i].Add(1)
		}
	})
	for i := range seen {
		if v := seen[i].Load(); v != 1 {
			t.Fatalf("%s: index %d visited %d times", name, i, v)
		}
	}
}

func TestParallelCovers(t *testing.T) {
	defer SetThreads(0)
	for _, th := range []int{1, 2, 3, 7} {
		SetThreads(th)
		for _, n := range []int{0, 1, 2, 3, 5, 16, 17, 100, 1001} {
			for _, grain := range []int{0, 1, 3, 64} {
				name := fmt.Sprintf("threads %d n %d grain %d", th, n, grain)
				checkCover(t, "Parallel "+name, n, func(fn func(lo, hi int)) { Parallel(n, grain, fn) })
				checkCover(t, "ParallelDynamic "+name, n, func(fn func(lo, hi int)) { ParallelDynamic(n, grain, fn) })
			}
		}
	}
}

// TestParallelDynamicBalances stalls the goroutine that takes the first
// chunk until everything else is done: the other worker must take all the
// rest meanwhile, and the stalled chunk must be a small share (guided:
// n/(2·workers)), where Parallel's fixed shares would leave it half.
func TestParallelDynamicBalances(t *testing.T) {
	defer SetThreads(0)
	SetThreads(2)
	const n = 1000
	var done atomic.Int32
	ParallelDynamic(n, 1, func(lo, hi int) {
		if lo == 0 {
			if hi-lo >= n/2 {
				t.Errorf("first chunk [0, %d): want a quarter of the work", hi)
			}
			for deadline := time.Now().Add(30 * time.Second); done.Load() < int32(n-hi); {
				if time.Now().After(deadline) {
					t.Errorf("the other worker did %d of the %d remaining items in 30 s", done.Load(), n-hi)
					return
				}
				time.Sleep(time.Millisecond)
			}
			return
		}
		done.Add(int32(hi - lo))
	})
}

// TestParallelConcurrentCallers runs Parallel from several goroutines at
// once, with pauses longer than spinWindow so that workers park and must
// be woken: every call must return with all its chunks done (a lost
// wake-up would hang here).
func TestParallelConcurrentCallers(t *testing.T) {
	defer SetThreads(0)
	SetThreads(3)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				n := 1 + (g*31+i*17)%200
				var sum atomic.Int64
				if i%2 == 0 {
					Parallel(n, 1, func(lo, hi int) { sum.Add(int64(hi - lo)) })
				} else {
					ParallelDynamic(n, 1, func(lo, hi int) { sum.Add(int64(hi - lo)) })
				}
				if sum.Load() != int64(n) {
					t.Errorf("goroutine %d call %d: covered %d of %d", g, i, sum.Load(), n)
				}
				if i%10 == 0 {
					time.Sleep(2 * spinWindow)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Parallel calls did not finish within 60 s: a worker was never woken")
	}
}
