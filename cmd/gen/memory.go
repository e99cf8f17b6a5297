package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// gcPercent is the garbage collector's GOGC setting for gen (unless the
// GOGC environment variable sets another).
//
// Why not Go's default of 100: the collector lets the heap grow to
// (1 + GOGC/100) × the live heap before collecting. In gen the live heap is
// dominated by the weights (1.8 GB for SD1.5 at f16, 3.5 GB at f32, when
// `gen bench` builds them in memory; for a real checkpoint the f16 weights
// stay in the memory-mapped file and the heap holds biases and
// activations), so GOGC=100 would allow as much dead activation memory as
// there are weights before a collection: a 512×512 bench peaked at 5.2 GiB
// (f16) and 9.7 GiB (f32). The weights are pointer-free ("noscan") data,
// which the collector never scans, so collecting often costs little: at 10
// the slack is a tenth of the live heap, and GODEBUG=gctrace=1 shows the
// collector's CPU share rounding to 0% over a 512×512 bench (~150
// collections).
const gcPercent = 10

// tuneGC applies gcPercent unless the user chose GOGC.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// returnMemory collects now and gives the freed pages back to the operating
// system: after building or loading the weights and after text encoding
// (whose weights gen frees), so the garbage of those stages neither counts
// in the resident set nor sets the next heap target.
func returnMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// currentGCPercent returns the collector's GOGC setting in effect.
// (debug.SetGCPercent is the only reader: it returns the previous value.)
func currentGCPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}
