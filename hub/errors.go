package hub

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds a caller may test with errors.Is.
var (
	ErrGated    = errors.New("access denied (gated or private repository)")
	ErrNotFound = errors.New("not found on the Hub")
	ErrOffline  = errors.New("not in the cache and offline")
	ErrDiskFull = errors.New("not enough free disk space")
	ErrCorrupt  = errors.New("corrupted download")
)

// hubError is one failed request, worded for a one-line message.
type hubError struct {
	kind error
	msg  string
}

func (e *hubError) Error() string { return e.msg }
func (e *hubError) Unwrap() error { return e.kind }

// statusError turns a 401/403/404 answer into a one-line error naming the
// repository and file and saying what to do. code is the Hub's X-Error-Code
// header (GatedRepo, RepoNotFound, RevisionNotFound, EntryNotFound).
func statusError(status int, code, repo, revision, file string, haveToken bool) error {
	switch {
	case code == "RepoNotFound":
		return &hubError{ErrNotFound, fmt.Sprintf("%s: repository not found on the Hub (HTTP %d; check the name, or set HF_TOKEN if it is private)", repo, status)}
	case status == 401 || status == 403 || code == "GatedRepo":
		how := "set HF_TOKEN to an access token (https://huggingface.co/settings/tokens)"
		if haveToken {
			how = "check that the token in HF_TOKEN is valid and that its account accepted the licence"
		}
		return &hubError{ErrGated, fmt.Sprintf("%s: access denied (HTTP %d): the repository is gated or private; accept its licence at https://huggingface.co/%s while logged in, then %s", repo, status, repo, how)}
	case code == "RevisionNotFound":
		return &hubError{ErrNotFound, fmt.Sprintf("%s: revision %q not found (HTTP %d)", repo, revision, status)}
	case status == 404 && file != "":
		return &hubError{ErrNotFound, fmt.Sprintf("%s: file %q not found at revision %s (HTTP 404)", repo, file, revision)}
	case status == 404:
		return &hubError{ErrNotFound, fmt.Sprintf("%s: not found on the Hub at revision %s (HTTP 404)", repo, revision)}
	}
	what := repo
	if file != "" {
		what += "/" + file
	}
	return fmt.Errorf("%s: the Hub answered HTTP %d", what, status)
}

// offlineError says that a file is not in the cache while offline.
func offlineError(cacheDir, repo, revision string, missing []string) error {
	return &hubError{ErrOffline, fmt.Sprintf("HF_HUB_OFFLINE is set and %s (revision %s) is not complete in the cache %s: missing %s; unset HF_HUB_OFFLINE to download it",
		repo, revision, cacheDir, strings.Join(missing, ", "))}
}

// isGated reports whether err is a 401/403 answer.
func isGated(err error) bool { return errors.Is(err, ErrGated) }
