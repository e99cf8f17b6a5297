package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/godiffusion/godiffusion/hub"
	"github.com/godiffusion/godiffusion/models/pipeline"
)

// modelRef is what --model names: a local path, a registry entry, a
// diffusers repository on the Hub, or one file in a Hub repository.
type modelRef struct {
	kind     refKind
	name     string // registry name
	repo     string // owner/name
	revision string // after '@', default main
	file     string // repository path of a single file
}

type refKind int

const (
	refLocal refKind = iota
	refRegistry
	refRepo
	refFile
)

// parseModelRef classifies s. A path that exists is local whatever it
// looks like, so existing command lines keep working; then registry names;
// then owner/repo[@rev] and owner/repo[@rev]/path/file.safetensors. Anything
// else (an absolute or ./ path, a missing file) is local, and checkModel
// reports it as today.
func parseModelRef(s string) modelRef {
	if _, err := os.Stat(s); err == nil {
		return modelRef{kind: refLocal}
	}
	if hub.Lookup(s) != nil {
		return modelRef{kind: refRegistry, name: s}
	}
	if filepath.IsAbs(s) || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") || strings.Contains(s, `\`) {
		return modelRef{kind: refLocal}
	}
	parts := strings.SplitN(s, "/", 3)
	if len(parts) < 2 {
		return modelRef{kind: refLocal}
	}
	name, rev, _ := strings.Cut(parts[1], "@")
	if rev == "" {
		rev = "main"
	}
	repo := parts[0] + "/" + name
	if !hub.ValidRepoID(repo) {
		return modelRef{kind: refLocal}
	}
	if len(parts) == 2 {
		if isWeightFile(s) { // models/x.safetensors: a missing local file, not a repository
			return modelRef{kind: refLocal}
		}
		return modelRef{kind: refRepo, repo: repo, revision: rev}
	}
	if !isWeightFile(parts[2]) {
		return modelRef{kind: refLocal}
	}
	return modelRef{kind: refFile, repo: repo, revision: rev, file: parts[2]}
}

func isWeightFile(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	return ext == ".safetensors" || ext == ".ckpt" || ext == ".gguf"
}

// newHubClient is a client configured from the environment (HF_ENDPOINT,
// HF_HUB_CACHE, HF_HUB_OFFLINE, HF_TOKEN) with progress bars on stderr
// when it is a terminal and not quiet; wait ends the bars.
func newHubClient(stderr io.Writer, quiet bool) (c *hub.Client, wait func()) {
	c = hub.FromEnv()
	bars := hub.NewBars(stderr, quiet)
	if bars != nil {
		c.Progress = bars
	}
	return c, bars.Wait
}

// fetchRef makes the files ref names present in the cache and returns the
// local path of each role (for a diffusers repository or a single file,
// only RoleModel, plus RoleTokenizer when the repository has tokenizer/
// beside the file).
func fetchRef(ctx context.Context, c *hub.Client, ref modelRef) (map[hub.Role]string, error) {
	switch ref.kind {
	case refRegistry:
		return c.Pull(ctx, hub.Lookup(ref.name))
	case refRepo:
		snap, err := c.FetchDiffusers(ctx, ref.repo, ref.revision)
		if err != nil {
			return nil, err
		}
		return map[hub.Role]string{hub.RoleModel: snap}, nil
	case refFile:
		snap, err := c.Fetch(ctx, ref.repo, ref.revision, []string{ref.file})
		if err != nil {
			return nil, err
		}
		out := map[hub.Role]string{hub.RoleModel: filepath.Join(snap, filepath.FromSlash(ref.file))}
		// A diffusers repository that also holds single files (SDXL base,
		// Animagine) has the CLIP tokenizer in tokenizer/ beside them.
		dir := path.Dir(ref.file)
		tok := []string{path.Join(dir, "tokenizer/vocab.json"), path.Join(dir, "tokenizer/merges.txt")}
		if !hasAll(c, ref, tok) && !c.Offline {
			if info, err := c.Info(ctx, ref.repo, ref.revision); err == nil && listed(info.Files(), tok) {
				c.Fetch(ctx, ref.repo, info.SHA, tok) // best effort: without it FindTokenizer looks elsewhere
			}
		}
		if hasAll(c, ref, tok) {
			out[hub.RoleTokenizer] = filepath.Join(snap, filepath.FromSlash(path.Join(dir, "tokenizer")))
		}
		return out, nil
	}
	return nil, nil
}

func hasAll(c *hub.Client, ref modelRef, files []string) bool {
	for _, f := range files {
		if _, ok := c.Cache.Lookup(ref.repo, ref.revision, f); !ok {
			return false
		}
	}
	return true
}

func listed(names, want []string) bool {
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}

// hubError words a download failure for --model: a name the Hub does not
// know, a gated repository or a missing cached file is bad input (exit 2);
// anything else (network, disk) a failure while running.
func hubError(model string, err error) error {
	if errors.Is(err, hub.ErrNotFound) || errors.Is(err, hub.ErrGated) || errors.Is(err, hub.ErrOffline) {
		return badInput("--model %s: %v", model, err)
	}
	return fmt.Errorf("--model %s: %w", model, err)
}

// resolveModel is called first by runGenerate: when --model names a
// registry entry or a Hub repository it downloads what is missing (with
// progress) and fills the local paths in f: model, and unless given on the
// command line tokenizer, and for Flux clipL, vae, t5xxl and t5Tokenizer.
// For a registry entry it prints the model card's settings that differ from
// f's, or applies them with --recommended. A local path is left as it is.
func resolveModel(f *genFlags, stderr io.Writer) error {
	if f.model == "" {
		return nil
	}
	ref := parseModelRef(f.model)
	if ref.kind == refLocal {
		return nil
	}
	c, wait := newHubClient(stderr, f.quiet)
	paths, err := fetchRef(context.Background(), c, ref)
	wait()
	if err != nil {
		return hubError(f.model, err)
	}
	set := func(p *string, explicit bool, role hub.Role) {
		if v, ok := paths[role]; ok && !explicit {
			*p = v
		}
	}
	set(&f.tokenizer, f.tokenizer != "", hub.RoleTokenizer)
	set(&f.clipL, f.clipL != "", hub.RoleClipL)
	set(&f.vae, f.vae != "", hub.RoleVAE)
	set(&f.t5xxl, f.t5xxl != "", hub.RoleT5XXL)
	set(&f.t5Tokenizer, f.t5Tokenizer != "", hub.RoleT5Tokenizer)
	if ref.kind == refRegistry {
		f.card = hub.Lookup(ref.name) // compared with the settings once the family's defaults are known
	}
	f.model = paths[hub.RoleModel]
	return nil
}

// recommend compares f with the model card's settings of m: with
// --recommended it applies those the command line did not give; it prints
// the ones that still differ.
func recommend(f *genFlags, m *hub.Model, stderr io.Writer) {
	r := m.Recommended
	given := func(names ...string) bool {
		for _, n := range names {
			if f.given[n] {
				return true
			}
		}
		return false
	}
	var applied, differ []string
	check := func(differs bool, flag string, explicit bool, apply func()) {
		switch {
		case !differs:
		case f.recommended && !explicit:
			apply()
			applied = append(applied, flag)
		default:
			differ = append(differ, flag)
		}
	}
	if r.Steps > 0 {
		check(f.steps != r.Steps, fmt.Sprintf("--steps %d", r.Steps), given("steps"), func() { f.steps = r.Steps })
	}
	if r.CFG > 0 {
		check(f.cfg != r.CFG, fmt.Sprintf("--cfg-scale %g", r.CFG), given("cfg-scale", "cfg"), func() { f.cfg = r.CFG })
	}
	if r.Sampler != "" {
		cur, _ := pipeline.CanonicalSampler(f.sampler)
		check(cur != r.Sampler, "--sampler "+r.Sampler, given("sampler", "sampling-method"), func() { f.sampler = r.Sampler })
	}
	if r.Scheduler != "" {
		cur, _ := pipeline.CanonicalScheduler(f.scheduler)
		check(cur != r.Scheduler, "--scheduler "+r.Scheduler, given("scheduler", "schedule"), func() { f.scheduler = r.Scheduler })
	}
	if r.Width > 0 && f.initImg == "" {
		check(f.width != r.Width || f.height != r.Height, fmt.Sprintf("-W %d -H %d", r.Width, r.Height), f.sizeSet,
			func() { f.width, f.height, f.sizeSet = r.Width, r.Height, true })
	}
	if r.Negative != "" {
		check(f.negative != r.Negative, fmt.Sprintf("-n %q", r.Negative), given("n", "negative-prompt"), func() { f.negative = r.Negative })
	}
	if f.quiet {
		return
	}
	if len(applied) > 0 {
		fmt.Fprintf(stderr, "%s: using the model card's settings: %s\n", m.Name, strings.Join(applied, " "))
	}
	if len(differ) > 0 {
		hint := " (--recommended applies them)"
		if f.recommended {
			hint = " (kept the ones given on the command line)"
		}
		fmt.Fprintf(stderr, "%s: the model card recommends %s%s; %s\n", m.Name, strings.Join(differ, " "), hint, r.Source)
	}
}
