// Package hubtest is a Hugging Face Hub in the test process: two httptest
// servers, the Hub (model API and resolve URLs, with the headers the real
// one sends) and a storage host the Hub redirects LFS files to, serving
// byte ranges. Tests of the hub package and of gen download from it with
// HF_ENDPOINT pointing at Server.URL, and inspect what was requested.
//
// Behaviour modelled on the Hub's (as huggingface_hub reads it):
//
//	GET  /api/models/{owner}/{name}/revision/{rev}   {"id","sha","siblings":[{"rfilename","size","blobId","lfs":{"sha256","size"}}]}
//	HEAD /{owner}/{name}/resolve/{rev}/{path}        X-Repo-Commit; small files: 200, ETag "{git blob sha1}", Content-Length;
//	                                                 LFS files (*.safetensors): 302 to the storage host, X-Linked-Etag "{sha256}",
//	                                                 X-Linked-Size, ETag of the pointer file
//	GET  the same                                    the bytes, or the same redirect
//	401 + X-Error-Code: GatedRepo                    a gated repository without "Authorization: Bearer {Token}"
//	404 + X-Error-Code: RepoNotFound / RevisionNotFound / EntryNotFound
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the fake Hub and its storage host.
type Server struct {
	URL     string // the Hub's address, for HF_ENDPOINT
	Hub     *httptest.Server
	Storage *httptest.Server
	Token   string // the token gated repositories accept

	mu       sync.Mutex
	repos    map[string]*repo
	requests []string         // "METHOD host-kind path [Range]" of every request
	served   map[string]int64 // bytes of each file sent (repo/path)
	cut      map[string]int64 // repo/path → end the next transfer after this many bytes
	corrupt  map[string]int   // repo/path → send flipped bytes this many more times
	// Delay is slept after every 64 KiB sent by the storage host (slows a
	// transfer so two downloaders overlap).
	Delay time.Duration
}

type repo struct {
	commit string
	gated  bool
	files  map[string][]byte
}

// New starts a fake Hub, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{repos: map[string]*repo{}, served: map[string]int64{}, cut: map[string]int64{}, corrupt: map[string]int{}, Token: "hf_test_token"}
	s.Storage = httptest.NewServer(http.HandlerFunc(s.storage))
	s.Hub = httptest.NewServer(http.HandlerFunc(s.hub))
	s.URL = s.Hub.URL
	t.Cleanup(func() { s.Hub.Close(); s.Storage.Close() })
	return s
}

// AddRepo serves a repository whose files are the given repository paths
// and contents; the commit is a hash of them.
func (s *Server) AddRepo(id string, gated bool, files map[string][]byte) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha1.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%x\x00", n, sha256.Sum256(files[n]))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[id] = &repo{commit: hex.EncodeToString(h.Sum(nil)), gated: gated, files: files}
}

// ReadDir returns the files under dir as repository paths (prefix/rel) and
// contents, for AddRepo.
func ReadDir(t testing.TB, dir, prefix string, into map[string][]byte) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		into[strings.TrimPrefix(prefix+"/"+filepath.ToSlash(rel), "/")] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Commit returns the commit sha of a repository.
func (s *Server) Commit(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repos[id].commit
}

// Requests returns the requests made so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Served returns the bytes of repo/path sent so far.
func (s *Server) Served(repoPath string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[repoPath]
}

// CutAfter ends the next transfer of repo/path after n bytes (the
// connection is closed mid-body).
func (s *Server) CutAfter(repoPath string, n int64) {
	s.mu.Lock()
	s.cut[repoPath] = n
	s.mu.Unlock()
}

// Corrupt makes the next times transfers of repo/path send wrong bytes.
func (s *Server) Corrupt(repoPath string, times int) {
	s.mu.Lock()
	s.corrupt[repoPath] = times
	s.mu.Unlock()
}

// IsLFS reports whether a file is served as an LFS file (redirect to the
// storage host, sha256 etag): weights, as on the real Hub.
func IsLFS(path string) bool { return strings.HasSuffix(path, ".safetensors") }

// GitBlobSHA1 is git's object id of a blob: sha1("blob {len}\x00" + data).
func GitBlobSHA1(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256 is the hex sha256 of data (an LFS file's etag).
func SHA256(data []byte) string { s := sha256.Sum256(data); return hex.EncodeToString(s[:]) }

func (s *Server) log(kind string, r *http.Request) {
	line := r.Method + " " + kind + " " + r.URL.Path
	if rg := r.Header.Get("Range"); rg != "" {
		line += " " + rg
	}
	s.mu.Lock()
	s.requests = append(s.requests, line)
	s.mu.Unlock()
}

// find parses owner/name and the rest of a path after a marker.
func (s *Server) find(w http.ResponseWriter, r *http.Request, id, rev string) (*repo, bool) {
	s.mu.Lock()
	rp := s.repos[id]
	s.mu.Unlock()
	switch {
	case rp == nil:
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "Repository not found", http.StatusUnauthorized) // the Hub answers 401 to hide private repositories
		return nil, false
	case rp.gated && r.Header.Get("Authorization") != "Bearer "+s.Token:
		w.Header().Set("X-Error-Code", "GatedRepo")
		http.Error(w, "Access to model "+id+" is restricted", http.StatusUnauthorized)
		return nil, false
	case rev != "main" && rev != rp.commit:
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "Invalid rev id: "+rev, http.StatusNotFound)
		return nil, false
	}
	return rp, true
}

func (s *Server) hub(w http.ResponseWriter, r *http.Request) {
	s.log("hub", r)
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
	if len(parts) >= 5 && parts[0] == "api" && parts[1] == "models" {
		// /api/models/owner/name/revision/rev
		rest := strings.SplitN(parts[4], "/", 2)
		if len(rest) != 2 || rest[0] != "revision" {
			http.NotFound(w, r)
			return
		}
		s.api(w, r, parts[2]+"/"+parts[3], rest[1])
		return
	}
	// /owner/name/resolve/rev/path
	if len(parts) < 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	id, rev, file := parts[0]+"/"+parts[1], parts[3], parts[4]
	rp, ok := s.find(w, r, id, rev)
	if !ok {
		return
	}
	data, ok := rp.files[file]
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("X-Repo-Commit", rp.commit)
	if IsLFS(file) {
		pointer := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", SHA256(data), len(data))
		h.Set("ETag", `"`+GitBlobSHA1([]byte(pointer))+`"`)
		h.Set("X-Linked-Etag", `"`+SHA256(data)+`"`)
		h.Set("X-Linked-Size", strconv.Itoa(len(data)))
		h.Set("Location", s.Storage.URL+"/repos/"+id+"/"+SHA256(data)+"?file="+file)
		w.WriteHeader(http.StatusFound)
		return
	}
	h.Set("ETag", `W/"`+GitBlobSHA1(data)+`"`)
	s.send(w, r, id+"/"+file, data)
}

func (s *Server) api(w http.ResponseWriter, r *http.Request, id, rev string) {
	rp, ok := s.find(w, r, id, rev)
	if !ok {
		return
	}
	type lfs struct {
		SHA256 string `json:"sha256"`
		Size   int    `json:"size"`
	}
	type sibling struct {
		RFilename string `json:"rfilename"`
		Size      int    `json:"size"`
		BlobID    string `json:"blobId"`
		LFS       *lfs   `json:"lfs,omitempty"`
	}
	var sib []sibling
	for name, data := range rp.files {
		sb := sibling{RFilename: name, Size: len(data), BlobID: GitBlobSHA1(data)}
		if IsLFS(name) {
			sb.LFS = &lfs{SHA256(data), len(data)}
		}
		sib = append(sib, sb)
	}
	sort.Slice(sib, func(i, j int) bool { return sib[i].RFilename < sib[j].RFilename })
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": id, "sha": rp.commit, "siblings": sib})
}

func (s *Server) storage(w http.ResponseWriter, r *http.Request) {
	s.log("storage", r)
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "the storage host must not receive the Hub token", http.StatusBadRequest)
		return
	}
	// /repos/owner/name/sha256?file=path
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/repos/"), "/")
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	id, file := parts[0]+"/"+parts[1], r.URL.Query().Get("file")
	s.mu.Lock()
	rp := s.repos[id]
	s.mu.Unlock()
	if rp == nil || SHA256(rp.files[file]) != parts[2] {
		http.NotFound(w, r)
		return
	}
	s.send(w, r, id+"/"+file, rp.files[file])
}

// send serves data with Range support, counting the bytes and applying the
// injected faults.
func (s *Server) send(w http.ResponseWriter, r *http.Request, key string, data []byte) {
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		return
	}
	s.mu.Lock()
	cut, hasCut := s.cut[key]
	delete(s.cut, key)
	bad := s.corrupt[key] > 0
	if bad {
		s.corrupt[key]--
	}
	s.mu.Unlock()
	if bad {
		data = append([]byte(nil), data...)
		for i := range data {
			if i%4096 == 7 {
				data[i] ^= 0x5a
			}
		}
	}
	cw := &countWriter{ResponseWriter: w, s: s, key: key, limit: -1}
	if hasCut {
		cw.limit = cut
	}
	http.ServeContent(cw, r, "", time.Time{}, bytes.NewReader(data))
}

// countWriter counts body bytes, sleeps Delay per 64 KiB and aborts the
// connection after limit bytes (when ≥ 0).
type countWriter struct {
	http.ResponseWriter
	s     *Server
	key   string
	n     int64
	limit int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > 64<<10 {
			chunk = chunk[:64<<10]
		}
		if c.limit >= 0 && c.n+int64(len(chunk)) > c.limit {
			chunk = chunk[:c.limit-c.n]
		}
		k, err := c.ResponseWriter.Write(chunk)
		c.n += int64(k)
		written += k
		c.s.mu.Lock()
		c.s.served[c.key] += int64(k)
		c.s.mu.Unlock()
		if err != nil {
			return written, err
		}
		if c.limit >= 0 && c.n >= c.limit {
			c.ResponseWriter.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // close the connection mid-body
		}
		p = p[len(chunk):]
		if c.s.Delay > 0 {
			time.Sleep(c.s.Delay)
		}
	}
	return written, nil
}
