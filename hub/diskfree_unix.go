//go:build unix

package hub

import "syscall"

// freeBytes returns the bytes available to an unprivileged user on the file
// system holding dir (statfs f_bavail·f_bsize), or -1 when unknown.
func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
