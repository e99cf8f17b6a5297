package infotext

import (
	"strings"
)

// Parse reads A1111's "parameters" text (see pngmeta.Parameters.String)
// back into its fields, as A1111's parse_generation_parameters does:
//
//	<prompt, possibly several lines>
//	Negative prompt: <negative, possibly several lines>
//	Key: value, Key: "quoted, value", ...
//
// The returned map holds "Prompt", "Negative prompt" and every "Key: value"
// pair of the last line. A text whose last line has no "Key: value" pair
// is all prompt.
func Parse(text string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if n := len(lines); n > 0 {
		if kv := pairs(lines[n-1]); len(kv) >= 3 || strings.HasPrefix(lines[n-1], "Steps: ") {
			lines = lines[:n-1]
			for k, v := range kv {
				out[k] = v
			}
		}
	}
	var prompt, negative []string
	inNegative := false
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "Negative prompt:"); ok {
			inNegative = true
			l = strings.TrimSpace(rest)
		}
		if inNegative {
			negative = append(negative, l)
		} else {
			prompt = append(prompt, l)
		}
	}
	out["Prompt"] = strings.Join(prompt, "\n")
	out["Negative prompt"] = strings.Join(negative, "\n")
	return out
}

// pairs splits `Key: value, Key: "v, w", ...` into a map (quotes kept off).
func pairs(line string) map[string]string {
	out := map[string]string{}
	for len(line) > 0 {
		colon := strings.Index(line, ": ")
		if colon < 0 {
			break
		}
		key := strings.TrimSpace(line[:colon])
		rest := line[colon+2:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				val, rest = rest[1:], ""
			} else {
				val, rest = rest[1:end+1], rest[end+2:]
			}
			rest = strings.TrimPrefix(strings.TrimSpace(rest), ",")
		} else if comma := strings.Index(rest, ", "); comma >= 0 {
			val, rest = rest[:comma], rest[comma+2:]
		} else {
			val, rest = rest, ""
		}
		out[key] = strings.TrimSpace(val)
		line = strings.TrimSpace(rest)
	}
	return out
}
