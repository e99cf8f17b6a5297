package tensor

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// attentionRef is multi-head attention with the full Lq×Lk softmax, in
// float64, straight from the definition.
func attentionRef(q, k, v *Tensor, heads int, causal bool) []float64 {
	return attentionRefWith(q, k, v, heads, AttentionOptions{Causal: causal})
}

// attentionRefWith is attentionRef with a score scale and a relative bias.
func attentionRefWith(q, k, v *Tensor, heads int, opt AttentionOptions) []float64 {
	return attentionRef64(q.Shape[0], q.Shape[1], k.Shape[1], q.Shape[2], widen64(q.Data), widen64(k.Data), widen64(v.Data), heads, opt)
}

// widen64 returns x in float64.
func widen64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// attentionRef64 is attentionRefWith on float64 q [b, lq, c], k and v
// [b, lk, c].
func attentionRef64(b, lq, lk, c int, q, k, v []float64, heads int, opt AttentionOptions) []float64 {
	causal := opt.Causal
	d := c / heads
	out := make([]float64, b*lq*c)
	s := make([]float64, lk)
	for bi := range b {
		for h := range heads {
			for i := range lq {
				m := math.Inf(-1)
				for j := range lk {
					if causal && j > i {
						s[j] = math.Inf(-1)
						continue
					}
					var dot float64
					for e := range d {
						dot += q[(bi*lq+i)*c+h*d+e] * k[(bi*lk+j)*c+h*d+e]
					}
					s[j] = dot / math.Sqrt(float64(d))
					if opt.Scale != 0 {
						s[j] = dot * float64(opt.Scale)
					}
					if opt.RelBias != nil {
						s[j] += float64(opt.RelBias[h*(lq+lk-1)+j-i+lq-1])
					}
					m = math.Max(m, s[j])
				}
				var sum float64
				for j := range lk {
					s[j] = math.Exp(s[j] - m)
					sum += s[j]
				}
				for j := range lk {
					for e := range d {
						out[(bi*lq+i)*c+h*d+e] += s[j] / sum * v[(bi*lk+j)*c+h*d+e]
					}
				}
			}
		}
	}
	return out
}

func TestAttention(t *testing.T) {
	cases := []struct {
		b, lq, lk, heads, d int
		causal              bool
	}{
		{1, 1, 1, 1, 1, false},
		{2, 5, 7, 3, 2, false},
		{1, 77, 77, 4, 16, true},    // CLIP-like, causal
		{2, 64, 77, 8, 5, false},    // cross-attention, Lq != Lk
		{1, 300, 700, 2, 40, false}, // several key blocks with a ragged tail
		{1, 600, 600, 2, 8, true},   // causal across key blocks
		{2, 33, 9, 1, 64, false},
		{1, 1100, 20, 1, 3, true},   // several query blocks, causal Lq > Lk
		{1, 70, 300, 1, 512, false}, // the VAE's single wide head
	}
	for _, c := range cases {
		name := fmt.Sprintf("b%d_q%d_k%d_h%d_d%d_causal%v", c.b, c.lq, c.lk, c.heads, c.d, c.causal)
		t.Run(name, func(t *testing.T) {
			q := randTensor(71, 2, 0, c.b, c.lq, c.heads*c.d)
			k := randTensor(72, 2, 0.5, c.b, c.lk, c.heads*c.d)
			v := randTensor(73, 1, 0, c.b, c.lk, c.heads*c.d)
			got := Attention(q, k, v, c.heads, c.causal)
			if got.Shape[0] != c.b || got.Shape[1] != c.lq || got.Shape[2] != c.heads*c.d {
				t.Fatalf("shape %v", got.Shape)
			}
			assertClose(t, name, got.Data, attentionRef(q, k, v, c.heads, c.causal), 2e-6, 1e-5)
		})
	}
}

// TestAttentionInto checks that AttentionInto overwrites all of a dirty
// output and that nothing of the pooled scratch its key and value panels
// come from leaks into the result where the panels pad: every pool size
// class is filled with NaN first, so a padding value that mattered would
// poison the result (causal and not: the two ways weights are made).
func TestAttentionInto(t *testing.T) {
	for _, c := range []struct {
		b, lq, lk, heads, d int
		causal              bool
	}{
		{1, 5, 7, 3, 2, false},
		{2, 64, 77, 8, 5, false},
		{1, 300, 700, 2, 40, false},
		{1, 70, 13, 1, 130, false},
		{1, 77, 77, 4, 16, true},
		{1, 600, 600, 2, 8, true},
	} {
		q := randTensor(71, 2, 0, c.b, c.lq, c.heads*c.d)
		k := randTensor(72, 2, 0.5, c.b, c.lk, c.heads*c.d)
		v := randTensor(73, 1, 0, c.b, c.lk, c.heads*c.d)
		want := Attention(q, k, v, c.heads, c.causal)
		var poisoned []*[]float32
		for n := 1; n <= 1<<20; n *= 2 {
			for range 2 * c.b * c.heads {
				p := getScratch(n)
				for i := range *p {
					(*p)[i] = float32(math.NaN())
				}
				poisoned = append(poisoned, p)
			}
		}
		for _, p := range poisoned {
			putScratch(p)
		}
		out := New(q.Shape...)
		for i := range out.Data {
			out.Data[i] = float32(math.NaN())
		}
		AttentionInto(out, q, k, v, c.heads, AttentionOptions{Causal: c.causal})
		name := fmt.Sprintf("b%d_q%d_k%d_h%d_d%d_causal%v", c.b, c.lq, c.lk, c.heads, c.d, c.causal)
		assertClose(t, name, out.Data, attentionRef(q, k, v, c.heads, c.causal), 2e-6, 1e-5)
		if !slices.Equal(out.Data, want.Data) {
			t.Errorf("%s: AttentionInto differs from Attention", name)
		}
	}
}

// TestAttentionRelBias checks AttentionWith's unscaled scores and
// relative-position bias (T5) against the definition, across key and
// query blocks, with Lq ≠ Lk and a causal case.
func TestAttentionRelBias(t *testing.T) {
	for _, c := range []struct {
		b, lq, lk, heads, d int
		causal              bool
	}{
		{1, 1, 1, 1, 1, false},
		{2, 9, 9, 3, 4, false},
		{1, 300, 300, 2, 16, false}, // several key and query blocks
		{1, 70, 400, 2, 8, true},
		{1, 130, 40, 1, 8, false},
	} {
		name := fmt.Sprintf("b%d_q%d_k%d_h%d_d%d_causal%v", c.b, c.lq, c.lk, c.heads, c.d, c.causal)
		t.Run(name, func(t *testing.T) {
			q := randTensor(81, 0.5, 0, c.b, c.lq, c.heads*c.d)
			k := randTensor(82, 0.5, 0.2, c.b, c.lk, c.heads*c.d)
			v := randTensor(83, 1, 0, c.b, c.lk, c.heads*c.d)
			// A bias with large swings (±12), so that later key blocks can
			// raise the running maximum.
			bias := randTensor(84, 12, 0, c.heads*(c.lq+c.lk-1)).Data
			opt := AttentionOptions{Causal: c.causal, Scale: 1, RelBias: bias}
			got := AttentionWith(q, k, v, c.heads, opt)
			assertClose(t, name, got.Data, attentionRefWith(q, k, v, c.heads, opt), 2e-6, 1e-5)
		})
	}
}

// TestAttentionLargeLogits checks the running-maximum bookkeeping when
// later key blocks hold much larger scores than earlier ones: by a factor
// the lazy reference maximum absorbs (×8: up to ~15 nats above it) and by
// one that forces the block to be redone with a new maximum (×40).
func TestAttentionLargeLogits(t *testing.T) {
	for _, factor := range []float32{8, 40} {
		for _, causal := range []bool{false, true} {
			q := randTensor(81, 1, 0, 1, 900, 4)
			k := randTensor(82, 1, 0, 1, 900, 4)
			v := randTensor(83, 1, 0, 1, 900, 4)
			for j := 600; j < 900; j++ {
				for e := range 4 {
					k.Data[j*4+e] *= factor // blocks after the first two dominate
				}
			}
			name := fmt.Sprintf("large logits ×%g causal %v", factor, causal)
			assertClose(t, name, Attention(q, k, v, 1, causal).Data, attentionRef(q, k, v, 1, causal), 2e-6, 1e-5)
		}
	}
}

// BenchmarkAttention times attention at the UNet's sizes (self-attention
// at 32×32 and 64×64 latents, cross-attention to 77 text tokens) and CLIP's
// (77 tokens, causal), reporting GFLOP/s counted as 4·Lq·Lk·D·H (two
// Lq×Lk×D products per head; causal runs count the full square too).
func BenchmarkAttention(b *testing.B) {
	for _, s := range []struct {
		name         string
		lq, lk, h, d int
		causal       bool
	}{
		{"1024x8x40", 1024, 1024, 8, 40, false},
		{"4096x8x40", 4096, 4096, 8, 40, false},
		{"4096x8x40_ctx77", 4096, 77, 8, 40, false},
		{"77x12x64_causal", 77, 77, 12, 64, true},
	} {
		b.Run(s.name, func(b *testing.B) {
			q := randTensor(1, 1, 0, 1, s.lq, s.h*s.d)
			k := randTensor(2, 1, 0, 1, s.lk, s.h*s.d)
			v := randTensor(3, 1, 0, 1, s.lk, s.h*s.d)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				Attention(q, k, v, s.h, s.causal)
			}
			flops := 4 * float64(s.lq) * float64(s.lk) * float64(s.d) * float64(s.h)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
