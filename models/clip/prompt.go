package clip

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fragment is a piece of prompt text with its attention weight (1 =
// unweighted). Break marks an A1111 "BREAK": the current 75-token chunk
// ends there (Text is empty).
type Fragment struct {
	Text   string
	Weight float64
	Break  bool
}

// Emphasis multipliers of A1111: "(x)" multiplies by 1.1, "[x]" divides by 1.1.
const (
	RoundBracketMultiplier  = 1.1
	SquareBracketMultiplier = 1 / 1.1
)

// ParsePrompt splits an A1111-style prompt into weighted fragments, as
// parse_prompt_attention in AUTOMATIC1111's modules/prompt_parser.py does
// (see the package documentation for the syntax). It never fails: text
// that is not valid syntax is kept literally. An empty prompt gives one
// empty fragment of weight 1.
//
// Example: "a (red:1.5) [cat]" → {"a ", 1}, {"red", 1.5}, {" ", 1}, {"cat", 1/1.1}.
func ParsePrompt(text string) []Fragment {
	var res []Fragment
	var round, square []int // indexes into res where an open bracket started
	multiply := func(start int, m float64) {
		for i := start; i < len(res); i++ {
			if !res[i].Break {
				res[i].Weight *= m
			}
		}
	}
	pop := func(s *[]int) int { v := (*s)[len(*s)-1]; *s = (*s)[:len(*s)-1]; return v }
	literal := func(s string) { res = append(res, Fragment{Text: s, Weight: 1}) }

	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\\':
			// "\(", "\)", "\[", "\]", "\\" are literal characters; a lone "\" vanishes.
			if i+1 < len(text) && strings.IndexByte(`()[]\`, text[i+1]) >= 0 {
				literal(text[i+1 : i+2])
				i += 2
			} else {
				literal("")
				i++
			}
		case c == '(':
			round = append(round, len(res))
			i++
		case c == '[':
			square = append(square, len(res))
			i++
		case c == ':':
			// ":<number>)" closes a "(" with an explicit weight; elsewhere it is text.
			n, w, ok := scanWeight(text[i:])
			switch {
			case ok && len(round) > 0:
				multiply(pop(&round), w)
			case n > 0:
				literal(text[i : i+n])
			default:
				n = 1
				literal(":")
			}
			i += n
		case c == ')' && len(round) > 0:
			multiply(pop(&round), RoundBracketMultiplier)
			i++
		case c == ']' && len(square) > 0:
			multiply(pop(&square), SquareBracketMultiplier)
			i++
		case c == ')' || c == ']':
			literal(text[i : i+1])
			i++
		default:
			n := strings.IndexAny(text[i:], `\()[]:`)
			if n < 0 {
				n = len(text) - i
			}
			for j, part := range splitBreak(text[i : i+n]) {
				if j > 0 {
					res = append(res, Fragment{Break: true, Weight: 1})
				}
				literal(part)
			}
			i += n
		}
	}
	// Brackets left open apply to everything after them.
	for _, p := range round {
		multiply(p, RoundBracketMultiplier)
	}
	for _, p := range square {
		multiply(p, SquareBracketMultiplier)
	}
	if len(res) == 0 {
		return []Fragment{{Text: "", Weight: 1}}
	}
	// Merge neighbours of equal weight.
	out := res[:1]
	for _, f := range res[1:] {
		last := &out[len(out)-1]
		if !f.Break && !last.Break && f.Weight == last.Weight {
			last.Text += f.Text
		} else {
			out = append(out, f)
		}
	}
	return out
}

// scanWeight matches A1111's `:\s*([+-]?[.\d]+)\s*\)` at the start of s.
// It returns the match length n (0 when there is no match) and the weight;
// ok is false when the number part does not parse as a float (A1111 would
// raise an error there; we keep the text literally).
func scanWeight(s string) (n int, w float64, ok bool) {
	i := 1 // past ':'
	i += spanFunc(s[i:], isPySpace)
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := spanFunc(s[i:], func(r rune) bool { return r == '.' || unicode.IsDigit(r) })
	if digits == 0 {
		return 0, 0, false
	}
	i += digits
	num := s[start:i]
	i += spanFunc(s[i:], isPySpace)
	if i >= len(s) || s[i] != ')' {
		return 0, 0, false
	}
	w, err := strconv.ParseFloat(asciiDigits(num), 64)
	return i + 1, w, err == nil
}

// asciiDigits maps Unicode decimal digits to ASCII, as Python's float()
// accepts them. Decimal digits come in runs of ten starting at a zero.
func asciiDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= 0x7F || !unicode.IsDigit(r) {
			return r
		}
		start := r
		for unicode.IsDigit(start - 1) {
			start--
		}
		return '0' + (r-start)%10
	}, s)
}

// splitBreak splits s at every `\s*\bBREAK\b\s*` (A1111's re_break): the
// upper-case word BREAK standing alone, with the whitespace around it.
func splitBreak(s string) []string {
	var parts []string
	for {
		k := findBreak(s)
		if k < 0 {
			return append(parts, s)
		}
		lo := k
		for lo > 0 {
			r, size := utf8.DecodeLastRuneInString(s[:lo])
			if !isPySpace(r) {
				break
			}
			lo -= size
		}
		hi := k + len("BREAK")
		hi += spanFunc(s[hi:], isPySpace)
		parts = append(parts, s[:lo])
		s = s[hi:]
	}
}

// findBreak returns the byte index of the first "BREAK" with a word
// boundary on both sides, or -1.
func findBreak(s string) int {
	isWord := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) }
	for off := 0; ; {
		k := strings.Index(s[off:], "BREAK")
		if k < 0 {
			return -1
		}
		k += off
		before, _ := utf8.DecodeLastRuneInString(s[:k])
		after, _ := utf8.DecodeRuneInString(s[k+5:])
		if (k == 0 || !isWord(before)) && (k+5 == len(s) || !isWord(after)) {
			return k
		}
		off = k + 1
	}
}
