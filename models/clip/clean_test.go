package clip

import (
	"slices"
	"testing"
)

func TestNormalizeForCLIP(t *testing.T) {
	cases := map[string]string{
		"Cafe\u0301":                    "café", // NFD → NFC
		"  A\t\tB \n C\u00a0D\u3000E  ": "a b c d e",
		"\u201cquoted\u201d it\u2019s":  "\"quoted\" it's",
		"rock &amp; roll":               "rock & roll",         // entities decoded …
		"rock &amp; roll <b>":           "rock &amp; roll <b>", // … unless the text looks like HTML
		"\ufb01ne \uff21\uff22":         "fine ab",             // ligature, full-width letters
		"a\x00b\x7fc\ufeff":             "abc",
		"\x1b[31mred\x1b[0m":            "red",
		"ΟΔΟΣ ΣΑ":                       "οδος σα", // final sigma, as Python's str.lower
		"İ":                             "i\u0307",
	}
	for in, want := range cases {
		if got := normalizeForCLIP(in); got != want {
			t.Errorf("normalizeForCLIP(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPreTokenize(t *testing.T) {
	cases := map[string][]string{
		"don't stop...?!":                {"don", "'t", "stop", "...?!"},
		"a1b 2023":                       {"a", "1", "b", "2", "0", "2", "3"},
		"<|startoftext|>hi<|endoftext|>": {"<|startoftext|>", "hi", "<|endoftext|>"},
		"snake_case (#tag)":              {"snake", "_", "case", "(#", "tag", ")"},
		"'tis we'll":                     {"'t", "is", "we", "'ll"},
		"東京 🐱!":                          {"東京", "🐱!"},
		"":                               nil,
	}
	for in, want := range cases {
		if got := preTokenize(in); !slices.Equal(got, want) {
			t.Errorf("preTokenize(%q) = %q, want %q", in, got, want)
		}
	}
}
