package t5

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// charsMap is SentencePiece's precompiled normalisation rule set (the
// normalizer_spec.precompiled_charsmap of nmt_nfkc models, and the
// "Precompiled" normalizer of tokenizer.json). Its blob is
//
//	<uint32 LE trie size><Darts-clone double-array trie><pool of NUL-terminated strings>
//
// The trie maps a byte sequence of the input to an offset into the pool;
// the string there replaces it (NFKC composition, full-width → ASCII,
// control characters and tabs → space, …).
type charsMap struct {
	units []uint32 // the double array
	pool  []byte   // normalised strings, each ended by a NUL
}

// Darts-clone unit layout (a 32-bit word per node):
//
//	has_leaf = bit 8       value  = bits 0–30 (on a leaf's value unit)
//	label    = bits 0–7 | bit 31 (a value unit never matches a byte label)
//	offset   = (unit >> 10) << ((unit & 1<<9) >> 6)   (XOR distance to the children)
func unitHasLeaf(u uint32) bool  { return u>>8&1 == 1 }
func unitValue(u uint32) uint32  { return u & (1<<31 - 1) }
func unitLabel(u uint32) uint32  { return u & (1<<31 | 0xff) }
func unitOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// parseCharsMap checks and splits a precompiled charsmap blob. Every node
// reachable from the root is visited once, and every value it can yield
// must point at a NUL-terminated string inside the pool, so lookups
// afterwards cannot leave the blob.
func parseCharsMap(blob []byte) (*charsMap, error) {
	if len(blob) <= 4 {
		return nil, fmt.Errorf("precompiled charsmap of %d bytes is too short", len(blob))
	}
	size := binary.LittleEndian.Uint32(blob)
	rest := blob[4:]
	if uint64(size) >= uint64(len(rest))+1 || size%4 != 0 || size == 0 {
		return nil, fmt.Errorf("precompiled charsmap: trie size %d does not fit the %d bytes after it (or is not a whole number of 4-byte units)", size, len(rest))
	}
	cm := &charsMap{units: make([]uint32, size/4), pool: rest[size:]}
	for i := range cm.units {
		cm.units[i] = binary.LittleEndian.Uint32(rest[4*i:])
	}
	if err := cm.check(); err != nil {
		return nil, fmt.Errorf("precompiled charsmap: %w", err)
	}
	return cm, nil
}

// check walks the trie from the root (depth first, each node once).
func (cm *charsMap) check() error {
	n := uint32(len(cm.units))
	seen := make([]bool, n)
	stack := []uint32{0}
	seen[0] = true
	for len(stack) > 0 {
		pos := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		base := pos ^ unitOffset(cm.units[pos])
		for c := uint32(1); c < 256; c++ {
			child := base ^ c
			if child >= n || unitLabel(cm.units[child]) != c {
				continue
			}
			u := cm.units[child]
			if unitHasLeaf(u) {
				leaf := child ^ unitOffset(u)
				if leaf >= n {
					return fmt.Errorf("unit %d: leaf at %d outside the %d-unit trie", child, leaf, n)
				}
				if err := cm.checkValue(unitValue(cm.units[leaf])); err != nil {
					return fmt.Errorf("unit %d: %w", leaf, err)
				}
			}
			if !seen[child] {
				seen[child] = true
				stack = append(stack, child)
			}
		}
	}
	return nil
}

func (cm *charsMap) checkValue(v uint32) error {
	if uint64(v) >= uint64(len(cm.pool)) {
		return fmt.Errorf("string offset %d outside the %d-byte pool", v, len(cm.pool))
	}
	for _, c := range cm.pool[v:] {
		if c == 0 {
			return nil
		}
	}
	return fmt.Errorf("string at offset %d has no terminating NUL", v)
}

// longestPrefix returns the replacement for the longest prefix of s that
// the trie holds and that prefix's length (0 when none), as Darts-clone's
// commonPrefixSearch read by SentencePiece's Normalizer::NormalizePrefix.
func (cm *charsMap) longestPrefix(s []byte) (repl []byte, n int) {
	units := cm.units
	pos := unitOffset(units[0]) // node 0 is the root
	for i, c := range s {
		pos ^= uint32(c)
		if pos >= uint32(len(units)) {
			break
		}
		u := units[pos]
		if unitLabel(u) != uint32(c) {
			break
		}
		pos ^= unitOffset(u)
		if unitHasLeaf(u) && pos < uint32(len(units)) {
			v := unitValue(units[pos])
			if uint64(v) < uint64(len(cm.pool)) {
				end := int(v)
				for end < len(cm.pool) && cm.pool[end] != 0 {
					end++
				}
				repl, n = cm.pool[v:end], i+1
			}
		}
	}
	return repl, n
}

// replacementChar is U+FFFD, what SentencePiece puts for a malformed
// UTF-8 byte (consuming that one byte).
var replacementChar = []byte("\uFFFD")

// normalizer is SentencePiece's Normalizer for one NormalizerSpec.
type normalizer struct {
	cm                      *charsMap // nil: identity
	addDummyPrefix          bool
	removeExtraWhitespaces  bool
	escapeWhitespaces       bool
	treatWhitespaceAsSuffix bool
	userDefined             []string // copied through unnormalised (longest match first)
}

// prefix normalises the start of s: it returns the replacement and how
// many input bytes it consumed (≥ 1 for non-empty s). Order as in
// SentencePiece: a user-defined symbol as is; else the longest charsmap
// match; else one UTF-8 character unchanged (a malformed byte → U+FFFD).
func (nz *normalizer) prefix(s []byte) ([]byte, int) {
	best := 0
	for _, u := range nz.userDefined {
		if len(u) > best && len(u) <= len(s) && string(s[:len(u)]) == u {
			best = len(u)
		}
	}
	if best > 0 {
		return s[:best], best
	}
	if nz.cm != nil {
		if repl, n := nz.cm.longestPrefix(s); n > 0 {
			return repl, n
		}
	}
	r, n := utf8.DecodeRune(s)
	if r == utf8.RuneError && n <= 1 {
		return replacementChar, 1
	}
	return s[:n], n
}

// normalize is SentencePiece's Normalizer::Normalize: the charsmap applied
// left to right; with remove_extra_whitespaces, leading, trailing and
// repeated spaces dropped; with add_dummy_prefix, a space put in front
// (behind when treat_whitespace_as_suffix); with escape_whitespaces, every
// space written as "▁" (U+2581). An input of only spaces gives "".
func (nz *normalizer) normalize(text string) []byte {
	in := []byte(text)
	if nz.removeExtraWhitespaces {
		for len(in) > 0 {
			r, n := nz.prefix(in)
			if string(r) != " " {
				break
			}
			in = in[n:]
		}
	}
	if len(in) == 0 {
		return nil
	}
	space := []byte(" ")
	if nz.escapeWhitespaces {
		space = []byte("▁")
	}
	out := make([]byte, 0, len(in)*3+len(space))
	if nz.addDummyPrefix && !nz.treatWhitespaceAsSuffix {
		out = append(out, space...)
	}
	prevSpace := nz.removeExtraWhitespaces
	for len(in) > 0 {
		r, n := nz.prefix(in)
		in = in[n:]
		for prevSpace && len(r) > 0 && r[0] == ' ' {
			r = r[1:]
		}
		if len(r) > 0 {
			for _, c := range r {
				if c == ' ' {
					out = append(out, space...)
				} else {
					out = append(out, c)
				}
			}
			prevSpace = r[len(r)-1] == ' '
		}
		if !nz.removeExtraWhitespaces {
			prevSpace = false
		}
	}
	if nz.removeExtraWhitespaces {
		for len(out) >= len(space) && string(out[len(out)-len(space):]) == string(space) {
			out = out[:len(out)-len(space)]
		}
	}
	if nz.addDummyPrefix && nz.treatWhitespaceAsSuffix {
		out = append(out, space...)
	}
	return out
}
