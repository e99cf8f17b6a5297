// Command gen generates images with Stable Diffusion 1.x on the CPU, in pure
// Go, and inspects the networks it runs.
//
//	gen --model v1-5-pruned-emaonly.safetensors --tokenizer tokenizer/ -p "a photo of a cat" -o cat.png
//	gen --model v1-5-pruned-emaonly.safetensors -p "a dog"   (the tokenizer was cached by the first run)
//	gen tokens [--tokenizer DIR] [--raw] -p TEXT          first 77-token window ids, as a JSON array
//	gen text-embed --model PATH -p TEXT -o FILE.safetensors   CLIP hidden states and pooled output
//	gen bench --arch sd1 [-W 512 -H 512 --steps 2]        timings with random SD1.5-shaped weights
//	gen trace-plot TRACE.safetensors -o FILE.png|.svg      guidance charts of a --trace file (+ FILE.csv)
//	gen sweep [gen flags] --cfg-scale 3,5,7 -n "" -n "lowres" -o sweep.png   contact sheet of a grid of settings
//	gen convert --model flux1-dev.safetensors --vae ae.safetensors ... -o FOLDER   Flux single files → diffusers folder
//
// Defaults are ComfyUI's KSampler (euler, normal, 20 steps, cfg 8, 512×512).
// The tokenizer is looked up as clip.FindTokenizer describes; one given with
// --tokenizer is cached (clip.CacheTokenizer) for later runs.
//
// Flag names follow stable-diffusion.cpp and A1111 (see usage.go). Bad input
// (an unknown sampler, a width that is not a multiple of 8, a missing
// model or tokenizer, an output file that exists, …) is reported as one line
// on stderr with exit status 2, before any model is loaded, and writes no
// file. Errors while running exit with status 1; a bug (a recovered
// panic) exits with 3 and an interrupt with 130 (see exit.go).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	tuneGC()
	handleInterrupts(os.Stderr)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status. It is
// main without the process: tests call it in-process.
func run(args []string, stdout, stderr io.Writer) int {
	return runSafely(func() int { return dispatch(args, stdout, stderr) }, wantsVerbose(args), stderr)
}

// dispatch runs the subcommand named by args[0] (generate by default).
func dispatch(args []string, stdout, stderr io.Writer) int {
	cmd, rest := "generate", args
	if len(args) > 0 {
		switch args[0] {
		case "generate", "gen":
			rest = args[1:]
		case "tokens", "text-embed", "bench", "trace-plot", "models", "pull", "serve", "worker", "sweep", "convert":
			cmd, rest = args[0], args[1:]
		case "help":
			fmt.Fprint(stdout, usageText)
			return 0
		}
	}
	var err error
	switch cmd {
	case "generate":
		err = runGenerate(rest, stdout, stderr)
	case "tokens":
		err = runTokens(rest, stdout, stderr)
	case "text-embed":
		err = runTextEmbed(rest, stdout, stderr)
	case "bench":
		err = runBench(rest, stdout, stderr)
	case "trace-plot":
		err = runTracePlot(rest, stdout, stderr)
	case "models":
		err = runModels(rest, stdout, stderr)
	case "pull":
		err = runPull(rest, stdout, stderr)
	case "serve":
		err = runServe(rest, stdout, stderr)
	case "worker":
		err = runWorker(rest, stdout, stderr)
	case "sweep":
		err = runSweep(rest, stdout, stderr)
	case "convert":
		err = runConvert(rest, stdout, stderr)
	}
	return report(err, stdout, stderr)
}

// usageError is bad input: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// badInput returns a usageError with a formatted message.
func badInput(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// errHelp asks for the usage text on stdout and exit status 0.
var errHelp = errors.New("help requested")

// report prints err as one line on stderr and returns the exit status:
// 0 without error, 2 (exitBadInput) for bad input, 1 (exitFailure)
// otherwise.
func report(err error, stdout, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usageText)
		return 0
	}
	msg := inFlagWords(strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " "))
	fmt.Fprintf(stderr, "gen: %s\n", msg)
	var ue *usageError
	if errors.As(err, &ue) {
		return exitBadInput
	}
	return exitFailure
}
