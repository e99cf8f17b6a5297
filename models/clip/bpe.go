package clip

// bytesToUnicode is GPT-2/CLIP's reversible map from the 256 byte values
// to printable characters: bytes that are printable Latin-1 ("!".."~",
// "¡".."¬", "®".."ÿ") map to themselves, the others to U+0100 upwards in
// byte order. BPE then works on strings without whitespace or control
// characters.
func bytesToUnicode() (byteChar [256]string, charByte map[rune]byte) {
	charByte = make(map[rune]byte, 256)
	printable := func(b int) bool {
		return ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF)
	}
	n := 0
	for b := range 256 {
		r := rune(b)
		if !printable(b) {
			r = rune(256 + n)
			n++
		}
		byteChar[b] = string(r)
		charByte[r] = byte(b)
	}
	return byteChar, charByte
}

// byteSymbols returns the 256 bytes_to_unicode characters in the order
// that function lists them (the order of CLIP vocabulary ids 0..255): the
// printable bytes in byte order, then the others in byte order.
func byteSymbols() []string {
	byteChar, _ := bytesToUnicode()
	var printable, rest []string
	for b, c := range byteChar {
		if []rune(c)[0] == rune(b) {
			printable = append(printable, c)
		} else {
			rest = append(rest, c)
		}
	}
	return append(printable, rest...)
}

// bpe splits word (already mapped by bytesToUnicode) into vocabulary
// symbols: start from single characters with "</w>" on the last one, then
// repeatedly take the adjacent pair with the lowest merge rank and merge
// every non-overlapping occurrence of it, left to right, until no adjacent
// pair is a known merge.
func (t *Tokenizer) bpe(word string) []string {
	var syms []string
	for _, r := range word {
		syms = append(syms, string(r))
	}
	if len(syms) == 0 {
		return nil
	}
	syms[len(syms)-1] += wordSuffix
	for len(syms) > 1 {
		best, bestRank := bpePair{}, -1
		for i := 0; i+1 < len(syms); i++ {
			p := bpePair{syms[i], syms[i+1]}
			if r, ok := t.ranks[p]; ok && (bestRank < 0 || r < bestRank) {
				best, bestRank = p, r
			}
		}
		if bestRank < 0 {
			break
		}
		merged := syms[:0:0]
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == best.left && syms[i+1] == best.right {
				merged = append(merged, best.left+best.right)
				i++
			} else {
				merged = append(merged, syms[i])
			}
		}
		syms = merged
	}
	return syms
}
