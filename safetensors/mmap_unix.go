//go:build unix

package safetensors

import (
	"os"
	"syscall"
)

// mapFile maps the whole file read-only and returns the bytes and the
// function that unmaps them. An empty file is returned as an empty slice
// (mmap of length 0 fails).
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	if int64(int(size)) != size || size < 0 {
		return nil, nil, syscall.EFBIG
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
