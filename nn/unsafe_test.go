package nn

import (
	"unsafe"

	"github.com/godiffusion/godiffusion/asm"
)

func unsafeBytes(u []uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&u[0])), 4*len(u))
}

func halfToFloat(h uint16) float32 { return asm.HalfToFloat(h) }
