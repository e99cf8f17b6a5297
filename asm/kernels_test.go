package asm

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// forEachLevel runs f once per supported level (assembly and pure Go) and
// restores the start-up level afterwards.
func forEachLevel(t *testing.T, f func(t *testing.T)) {
	start := Level()
	defer SetLevel(start)
	for _, l := range Levels() {
		if err := SetLevel(l); err != nil {
			t.Fatal(err)
		}
		t.Run(l, f)
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// TestGemmKernel compares the installed micro-kernel with sgemmTileRef,
// computed in float64. Tolerance: the classical summation bound
// k·u·Σ|a·b| (u = 2⁻²⁴) plus the same for the accumulated C value.
func TestGemmKernel(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		mr, nr := GemmTile()
		for _, k := range []int{0, 1, 2, 3, 5, 16, 17, 64, 100, 257, 300} {
			for _, acc := range []bool{false, true} {
				ldc := nr + r.IntN(5)
				a, b := randSlice(r, k*mr), randSlice(r, k*nr)
				c := randSlice(r, (mr-1)*ldc+nr)
				c0 := append([]float32(nil), c...)
				GemmKernel(k, a, b, c, ldc, acc)
				for i := 0; i < mr; i++ {
					for j := 0; j < ldc && i*ldc+j < len(c); j++ {
						got := c[i*ldc+j]
						if j >= nr {
							if got != c0[i*ldc+j] {
								t.Fatalf("k=%d: wrote outside the tile at (%d,%d)", k, i, j)
							}
							continue
						}
						var want, mag float64
						for p := 0; p < k; p++ {
							v := float64(a[p*mr+i]) * float64(b[p*nr+j])
							want += v
							mag += math.Abs(v)
						}
						if acc {
							want += float64(c0[i*ldc+j])
							mag += math.Abs(float64(c0[i*ldc+j]))
						}
						tol := float64(k+2)*0x1p-24*mag + 1e-30
						if d := math.Abs(float64(got) - want); d > tol {
							t.Fatalf("k=%d acc=%v (%d,%d): got %v want %v (|diff| %g > tol %g)", k, acc, i, j, got, want, d, tol)
						}
					}
				}
			}
		}
	})
}

// TestGemmKernelAccumulateOrder pins how every level accumulates: the k
// products are summed from zero and the sum is added to C once, so
// C + tile is bit for bit C plus the overwriting kernel's result. (A
// kernel that folds C into its FMA chain rounds each step at C's
// magnitude; that made attention's output over several key blocks three
// times less accurate on NEON.)
func TestGemmKernelAccumulateOrder(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		mr, nr := GemmTile()
		for _, k := range []int{1, 2, 17, 258} {
			a, b := randSlice(r, k*mr), randSlice(r, k*nr)
			c := randSlice(r, mr*nr)
			for i := range c {
				c[i] *= 1e3 // C much larger than one product, as in attention
			}
			sum := make([]float32, mr*nr)
			GemmKernel(k, a, b, sum, nr, false)
			got := append([]float32(nil), c...)
			GemmKernel(k, a, b, got, nr, true)
			for i := range got {
				if want := c[i] + sum[i]; math.Float32bits(got[i]) != math.Float32bits(want) {
					t.Fatalf("k=%d element %d: accumulate gave %v, C + the tile's sum is %v", k, i, got[i], want)
				}
			}
		}
	})
}

// TestGemmKernelStridedA checks the unpacked-A kernel against the packed one
// fed with the same values packed: the arithmetic is identical, so the
// results must be bit for bit equal.
func TestGemmKernelStridedA(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		if !HasGemmKernelStridedA() {
			t.Skip("level packs A instead")
		}
		r := rand.New(rand.NewPCG(5, 2))
		mr, nr := GemmTile()
		for _, k := range []int{1, 2, 3, 17, 64, 255, 300} {
			for _, acc := range []bool{false, true} {
				lda, ldc := k+r.IntN(4), nr+r.IntN(3)
				a := randSlice(r, (mr-1)*lda+k)
				b := randSlice(r, k*nr)
				c1 := randSlice(r, (mr-1)*ldc+nr)
				c2 := append([]float32(nil), c1...)
				packed := make([]float32, k*mr)
				for p := 0; p < k; p++ {
					for i := 0; i < mr; i++ {
						packed[p*mr+i] = a[i*lda+p]
					}
				}
				GemmKernel(k, packed, b, c1, ldc, acc)
				GemmKernelStridedA(k, a, lda, b, c2, ldc, acc)
				for i := range c1 {
					if math.Float32bits(c1[i]) != math.Float32bits(c2[i]) {
						t.Fatalf("k=%d acc=%v: element %d: strided %v, packed %v", k, acc, i, c2[i], c1[i])
					}
				}
			}
		}
	})
}

// TestPackPanel: the gather packer and the scalar one are exact copies.
func TestPackPanel(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(8, 8))
		mr, nr := GemmTile()
		for _, tc := range [][3]int{{nr, 1, nr}, {nr, 37, nr}, {nr, 256, nr}, {nr - 1, 20, nr}, {3, 5, 4}, {12, 9, 12},
			{mr, 1, mr}, {mr, 33, mr}, {mr, 300, mr}, {mr - 1, 7, mr}} {
			rows, kc, tile := tc[0], tc[1], tc[2]
			ld := kc + r.IntN(5)
			src := randSlice(r, (rows-1)*ld+kc)
			// A sentinel after the panel catches writes past its end.
			buf := randSlice(r, kc*tile+16)
			sentinel := append([]float32(nil), buf[kc*tile:]...)
			got, want := buf[:kc*tile], make([]float32, kc*tile)
			PackPanel(got, src, ld, rows, kc, tile)
			for i, v := range buf[kc*tile:] {
				if v != sentinel[i] {
					t.Fatalf("rows=%d kc=%d tile=%d: wrote past the panel", rows, kc, tile)
				}
			}
			for p := 0; p < kc; p++ {
				for i := 0; i < rows; i++ {
					want[p*tile+i] = src[i*ld+p]
				}
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("rows=%d kc=%d tile=%d: element %d = %v, want %v", rows, kc, tile, i, got[i], want[i])
				}
			}
		}
	})
}

func sameFloat(a, b float32) bool {
	if a != a || b != b {
		return a != a && b != b // NaN payloads may be quieted by hardware
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// TestF16AllValues converts all 65536 binary16 values (exact: bit equality,
// NaN for NaN) at every level, at every alignment of the vector tail.
func TestF16AllValues(t *testing.T) {
	src := make([]byte, 2*65536)
	for i := range 65536 {
		src[2*i], src[2*i+1] = byte(i), byte(i>>8)
	}
	forEachLevel(t, func(t *testing.T) {
		for _, off := range []int{0, 1, 7} {
			n := 65536 - off
			dst := make([]float32, n)
			F16BytesToF32(dst, src[2*off:])
			for i, got := range dst {
				h := uint16(i + off)
				if want := HalfToFloat(h); !sameFloat(got, want) {
					t.Fatalf("f16 %#04x: got %v (%#x) want %v", h, got, math.Float32bits(got), want)
				}
			}
		}
	})
}

// TestBF16AllValues: bfloat16 widening is exact, bit for bit.
func TestBF16AllValues(t *testing.T) {
	src := make([]byte, 2*65536)
	for i := range 65536 {
		src[2*i], src[2*i+1] = byte(i), byte(i>>8)
	}
	forEachLevel(t, func(t *testing.T) {
		for _, off := range []int{0, 3} {
			dst := make([]float32, 65536-off)
			BF16BytesToF32(dst, src[2*off:])
			for i, got := range dst {
				if want := BFloatToFloat(uint16(i + off)); math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("bf16 %#04x: got %v want %v", i+off, got, want)
				}
			}
		}
	})
}

// TestF8E4M3Kernels checks the conversion kernels against the table (the
// pure-Go twin) for every byte value, at every level, over lengths that
// leave remainders for the scalar tail and at unaligned starts.
func TestF8E4M3Kernels(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		src := make([]byte, 256*3+7)
		for i := range src {
			src[i] = byte(i*37 + i/256)
		}
		for _, n := range []int{1, 7, 8, 15, 16, 17, 33, 256, 775} {
			for _, off := range []int{0, 1, 3} {
				if off+n > len(src) {
					continue
				}
				got, want := make([]float32, n), make([]float32, n)
				F8E4M3ToF32(got, src[off:off+n])
				f8E4M3ToF32Generic(want, src[off:off+n])
				for i := range got {
					if !sameFloat(got[i], want[i]) {
						t.Fatalf("n=%d off=%d: byte %#02x gave %v (%#08x), want %v", n, off, src[off+i], got[i], math.Float32bits(got[i]), want[i])
					}
				}
			}
		}
	})
}

// TestF8 checks the f8 tables against the scalar decoders and a few
// known values of the OCP FP8 formats.
func TestF8(t *testing.T) {
	src := make([]byte, 256)
	for i := range src {
		src[i] = byte(i)
	}
	d4, d5 := make([]float32, 256), make([]float32, 256)
	F8E4M3ToF32(d4, src)
	F8E5M2ToF32(d5, src)
	for i := range 256 {
		if !sameFloat(d4[i], E4M3ToFloat(byte(i))) || !sameFloat(d5[i], E5M2ToFloat(byte(i))) {
			t.Fatalf("f8 %#02x mismatch", i)
		}
	}
	known4 := map[byte]float32{0x00: 0, 0x38: 1, 0x7e: 448, 0x01: 1.0 / 512, 0xb8: -1, 0x08: 1.0 / 64}
	for b, want := range known4 {
		if d4[b] != want {
			t.Errorf("e4m3 %#02x = %v, want %v", b, d4[b], want)
		}
	}
	if d4[0x7f] == d4[0x7f] {
		t.Errorf("e4m3 0x7f should be NaN")
	}
	known5 := map[byte]float32{0x3c: 1, 0x7b: 57344, 0x01: 1.0 / 65536, 0xc0: -2}
	for b, want := range known5 {
		if d5[b] != want {
			t.Errorf("e5m2 %#02x = %v, want %v", b, d5[b], want)
		}
	}
	if !math.IsInf(float64(d5[0x7c]), 1) {
		t.Errorf("e5m2 0x7c should be +Inf")
	}
}

// TestVec compares Dot and Axpy with float64 references for every length
// 0..300 (all tail cases); tolerance n·u·Σ|x·y|.
func TestVec(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for n := 0; n <= 300; n++ {
			x, y := randSlice(r, n), randSlice(r, n+1)
			var want, mag float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
				mag += math.Abs(float64(x[i]) * float64(y[i]))
			}
			if got := Dot(x, y); math.Abs(float64(got)-want) > float64(n+1)*0x1p-24*mag {
				t.Fatalf("Dot n=%d: got %v want %v", n, got, want)
			}
			alpha := float32(r.NormFloat64())
			y0 := append([]float32(nil), y...)
			Axpy(alpha, x, y)
			for i := range y {
				w := y0[i]
				if i < n {
					w = float32(float64(y0[i]) + float64(alpha)*float64(x[i]))
				}
				if d := math.Abs(float64(y[i] - w)); d > 2e-7*(math.Abs(float64(w))+math.Abs(float64(alpha*x0(x, i)))) {
					t.Fatalf("Axpy n=%d i=%d: got %v want %v", n, i, y[i], w)
				}
			}
		}
	})
	x := []float32{1, 2, 3}
	Scale(2, x)
	y := []float32{1, 1, 1}
	ScaleAdd(0.5, x, 3, y)
	if x[2] != 6 || y[0] != 4 || y[2] != 6 {
		t.Fatalf("Scale/ScaleAdd: x=%v y=%v", x, y)
	}
}

func x0(x []float32, i int) float32 {
	if i < len(x) {
		return x[i]
	}
	return 0
}

// TestExp compares Exp with math.Exp over the clamped range, including
// the extremes, every tail length and in-place use. Tolerance: relative
// error 1e-6 (float32 ulp is 6e-8 to 1.2e-7).
func TestExp(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(4, 4))
		x := []float32{0, 1, -1, 0.5, 88.37, -87.33, 20, -20, 1e-8, -1e-8}
		for len(x) < 3000 {
			x = append(x, float32(r.Float64()*175.7-87.33))
		}
		for _, n := range []int{0, 1, 7, 15, 17, 33, len(x)} {
			got := append([]float32(nil), x[:n]...)
			Exp(got, got)
			for i, g := range got {
				want := math.Exp(float64(x[i]))
				if rel := math.Abs(float64(g)-want) / want; rel > 1e-6 {
					t.Fatalf("Exp(%v) = %v, want %v (rel err %g)", x[i], g, want, rel)
				}
			}
		}
		got := make([]float32, 3)
		Exp(got, []float32{-100, 100, float32(math.Inf(-1))})
		if got[0] <= 0 || got[0] > 2e-38 || got[1] < 2e38 || got[2] > 2e-38 {
			t.Fatalf("Exp clamping: %v", got)
		}
	})
}

func TestSetLevel(t *testing.T) {
	if err := SetLevel("no-such-cpu"); err == nil {
		t.Fatal("SetLevel accepted an unknown level")
	}
	if l := Levels(); l[len(l)-1] != "generic" {
		t.Fatalf("Levels() = %v, must end in generic", l)
	}
	if PeakFMA(10) <= 0 {
		t.Fatal("PeakFMA reported no work")
	}
}

// BenchmarkPeak measures the FMA throughput of the installed level with
// t goroutines, in GFLOP/s (the whole machine's, summed over threads).
func BenchmarkPeak(b *testing.B) {
	for _, th := range []int{1, 2} {
		b.Run("t"+string(rune('0'+th)), func(b *testing.B) {
			if th > runtime.GOMAXPROCS(0) {
				b.Skip("not enough CPUs")
			}
			const iters = 1 << 20
			var flops int
			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				for range th {
					wg.Add(1)
					go func() { defer wg.Done(); PeakFMA(iters) }()
				}
				wg.Wait()
				flops += th * iters * peakFlopsPerIter
			}
			b.ReportMetric(float64(flops)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkExp measures Exp on 4096 values at every level (ns/op per call;
// the value/s rate is reported as "Gexp/s").
func BenchmarkExp(b *testing.B) {
	start := Level()
	defer SetLevel(start)
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200) * -0.1
	}
	y := make([]float32, len(x))
	for _, l := range Levels() {
		SetLevel(l)
		b.Run(l, func(b *testing.B) {
			t0 := time.Now()
			for b.Loop() {
				Exp(y, x)
			}
			b.ReportMetric(float64(b.N*len(x))/time.Since(t0).Seconds()/1e9, "Gexp/s")
		})
	}
}

// BenchmarkF8E4M3ToF32 converts 1 Mi fp8 weights (a layer's worth) at the
// installed level and with the table (the pure-Go twin).
func BenchmarkF8E4M3ToF32(b *testing.B) {
	src := make([]byte, 1<<20)
	for i := range src {
		src[i] = byte(i * 37)
	}
	dst := make([]float32, len(src))
	b.Run("kernel", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			F8E4M3ToF32(dst, src)
		}
	})
	b.Run("table", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			f8E4M3ToF32Generic(dst, src)
		}
	})
}
