package main

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/godiffusion/godiffusion/hub"
)

// runPull is `gen pull NAME|owner/repo|owner/repo/path/file.safetensors`:
// download into the Hugging Face cache without generating, asking the Hub
// for the revision's current commit even when an older one is cached, and
// print each role's local path.
func runPull(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pull")
	var quiet bool
	fs.BoolVar(&quiet, "quiet", false, "no progress bars")
	var name string
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if name == "" {
		return badInput("pull: name a model: a registry name (gen models), owner/repo or owner/repo/path/file.safetensors")
	}
	ref := parseModelRef(name)
	if ref.kind == refLocal {
		return badInput("pull %s: not a registry name (see gen models), owner/repo or owner/repo/path/file.safetensors", name)
	}
	c, wait := newHubClient(stderr, quiet)
	c.Refresh = true
	paths, err := fetchRef(context.Background(), c, ref)
	wait()
	if err != nil {
		return hubError(name, err)
	}
	roles := make([]string, 0, len(paths))
	for r := range paths {
		roles = append(roles, string(r))
	}
	sort.Strings(roles)
	for _, r := range roles {
		fmt.Fprintf(stdout, "%s\t%s\n", r, paths[hub.Role(r)])
	}
	return nil
}
