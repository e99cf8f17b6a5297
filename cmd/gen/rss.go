package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// peakRSS returns the process's peak resident set size in bytes: VmHWM from
// /proc/self/status on Linux, else the Go runtime's total obtained memory
// (an upper bound of the heap's share; memory-mapped weights not counted).
func peakRSS() uint64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				fields := strings.Fields(rest) // "123456 kB"
				if len(fields) >= 1 {
					if kb, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
						return kb * 1024
					}
				}
			}
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Sys
}

// formatBytes formats n as MiB or GiB.
func formatBytes(n uint64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

// resetPeakRSS starts a new peak: on Linux, writing 5 to
// /proc/self/clear_refs sets VmHWM back to the current resident set, so
// that the next peakRSS is the peak of the stage run in between.
// Elsewhere (or when the kernel refuses) peaks stay cumulative.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
