// Package outfile writes output files the way a user can trust: proven
// writable before any work, never half-written, never clobbering what is
// not a regular file, with the permissions the user's umask asks for, and
// without temporary files left behind by an interrupt.
//
// The life of an output:
//
//	f, err := outfile.Prepare("out.png", overwrite) // checks, creates .out.png.tmp-NNN
//	... minutes of work ...
//	err = f.Write(data)   // into the temporary file, synced
//	err = f.Commit()      // renamed (or hard-linked) onto the final name
//	f.Discard()           // on any failure: the temporary file is removed
//
// Rules for the final path (issue #14):
//   - it may not exist; it may exist only with overwrite and only as a
//     regular file; a device node, FIFO, socket or folder is never replaced
//     (as root, `-o /dev/null --overwrite` would otherwise replace the node);
//   - a symlink is written through: its target (which must be a regular
//     file, or absent in an existing folder) gets the new contents and the
//     link stays a link; a dangling link whose folder is missing is refused;
//   - a new file gets mode 0666 &^ umask (the temporary file is created
//     with 0666 and the kernel applies the umask); a replaced file keeps
//     its mode.
package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// ErrExists is wrapped by Prepare's and Commit's errors when the file
// exists and overwriting was not allowed.
var ErrExists = errors.New("file exists (use --overwrite to replace it)")

// File is one output being prepared: its final path and the temporary
// file beside it that will become it.
type File struct {
	Path      string      // the final path as given
	target    string      // where the bytes go: Path, or the target of the symlink Path
	tmp       string      // the temporary file in target's folder
	mode      fs.FileMode // the replaced file's mode, or 0 to keep the temporary file's (0666 &^ umask)
	overwrite bool
	done      bool
}

// Prepare checks that path can be written and creates its temporary file
// (so an unwritable folder, /proc/x.png or a full quota is found before
// any work). The error says what is wrong with path in a user's words; the
// caller adds the flag's name.
func Prepare(path string, overwrite bool) (*File, error) {
	if path == "" {
		return nil, errors.New("empty file name")
	}
	f := &File{Path: path, target: path, overwrite: overwrite}
	if li, err := os.Lstat(path); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		target, err := resolveLink(path)
		if err != nil {
			return nil, err
		}
		f.target = target
	}
	dir := filepath.Dir(f.target)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("folder %s does not exist", dir)
	}
	if st, err := os.Stat(f.target); err == nil {
		switch {
		case st.IsDir():
			return nil, fmt.Errorf("is a folder")
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("is not a regular file (%s): gen never replaces devices, FIFOs or sockets", kind(st.Mode()))
		case !overwrite:
			return nil, ErrExists
		}
		f.mode = st.Mode().Perm()
	}
	tmp, err := createTemp(f.target)
	if err != nil {
		return nil, fmt.Errorf("cannot write in folder %s: %w", dir, unwrapPath(err))
	}
	f.tmp = tmp
	return f, nil
}

// resolveLink returns the final target of the symlink path; the target may
// be absent (it is then created), but its folder must exist.
func resolveLink(path string) (string, error) {
	target := path
	for range 40 { // as the kernel's limit on nested links
		li, err := os.Lstat(target)
		if errors.Is(err, fs.ErrNotExist) {
			if st, err := os.Stat(filepath.Dir(target)); err != nil || !st.IsDir() {
				return "", fmt.Errorf("is a symlink to %s, whose folder does not exist", target)
			}
			return target, nil
		}
		if err != nil {
			return "", err
		}
		if li.Mode()&fs.ModeSymlink == 0 {
			return target, nil
		}
		dest, err := os.Readlink(target)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(target), dest)
		}
		target = dest
	}
	return "", fmt.Errorf("is a symlink with too many levels")
}

// kind names a non-regular file mode.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// unwrapPath drops the *PathError wrapper so that the temporary file's
// name does not appear in messages (it means nothing to the user).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// createTemp creates an empty ".<name>.tmp-<n>" beside target with mode
// 0666, which the kernel reduces by the umask (os.CreateTemp would use
// 0600 and ignore the umask), and registers it for removal on interrupt.
func createTemp(target string) (string, error) {
	dir, base := filepath.Split(target)
	seed := time.Now().UnixNano()
	for i := range 100 {
		name := filepath.Join(dir, "."+base+".tmp-"+strconv.FormatInt((seed+int64(i))%1e9, 10))
		fh, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		fh.Close()
		pending.add(name)
		return name, nil
	}
	return "", fmt.Errorf("no free temporary name in %s", dir)
}

// Write puts data into the temporary file and syncs it.
func (f *File) Write(data []byte) error {
	if f.done {
		return fmt.Errorf("%s: already written", f.Path)
	}
	fh, err := os.OpenFile(f.tmp, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, unwrapPath(err))
	}
	_, err = fh.Write(data)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, unwrapPath(err))
	}
	return nil
}

// Commit moves the written temporary file onto the final path (a replaced
// file's mode is kept). Without overwrite it uses a hard link, which fails
// if the path appeared meanwhile, so nothing is clobbered.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("%s: already committed", f.Path)
	}
	if f.mode != 0 {
		if err := os.Chmod(f.tmp, f.mode); err != nil {
			return fmt.Errorf("%s: %w", f.Path, unwrapPath(err))
		}
	}
	var err error
	if f.overwrite {
		if st, serr := os.Lstat(f.target); serr == nil && !st.Mode().IsRegular() {
			return fmt.Errorf("%s: became %s while gen ran; not replaced", f.Path, kind(st.Mode()))
		}
		err = os.Rename(f.tmp, f.target)
	} else if err = os.Link(f.tmp, f.target); err == nil {
		os.Remove(f.tmp)
	} else if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", f.Path, ErrExists)
	} else if _, serr := os.Lstat(f.target); serr == nil {
		return fmt.Errorf("%s: %w", f.Path, ErrExists)
	} else {
		err = os.Rename(f.tmp, f.target) // a file system without hard links
	}
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, unwrapPath(err))
	}
	pending.remove(f.tmp)
	f.done = true
	return nil
}

// Discard removes the temporary file if the output was not committed. It
// is safe to call more than once and after Commit.
func (f *File) Discard() {
	if f == nil || f.done {
		return
	}
	os.Remove(f.tmp)
	pending.remove(f.tmp)
	f.done = true
}

// WriteFile is Prepare, Write and Commit in one, for an output that needs
// no early check.
func WriteFile(path string, data []byte, overwrite bool) error {
	f, err := Prepare(path, overwrite)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Discard()
	if err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// tempSet is the set of temporary files not yet committed or discarded.
type tempSet struct {
	mu    sync.Mutex
	names map[string]bool
}

var pending = tempSet{names: map[string]bool{}}

func (s *tempSet) add(n string)    { s.mu.Lock(); s.names[n] = true; s.mu.Unlock() }
func (s *tempSet) remove(n string) { s.mu.Lock(); delete(s.names, n); s.mu.Unlock() }

// RemoveTemps deletes every temporary file still pending and returns how
// many it removed. A signal handler calls it before the process exits.
func RemoveTemps() int {
	pending.mu.Lock()
	defer pending.mu.Unlock()
	n := 0
	for name := range pending.names {
		if os.Remove(name) == nil {
			n++
		}
		delete(pending.names, name)
	}
	return n
}
