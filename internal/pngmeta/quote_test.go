package pngmeta

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// a1111Param is the pattern A1111's parse_generation_parameters uses to
// split the settings line (modules/infotext_utils.py, re_param); a quoted
// value is then read as JSON.
var a1111Param = regexp.MustCompile(`\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)`)

func parseA1111(line string) map[string]string {
	out := map[string]string{}
	for _, m := range a1111Param.FindAllStringSubmatch(line, -1) {
		v := strings.TrimSpace(m[2])
		if strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
			var s string
			if err := json.Unmarshal([]byte(v), &s); err == nil {
				v = s
			}
		}
		out[m[1]] = v
	}
	return out
}

// TestParametersQuoted (#14 item 7): values holding ',' ':' '"' or a
// newline come back whole through A1111's parser.
func TestParametersQuoted(t *testing.T) {
	model := "my, model: v2 \"final\"\\x\n"
	p := Parameters{Prompt: "a cat", Steps: 20, Sampler: "Euler", Schedule: "Normal", CFG: 7, Seed: 1, Width: 512, Height: 512,
		Model: model, Extra: [][2]string{{"Note", "a: b, c"}}}
	lines := strings.Split(p.String(), "\n")
	got := parseA1111(lines[len(lines)-1])
	if got["Model"] != model || got["Note"] != "a: b, c" || got["Steps"] != "20" || got["Sampler"] != "Euler" {
		t.Errorf("parsed back %q from %q", got, p.String())
	}
	if Quote("plain") != "plain" || Quote("a,b") != `"a,b"` {
		t.Errorf("Quote: %q %q", Quote("plain"), Quote("a,b"))
	}
}

// TestInvalidUTF8Text (#14 item 7): a text with invalid UTF-8 is stored
// as valid UTF-8 (U+FFFD for the bad bytes), so PIL does not drop it.
func TestInvalidUTF8Text(t *testing.T) {
	text := "caf\xe9 \xff ünï"
	png, err := InsertText(testImage(t), [2]string{"comment", text})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadText(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(got["comment"]) || got["comment"] != "caf\uFFFD \uFFFD ünï" {
		t.Errorf("read back %q", got["comment"])
	}
}
