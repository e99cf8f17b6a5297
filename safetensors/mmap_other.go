//go:build !unix

package safetensors

import (
	"fmt"
	"io"
	"os"
)

// mapFile reads the whole file into memory where memory mapping is not
// available (Windows, wasm, plan9): same API as the unix version, the
// release function is a no-op.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if int64(int(size)) != size || size < 0 {
		return nil, nil, fmt.Errorf("file of %d bytes is too large to read on this platform", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}
