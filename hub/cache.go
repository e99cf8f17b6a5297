package hub

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Cache is huggingface_hub's cache folder (HF_HUB_CACHE). One model
// repository owner/name lives in Dir/models--owner--name:
//
//	blobs/{etag}                 the file's bytes, named by its etag
//	snapshots/{commit}/{path}    a relative symlink to ../../blobs/{etag}
//	                             (one more ../ per folder level of path)
//	refs/{revision}              the commit a branch or tag pointed to, no newline
//
// and the locks of its writers in Dir/.locks/models--owner--name/{etag}.lock.
type Cache struct{ Dir string }

// commitRe matches a full commit hash (huggingface_hub's REGEX_COMMIT_HASH).
var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// repoIDRe is a Hub repository id: owner/name of letters, digits, '-', '_'
// and '.' (huggingface_hub's validate_repo_id, without "--" or "..").
var repoIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$`)

// ValidRepoID reports whether id is a well-formed owner/name.
func ValidRepoID(id string) bool {
	return repoIDRe.MatchString(id) && !strings.Contains(id, "--") && !strings.Contains(id, "..")
}

// checkRepoFile validates a repository id and a file path inside it (slash
// separated, relative, without "." or ".." parts), so that no name from the
// network or the command line can point outside the cache.
func checkRepoFile(repo, file string) error {
	if !ValidRepoID(repo) {
		return fmt.Errorf("%q is not a Hugging Face repository id (owner/name)", repo)
	}
	if file == "" {
		return nil
	}
	if strings.HasPrefix(file, "/") || strings.Contains(file, "\\") {
		return fmt.Errorf("%s: file path %q must be relative, with / separators", repo, file)
	}
	for _, part := range strings.Split(file, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("%s: file path %q has an empty, . or .. part", repo, file)
		}
	}
	return nil
}

// RepoFolderName is the cache folder of a model repository:
// "models--" + owner + "--" + name (huggingface_hub's repo_folder_name).
func RepoFolderName(repo string) string {
	return "models--" + strings.ReplaceAll(repo, "/", "--")
}

// RepoDir is the cache folder of repo.
func (c Cache) RepoDir(repo string) string { return filepath.Join(c.Dir, RepoFolderName(repo)) }

// BlobPath is where the bytes of the blob etag of repo live.
func (c Cache) BlobPath(repo, etag string) string {
	return filepath.Join(c.RepoDir(repo), "blobs", etag)
}

// SnapshotPath is file (a slash-separated repository path) in the snapshot
// of commit.
func (c Cache) SnapshotPath(repo, commit, file string) string {
	return filepath.Join(c.RepoDir(repo), "snapshots", commit, filepath.FromSlash(file))
}

// LockPath is the lock file writers of blob etag take.
func (c Cache) LockPath(repo, etag string) string {
	return filepath.Join(c.Dir, ".locks", RepoFolderName(repo), etag+".lock")
}

// Commit returns the commit a revision points to in the cache: the
// revision itself when it is a commit hash, else the content of
// refs/{revision}; ok is false when the cache has no such ref.
func (c Cache) Commit(repo, revision string) (commit string, ok bool) {
	if commitRe.MatchString(revision) {
		return revision, true
	}
	b, err := os.ReadFile(filepath.Join(c.RepoDir(repo), "refs", filepath.FromSlash(revision)))
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(string(b))
	return commit, commitRe.MatchString(commit)
}

// WriteRef records that revision points to commit (nothing for a revision
// that is itself the commit), as huggingface_hub's
// _cache_commit_hash_for_specific_revision does.
func (c Cache) WriteRef(repo, revision, commit string) error {
	if revision == commit {
		return nil
	}
	if old, ok := c.Commit(repo, revision); ok && old == commit {
		return nil
	}
	p := filepath.Join(c.RepoDir(repo), "refs", filepath.FromSlash(revision))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", p, os.Getpid())
	if err := os.WriteFile(tmp, []byte(commit), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Lookup returns the cached copy of file at revision, if the cache has it:
// the snapshot entry must exist and resolve to a regular file (a dangling
// link, e.g. to a deleted blob, counts as missing).
func (c Cache) Lookup(repo, revision, file string) (string, bool) {
	commit, ok := c.Commit(repo, revision)
	if !ok {
		return "", false
	}
	p := c.SnapshotPath(repo, commit, file)
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return "", false
	}
	return p, true
}

// Link makes the snapshot entry of file at commit point at blob etag with a
// relative symlink ("../../blobs/{etag}", one "../" more per folder of
// file), as huggingface_hub's _create_symlink does with os.path.relpath.
// Where the file system has no symlinks the blob is copied instead (the
// Python client's fallback too).
func (c Cache) Link(repo, commit, file, etag string) (string, error) {
	dst := c.SnapshotPath(repo, commit, file)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	rel := strings.Repeat("../", strings.Count(file, "/")+2) + path.Join("blobs", etag)
	if cur, err := os.Readlink(dst); err == nil && cur == filepath.FromSlash(rel) {
		return dst, nil
	}
	tmp := fmt.Sprintf("%s.%d.link", dst, os.Getpid())
	os.Remove(tmp)
	if err := os.Symlink(filepath.FromSlash(rel), tmp); err != nil {
		if err := copyFile(c.BlobPath(repo, etag), tmp); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return dst, nil
}

// copyFile copies src to dst (the no-symlink fallback of Link).
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// CachedBytes returns how many bytes of files at revision are already in
// the cache (for `gen models`), and whether all of them are.
func (c Cache) CachedBytes(repo, revision string, files []string) (n int64, all bool) {
	all = true
	for _, f := range files {
		p, ok := c.Lookup(repo, revision, f)
		if !ok {
			all = false
			continue
		}
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n, all
}

// exists reports whether p exists (following links).
func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
