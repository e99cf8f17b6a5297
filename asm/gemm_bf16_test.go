package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randPairs returns n bf16 pairs of normally distributed values.
func randPairs(r *rand.Rand, n int) []uint32 {
	p := make([]uint32, n)
	for i := range p {
		p[i] = uint32(FloatToBFloat(float32(r.NormFloat64()))) | uint32(FloatToBFloat(float32(r.NormFloat64())))<<16
	}
	return p
}

// bf16TileRef is the plain reference of any bf16 micro-kernel of tile
// mr×nr: every element is dotPairBF16 summed pair by pair, as VDPBF16PS.
func bf16TileRef(mr, nr, kp int, a, b []uint32, c []float32, ldc int, accumulate bool) {
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var s float32
			for q := 0; q < kp; q++ {
				s = dotPairBF16(s, a[q*mr+i], b[q*nr+j])
			}
			if accumulate {
				c[i*ldc+j] += s
			} else {
				c[i*ldc+j] = s
			}
		}
	}
}

// levelTileRef is the reference of the installed level's bf16 arithmetic
// (BF16Rounding): bf16TileRef or, for Arm's BFDOT, bf16TileBFDOT.
func levelTileRef(mr, nr, kp int, a, b []uint32, c []float32, ldc int, accumulate bool) {
	if BF16Rounding() == "bfdot-odd" {
		bf16TileBFDOT(mr, nr, kp, a, b, c, ldc, accumulate)
		return
	}
	bf16TileRef(mr, nr, kp, a, b, c, ldc, accumulate)
}

// TestGemmKernelBF16 compares the bf16 micro-kernel of every level with
// the pure-Go reference of its arithmetic bit for bit, for every k class (0, 1, odd, even,
// around the unrolling), overwrite and accumulate, and checks that nothing
// outside the tile is written.
func TestGemmKernelBF16(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		t.Logf("bf16 kernel: %s", BF16Kernel())
		r := rand.New(rand.NewPCG(11, 12))
		mr, nr := GemmTileBF16()
		for _, kp := range []int{0, 1, 2, 3, 8, 9, 33, 150, 192} {
			for _, acc := range []bool{false, true} {
				ldc := nr + r.IntN(5)
				a, b := randPairs(r, kp*mr), randPairs(r, kp*nr)
				c := randSlice(r, (mr-1)*ldc+nr)
				want := append([]float32(nil), c...)
				GemmKernelBF16(kp, a, b, c, ldc, acc)
				levelTileRef(mr, nr, kp, a, b, want, ldc, acc)
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kp=%d acc=%v: C[%d,%d] = %v (%#x), want %v (%#x)", kp, acc, i/ldc, i%ldc, c[i], math.Float32bits(c[i]), want[i], math.Float32bits(want[i]))
					}
				}
			}
		}
	})
}

// TestGemmKernelBF16Order pins down the rounding order on values where it
// shows (u = 2⁻²³, the ulp of 1). Pair 0 puts 1 in the accumulator; pair 1
// has the products h (high half) and l (low half):
//
//	h = u/2,  l = 3u/4:  1 + h → 1 (tie to even), + l → 1 + u   (low first: 1 + 2u)
//	h = 3u/4, l = u/2:   1 + h → 1 + u, + l → 1 + 2u (tie to even)  (one rounding of 1 + 5u/4: 1 + u)
//
// so the first case excludes the low-first order and the second a fused
// pair. Every "fma-rne" level must give the high-first, two-roundings
// values. Arm's BFDOT ("bfdot-odd") sums the pair first, h + l = 5u/4
// exactly, then 1 + 5u/4 rounds to odd: 1 + u in both cases.
func TestGemmKernelBF16Order(t *testing.T) {
	bf := func(f float32) uint32 { return uint32(FloatToBFloat(f)) }
	const u = 0x1p-23
	forEachLevel(t, func(t *testing.T) {
		mr, nr := GemmTileBF16()
		second := float32(1 + 2*u)
		if BF16Rounding() == "bfdot-odd" {
			second = 1 + u
		}
		for _, tc := range []struct {
			pair uint32
			want float32
		}{{bf(0.75*u) | bf(0.5*u)<<16, 1 + u}, {bf(0.5*u) | bf(0.75*u)<<16, second}} {
			a, b := make([]uint32, 2*mr), make([]uint32, 2*nr)
			for i := 0; i < mr; i++ {
				a[i], a[mr+i] = bf(1), tc.pair
			}
			for j := range b {
				b[j] = bf(1) | bf(1)<<16
			}
			c := make([]float32, mr*nr)
			GemmKernelBF16(2, a, b, c, nr, false)
			if c[0] != tc.want || c[len(c)-1] != tc.want {
				t.Fatalf("pair %#08x: kernel gives 1 + %v·u, want 1 + %v·u", tc.pair, (c[0]-1)/u, (tc.want-1)/u)
			}
		}
	})
}

// TestPackPairsBF16 compares the pair packing of every level with the
// scalar rounding on random values, ties, denormals, infinities and NaNs,
// for even and odd depths and every tile class.
func TestPackPairsBF16(t *testing.T) {
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 1 + 0x1p-8, 1 + 0x1p-7 + 0x1p-8, 1 + 0x1p-8 + 0x1p-20,
		0x1p-130, -0x1p-140, 0x1p-126, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0x7f800001), math.MaxFloat32, 3.3895314e38}
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, tc := range [][2]int{{1, 32}, {2, 32}, {7, 32}, {64, 32}, {5, 12}, {2, 12}, {64, 12}, {6, 4}, {3, 16}, {9, 48}} {
			kc, tile := tc[0], tc[1]
			src := randSlice(r, kc*tile)
			for i := range src {
				if r.IntN(4) == 0 {
					src[i] = specials[r.IntN(len(specials))]
				}
			}
			qn := (kc + 1) / 2
			buf := make([]uint32, qn*tile+8)
			for i := range buf {
				buf[i] = 0xdeadbeef
			}
			PackPairsBF16(buf[:qn*tile], src, kc, tile)
			for q := 0; q < qn; q++ {
				for i := 0; i < tile; i++ {
					want := uint32(FloatToBFloat(src[2*q*tile+i]))
					if 2*q+1 < kc {
						want |= uint32(FloatToBFloat(src[(2*q+1)*tile+i])) << 16
					}
					if got := buf[q*tile+i]; got != want {
						t.Fatalf("kc=%d tile=%d q=%d i=%d: %#08x, want %#08x (from %v, %v)", kc, tile, q, i, got, want,
							src[2*q*tile+i], src[min(2*q+1, kc-1)*tile+i])
					}
				}
			}
			for _, v := range buf[qn*tile:] {
				if v != 0xdeadbeef {
					t.Fatalf("kc=%d tile=%d: wrote past the panel", kc, tile)
				}
			}
		}
	})
	for f, want := range map[float32]uint16{1: 0x3f80, 1 + 0x1p-8: 0x3f80, 1 + 0x1p-7 + 0x1p-8: 0x3f82, -2: 0xc000, 0x1p-130: 0} {
		if got := FloatToBFloat(f); got != want {
			t.Errorf("FloatToBFloat(%v) = %#04x, want %#04x", f, got, want)
		}
	}
}

func TestPeakBF16(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		if PeakBF16(10) <= 0 {
			t.Fatal("PeakBF16 reported no work")
		}
	})
}

// TestGemmKernelBF16StridedA compares the strided-A bf16 kernel of every
// level with the packed reference bit for bit: A is given as rows of pairs
// with a row stride larger than kp (the pairs outside the rows are
// poisoned with NaNs, so reading them shows), for every kp class.
func TestGemmKernelBF16StridedA(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		if !HasGemmKernelBF16StridedA() {
			t.Skipf("level %s has no strided bf16 kernel (A is packed)", Level())
		}
		r := rand.New(rand.NewPCG(15, 16))
		mr, nr := GemmTileBF16()
		for _, kp := range []int{1, 2, 3, 8, 9, 33, 160, 192} {
			for _, acc := range []bool{false, true} {
				lda, ldc := kp+r.IntN(7), nr+r.IntN(5)
				rows := randPairs(r, mr*lda)
				packed := make([]uint32, kp*mr)
				for i := 0; i < mr; i++ {
					for q := 0; q < lda; q++ {
						if q < kp {
							packed[q*mr+i] = rows[i*lda+q]
						} else {
							rows[i*lda+q] = 0x7fc07fc0
						}
					}
				}
				b := randPairs(r, kp*nr)
				c := randSlice(r, (mr-1)*ldc+nr)
				want := append([]float32(nil), c...)
				GemmKernelBF16StridedA(kp, rows[:(mr-1)*lda+kp], lda, b, c, ldc, acc)
				bf16TileRef(mr, nr, kp, packed, b, want, ldc, acc)
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kp=%d lda=%d acc=%v: C[%d,%d] = %v, want %v", kp, lda, acc, i/ldc, i%ldc, c[i], want[i])
					}
				}
			}
		}
	})
}

// TestRoundPairsBF16 compares the row rounding of every level with
// FloatToBFloat on random and special values, for every length class
// (whole 32-float blocks, a tail, an odd length), and checks that nothing
// past the pairs is written.
func TestRoundPairsBF16(t *testing.T) {
	specials := []float32{0, float32(math.Copysign(0, -1)), 1 + 0x1p-8, 1 + 0x1p-7 + 0x1p-8, 0x1p-130, -0x1p-140,
		float32(math.Inf(-1)), float32(math.NaN()), math.Float32frombits(0x7f800001), 3.3895314e38}
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for _, n := range []int{1, 2, 31, 32, 33, 64, 95, 320, 1281} {
			src := randSlice(r, n)
			for i := range src {
				if r.IntN(4) == 0 {
					src[i] = specials[r.IntN(len(specials))]
				}
			}
			qn := (n + 1) / 2
			dst := make([]uint32, qn+4)
			for i := range dst {
				dst[i] = 0xdeadbeef
			}
			RoundPairsBF16(dst[:qn], src)
			for q := 0; q < qn; q++ {
				want := uint32(FloatToBFloat(src[2*q]))
				if 2*q+1 < n {
					want |= uint32(FloatToBFloat(src[2*q+1])) << 16
				}
				if dst[q] != want {
					t.Fatalf("n=%d q=%d: %#08x, want %#08x", n, q, dst[q], want)
				}
			}
			for _, v := range dst[qn:] {
				if v != 0xdeadbeef {
					t.Fatalf("n=%d: wrote past the pairs", n)
				}
			}
		}
	})
}
