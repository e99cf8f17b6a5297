package main

import (
	"bytes"
	"testing"
)

// TestEVEXEncodings compares the raw encodings with those llvm-mc gives
// (`llvm-mc -triple=x86_64 -show-encoding -x86-asm-syntax=intel`), for
// registers in each of the four banks of eight.
func TestEVEXEncodings(t *testing.T) {
	for _, tc := range []struct {
		asm  string
		got  []byte
		want []byte
	}{
		{"vdpbf16ps zmm0, zmm1, zmm2", vdpbf16ps(0, 1, 2), []byte{0x62, 0xf2, 0x76, 0x48, 0x52, 0xc2}},
		{"vdpbf16ps zmm23, zmm24, zmm26", vdpbf16ps(23, 24, 26), []byte{0x62, 0x82, 0x3e, 0x40, 0x52, 0xfa}},
		{"vdpbf16ps zmm9, zmm17, zmm12", vdpbf16ps(9, 17, 12), []byte{0x62, 0x52, 0x76, 0x40, 0x52, 0xcc}},
		{"vcvtne2ps2bf16 zmm2, zmm1, zmm0", vcvtne2ps2bf16(2, 1, 0), []byte{0x62, 0xf2, 0x77, 0x48, 0x72, 0xd0}},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s: % x, want % x", tc.asm, tc.got, tc.want)
		}
	}
}
