package main

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// runTracePlot is `gen trace-plot TRACE.safetensors -o FILE.png|.svg`: it
// reads a --trace file, computes per model call the numbers of traceRow and
// draws them (four line charts over the calls and the arrow picture, raw and
// normalised by ‖cond − uncond‖) into one PNG or SVG, with the numbers
// also in a CSV beside it (FILE.csv). Both files are checked before any is
// written and written atomically.
func runTracePlot(args []string, stdout, stderr io.Writer) error {
	var output string
	var overwrite bool
	fs := newFlagSet("trace-plot")
	stringFlag(fs, &output, "", "output image (.png or .svg); the numbers go to the same name with .csv", "o", "output")
	fs.BoolVar(&overwrite, "overwrite", false, "replace existing files")
	// One positional argument (the trace), before or among the flags.
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return parseFlags(fs, rest) // the same error, as bad input
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	switch {
	case len(pos) != 1:
		return badInput("trace-plot: give one trace file (gen trace-plot TRACE.safetensors -o FILE.png|.svg), got %d", len(pos))
	case output == "":
		return badInput("trace-plot -o/--output: no output file given (.png or .svg)")
	}
	ext := strings.ToLower(filepath.Ext(output))
	if ext != ".png" && ext != ".svg" {
		return badInput("trace-plot -o/--output %s: must end in .png or .svg", output)
	}
	csvPath := strings.TrimSuffix(output, filepath.Ext(output)) + ".csv"
	rows, err := readTrace(pos[0])
	if err != nil {
		return badInput("trace-plot: %v", err)
	}
	// Both files are proven writable before the drawing and committed
	// together (outfile): never a chart without its numbers.
	files := imageFiles{}
	if files.image, err = prepareOutput("-o/--output", output, overwrite); err != nil {
		return err
	}
	if files.latent, err = prepareOutput("-o/--output (the CSV beside it)", csvPath, overwrite); err != nil {
		files.image.Discard()
		return err
	}
	img, err := drawTrace(rows, ext, filepath.Base(pos[0]))
	if err == nil {
		err = files.image.Write(img)
	}
	if err == nil {
		err = files.latent.Write(traceCSV(rows))
	}
	if err == nil {
		err = files.commit()
	}
	if err != nil {
		discardAll([]imageFiles{files})
		return err
	}
	fmt.Fprintln(stdout, output)
	fmt.Fprintln(stdout, csvPath)
	return nil
}

// drawTrace renders the charts as PNG or SVG (ext ".png" or ".svg").
func drawTrace(rows []traceRow, ext, title string) ([]byte, error) {
	series := func(f func(traceRow) float64) plotter.XYs {
		var xy plotter.XYs
		for _, r := range rows {
			if v := f(r); !math.IsNaN(v) && !math.IsInf(v, 0) {
				xy = append(xy, plotter.XY{X: float64(r.Call), Y: v})
			}
		}
		return xy
	}
	lineChart := func(name, ylabel string, f func(traceRow) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = name
		p.X.Label.Text = "model call"
		p.Y.Label.Text = ylabel
		if xy := series(f); len(xy) > 0 {
			l, s, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, err
			}
			s.GlyphStyle.Radius = vg.Points(2)
			p.Add(l, s, plotter.NewGrid())
		}
		return p, nil
	}
	charts := []struct {
		name, ylabel string
		f            func(traceRow) float64
	}{
		{"‖cond − uncond‖", "L2 norm", func(r traceRow) float64 { return r.CondUncond }},
		{"‖guided − cond‖", "L2 norm", func(r traceRow) float64 { return r.GuidedCond }},
		{"cos(cond, uncond)", "cosine", func(r traceRow) float64 { return r.Cos }},
		{"guidance share of the update", "‖g−c‖ / (‖g−c‖ + ‖x−c‖)", func(r traceRow) float64 { return r.Share }},
	}
	var ps []*plot.Plot
	for _, c := range charts {
		p, err := lineChart(c.name, c.ylabel, c.f)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	for _, norm := range []bool{false, true} {
		p, err := arrowPlot(rows, norm)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	ps[0].Title.Text = title + ": " + ps[0].Title.Text
	grid := [][]*plot.Plot{{ps[0], ps[1]}, {ps[2], ps[3]}, {ps[4], ps[5]}}
	w, h := 11*vg.Inch, 14*vg.Inch
	tiles := draw.Tiles{Rows: 3, Cols: 2, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6),
		PadRight: vg.Points(6), PadX: vg.Points(18), PadY: vg.Points(18)}
	var buf bytes.Buffer
	drawAll := func(dc draw.Canvas) {
		cs := plot.Align(grid, tiles, dc)
		for i := range grid {
			for j := range grid[i] {
				grid[i][j].Draw(cs[i][j])
			}
		}
	}
	if ext == ".svg" {
		c := vgsvg.New(w, h)
		drawAll(draw.New(c))
		if _, err := c.WriteTo(&buf); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	c := vgimg.New(w, h)
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	drawAll(dc)
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// arrowPlot draws, per call with an uncond, the arrows uncond → cond (grey,
// along the x axis) and uncond → guided (blue early, red late) in the
// plane of the three predictions (traceRow); norm divides by ‖cond − uncond‖
// so cond sits at (1, 0) and plain CFG's guided at (scale, 0).
func arrowPlot(rows []traceRow, norm bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "uncond at 0, cond on the x axis: uncond→cond (grey), uncond→guided"
	p.X.Label.Text = "along cond − uncond"
	p.Y.Label.Text = "perpendicular, in the plane of uncond, cond, guided"
	if norm {
		p.Title.Text = "the same, in units of ‖cond − uncond‖ (cond at 1)"
	}
	n := len(rows)
	p.Add(plotter.NewGrid())
	for k, r := range rows {
		if math.IsNaN(r.CondX) || math.IsNaN(r.GuidedX) {
			continue
		}
		s := 1.0
		if norm {
			s = 1 / r.CondX
		}
		t := 0.0
		if n > 1 {
			t = float64(k) / float64(n-1)
		}
		col := color.RGBA{R: uint8(255 * t), G: 40, B: uint8(255 * (1 - t)), A: 255}
		cl, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: r.CondX * s, Y: 0}})
		if err != nil {
			return nil, err
		}
		cl.Color = color.Gray{Y: 150}
		cl.Width = vg.Points(3)
		gl, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: r.GuidedX * s, Y: r.GuidedY * s}})
		if err != nil {
			return nil, err
		}
		gl.Color = col
		heads, err := plotter.NewScatter(plotter.XYs{{X: r.CondX * s, Y: 0}, {X: r.GuidedX * s, Y: r.GuidedY * s}})
		if err != nil {
			return nil, err
		}
		heads.GlyphStyle.Color = col
		heads.GlyphStyle.Radius = vg.Points(2.5)
		heads.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(cl, gl, heads)
	}
	return p, nil
}
