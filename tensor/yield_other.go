//go:build !linux

package tensor

import "runtime"

// osYield lets other goroutines run (where the OS yield is not wired up,
// only those of this process).
func osYield() { runtime.Gosched() }
