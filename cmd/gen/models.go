package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/godiffusion/godiffusion/hub"
)

// runModels is `gen models`: the registry's names with their download
// sizes and how much of each the Hugging Face cache already holds. It
// makes no request.
func runModels(args []string, stdout, stderr io.Writer) error {
	if err := parseFlags(newFlagSet("models"), args); err != nil {
		return err
	}
	c := hub.FromEnv()
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tFAMILY\tSIZE\tCACHED\tDESCRIPTION")
	for i := range hub.Registry {
		m := &hub.Registry[i]
		n, all := c.Cached(m)
		cached := "-"
		switch {
		case all:
			cached = "yes"
		case n > 0:
			cached = hub.FormatSize(n)
		}
		desc := m.Description
		if m.Gated {
			desc += " (needs HF_TOKEN)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", m.Name, m.Family, hub.FormatSize(m.Size()), cached, desc)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cache: %s\n", c.Cache.Dir)
	return nil
}
