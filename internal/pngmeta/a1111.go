package pngmeta

import (
	"fmt"
	"strconv"
	"strings"
)

// Parameters are the generation settings stored in the "parameters" text
// chunk, in the format A1111's web UI writes and reads back ("PNG Info"),
// which other tools (ComfyUI importers, civitai, sd.cpp) also parse.
type Parameters struct {
	Prompt, Negative string
	Steps            int
	Sampler          string // e.g. "euler"
	Schedule         string // e.g. "normal"
	CFG              float64
	Seed             uint64
	Width, Height    int
	Model            string // model file or folder name without extension
	ClipSkip         int    // written when > 1
	GuidanceRescale  float64
	Extra            [][2]string // further "Key: value" pairs, in order
}

// Keyword is the PNG text keyword A1111 uses.
const Keyword = "parameters"

// String formats p as A1111 does:
//
//	<prompt>
//	Negative prompt: <negative>
//	Steps: N, Sampler: X, Schedule type: Y, CFG scale: F, Seed: S, Size: WxH, Model: name
//
// The negative-prompt line is left out when the negative prompt is empty.
func (p Parameters) String() string {
	var b strings.Builder
	b.WriteString(p.Prompt)
	b.WriteByte('\n')
	if p.Negative != "" {
		b.WriteString("Negative prompt: " + p.Negative + "\n")
	}
	fmt.Fprintf(&b, "Steps: %d, Sampler: %s, Schedule type: %s, CFG scale: %s, Seed: %d, Size: %dx%d, Model: %s",
		p.Steps, Quote(p.Sampler), Quote(p.Schedule), strconv.FormatFloat(p.CFG, 'g', -1, 64), p.Seed, p.Width, p.Height, Quote(p.Model))
	if p.ClipSkip > 1 {
		fmt.Fprintf(&b, ", Clip skip: %d", p.ClipSkip)
	}
	if p.GuidanceRescale != 0 {
		fmt.Fprintf(&b, ", CFG rescale: %s", strconv.FormatFloat(p.GuidanceRescale, 'g', -1, 64))
	}
	for _, kv := range p.Extra {
		fmt.Fprintf(&b, ", %s: %s", kv[0], Quote(kv[1]))
	}
	return b.String()
}

// Quote returns a value of the settings line as A1111 writes it
// (modules/infotext_utils.py, quote): unchanged unless it holds ',', ':'
// or a newline, which its parser would split on; then as a JSON string
// (Python's json.dumps with ensure_ascii=False: '"', '\\' and control
// characters escaped, other characters kept), which the parser unquotes.
// So a model named "my, model: v2" survives the round trip.
func Quote(v string) string {
	if !strings.ContainsAny(v, ",:\n") {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
