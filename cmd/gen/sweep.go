package main

import (
	"fmt"
	"github.com/godiffusion/godiffusion/internal/outfile"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/godiffusion/godiffusion/internal/pngmeta"
	"github.com/godiffusion/godiffusion/models/pipeline"
)

// gen sweep: one seed, one prompt, a grid of settings on up to two axes,
// e.g.
//
//	gen sweep --model M -p "a cat" --seed 1 --cfg-scale 1,3,5,7,9 --guidance-rule cfg,apg -o sweep.png
//
// writes sweep.png, a contact sheet with the settings as row and column
// captions (sheet.go), and every cell's own PNG (sweep-r<row>-c<col>.png)
// with the A1111 parameters a single `gen` run with the cell's settings
// writes, and the same pixels: each cell is exactly that run's command line
// (the sweep's flags plus the cell's value of each axis), validated and run
// the same way, its requests batched with others through
// pipeline.GenerateBatch.

// maxSweepCells is how many cells a sweep runs without --yes.
const maxSweepCells = 64

// sweepAxis is one setting swept: the flag and its values, as the flag's
// own text (passed to the cell's command line unchanged).
type sweepAxis struct {
	flag   string // canonical name, e.g. "cfg-scale"
	label  string // caption prefix, e.g. "cfg"
	values []string
}

// sweepList are the flags that take a comma-separated list in a sweep,
// with their other names and caption prefix. -n is repeated instead (a
// negative prompt may contain commas).
var sweepList = []struct {
	flag, label string
	names       []string
}{
	{"cfg-scale", "cfg", []string{"cfg-scale", "cfg"}},
	{"guidance-rule", "rule", []string{"guidance-rule"}},
	{"steps", "steps", []string{"steps"}},
	{"sampler", "sampler", []string{"sampler", "sampling-method"}},
	{"scheduler", "scheduler", []string{"scheduler", "schedule"}},
	{"clip-l", "clip-l", []string{"clip-l", "clip_l"}},
	{"guidance", "guidance", []string{"guidance"}},
}

// sweepArgs splits a sweep's command line into the axes (flags given a
// list, or -n repeated), the flags every cell shares, and the sweep's own
// flags (--yes, --batch-size, -o and --overwrite stay in common, read from
// there).
type sweepArgs struct {
	axes   []sweepAxis
	common []string
	yes    bool
	batch  int
	output string
	over   bool
}

// flagName returns the name of a "-x", "--x" or "--x=v" argument and its
// inline value.
func flagName(a string) (name, val string, inline, ok bool) {
	if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
		return "", "", false, false
	}
	name = strings.TrimLeft(a, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		return name[:i], name[i+1:], true, true
	}
	return name, "", false, true
}

func parseSweepArgs(args []string) (*sweepArgs, error) {
	sa := &sweepArgs{batch: 4, output: "sweep.png"}
	lists := map[string][]string{}
	var negs []string
	listOf := func(name string) (string, bool) {
		for _, l := range sweepList {
			if slices.Contains(l.names, name) {
				return l.flag, true
			}
		}
		return "", false
	}
	for i := 0; i < len(args); i++ {
		name, val, inline, ok := flagName(args[i])
		if !ok {
			sa.common = append(sa.common, args[i])
			continue
		}
		value := func() (string, error) {
			if inline {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", badInput("flag needs an argument: -%s (see gen help)", name)
			}
			i++
			return args[i], nil
		}
		switch canon, isList := listOf(name); {
		case isList:
			v, err := value()
			if err != nil {
				return nil, err
			}
			if _, dup := lists[canon]; dup {
				return nil, badInput("--%s given twice: give its values as one list (--%s a,b,c)", canon, canon)
			}
			lists[canon] = strings.Split(v, ",")
		case name == "n" || name == "negative-prompt":
			v, err := value()
			if err != nil {
				return nil, err
			}
			negs = append(negs, v)
		case name == "yes":
			sa.yes = true
		case name == "batch-size":
			v, err := value()
			if err != nil {
				return nil, err
			}
			if _, err := fmt.Sscan(v, &sa.batch); err != nil || sa.batch < 1 || sa.batch > maxSweepCells {
				return nil, badInput("--batch-size %q: must be between 1 and %d (cells per network batch)", v, maxSweepCells)
			}
		case name == "b" || name == "batch-count" || name == "save-latent" || name == "trace" || name == "i" || name == "init-img":
			return nil, badInput("--%s: not available in gen sweep (run gen for the cell you want)", name)
		default:
			sa.common = append(sa.common, args[i])
			if name == "o" || name == "output" || (!inline && i+1 < len(args) && takesValue(name)) {
				v, _ := value()
				sa.common = append(sa.common, v)
				if name == "o" || name == "output" {
					sa.output = v
				}
			}
			if name == "overwrite" {
				sa.over = true
			}
		}
	}
	for _, l := range sweepList {
		if vs, ok := lists[l.flag]; ok {
			sa.axes = append(sa.axes, sweepAxis{flag: l.flag, label: l.label, values: vs})
		}
	}
	if len(negs) > 0 {
		sa.axes = append(sa.axes, sweepAxis{flag: "negative-prompt", label: "neg", values: negs})
	}
	// A flag with one value is a setting of every cell, not an axis.
	var axes []sweepAxis
	for _, a := range sa.axes {
		if len(a.values) == 1 {
			sa.common = append(sa.common, "--"+a.flag, a.values[0])
		} else {
			axes = append(axes, a)
		}
	}
	sa.axes = axes
	if len(sa.axes) == 0 {
		return nil, badInput("gen sweep: no axis: give one or two settings several values (--cfg-scale 3,5,7, -n \"\" -n \"lowres\", --guidance-rule cfg,apg, --steps, --sampler, --scheduler, --clip-l, --guidance)")
	}
	if len(sa.axes) > 2 {
		names := make([]string, len(sa.axes))
		for i, a := range sa.axes {
			names[i] = "--" + a.flag
		}
		return nil, badInput("gen sweep: %d axes (%s): a contact sheet has two; give the others one value", len(sa.axes), strings.Join(names, ", "))
	}
	return sa, nil
}

// takesValue reports whether the gen flag name takes a value (not a bool).
func takesValue(name string) bool {
	switch name {
	case "overwrite", "raw", "quiet", "v", "verbose", "h", "help", "yes":
		return false
	}
	return true
}

// sweepCell is one cell of the grid: its row and column, the command line
// a lone gen run would get, and that run's validated setup.
type sweepCell struct {
	row, col int
	args     []string
	setup    *genSetup
	out      string
	file     *outfile.File // the cell's PNG, prepared before any work
}

// cellName is the file of cell (r, c): sweep.png → sweep-r1-c2.png.
func cellName(sheet string, r, c int) string {
	ext := filepath.Ext(sheet)
	return fmt.Sprintf("%s-r%d-c%d%s", strings.TrimSuffix(sheet, ext), r+1, c+1, ext)
}

func runSweep(args []string, stdout, stderr io.Writer) error {
	sa, err := parseSweepArgs(args)
	if err != nil {
		return err
	}
	rows, cols := sweepAxis{label: "", values: []string{""}}, sa.axes[0]
	if len(sa.axes) == 2 {
		rows, cols = sa.axes[0], sa.axes[1]
	}
	n := len(rows.values) * len(cols.values)
	if n > maxSweepCells && !sa.yes {
		return badInput("gen sweep: %d cells (%d×%d): more than %d needs --yes", n, len(rows.values), len(cols.values), maxSweepCells)
	}
	// One seed for the whole sheet.
	probe, err := parseGenFlags(sa.common)
	if err != nil {
		return err
	}
	seed := probe.seed.value
	if !probe.seed.set {
		seed = randomSeed()
	}
	var cells []*sweepCell
	for r, rv := range rows.values {
		for c, cv := range cols.values {
			cell := &sweepCell{row: r, col: c, out: cellName(sa.output, r, c)}
			cell.args = append(slices.Clone(sa.common), "--seed", fmt.Sprint(seed))
			if rows.flag != "" {
				cell.args = append(cell.args, "--"+rows.flag, rv)
			}
			cell.args = append(cell.args, "--"+cols.flag, cv, "-o", cell.out)
			var warn io.Writer
			if len(cells) == 0 {
				warn = stderr
			}
			if cell.setup, err = setupGenerate(cell.args, warn); err != nil {
				return err
			}
			cells = append(cells, cell)
		}
	}
	if format, err := imageFormat(sa.output); err != nil {
		return err
	} else if format != formatPNG {
		return badInput("-o/--output %s: gen sweep writes PNG (the contact sheet and each cell with its parameters)", sa.output)
	}
	// Every output is proven writable before any work (outfile.Prepare);
	// what is not committed is removed on return.
	sheetFile, err := prepareOutput("-o/--output", sa.output, sa.over)
	if err != nil {
		return err
	}
	defer sheetFile.Discard()
	for _, c := range cells {
		if c.file, err = prepareOutput("-o/--output (a cell)", c.out, sa.over); err != nil {
			return err
		}
		defer c.file.Discard()
	}
	fmt.Fprintf(stderr, "seed %d, %d cells\n", seed, n)
	f0 := cells[0].setup.f
	defer f0.setRuntime(stderr)()
	t0 := time.Now()
	rgbs, stats, err := runSweepCells(cells, sa.batch, stdout, stderr)
	if err != nil {
		return err
	}
	sheet, err := contactSheet(cells, rows, cols, rgbs, fmt.Sprintf("seed %d  prompt %q", seed, f0.prompt))
	if err != nil {
		return err
	}
	png, err := pngmeta.Encode(sheet, [2]string{"Comment", sweepComment(sa, seed)})
	if err != nil {
		return err
	}
	if err := sheetFile.Write(png); err != nil {
		return err
	}
	if err := sheetFile.Commit(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, sa.output)
	newProgress(stderr, f0.quiet).printf("sweep: %d cells in %d batches, sampling %s, total %s\n",
		n, stats.batches, secs(stats.sampling), secs(time.Since(t0)))
	return nil
}

// sweepComment records the sweep's command line in the sheet's PNG.
func sweepComment(sa *sweepArgs, seed uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gen sweep (seed %d):", seed)
	for _, a := range sa.axes {
		fmt.Fprintf(&b, " --%s %q", a.flag, a.values)
	}
	return b.String()
}

// sweepStats are the counts and times a sweep reports.
type sweepStats struct {
	batches  int
	sampling time.Duration
}

// runSweepCells renders every cell and writes its PNG. Cells are grouped
// by what must be loaded (the model and its parts: one pipeline per
// group, e.g. per --clip-l file) and then by what fixes the network's
// schedule and shapes (steps, sampler, scheduler, size); each group's
// cells run batchSize at a time through pipeline.GenerateBatch.
func runSweepCells(cells []*sweepCell, batchSize int, stdout, stderr io.Writer) (map[*sweepCell][]uint8, sweepStats, error) {
	var st sweepStats
	rgbs := map[*sweepCell][]uint8{}
	loadKey := func(c *sweepCell) string { return fmt.Sprintf("%s|%+v", c.setup.f.model, c.setup.loadOptions()) }
	schedKey := func(c *sweepCell) string {
		f := c.setup.f
		return fmt.Sprintf("%d|%s|%s|%dx%d", f.steps, f.sampler, f.scheduler, f.width, f.height)
	}
	for _, lg := range groupBy(cells, loadKey) {
		s0 := lg[0].setup
		pipe, err := s0.fam.Load(s0.f.model, s0.loadOptions())
		if err != nil {
			return nil, st, badInput("%s: %v", componentFlag(err), err)
		}
		rememberTokenizer(s0.f.tokenizer, s0.tokDir, stderr)
		for _, sg := range groupBy(lg, schedKey) {
			for b := 0; b < len(sg); b += batchSize {
				part := sg[b:min(b+batchSize, len(sg))]
				reqs := make([]pipeline.Request, len(part))
				for i, c := range part {
					reqs[i] = c.setup.request(c.setup.f.seed.value)
				}
				res, err := pipe.GenerateBatch(reqs)
				if err != nil {
					pipe.Close()
					return nil, st, err
				}
				st.batches++
				st.sampling += res[0].Sampling
				for i, c := range part {
					png, err := c.setup.encodeImage(formatPNG, res[i].RGB, c.setup.f.seed.value)
					if err == nil {
						err = c.file.Write(png)
					}
					if err == nil {
						err = c.file.Commit()
					}
					if err != nil {
						pipe.Close()
						return nil, st, err
					}
					fmt.Fprintln(stdout, c.out)
					rgbs[c] = res[i].RGB
				}
			}
		}
		if err := pipe.Close(); err != nil {
			return nil, st, err
		}
	}
	return rgbs, st, nil
}

// groupBy splits cells into groups of equal key, in order of first
// appearance.
func groupBy(cells []*sweepCell, key func(*sweepCell) string) [][]*sweepCell {
	var keys []string
	groups := map[string][]*sweepCell{}
	for _, c := range cells {
		k := key(c)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], c)
	}
	out := make([][]*sweepCell, len(keys))
	for i, k := range keys {
		out[i] = groups[k]
	}
	return out
}
