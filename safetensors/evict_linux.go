package safetensors

import (
	"os"
	"syscall"
	"unsafe"
)

// Evict tells the kernel that the pages wholly inside data, a tensor's
// bytes in a mapped file, are not needed for now (madvise MADV_DONTNEED):
// they leave the process's resident set and are read again from the page
// cache, or the file, when next touched. Loaders call it after a pass
// over weights that will be used only later (the NaN scan at load), so
// that a 12 GB transformer does not sit resident while the text encoder
// runs. Data that is not from a mapping (Parse) is left alone.
func (f *File) Evict(data []byte) {
	if !f.mapped || len(data) == 0 {
		return
	}
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	lo := (start + page - 1) &^ (page - 1)
	hi := (start + uintptr(len(data))) &^ (page - 1)
	if hi <= lo {
		return
	}
	syscall.Madvise(data[lo-start:hi-start], syscall.MADV_DONTNEED) // advice only: an error changes nothing
}
