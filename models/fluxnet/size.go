package fluxnet

// WeightBytes returns the bytes the model's matrices occupy as held, in
// their stored dtype (mapped from the file when loaded, in memory for
// NewRandom), each distinct weight counted once: NewRandom's blocks share
// one drawn block, so its figure is far below the real model's (Flux.1 in
// bf16: 23.8 GB, in fp8: 11.9 GB). Biases and norm scales (float32, a few
// MB) are not counted.
func (m *Model) WeightBytes() int64 {
	seen := map[*linear]bool{}
	var n int64
	add := func(ls ...*linear) {
		for _, l := range ls {
			if l == nil || seen[l] {
				continue
			}
			seen[l] = true
			for _, p := range l.parts {
				n += int64(p.W.Bytes())
			}
		}
	}
	add(m.imgIn, m.txtIn, m.timeIn.in, m.timeIn.out, m.vectorIn.in, m.vectorIn.out, m.guidanceIn.in, m.guidanceIn.out)
	for _, b := range m.double {
		for _, s := range []stream{b.img, b.txt} {
			add(s.mod, s.qkv, s.proj, s.mlp0, s.mlp2)
		}
	}
	for _, b := range m.single {
		add(b.mod, b.linear1, b.linear2)
	}
	add(m.finalModulation, m.finalLinear)
	return n
}
