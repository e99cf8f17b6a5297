// Package hub downloads models by name from the Hugging Face Hub into the
// cache the Python tools share, so that `gen -m sd15` needs nothing else.
//
// It speaks the Hub's plain HTTP protocol the way huggingface_hub's
// hf_hub_download does (file_download.py):
//
//   - GET  {endpoint}/api/models/{repo}/revision/{rev}?blobs=true: the commit
//     sha and the file list (rfilename, size, lfs.sha256) of a revision;
//   - HEAD {endpoint}/{repo}/resolve/{rev}/{path}, redirects not followed to
//     another host: X-Repo-Commit (the commit the revision points to),
//     X-Linked-Etag or ETag (the blob's id: the sha256 of an LFS file, the git
//     blob sha1 of a small one), X-Linked-Size or Content-Length, and
//     Location when the bytes live on the storage host;
//   - GET of that location, with "Range: bytes=N-" to resume a partial file.
//
// An "Authorization: Bearer $HF_TOKEN" header goes to the Hub only, never to
// the storage host. 401/403 (a gated repository, no or wrong token) and 404
// (named by the Hub's X-Error-Code: RepoNotFound, RevisionNotFound,
// EntryNotFound) become one-line errors that say what to do.
//
// The cache is huggingface_hub's layout, byte for byte (see Cache), under
// $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub, so a file
// downloaded by either tool is used by the other without a second download.
// A blob is written as blobs/{etag}.incomplete, resumed from its length after
// an interrupted run, checked against its etag (sha256 for LFS files, the
// git blob hash for the others) and only then renamed into place; a
// mismatch deletes it and downloads once more. Writers of one blob serialise
// on .locks/models--{owner}--{name}/{etag}.lock with flock(2), the lock the
// Python client's filelock takes, so two processes (of either tool) never
// write the same file at once.
//
// Registry (registry.go) names the well-known models (sd15, sdxl, …) with
// the exact files each family needs and the settings their model cards
// recommend.
package hub
