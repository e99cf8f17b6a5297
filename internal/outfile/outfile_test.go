package outfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestPrepareRules checks each rule of the package comment: a FIFO and a
// folder are refused even with overwrite, an existing file needs it, a
// symlink is written through, and RemoveTemps deletes what is pending.
func TestPrepareRules(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err == nil {
		if _, err := Prepare(fifo, true); err == nil {
			t.Error("a FIFO was accepted")
		}
	}
	if _, err := Prepare(dir, true); err == nil {
		t.Error("a folder was accepted")
	}
	old := filepath.Join(dir, "old")
	os.WriteFile(old, []byte("keep"), 0o640)
	if _, err := Prepare(old, false); !errors.Is(err, ErrExists) {
		t.Errorf("existing file without overwrite: %v", err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink("old", link)
	f, err := Prepare(link, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(old); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced")
	}
	if st, _ := os.Stat(old); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", st.Mode().Perm())
	}
	g, err := Prepare(filepath.Join(dir, "pending"), false)
	if err != nil {
		t.Fatal(err)
	}
	if n := RemoveTemps(); n != 1 {
		t.Errorf("RemoveTemps removed %d, want 1", n)
	}
	if _, err := os.Stat(g.tmp); err == nil {
		t.Error("temporary file left")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 { // fifo (where supported), old, link
		t.Logf("entries: %v", ents)
	}
}
