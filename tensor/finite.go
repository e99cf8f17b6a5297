package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// FirstNonFinite returns the index of the first NaN or ±Inf in x, or -1
// when every value is finite. It is the cheap check that turns a silent
// black image into an error saying where the NaN appeared (A1111's
// NansException plays this part there).
func FirstNonFinite(x []float32) int {
	for i, v := range x {
		// A float32 is finite unless its 8 exponent bits are all ones.
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// NonFiniteError reports a NaN or infinity found by CheckFinite.
type NonFiniteError struct {
	Where string  // e.g. "the UNet output at step 3 of 20"
	Index int     // flat index of the first non-finite value
	Count int     // how many values there were
	Value float32 // the value found (NaN, +Inf or -Inf)
	Hint  string  // what the user can try
}

func (e *NonFiniteError) Error() string {
	msg := fmt.Sprintf("%v appeared in %s (value %d of %d)", e.Value, e.Where, e.Index, e.Count)
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

// NaNChecks turns on the checks for NaN and infinity: CheckFinite in the
// pipelines and the scan of every weight nn.Params loads. They cost well
// under 1 % of a run (BENCHMARKS.md); gen's --no-nan-check turns them off
// (A1111's --disable-nan-check).
var NaNChecks = true

// CheckFinite returns a *NonFiniteError naming where (and hint) when x
// holds a NaN or infinity, else nil (always nil when NaNChecks is off).
// Its cost is one pass over x.
func CheckFinite(x *Tensor, where, hint string) error {
	if x == nil || !NaNChecks {
		return nil
	}
	if i := FirstNonFinite(x.Data); i >= 0 {
		return &NonFiniteError{Where: where, Index: i, Count: len(x.Data), Value: x.Data[i], Hint: hint}
	}
	return nil
}

// FirstNonFinite returns the index of the first stored value of w that is
// NaN or infinite, or -1. It reads the stored bytes without decoding them:
// a value is non-finite when all its exponent bits are ones (for f8_e4m3fn,
// which has no infinities, when exponent and mantissa are all ones: its
// NaN). Eight bytes are tested at a time (see allOnesLanes), so scanning an
// f16 SD 1.5 checkpoint (1.07 G values) costs well under a second, under
// 1 % of a 20-step 512×512 run. A weight's Scale is not applied.
func (w *Weight) FirstNonFinite() int {
	if w.Raw == nil {
		return FirstNonFinite(w.f32)
	}
	var size int
	var mask uint64 // the exponent bits of one value, in the lowest lane
	switch w.DType {
	case F32:
		size, mask = 4, 0x7f800000
	case F16:
		size, mask = 2, 0x7c00
	case BF16:
		size, mask = 2, 0x7f80
	case F8E4M3:
		size, mask = 1, 0x7f
	case F8E5M2:
		size, mask = 1, 0x7c
	default:
		return -1
	}
	raw := w.Raw
	m, sign := uint64(0), uint64(0)
	for lane := 0; lane < 8; lane += size {
		m |= mask << (8 * lane)
		sign |= uint64(1) << (8*(lane+size) - 1)
	}
	// Blocks of 64 bytes: the lanes' verdicts are OR-ed without a branch,
	// and only a block with a hit is searched value by value.
	n := len(raw) &^ 63
	for off := 0; off < n; off += 64 {
		b := raw[off : off+64]
		var hit uint64
		for j := 0; j < 64; j += 8 {
			hit |= allOnesLanes(binary.LittleEndian.Uint64(b[j:j+8]), m, sign)
		}
		if hit != 0 {
			return off/size + firstAllOnes(b, size, mask)
		}
	}
	if i := firstAllOnes(raw[n:], size, mask); i >= 0 {
		return n/size + i
	}
	return -1
}

// allOnesLanes returns a non-zero word exactly when some lane of x has all
// the bits of m set. m is the exponent mask replicated in every lane and
// sign the lanes' top bits; the exponent sits right below the sign bit, so
// in each lane y = ^x & m is zero exactly when the exponent is all ones,
// and y + m reaches the sign bit exactly when y is not zero (no carry
// leaves a lane: 2m < 2·sign).
func allOnesLanes(x, m, sign uint64) uint64 {
	y := ^x & m
	return (y+m)&sign ^ sign
}

// firstAllOnes returns the index of the first little-endian value of size
// bytes in b whose bits under mask are all set, or -1.
func firstAllOnes(b []byte, size int, mask uint64) int {
	for i := 0; i+size <= len(b); i += size {
		var v uint64
		for j := size - 1; j >= 0; j-- {
			v = v<<8 | uint64(b[i+j])
		}
		if v&mask == mask {
			return i / size
		}
	}
	return -1
}
