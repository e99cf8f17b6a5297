package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Client downloads files from a Hub into a Cache. FromEnv configures one
// from huggingface_hub's environment variables.
type Client struct {
	Endpoint string // the Hub, e.g. DefaultEndpoint (no trailing slash)
	Cache    Cache
	Token    string // bearer token; sent to the Hub, never to the storage host
	// Offline uses only the cache: no request is made, and a file the cache
	// lacks is an error naming it (HF_HUB_OFFLINE=1).
	Offline bool
	// Refresh asks the Hub which commit a branch points to even when the
	// cache already has the files of the commit it pointed to last time.
	// Without it a revision whose files are cached costs no request.
	Refresh  bool
	HTTP     *http.Client // nil: http.DefaultClient
	Progress Progress     // nil: no progress display
	Parallel int          // files transferred at once (0: 4)
	// MaxAttempts bounds the transfers of one file in one call: a
	// connection cut resumes where it stopped, and a download that does not
	// match its etag is deleted and fetched again. 0: 3.
	MaxAttempts int
}

// meta is what a HEAD on a resolve URL says about a file
// (huggingface_hub's HfFileMetadata).
type meta struct {
	commit, etag string
	size         int64
	location     string // where to GET the bytes (the storage host for LFS files)
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// authorize adds the bearer token to a request for the Hub itself.
func (c *Client) authorize(req *http.Request) {
	req.Header.Set("User-Agent", "godiffusion-hub/1")
	if c.Token == "" {
		return
	}
	if hub, err := url.Parse(c.Endpoint); err == nil && hub.Host == req.URL.Host {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
}

// unreachable words a transport error.
func (c *Client) unreachable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("cannot reach the Hub at %s (%v); set HF_HUB_OFFLINE=1 to use only the cache", c.Endpoint, err)
}

// head fetches the metadata of file at revision: HEAD on the resolve URL
// with Accept-Encoding: identity (so Content-Length is the file's size),
// following redirects only on the Hub's own host (a renamed repository) and
// stopping at the redirect to the storage host, as
// _get_metadata_or_catch_error does.
func (c *Client) head(ctx context.Context, repo, revision, file string) (meta, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.resolveURL(repo, revision, file), nil)
	if err != nil {
		return meta{}, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	c.authorize(req)
	hc := *c.httpClient()
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.URL.Host != via[0].URL.Host || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		c.authorize(r)
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return meta{}, c.unreachable(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return meta{}, statusError(resp.StatusCode, resp.Header.Get("X-Error-Code"), repo, revision, file, c.Token != "")
	}
	h := resp.Header
	m := meta{commit: h.Get("X-Repo-Commit"), location: resp.Request.URL.String()}
	m.etag = NormalizeETag(h.Get("X-Linked-Etag"))
	if m.etag == "" {
		m.etag = NormalizeETag(h.Get("ETag"))
	}
	size := h.Get("X-Linked-Size")
	if size == "" {
		size = h.Get("Content-Length")
	}
	m.size = -1
	if n, err := strconv.ParseInt(size, 10, 64); err == nil && n >= 0 {
		m.size = n
	}
	if loc, err := resp.Location(); err == nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		m.location = loc.String()
	}
	switch {
	case !commitRe.MatchString(m.commit):
		return m, fmt.Errorf("%s/%s: the Hub's answer has no X-Repo-Commit header (is %s a Hugging Face Hub?)", repo, file, c.Endpoint)
	case m.etag == "" || strings.ContainsAny(m.etag, `/\`) || m.etag == "." || m.etag == "..":
		return m, fmt.Errorf("%s/%s: the Hub's answer has no usable ETag", repo, file)
	case m.size < 0:
		return m, fmt.Errorf("%s/%s: the Hub's answer gives no size", repo, file)
	}
	return m, nil
}

// Fetch makes files of repo at revision present in the cache and returns
// the snapshot folder holding them (Cache.SnapshotPath(repo, commit, "")).
// Files already cached cost no request unless Refresh is set; the others
// are checked against the free disk space, then downloaded Parallel at a
// time, each verified against its etag before it appears in the snapshot.
func (c *Client) Fetch(ctx context.Context, repo, revision string, files []string) (string, error) {
	for _, f := range files {
		if err := checkRepoFile(repo, f); err != nil {
			return "", err
		}
	}
	if revision == "" {
		revision = "main"
	}
	if !c.Refresh || c.Offline {
		if commit, ok := c.Cache.Commit(repo, revision); ok {
			var missing []string
			for _, f := range files {
				if _, ok := c.Cache.Lookup(repo, revision, f); !ok {
					missing = append(missing, f)
				}
			}
			if len(missing) == 0 {
				return c.Cache.SnapshotPath(repo, commit, ""), nil
			}
			if c.Offline {
				return "", offlineError(c.Cache.Dir, repo, revision, missing)
			}
		} else if c.Offline {
			return "", offlineError(c.Cache.Dir, repo, revision, files)
		}
	}

	// One HEAD pins the commit, so every file comes from the same one even
	// if the branch moves meanwhile.
	metas := make([]meta, len(files))
	commit := revision
	for i, f := range files {
		m, err := c.head(ctx, repo, commit, f)
		if err != nil {
			return "", err
		}
		if i == 0 {
			commit = m.commit
			if err := c.Cache.WriteRef(repo, revision, commit); err != nil {
				return "", fmt.Errorf("cache %s: %v", c.Cache.Dir, err)
			}
		}
		metas[i] = m
	}
	if err := c.checkSpace(repo, metas); err != nil {
		return "", err
	}

	par := c.Parallel
	if par <= 0 {
		par = 4
	}
	sem := make(chan struct{}, par)
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, errs[i] = c.fetchFile(ctx, repo, commit, f, metas[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	return c.Cache.SnapshotPath(repo, commit, ""), nil
}

// freeSpace is freeBytes; tests replace it to simulate a full disk.
var freeSpace = freeBytes

// checkSpace compares the bytes still to download with the free space of
// the cache's file system.
func (c *Client) checkSpace(repo string, metas []meta) error {
	var need int64
	seen := map[string]bool{}
	for _, m := range metas {
		blob := c.Cache.BlobPath(repo, m.etag)
		if seen[m.etag] || exists(blob) {
			continue
		}
		seen[m.etag] = true
		need += m.size
		if st, err := os.Stat(blob + ".incomplete"); err == nil && st.Size() <= m.size {
			need -= st.Size()
		}
	}
	if need == 0 {
		return nil
	}
	dir := c.Cache.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cache %s: %v", dir, err)
	}
	if free := freeSpace(dir); free >= 0 && free < need {
		return &hubError{ErrDiskFull, fmt.Sprintf("%s: %s to download but only %s free in %s (set HF_HUB_CACHE to a folder on a larger disk)", repo, formatSize(need), formatSize(free), dir)}
	}
	return nil
}

// fetchFile makes blob m.etag present and links file of commit to it. The
// writer holds the blob's lock file; a second process waits for it and
// then finds the blob complete.
func (c *Client) fetchFile(ctx context.Context, repo, commit, file string, m meta) (string, error) {
	if p := c.Cache.SnapshotPath(repo, commit, file); exists(p) {
		return p, nil
	}
	blob := c.Cache.BlobPath(repo, m.etag)
	if !exists(blob) {
		unlock, err := lockFile(ctx, c.Cache.LockPath(repo, m.etag))
		if err != nil {
			return "", fmt.Errorf("%s/%s: lock %s: %v", repo, file, c.Cache.LockPath(repo, m.etag), err)
		}
		defer unlock()
		if !exists(blob) { // another process may have finished it while we waited
			if err := c.download(ctx, repo, file, m, blob); err != nil {
				return "", err
			}
		}
	}
	return c.Cache.Link(repo, commit, file, m.etag)
}

// download writes the blob to blob.incomplete, resuming from its length,
// verifies it and renames it into place. A connection cut resumes with a
// Range request; a verification failure deletes the partial file and starts
// over; both within MaxAttempts.
func (c *Client) download(ctx context.Context, repo, file string, m meta, blob string) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return err
	}
	tmp := blob + ".incomplete"
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = 3
	}
	var err error
	for a := 0; a < attempts; a++ {
		if err = c.transfer(ctx, repo, file, m, tmp); err != nil {
			var he *hubError
			if errors.As(err, &he) || ctx.Err() != nil {
				return err // 401/404/…: a retry would get the same answer
			}
			continue // cut: resume from what was written
		}
		if verr := verifyFile(tmp, m.etag, m.size); verr != nil {
			os.Remove(tmp)
			err = &hubError{ErrCorrupt, fmt.Sprintf("%s/%s: corrupted download (%v); deleted it", repo, file, verr)}
			continue
		}
		if err := os.Chmod(tmp, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, blob)
	}
	return err
}

// transfer appends the missing bytes of the blob to tmp.
func (c *Client) transfer(ctx context.Context, repo, file string, m meta, tmp string) error {
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	have, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if have > m.size { // not this blob's prefix
		if err := out.Truncate(0); err != nil {
			return err
		}
		have, _ = out.Seek(0, io.SeekStart)
	}
	if have == m.size {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.location, nil)
	if err != nil {
		return err
	}
	c.authorize(req)
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return c.unreachable(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", have)) {
			return fmt.Errorf("%s/%s: the server answered range %q to a request from byte %d", repo, file, resp.Header.Get("Content-Range"), have)
		}
	case resp.StatusCode == http.StatusOK:
		if have > 0 { // the server ignored Range: start over
			if err := out.Truncate(0); err != nil {
				return err
			}
			if have, err = out.Seek(0, io.SeekStart); err != nil {
				return err
			}
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		out.Truncate(0)
		return fmt.Errorf("%s/%s: the server refused to resume at byte %d; starting over", repo, file, have)
	default:
		return statusError(resp.StatusCode, resp.Header.Get("X-Error-Code"), repo, "", file, c.Token != "")
	}
	var tr Tracker = nopTracker{}
	if c.Progress != nil {
		tr = c.Progress.Start(repo+"/"+file, m.size, have)
	}
	n, err := io.Copy(out, io.TeeReader(io.LimitReader(resp.Body, m.size-have), trackWriter{tr}))
	if err == nil && have+n != m.size {
		err = fmt.Errorf("%s/%s: connection closed after %d of %d bytes", repo, file, have+n, m.size)
	}
	if err != nil {
		tr.Done(false)
		if isNoSpace(err) {
			return &hubError{ErrDiskFull, fmt.Sprintf("%s/%s: disk full while writing %s: %v", repo, file, tmp, err)}
		}
		return err
	}
	tr.Done(true)
	return out.Sync()
}
