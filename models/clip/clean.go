package clip

import (
	"html"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// CleanText applies the subset of ftfy.fix_text (ftfy 6 defaults) that
// matters for prompts, in ftfy's order:
//
//   - HTML entities with a ";" (&amp; &#233; &#xE9;) are decoded, unless the
//     text contains "<" (ftfy's unescape_html="auto": it looks like HTML)
//   - terminal escape sequences (ESC [ … letter) are removed
//   - Latin ligatures (ﬁ, ﬂ, Ĳ, …) are split into their letters
//   - full-width and half-width forms (U+FF01…U+FFEE, U+3000) become their
//     ordinary forms
//   - curly quotes become straight ' and "
//   - line breaks \r\n, \r, U+2028, U+2029, U+0085 become \n
//   - control characters U+0000–U+0008, U+000B, U+000E–U+001F, U+007F,
//     U+206A–U+206F, U+FEFF, U+FFF9–U+FFFC are removed
//   - Unicode NFC normalisation.
//
// ftfy's mojibake repair (fix_encoding) is not implemented: text is taken
// to be correctly decoded UTF-8.
func CleanText(s string) string {
	if !strings.Contains(s, "<") {
		s = htmlEntity.ReplaceAllStringFunc(s, html.UnescapeString)
	}
	s = terminalEscape.ReplaceAllString(s, "")
	s = strings.Map(fixChar, s)
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n", "\u0085", "\n").Replace(s)
	if strings.ContainsFunc(s, isLigatureOrWide) {
		var sb strings.Builder
		for _, r := range s {
			if isLigatureOrWide(r) {
				sb.WriteString(norm.NFKC.String(string(r)))
			} else {
				sb.WriteRune(r)
			}
		}
		s = sb.String()
	}
	return norm.NFC.String(s)
}

var (
	htmlEntity     = regexp.MustCompile(`&#?[0-9A-Za-z]{1,24};`)
	terminalEscape = regexp.MustCompile("\x1b\\[((?:\\d|;)*)([a-zA-Z])")
)

// fixChar straightens quotes and drops control characters (-1 removes).
func fixChar(r rune) rune {
	switch {
	case r == 0x02BC || (0x2018 <= r && r <= 0x201B):
		return '\''
	case 0x201C <= r && r <= 0x201F:
		return '"'
	case r <= 0x08, r == 0x0B, 0x0E <= r && r <= 0x1F, r == 0x7F,
		0x206A <= r && r <= 0x206F, r == 0xFEFF, 0xFFF9 <= r && r <= 0xFFFC:
		return -1
	}
	return r
}

// isLigatureOrWide reports the characters ftfy's fix_latin_ligatures and
// fix_character_width replace by their NFKC form.
func isLigatureOrWide(r rune) bool {
	switch {
	case 0xFB00 <= r && r <= 0xFB06, r == 0x0132, r == 0x0133, r == 0x0149,
		0x01C4 <= r && r <= 0x01CC, 0x01F1 <= r && r <= 0x01F3:
		return true
	case r == 0x3000, 0xFF01 <= r && r <= 0xFFEE:
		return true
	}
	return false
}

// isPySpace reports what Python's str.isspace (and so re's \s) calls
// whitespace: Unicode White_Space plus the separators U+001C–U+001F.
func isPySpace(r rune) bool { return unicode.IsSpace(r) || (0x1C <= r && r <= 0x1F) }

// whitespaceClean collapses every run of whitespace to one space and strips
// both ends (HF/openai whitespace_clean: re.sub(r"\s+", " ", text).strip()).
func whitespaceClean(s string) string {
	return strings.Join(strings.FieldsFunc(s, isPySpace), " ")
}

// pyLower is Python's str.lower(): Unicode full lower-case mapping, which
// differs from Go's strings.ToLower for "İ" (→ "i̇") and for a final capital
// sigma (Σ at the end of a word → "ς").
func pyLower(s string) string {
	if !strings.ContainsAny(s, "İΣ") {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var sb strings.Builder
	for i, r := range rs {
		switch r {
		case 'İ':
			sb.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(rs, i) {
				sb.WriteRune('ς')
			} else {
				sb.WriteRune('σ')
			}
		default:
			sb.WriteRune(unicode.ToLower(r))
		}
	}
	return sb.String()
}

// finalSigma is Unicode's Final_Sigma condition: a cased letter before
// position i and none after it (skipping case-ignorable characters).
func finalSigma(rs []rune, i int) bool {
	cased := func(r rune) bool { return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) }
	ignorable := func(r rune) bool {
		return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) || r == '\'' || r == '.' || r == ':' || r == 0x00B7 || r == 0x2019
	}
	before := false
	for j := i - 1; j >= 0; j-- {
		if ignorable(rs[j]) {
			continue
		}
		before = cased(rs[j])
		break
	}
	if !before {
		return false
	}
	for j := i + 1; j < len(rs); j++ {
		if ignorable(rs[j]) {
			continue
		}
		return !cased(rs[j])
	}
	return true
}

// normalizeForCLIP is the text CLIPTokenizer pre-tokenises:
// lower(whitespace_clean(fix_text(text))).
func normalizeForCLIP(text string) string { return pyLower(whitespaceClean(CleanText(text))) }
