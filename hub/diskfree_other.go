//go:build !unix

package hub

// freeBytes is unknown (-1) where statfs is not available; the download
// then finds out about a full disk when a write fails.
func freeBytes(dir string) int64 { return -1 }
