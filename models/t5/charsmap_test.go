package t5

import (
	"encoding/binary"
	"sort"
	"testing"
)

// buildCharsMap writes a precompiled charsmap blob for rules (input byte
// string → replacement) in the Darts-clone layout parseCharsMap reads:
// each node's children sit at pos ^ offset ^ label, found greedily; a node
// that ends a key has a label-0 child holding the replacement's offset in
// the pool (bit 31 set, so it never matches a label).
func buildCharsMap(rules map[string]string) []byte {
	type node struct {
		kids  map[byte]*node
		value int // pool offset, −1 when no key ends here
	}
	newNode := func() *node { return &node{kids: map[byte]*node{}, value: -1} }
	root := newNode()
	var pool []byte
	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := root
		for i := 0; i < len(k); i++ {
			c := n.kids[k[i]]
			if c == nil {
				c = newNode()
				n.kids[k[i]] = c
			}
			n = c
		}
		n.value = len(pool)
		pool = append(append(pool, rules[k]...), 0)
	}
	units := make([]uint32, 1)
	used := []bool{true}
	grow := func(n int) {
		for len(units) < n {
			units = append(units, 0)
			used = append(used, false)
		}
	}
	var place func(pos uint32, n *node)
	place = func(pos uint32, n *node) {
		labels := []uint32{}
		for c := range n.kids {
			labels = append(labels, uint32(c))
		}
		sort.Slice(labels, func(i, j int) bool { return labels[i] < labels[j] })
		if n.value >= 0 {
			labels = append([]uint32{0}, labels...)
		}
		if len(labels) == 0 {
			return
		}
		var off uint32
		for off = 1; ; off++ {
			ok := true
			for _, c := range labels {
				p := pos ^ off ^ c
				grow(int(p) + 1)
				if used[p] {
					ok = false
					break
				}
			}
			if ok {
				break
			}
		}
		units[pos] |= off << 10
		for _, c := range labels {
			used[pos^off^c] = true
		}
		if n.value >= 0 {
			units[pos^off] = 1<<31 | uint32(n.value)
		}
		for _, c := range labels {
			if c == 0 {
				continue
			}
			kid := n.kids[byte(c)]
			p := pos ^ off ^ c
			units[p] |= c
			if kid.value >= 0 {
				units[p] |= 1 << 8
			}
			place(p, kid)
		}
	}
	place(0, root)
	blob := binary.LittleEndian.AppendUint32(nil, uint32(4*len(units)))
	for _, u := range units {
		blob = binary.LittleEndian.AppendUint32(blob, u)
	}
	return append(blob, pool...)
}

// TestCharsMapRules checks the trie reader on hand-made rules: longest
// match wins, a prefix of a longer key still matches, and characters
// without a rule pass through.
func TestCharsMapRules(t *testing.T) {
	cm, err := parseCharsMap(buildCharsMap(map[string]string{
		"Ａ": "A", "ﬁ": "fi", "ab": "X", "abc": "Y", "\t": " ", "\u200b": "",
	}))
	if err != nil {
		t.Fatal(err)
	}
	nz := normalizer{cm: cm, addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true}
	for _, c := range []struct{ in, want string }{
		{"Ａﬁ", "▁Afi"},
		{"abcab a", "▁YX▁a"},
		{"x\t\ty\u200b", "▁x▁y"},
		{"\u200b", ""},
	} {
		if got := string(nz.normalize(c.in)); got != c.want {
			t.Errorf("normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// A value pointing past the pool is refused.
	blob := buildCharsMap(map[string]string{"a": "b"})
	if _, err := parseCharsMap(blob[:len(blob)-1]); err == nil {
		t.Error("pool without its final NUL: no error")
	}
}
