package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress writes status to stderr: plain lines, or a bar redrawn in place
// with \r when stderr is a terminal.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, tty: isTerminal(w), quiet: quiet}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) printf(format string, a ...any) {
	if !p.quiet {
		fmt.Fprintf(p.w, format, a...)
	}
}

// stepBar shows one sampling run: step/total, seconds per step, ETA.
type stepBar struct {
	p     *progress
	label string
	start time.Time
	drawn bool
}

func (p *progress) bar(label string) *stepBar {
	return &stepBar{p: p, label: label, start: time.Now()}
}

// step is called after step `step` of `total` finished.
func (b *stepBar) step(step, total int) {
	if b.p.quiet {
		return
	}
	el := time.Since(b.start)
	per := el.Seconds() / float64(step)
	eta := time.Duration(per * float64(total-step) * float64(time.Second)).Round(time.Second)
	const width = 30
	fill := width * step / total
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	line := fmt.Sprintf("sampling%s %3d/%d [%s] %.2f s/it, ETA %s", b.label, step, total, bar, per, eta)
	if b.p.tty {
		fmt.Fprintf(b.p.w, "\r%s\x1b[K", line)
		b.drawn = true
	} else {
		fmt.Fprintln(b.p.w, line)
	}
}

// done ends the bar's line on a terminal.
func (b *stepBar) done() {
	if b.drawn {
		fmt.Fprintln(b.p.w)
		b.drawn = false
	}
}
