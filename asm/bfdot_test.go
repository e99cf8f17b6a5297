package asm

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestDotPairBFDOT checks the Go model of Arm's BFDOT lane on values where
// round to odd, the pair-first order, the flushes and the NaN rule show.
func TestDotPairBFDOT(t *testing.T) {
	bf := func(f float32) uint32 { return uint32(FloatToBFloat(f)) }
	pair := func(lo, hi float32) uint32 { return bf(lo) | bf(hi)<<16 }
	f := math.Float32bits
	const u = 0x1p-23
	for _, tc := range []struct {
		name      string
		acc, a, b uint32
		want      uint32
	}{
		{"exact", f(1), pair(2, 3), pair(4, 5), f(1 + 8 + 15)},
		// 1 + u/4: truncated to 1, inexact: last bit set → 1 + u.
		{"round to odd up", f(1), pair(0x1p-25, 0), pair(1, 0), f(1 + u)},
		// 1 + u + u/4: truncated to 1 + u (odd already).
		{"round to odd stays", f(1 + u), pair(0x1p-25, 0), pair(1, 0), f(1 + u)},
		// 1 + 2u + u/2 (a tie): RNE would give 1 + 2u, round to odd 1 + 3u.
		{"tie to odd", f(1 + 2*u), pair(0x1p-24, 0), pair(1, 0), f(1 + 3*u)},
		// -(1 + u/4) truncates toward zero: -1, odd → -(1 + u).
		{"negative", f(-1), pair(-0x1p-25, 0), pair(1, 0), f(-1 - u)},
		{"denormal product flushed", f(0), pair(0x1p-70, 0), pair(0x1p-70, 0), 0},
		{"denormal sum flushed", f(0x1p-125), pair(-0x1.8p-126, 0), pair(1, 0), 0},
		{"overflow to infinity", f(math.MaxFloat32), pair(0x1p127, 0), pair(2, 0), f(float32(math.Inf(1)))},
		{"default NaN", f(1), pair(float32(math.Inf(1)), 0), pair(0, 0), 0x7fc00000},
		{"x + -x is +0", f(-3), pair(3, 0), pair(1, 0), 0},
	} {
		if got := dotPairBFDOT(tc.acc, tc.a, tc.b); got != tc.want {
			t.Errorf("%s: %#08x (%v), want %#08x (%v)", tc.name, got, math.Float32frombits(got), tc.want, math.Float32frombits(tc.want))
		}
	}
}

// The A64 encodings the NEON bf16 kernels spell as WORDs (Arm ARM, C7.2):
// BFDOT (by element) Vd.4S, Vn.8H, Vm.2H[i]; BFDOT (vector) Vd.4S, Vn.8H,
// Vm.8H; FADD (vector) Vd.4S, Vn.4S, Vm.4S.
func encBFDOTElem(d, n, m, i int) uint32 {
	return 0x4F40F000 | uint32(i&1)<<21 | uint32(m>>4&1)<<20 | uint32(m&15)<<16 | uint32(i>>1&1)<<11 | uint32(n)<<5 | uint32(d)
}
func encBFDOTVec(d, n, m int) uint32 { return 0x6E40FC00 | uint32(m)<<16 | uint32(n)<<5 | uint32(d) }
func encFADD4S(d, n, m int) uint32   { return 0x4E20D400 | uint32(m)<<16 | uint32(n)<<5 | uint32(d) }

// TestNEONBF16Encodings checks the encoders against llvm-mc's encodings
// (`llvm-mc -triple=aarch64 -mattr=+bf16 -show-encoding`), registers in
// both halves of the file and every index, and then every WORD of
// kernels_arm64.s against the encoder of the instruction its comment
// names: the bytes are the instruction the comment says.
func TestNEONBF16Encodings(t *testing.T) {
	for _, tc := range []struct {
		asm       string
		got, want uint32
	}{
		{"bfdot v8.4s, v0.8h, v4.2h[0]", encBFDOTElem(8, 0, 4, 0), 0x4f44f008},
		{"bfdot v8.4s, v0.8h, v4.2h[1]", encBFDOTElem(8, 0, 4, 1), 0x4f64f008},
		{"bfdot v31.4s, v3.8h, v5.2h[3]", encBFDOTElem(31, 3, 5, 3), 0x4f65f87f},
		{"bfdot v17.4s, v2.8h, v20.2h[2]", encBFDOTElem(17, 2, 20, 2), 0x4f54f851},
		{"bfdot v8.4s, v0.8h, v4.8h", encBFDOTVec(8, 0, 4), 0x6e44fc08},
		{"fadd v8.4s, v8.4s, v0.4s", encFADD4S(8, 8, 0), 0x4e20d508},
		{"fadd v31.4s, v31.4s, v3.4s", encFADD4S(31, 31, 3), 0x4e23d7ff},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %#08x, want %#08x", tc.asm, tc.got, tc.want)
		}
	}
	file, err := os.Open("kernels_arm64.s")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	word := regexp.MustCompile(`^\s*WORD\s+\$(0x[0-9A-Fa-f]+)\s*//\s*(\S+)\s+(.*)$`)
	elem := regexp.MustCompile(`^V(\d+)\.4S, V(\d+)\.8H, V(\d+)\.2H\[(\d)\]$`)
	vec := regexp.MustCompile(`^V(\d+)\.4S, V(\d+)\.8H, V(\d+)\.8H$`)
	fadd := regexp.MustCompile(`^V(\d+)\.4S, V(\d+)\.4S, V(\d+)\.4S$`)
	atoi := func(s string) int { v, _ := strconv.Atoi(s); return v }
	checked := map[string]int{}
	sc := bufio.NewScanner(file)
	for line := 1; sc.Scan(); line++ {
		m := word.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		got, _ := strconv.ParseUint(m[1], 0, 32)
		var want uint32
		switch ops := m[3]; {
		case m[2] == "BFDOT" && elem.MatchString(ops):
			o := elem.FindStringSubmatch(ops)
			want = encBFDOTElem(atoi(o[1]), atoi(o[2]), atoi(o[3]), atoi(o[4]))
		case m[2] == "BFDOT" && vec.MatchString(ops):
			o := vec.FindStringSubmatch(ops)
			want = encBFDOTVec(atoi(o[1]), atoi(o[2]), atoi(o[3]))
		case m[2] == "FADD" && fadd.MatchString(ops):
			o := fadd.FindStringSubmatch(ops)
			want = encFADD4S(atoi(o[1]), atoi(o[2]), atoi(o[3]))
		default:
			// Other WORDs (e.g. FCVTL) predate this test.
			continue
		}
		if uint32(got) != want {
			t.Errorf("kernels_arm64.s:%d: %s %s is %#08x, the word says %#08x", line, m[2], m[3], want, got)
		}
		checked[m[2]]++
	}
	if checked["BFDOT"] < 48 || checked["FADD"] < 24 {
		t.Errorf("checked %v, want the kernel's 24 BFDOT (by element) + 24 FADD and the peak's 24 BFDOT", checked)
	}
	t.Log(fmt.Sprint("checked ", checked))
}
