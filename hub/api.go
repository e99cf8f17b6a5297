package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// RepoInfo is the part of the Hub's model API answer
// (GET /api/models/{repo}/revision/{rev}?blobs=true) this package reads.
type RepoInfo struct {
	ID       string    `json:"id"`
	SHA      string    `json:"sha"` // the commit the revision points to
	Gated    any       `json:"gated"`
	Siblings []Sibling `json:"siblings"`
}

// Sibling is one file of a revision. Size and LFS are present with
// ?blobs=true.
type Sibling struct {
	RFilename string `json:"rfilename"`
	Size      int64  `json:"size"`
	BlobID    string `json:"blobId"`
	LFS       *struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"lfs,omitempty"`
}

// Files returns the repository paths of info's files.
func (info *RepoInfo) Files() []string {
	out := make([]string, len(info.Siblings))
	for i, s := range info.Siblings {
		out[i] = s.RFilename
	}
	return out
}

// escapePath escapes each segment of a slash-separated path (Python's
// quote(path) with "/" safe).
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// resolveURL is {endpoint}/{repo}/resolve/{revision}/{file}, the revision
// escaped whole (quote(revision, safe="")) as hf_hub_url does.
func (c *Client) resolveURL(repo, revision, file string) string {
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.Endpoint, repo, url.PathEscape(revision), escapePath(file))
}

// Info asks the Hub for the commit and file list of repo at revision
// (huggingface_hub's HfApi.model_info with files_metadata=True).
func (c *Client) Info(ctx context.Context, repo, revision string) (*RepoInfo, error) {
	if err := checkRepoFile(repo, ""); err != nil {
		return nil, err
	}
	if c.Offline {
		return nil, &hubError{ErrOffline, fmt.Sprintf("HF_HUB_OFFLINE is set: cannot list the files of %s (revision %s); unset it or download the model once", repo, revision)}
	}
	u := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", c.Endpoint, repo, url.PathEscape(revision))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	c.authorize(req)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp.StatusCode, resp.Header.Get("X-Error-Code"), repo, revision, "", c.Token != "")
	}
	var info RepoInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return nil, fmt.Errorf("%s: the Hub's file list is not valid JSON: %v", repo, err)
	}
	if !commitRe.MatchString(info.SHA) {
		return nil, fmt.Errorf("%s: the Hub's answer has no commit sha for revision %s", repo, revision)
	}
	return &info, nil
}
