package hub

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
)

// Pull makes every part of registry entry m present in the cache and
// returns the local path of each role: the file, or for a Dir part the
// folder holding its files. Parts are fetched one after the other, each
// with its files in parallel.
func (c *Client) Pull(ctx context.Context, m *Model) (map[Role]string, error) {
	out := map[Role]string{}
	for _, p := range m.Parts {
		snap, err := c.Fetch(ctx, p.Repo, p.Revision, p.Files)
		if err != nil {
			if m.Gated && isGated(err) {
				return nil, fmt.Errorf("%s is gated: %w", m.Name, err)
			}
			return nil, err
		}
		if p.Dir {
			out[p.Role] = filepath.Join(snap, filepath.FromSlash(path.Dir(p.Files[0])))
		} else {
			out[p.Role] = filepath.Join(snap, filepath.FromSlash(p.Files[0]))
		}
	}
	return out, nil
}

// Cached reports how many bytes of m's files the cache holds and whether it
// holds them all (no request is made).
func (c *Client) Cached(m *Model) (n int64, all bool) {
	all = true
	for _, p := range m.Parts {
		k, ok := c.Cache.CachedBytes(p.Repo, p.Revision, p.Files)
		n += k
		all = all && ok
	}
	return n, all
}

// FetchDiffusers makes the files a diffusers pipeline needs (see
// DiffusersFiles) of repo at revision present in the cache and returns the
// snapshot folder. A complete snapshot already cached costs no request
// unless Refresh is set.
func (c *Client) FetchDiffusers(ctx context.Context, repo, revision string) (string, error) {
	if err := checkRepoFile(repo, ""); err != nil {
		return "", err
	}
	if revision == "" {
		revision = "main"
	}
	if !c.Refresh || c.Offline {
		if commit, ok := c.Cache.Commit(repo, revision); ok {
			if snap := c.Cache.SnapshotPath(repo, commit, ""); DiffusersComplete(snap) {
				return snap, nil
			}
		}
		if c.Offline {
			return "", offlineError(c.Cache.Dir, repo, revision, []string{"a complete diffusers snapshot (model_index.json and its components)"})
		}
	}
	info, err := c.Info(ctx, repo, revision)
	if err != nil {
		return "", err
	}
	files := DiffusersFiles(info.Files())
	if len(files) == 0 || files[0] != "model_index.json" {
		return "", fmt.Errorf("%s is not a diffusers repository (no model_index.json at its root); name one file instead: -m %s/path/to/file.safetensors", repo, repo)
	}
	snap, err := c.Fetch(ctx, repo, info.SHA, files)
	if err != nil {
		return "", err
	}
	if err := c.Cache.WriteRef(repo, revision, info.SHA); err != nil {
		return "", err
	}
	return snap, nil
}
