package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// newFlagSet returns a flag set that reports errors to the caller (not on
// its own output) so run can print them as one line.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, turning the flag package's errors into bad-input
// errors and rejecting positional arguments. -h/--help returns errHelp.
// Go's flag package accepts "-name" and "--name" alike, so a long name
// registered once works with both prefixes.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return badInput("%s (see gen help)", longFlagNames(err.Error()))
	}
	if fs.NArg() > 0 {
		return badInput("unexpected argument %q (flags start with -; quote a prompt that has spaces: -p \"...\")", fs.Arg(0))
	}
	return nil
}

// flagInMessage matches a flag name in the flag package's messages, which
// spell every flag with one dash ("invalid value … for flag -seed").
var flagInMessage = regexp.MustCompile(`(flag|defined:) -([A-Za-z0-9][A-Za-z0-9_-]+)`)

// longFlagNames respells multi-letter flags in a flag-package message with
// two dashes, as the usage text and the user write them (--seed, not
// -seed); one-letter flags keep one dash (-W).
func longFlagNames(msg string) string {
	return flagInMessage.ReplaceAllString(msg, "$1 --$2")
}

// stringFlag registers one string flag under several names (e.g. "p" and
// "prompt").
func stringFlag(fs *flag.FlagSet, p *string, def, usage string, names ...string) {
	*p = def
	for _, n := range names {
		fs.StringVar(p, n, def, usage)
	}
}

// boolFlag registers one bool flag under several names.
func boolFlag(fs *flag.FlagSet, p *bool, usage string, names ...string) {
	for _, n := range names {
		fs.BoolVar(p, n, *p, usage)
	}
}

// intFlag registers one int flag under several names.
func intFlag(fs *flag.FlagSet, p *int, def int, usage string, names ...string) {
	*p = def
	for _, n := range names {
		fs.IntVar(p, n, def, usage)
	}
}

// floatFlag registers one float flag under several names; it rejects NaN,
// infinities and values beyond what float32 holds (±3.4e38): the networks
// compute in float32, where a larger --cfg-scale would overflow into an
// all-black image.
func floatFlag(fs *flag.FlagSet, p *float64, def float64, usage string, names ...string) {
	*p = def
	for _, n := range names {
		fs.Func(n, usage, func(s string) error {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("not a finite number")
			}
			if math.Abs(v) > math.MaxFloat32 {
				return fmt.Errorf("%s is beyond float32's range (at most %g)", s, math.MaxFloat32)
			}
			*p = v
			return nil
		})
	}
}

// seedFlag is --seed: an unsigned 64-bit seed (torch accepts the full
// range), or -1 / absent for a random one.
type seedFlag struct {
	set   bool
	value uint64
}

func (s *seedFlag) String() string {
	if !s.set {
		return "random"
	}
	return strconv.FormatUint(s.value, 10)
}

func (s *seedFlag) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "-1" || strings.EqualFold(v, "random") {
		s.set = false
		return nil
	}
	u, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return fmt.Errorf("seed must be an integer in 0..18446744073709551615, or -1 for random")
	}
	s.set, s.value = true, u
	return nil
}
