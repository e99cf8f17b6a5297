package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/godiffusion/godiffusion/safetensors"
)

// traceRow holds the guidance numbers of one model call of a --trace file.
// With x the sampler's latent, c = cond, u = uncond and g = guided (flat
// float32 vectors, norms Euclidean, accumulated in float64):
//
//	CondUncond  = ‖c − u‖                     how far the prompt moves the prediction
//	GuidedCond  = ‖g − c‖                     how far guidance moves it past cond
//	Cos         = ⟨c, u⟩/(‖c‖·‖u‖)
//	Share       = ‖g − c‖/(‖g − c‖ + ‖x − c‖)
//
// Share is the part of the step that guidance contributes: a sampler moves
// x along x − g = (x − c) + (c − g), the unguided direction plus the
// guidance term. The arrow picture projects u, c, g onto their own plane,
// u at the origin and c on the x axis:
//
//	e₁ = (c − u)/‖c − u‖,  CondX = ‖c − u‖,
//	GuidedX = ⟨g − u, e₁⟩, GuidedY = ‖(g − u) − GuidedX·e₁‖ (≥ 0)
//
// so plain CFG puts g at (scale·‖c − u‖, 0), and a rule that bends the
// guidance (APG, Perp-Neg) lifts it off the axis. Calls without uncond
// (cfg 1, outside a guidance interval) have NaN for the uncond numbers.
type traceRow struct {
	Call                    int
	Sigma                   float64
	CondUncond, GuidedCond  float64
	Cos, Share              float64
	CondX, GuidedX, GuidedY float64
}

// readTrace computes the rows of a --trace file: calls 0, 1, … while x.i,
// cond.i and guided.i exist. σ of call i is sigma.i when recorded, else
// sigmas[i] when there is one call per step (NaN otherwise). It fails,
// naming the tensor, on a file that is not a trace.
func readTrace(path string) ([]traceRow, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	get := func(name string) ([]float32, error) {
		v, _, err := f.Float32(name)
		return v, err
	}
	var sigmas []float32
	if f.Has("sigmas") {
		if sigmas, err = get("sigmas"); err != nil {
			return nil, err
		}
	}
	var rows []traceRow
	hasUncond := false
	for i := 0; f.Has(fmt.Sprintf("x.%d", i)); i++ {
		var x, c, g, u []float32
		for _, p := range []struct {
			name string
			dst  *[]float32
		}{{"x", &x}, {"cond", &c}, {"guided", &g}} {
			name := fmt.Sprintf("%s.%d", p.name, i)
			if !f.Has(name) {
				return nil, fmt.Errorf("%s has x.%d but no tensor %s: not a gen --trace file", path, i, name)
			}
			if *p.dst, err = get(name); err != nil {
				return nil, err
			}
		}
		if name := fmt.Sprintf("uncond.%d", i); f.Has(name) {
			if u, err = get(name); err != nil {
				return nil, err
			}
			hasUncond = true
		}
		for _, v := range [][]float32{c, g, u} {
			if v != nil && len(v) != len(x) {
				return nil, fmt.Errorf("%s: call %d's tensors differ in size (%d and %d values)", path, i, len(x), len(v))
			}
		}
		row := callRow(x, c, u, g)
		row.Call = i
		row.Sigma = math.NaN()
		if name := fmt.Sprintf("sigma.%d", i); f.Has(name) {
			s, err := get(name)
			if err != nil || len(s) != 1 {
				return nil, fmt.Errorf("%s: tensor %s is not one number", path, name)
			}
			row.Sigma = float64(s[0])
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s has no tensors x.0, cond.0, guided.0: not a gen --trace file", path)
	}
	if !hasUncond {
		return nil, fmt.Errorf("%s has no uncond.i tensors (a --cfg-scale 1 run computes none): nothing to compare", path)
	}
	if len(rows) == len(sigmas)-1 {
		for i := range rows {
			if math.IsNaN(rows[i].Sigma) {
				rows[i].Sigma = float64(sigmas[i])
			}
		}
	}
	return rows, nil
}

// callRow computes one call's numbers (see traceRow); u may be nil.
func callRow(x, c, u, g []float32) traceRow {
	nan := math.NaN()
	r := traceRow{CondUncond: nan, Cos: nan, CondX: nan, GuidedX: nan, GuidedY: nan}
	var gc, xc float64
	for i := range x {
		d := float64(g[i]) - float64(c[i])
		e := float64(x[i]) - float64(c[i])
		gc += d * d
		xc += e * e
	}
	r.GuidedCond = math.Sqrt(gc)
	if s := r.GuidedCond + math.Sqrt(xc); s > 0 {
		r.Share = r.GuidedCond / s
	}
	if u == nil {
		return r
	}
	var cu, cc, uu, cuDot, gDot, gg float64
	for i := range c {
		d := float64(c[i]) - float64(u[i])
		gu := float64(g[i]) - float64(u[i])
		cu += d * d
		cc += float64(c[i]) * float64(c[i])
		uu += float64(u[i]) * float64(u[i])
		cuDot += float64(c[i]) * float64(u[i])
		gDot += gu * d
		gg += gu * gu
	}
	r.CondUncond = math.Sqrt(cu)
	if cc > 0 && uu > 0 {
		r.Cos = cuDot / math.Sqrt(cc*uu)
	}
	r.CondX = r.CondUncond
	if r.CondUncond > 0 {
		r.GuidedX = gDot / r.CondUncond
		r.GuidedY = math.Sqrt(math.Max(gg-r.GuidedX*r.GuidedX, 0))
	}
	return r
}

// traceCSVHeader names the CSV columns (traceRow's fields).
const traceCSVHeader = "call,sigma,norm_cond_minus_uncond,norm_guided_minus_cond,cos_cond_uncond,guidance_share,arrow_cond_x,arrow_guided_x,arrow_guided_y"

// traceCSV renders rows as CSV with full float64 precision; NaN is an
// empty cell.
func traceCSV(rows []traceRow) []byte {
	var b strings.Builder
	b.WriteString(traceCSVHeader + "\n")
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s,%s,%s,%s\n", r.Call, num(r.Sigma), num(r.CondUncond), num(r.GuidedCond),
			num(r.Cos), num(r.Share), num(r.CondX), num(r.GuidedX), num(r.GuidedY))
	}
	return []byte(b.String())
}
