package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"slices"
)

// Exit statuses of gen, so that scripts can tell the three apart:
//
//	0  success
//	1  a run-time failure (a model that fails while running, a disk that fills)
//	2  bad input: a flag, file or setting gen refuses, before any work
//	3  a bug in gen (a recovered panic): please report it
//	130 interrupted by SIGINT/SIGTERM (unfinished outputs removed)
//
// Go's runtime exits with 2 after an unrecovered panic, which is why
// runSafely turns a panic into 3.
const (
	exitFailure     = 1
	exitBadInput    = 2
	exitBug         = 3
	exitInterrupted = 130
)

// bugReportHint is printed after a recovered panic.
const bugReportHint = "this is a bug in gen: please report it with the command line" +
	" (run again with -v for the stack trace)"

// runSafely calls body and turns a panic in it into exit status 3 with one
// line on stderr (and the stack trace when verbose), instead of Go's
// goroutine dump and status 2, which scripts would read as bad input. A
// panic in another goroutine (a worker of the tensor pool) cannot be
// recovered here and still ends the process as Go does.
func runSafely(body func() int, verbose bool, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "gen: internal error: %v; %s\n", r, bugReportHint)
			if verbose {
				stderr.Write(debug.Stack())
			}
			code = exitBug
		}
	}()
	return body()
}

// wantsVerbose reports whether args ask for -v/--verbose (read before the
// flags are parsed, so that a panic while parsing still honours it).
func wantsVerbose(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		switch a {
		case "-v", "--v", "-verbose", "--verbose", "-v=true", "--verbose=true":
			return true
		}
		return false
	})
}
