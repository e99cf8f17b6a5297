package sampling

import "math"

// This file reproduces, bit for bit, the random numbers of PyTorch's CPU
// generator: torch.manual_seed(s) followed by torch.rand / torch.randn.
// ComfyUI draws the initial latent noise this way (on the CPU, whatever the
// device), so a given seed gives the same picture here and there.
//
// The chain is: a Mersenne Twister (MT19937) produces 32-bit words; a
// uniform float is the low 24 (float32) or 53 (float64) bits of a word
// scaled by 2⁻²⁴ or 2⁻⁵³; a normal sample is the Box-Muller transform of
// two uniforms. torch uses two different Box-Muller layouts depending on the
// tensor size (see Randn), and both are reproduced here.

const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// Generator is torch's CPUGeneratorImpl: an MT19937 engine plus the cached
// second value of the scalar float64 Box-Muller transform. The zero value is
// not seeded; use
// NewGenerator.
type Generator struct {
	state [mtN]uint32
	left  int
	next  int

	nextDoubleNormal float64
	hasDoubleNormal  bool
}

// NewGenerator returns a generator in the state of torch.manual_seed(seed).
func NewGenerator(seed uint64) *Generator {
	g := &Generator{}
	g.Seed(seed)
	return g
}

// Seed resets g as torch.Generator.manual_seed(seed) does. torch accepts the
// full 64-bit seed but the MT19937 state is initialised from its low 32 bits
// (state[0] = seed mod 2³², state[j] = 1812433253·(state[j−1] ⊕ state[j−1]≫30) + j),
// so seeds that differ by a multiple of 2³² give the same numbers.
// Seeding also clears the cached Box-Muller values.
func (g *Generator) Seed(seed uint64) {
	g.state[0] = uint32(seed)
	for j := 1; j < mtN; j++ {
		prev := g.state[j-1]
		g.state[j] = 1812433253*(prev^(prev>>30)) + uint32(j)
	}
	g.left = 1
	g.next = 0
	g.hasDoubleNormal = false
}

// twist regenerates the 624-word state (the MT19937 "next_state").
func (g *Generator) twist() {
	s := &g.state
	for i := 0; i < mtN; i++ {
		y := (s[i] & mtUpperMask) | (s[(i+1)%mtN] & mtLowerMask)
		v := s[(i+mtM)%mtN] ^ (y >> 1)
		if y&1 != 0 {
			v ^= mtMatrixA
		}
		s[i] = v
	}
	g.left = mtN
	g.next = 0
}

// Uint32 returns the next tempered MT19937 output (torch generator->random()).
func (g *Generator) Uint32() uint32 {
	g.left--
	if g.left == 0 {
		g.twist()
	}
	y := g.state[g.next]
	g.next++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Uint64 returns two consecutive outputs joined as hi<<32 | lo, the first one
// high (torch generator->random64()).
func (g *Generator) Uint64() uint64 {
	hi := g.Uint32()
	lo := g.Uint32()
	return uint64(hi)<<32 | uint64(lo)
}

// Float32 returns a uniform value in [0, 1): the low 24 bits of one 32-bit
// output times 2⁻²⁴ (torch uniform_real_distribution<float>).
func (g *Generator) Float32() float32 {
	return float32(g.Uint32()&(1<<24-1)) * (1.0 / (1 << 24))
}

// Float64 returns a uniform value in [0, 1): the low 53 bits of one 64-bit
// output times 2⁻⁵³ (torch uniform_real_distribution<double>).
func (g *Generator) Float64() float64 {
	return float64(g.Uint64()&(1<<53-1)) * (1.0 / (1 << 53))
}

// Rand fills a new slice of n uniform float32 values as torch.rand(n).
func (g *Generator) Rand(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = g.Float32()
	}
	return out
}

// Randn returns n standard normal float32 values exactly as torch.randn(n)
// on the CPU (any shape with n elements: torch fills contiguous memory).
//
// For n ≥ 16 torch first fills the whole buffer with uniforms u, then
// transforms each block of 16 in place with Box-Muller on the pairs
// (u[j], u[j+8]), j < 8:
//
//	r = sqrt(−2·log(1 − u[j])),  θ = 2π·u[j+8],
//	out[j] = r·cos θ,  out[j+8] = r·sin θ.
//
// When n is not a multiple of 16 the last 16 values are overwritten: 16 fresh
// uniforms are drawn into out[n−16:] and that block is transformed again.
// For n < 16 torch draws each value in float64 with the scalar Box-Muller
// transform (see NormalFloat64) and rounds it to float32.
func (g *Generator) Randn(n int) []float32 {
	out := make([]float32, n)
	if n < 16 {
		for i := range out {
			out[i] = float32(g.NormalFloat64())
		}
		return out
	}
	for i := range out {
		out[i] = g.Float32()
	}
	for i := 0; i+16 <= n; i += 16 {
		boxMuller16(out[i : i+16])
	}
	if n%16 != 0 {
		tail := out[n-16:]
		for i := range tail {
			tail[i] = g.Float32()
		}
		boxMuller16(tail)
	}
	return out
}

// boxMuller16 turns 16 uniforms into 16 normals in place, as torch's AVX2
// kernel normal_fill_16_AVX2 (the one x86-64 builds of torch run, so the
// one ComfyUI's CPU noise comes from): u1 = 1 − u[j] ∈ (0, 1],
// radius = sqrt(−2·log u1), θ = 2π·u[j+8] (float32 2π), with the float32 log
// and sincos of avx_mathfun (mathfun.go). These numbers are reproduced on
// every GOARCH; torch itself, built for ARM, takes a scalar libm path whose
// float32 results differ in the last bit now and then.
func boxMuller16(u []float32) {
	const twoPi = float32(2 * math.Pi)
	for j := 0; j < 8; j++ {
		u1 := 1 - u[j] // [0,1) → (0,1] so the log is finite
		u2 := u[j+8]
		radius := float32(math.Sqrt(float64(float32(-2) * logf(u1))))
		theta := twoPi * u2
		sin, cos := sincosf(theta)
		u[j] = radius * cos
		u[j+8] = radius * sin
	}
}

// NormalFloat64 returns one standard normal value as torch's scalar
// normal_distribution<double>: if a value is cached it is returned and the
// cache cleared; otherwise two 53-bit uniforms u1, u2 are drawn and
//
//	r = sqrt(−2·log1p(−u2)),  θ = 2π·u1,
//
// r·sin θ is cached for the next call and r·cos θ returned. torch.randn of
// fewer than 16 elements uses this (also for float32 tensors, rounding each
// value), so the cache carries over between small randn calls.
func (g *Generator) NormalFloat64() float64 {
	if g.hasDoubleNormal {
		g.hasDoubleNormal = false
		return g.nextDoubleNormal
	}
	u1 := g.Float64()
	u2 := g.Float64()
	r := math.Sqrt(-2 * log1pCR(-u2))
	theta := 2 * math.Pi * u1
	sin, cos := sincosCR(theta)
	g.nextDoubleNormal = r * sin
	g.hasDoubleNormal = true
	return r * cos
}

// RandnFloat64 is Randn for a float64 tensor (torch.randn(n, dtype=float64)):
// the same two layouts, with 53-bit uniforms and float64 arithmetic.
func (g *Generator) RandnFloat64(n int) []float64 {
	out := make([]float64, n)
	if n < 16 {
		for i := range out {
			out[i] = g.NormalFloat64()
		}
		return out
	}
	for i := range out {
		out[i] = g.Float64()
	}
	bm := func(u []float64) {
		for j := 0; j < 8; j++ {
			radius := math.Sqrt(-2 * logCR(1-u[j]))
			theta := 2 * math.Pi * u[j+8]
			sin, cos := sincosCR(theta)
			u[j] = radius * cos
			u[j+8] = radius * sin
		}
	}
	for i := 0; i+16 <= n; i += 16 {
		bm(out[i : i+16])
	}
	if n%16 != 0 {
		tail := out[n-16:]
		for i := range tail {
			tail[i] = g.Float64()
		}
		bm(tail)
	}
	return out
}
