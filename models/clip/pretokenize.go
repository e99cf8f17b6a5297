package clip

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// contractions are the regex alternatives tried before letters, in order.
var contractions = []string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"}

// preTokenize splits normalised text as CLIP's regex
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// does with findall: at each position the first alternative that matches
// wins, whitespace between matches is skipped. Written as a scanner because
// RE2's \s is ASCII-only while Python's is Unicode.
func preTokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		rest := s[i:]
		r, size := utf8.DecodeRuneInString(rest)
		n := 0
		switch {
		case strings.HasPrefix(rest, startText):
			n = len(startText)
		case strings.HasPrefix(rest, endText):
			n = len(endText)
		case r == '\'' && contractionLen(rest) > 0:
			n = contractionLen(rest)
		case unicode.IsLetter(r):
			n = spanFunc(rest, unicode.IsLetter)
		case unicode.IsNumber(r):
			n = size
		case isPySpace(r):
			i += size
			continue
		default:
			n = spanFunc(rest, func(r rune) bool { return !isPySpace(r) && !unicode.IsLetter(r) && !unicode.IsNumber(r) })
		}
		out = append(out, rest[:n])
		i += n
	}
	return out
}

func contractionLen(s string) int {
	for _, c := range contractions {
		if len(s) >= len(c) && strings.EqualFold(s[:len(c)], c) {
			return len(c)
		}
	}
	return 0
}

// spanFunc returns the byte length of the longest prefix of s whose runes
// all satisfy f.
func spanFunc(s string, f func(rune) bool) int {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !f(r) {
			break
		}
		n += size
	}
	return n
}
