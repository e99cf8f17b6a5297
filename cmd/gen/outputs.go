package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/godiffusion/godiffusion/internal/outfile"
)

// prepareOutput checks the output path given with flagName and creates
// its temporary file before any model is loaded (outfile.Prepare): a path
// that cannot be written is bad input (exit 2) found in a second, not
// after minutes of work.
func prepareOutput(flagName, path string, overwrite bool) (*outfile.File, error) {
	f, err := outfile.Prepare(path, overwrite)
	if err != nil {
		return nil, badInput("%s %s: %v", flagName, path, err)
	}
	return f, nil
}

// imageFiles are the outputs of one image of a batch: the image and,
// when asked for, its latent and trace. They are committed together, so a
// failure leaves none of them rather than some.
type imageFiles struct{ image, latent, trace *outfile.File }

// prepareImageFiles prepares -o, --save-latent and --trace for every image
// of the batch (numbered as numbered says), refusing a file named twice.
// On error every temporary file made so far is removed.
func prepareImageFiles(f *genFlags) (files []imageFiles, err error) {
	files = make([]imageFiles, f.batch)
	defer func() {
		if err != nil {
			discardAll(files)
		}
	}()
	seen := map[string]bool{}
	for _, o := range []struct {
		flag, path string
		dst        func(*imageFiles) **outfile.File
	}{
		{"-o/--output", f.output, func(x *imageFiles) **outfile.File { return &x.image }},
		{"--save-latent", f.saveLatent, func(x *imageFiles) **outfile.File { return &x.latent }},
		{"--trace", f.trace, func(x *imageFiles) **outfile.File { return &x.trace }},
	} {
		for i := range files {
			p := numbered(o.path, i, f.batch)
			if p == "" {
				continue
			}
			if seen[filepath.Clean(p)] {
				return files, badInput("%s %s: the same file is named twice", o.flag, p)
			}
			seen[filepath.Clean(p)] = true
			if *o.dst(&files[i]), err = prepareOutput(o.flag, p, f.overwrite); err != nil {
				return files, err
			}
		}
	}
	return files, nil
}

// commit moves the image's written files into place, image first.
func (x imageFiles) commit() error {
	for _, f := range []*outfile.File{x.image, x.latent, x.trace} {
		if f != nil {
			if err := f.Commit(); err != nil {
				return err
			}
		}
	}
	return nil
}

// discardAll removes the temporary files of outputs not committed.
func discardAll(files []imageFiles) {
	for _, x := range files {
		x.image.Discard()
		x.latent.Discard()
		x.trace.Discard()
	}
}

// handleInterrupts makes SIGINT and SIGTERM remove every unfinished
// temporary output file (outfile.RemoveTemps) and exit with status 130;
// a second signal while removing exits at once.
func handleInterrupts(stderr io.Writer) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		done := make(chan int)
		go func() { done <- outfile.RemoveTemps() }()
		select {
		case n := <-done:
			fmt.Fprintf(stderr, "\ngen: %v: stopped; %d unfinished output file(s) removed\n", sig, n)
		case <-ch:
		}
		os.Exit(exitInterrupted)
	}()
}
