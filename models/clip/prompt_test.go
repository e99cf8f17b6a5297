package clip

import (
	"math"
	"testing"
)

func checkFragments(t *testing.T, prompt string, got, want []Fragment) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Text == want[i].Text && got[i].Break == want[i].Break && math.Abs(got[i].Weight-want[i].Weight) < 1e-12
	}
	if !ok {
		t.Errorf("ParsePrompt(%q)\n got %+v\nwant %+v", prompt, got, want)
	}
}

// TestParsePrompt uses the examples of A1111's parse_prompt_attention
// docstring and the corner cases of its grammar.
func TestParsePrompt(t *testing.T) {
	const r, s = RoundBracketMultiplier, SquareBracketMultiplier
	cases := []struct {
		prompt string
		want   []Fragment
	}{
		{"normal text", []Fragment{{Text: "normal text", Weight: 1}}},
		{"", []Fragment{{Text: "", Weight: 1}}},
		{"an (important) word", []Fragment{{Text: "an ", Weight: 1}, {Text: "important", Weight: r}, {Text: " word", Weight: 1}}},
		{"((word))", []Fragment{{Text: "word", Weight: r * r}}},
		{"(word:1.3)", []Fragment{{Text: "word", Weight: 1.3}}},
		{"( word : 0.5 )", []Fragment{{Text: " word ", Weight: 0.5}}},
		{"[word]", []Fragment{{Text: "word", Weight: s}}},
		{"[[word]]", []Fragment{{Text: "word", Weight: s * s}}},
		{"(unbalanced", []Fragment{{Text: "unbalanced", Weight: r}}},
		{"a [b", []Fragment{{Text: "a ", Weight: 1}, {Text: "b", Weight: s}}},
		{"closing) only]", []Fragment{{Text: "closing) only]", Weight: 1}}},
		{`\(literal\]`, []Fragment{{Text: "(literal]", Weight: 1}}},
		{`\\ and \x`, []Fragment{{Text: `\ and x`, Weight: 1}}},
		{"(unnecessary)(parens)", []Fragment{{Text: "unnecessaryparens", Weight: r}}},
		{"a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).", []Fragment{
			{Text: "a ", Weight: 1}, {Text: "house", Weight: 1.3 * r * r}, {Text: " ", Weight: r},
			{Text: "on", Weight: s * r}, {Text: " a ", Weight: r}, {Text: "hill", Weight: 0.5 * r},
			{Text: ", sun, ", Weight: r}, {Text: "sky", Weight: r * r * r * r}, {Text: ".", Weight: r},
		}},
		{"time: 12:30", []Fragment{{Text: "time: 12:30", Weight: 1}}},
		{"weight:1.2) without paren", []Fragment{{Text: "weight:1.2) without paren", Weight: 1}}},
		{"(a:b)", []Fragment{{Text: "a:b", Weight: r}}},
		{"(x:-1)", []Fragment{{Text: "x", Weight: -1}}},
		{"(bad:1.2.3)", []Fragment{{Text: "bad:1.2.3)", Weight: r}}},
		{"{smile}", []Fragment{{Text: "{smile}", Weight: 1}}},
		{"(a [b] c)", []Fragment{{Text: "a ", Weight: r}, {Text: "b", Weight: s * r}, {Text: " c", Weight: r}}},
		{"cat BREAK dog", []Fragment{{Text: "cat", Weight: 1}, {Break: true, Weight: 1}, {Text: "dog", Weight: 1}}},
		{"BREAKFAST and break", []Fragment{{Text: "BREAKFAST and break", Weight: 1}}},
		{"(cat BREAK dog:1.2)", []Fragment{{Text: "cat", Weight: 1.2}, {Break: true, Weight: 1}, {Text: "dog", Weight: 1.2}}},
	}
	for _, c := range cases {
		checkFragments(t, c.prompt, ParsePrompt(c.prompt), c.want)
	}
}

func TestScanWeightUnicodeDigits(t *testing.T) {
	n, w, ok := scanWeight(":１.５)") // full-width digits, which Python's \d and float() accept
	if !ok || w != 1.5 || n != len(":１.５)") {
		t.Errorf("scanWeight = %d, %v, %v", n, w, ok)
	}
}
