package hub

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress displays transfers. Start is called when the bytes of one file
// begin to flow, with its size and the bytes already on disk (a resumed
// download); the Tracker it returns counts the rest.
type Progress interface {
	Start(name string, total, have int64) Tracker
}

// Tracker follows one transfer.
type Tracker interface {
	Add(n int)    // n more bytes written
	Done(ok bool) // the transfer ended, completely or not
}

type nopTracker struct{}

func (nopTracker) Add(int)   {}
func (nopTracker) Done(bool) {}

// trackWriter reports the bytes written through it to a Tracker.
type trackWriter struct{ t Tracker }

func (w trackWriter) Write(p []byte) (int, error) { w.t.Add(len(p)); return len(p), nil }

// isNoSpace reports whether err is a full disk.
func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

// Bars draws one progress bar per file on a terminal: name, bytes
// done/total, bytes/s and ETA (github.com/vbauerster/mpb/v8, chosen over
// single-bar libraries because files download in parallel and mpb redraws
// several bars in place). NewBars returns nil — no display — when w is not
// a terminal or quiet is set, so logs and pipes stay clean.
type Bars struct {
	p    *mpb.Progress
	once sync.Once
}

// NewBars returns the progress display on w, or nil (see Bars).
func NewBars(w io.Writer, quiet bool) *Bars {
	if quiet || !IsTerminal(w) {
		return nil
	}
	return &Bars{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))}
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Start adds a bar for one file.
func (b *Bars) Start(name string, total, have int64) Tracker {
	if b == nil {
		return nopTracker{}
	}
	bar := b.p.AddBar(total,
		mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), decor.Counters(decor.SizeB1000(0), "% .1f / % .1f")),
		mpb.AppendDecorators(decor.EwmaSpeed(decor.SizeB1000(0), "% .1f", 30), decor.Name(" ETA "), decor.EwmaETA(decor.ET_STYLE_MMSS, 30)),
	)
	bar.SetCurrent(have)
	bar.DecoratorAverageAdjust(time.Now())
	return &barTracker{bar: bar, last: time.Now()}
}

// Wait ends the display once every bar is done.
func (b *Bars) Wait() {
	if b != nil {
		b.once.Do(b.p.Wait)
	}
}

type barTracker struct {
	mu   sync.Mutex
	bar  *mpb.Bar
	last time.Time
}

func (t *barTracker) Add(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	t.bar.EwmaIncrBy(n, now.Sub(t.last))
	t.last = now
}

func (t *barTracker) Done(ok bool) {
	if !ok {
		t.bar.Abort(false)
		return
	}
	t.bar.SetTotal(-1, true)
}
