package tensor

import "unsafe"

var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

func aligned4(b []byte) bool { return uintptr(unsafe.Pointer(&b[0]))%4 == 0 }

func unsafeFloat32s(b []byte, n int) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}
