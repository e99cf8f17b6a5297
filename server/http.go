package server

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Limits bound what one request may ask for. Zero values take the
// defaults.
type Limits struct {
	MaxBody   int64 // request body bytes (default 32 MiB: a few base64 init images)
	MaxSide   int   // image width or height in pixels (default 2048)
	MaxPixels int   // width·height (default 2048·2048)
	MaxSteps  int   // sampling steps (default 150, A1111's slider maximum)
	MaxImages int   // images per request, batch_size·n_iter or n (default 16)
}

func (l *Limits) defaults() {
	if l.MaxBody <= 0 {
		l.MaxBody = 32 << 20
	}
	if l.MaxSide <= 0 {
		l.MaxSide = 2048
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = 2048 * 2048
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = 150
	}
	if l.MaxImages <= 0 {
		l.MaxImages = 16
	}
}

// Server is the HTTP API in front of a Store.
type Server struct {
	Store *Store
	// Models are the names clients may ask for; when empty (a server
	// that only enqueues), names go to the workers unchecked.
	Models *Models
	// DefaultModel is the model of a request that names none, until
	// POST /sdapi/v1/options sets sd_model_checkpoint.
	DefaultModel string
	// APIKey, when set, is required of every request: "Authorization:
	// Bearer KEY", or Basic credentials "user:pass" equal to KEY (A1111's
	// --api-auth) or whose password is KEY.
	APIKey string
	Limits Limits
	Log    *slog.Logger
}

// CheckListen refuses an address other than loopback without an API key:
// a server reachable from the network must not be open to anyone.
func CheckListen(addr, apiKey string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %v", addr, err)
	}
	if apiKey != "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %s: listening beyond 127.0.0.1 needs --api-key (clients send it as a bearer token)", addr)
}

// Handler returns the server's routes with authentication, body limits and
// panic recovery around them.
func (s *Server) Handler() http.Handler {
	s.Limits.defaults()
	if s.Log == nil {
		s.Log = slog.Default()
	}
	mux := http.NewServeMux()
	route := func(path string, methods map[string]http.HandlerFunc) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			h, ok := methods[r.Method]
			if !ok {
				var allow []string
				for m := range methods {
					allow = append(allow, m)
				}
				w.Header().Set("Allow", strings.Join(allow, ", "))
				writeError(w, http.StatusMethodNotAllowed, "method not allowed", fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
				return
			}
			h(w, r)
		})
	}
	route("/sdapi/v1/txt2img", map[string]http.HandlerFunc{"POST": s.txt2img})
	route("/sdapi/v1/img2img", map[string]http.HandlerFunc{"POST": s.img2img})
	route("/sdapi/v1/progress", map[string]http.HandlerFunc{"GET": s.progress})
	route("/sdapi/v1/interrupt", map[string]http.HandlerFunc{"POST": s.interrupt})
	route("/sdapi/v1/sd-models", map[string]http.HandlerFunc{"GET": s.sdModels})
	route("/sdapi/v1/samplers", map[string]http.HandlerFunc{"GET": s.samplers})
	route("/sdapi/v1/schedulers", map[string]http.HandlerFunc{"GET": s.schedulers})
	route("/sdapi/v1/options", map[string]http.HandlerFunc{"GET": s.getOptions, "POST": s.setOptions})
	route("/sdapi/v1/png-info", map[string]http.HandlerFunc{"POST": s.pngInfo})
	route("/v1/images/generations", map[string]http.HandlerFunc{"POST": s.openaiGenerate})
	route("/jobs", map[string]http.HandlerFunc{"POST": s.postJob})
	route("/jobs/{id}", map[string]http.HandlerFunc{"GET": s.getJob, "DELETE": s.deleteJob})
	route("/jobs/{id}/events", map[string]http.HandlerFunc{"GET": s.jobEvents})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found", fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return s.recoverPanics(s.authenticate(s.limitBody(mux)))
}

// recoverPanics turns a handler's panic into a 500 JSON error: no panic
// reaches a client as a dropped connection, and the server stays up.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("handler panic", "path", r.URL.Path, "panic", v)
				writeError(w, http.StatusInternalServerError, "internal error", fmt.Sprint(v))
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// authenticate checks the API key (constant-time) when one is set.
func (s *Server) authenticate(h http.Handler) http.Handler {
	if s.APIKey == "" {
		return h
	}
	key := []byte(s.APIKey)
	eq := func(a string) bool { return subtle.ConstantTimeCompare([]byte(a), key) == 1 }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		ok := false
		switch {
		case auth == "":
		case strings.HasPrefix(auth, "Bearer "):
			ok = eq(strings.TrimPrefix(auth, "Bearer "))
		case strings.HasPrefix(auth, "Basic "):
			if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic ")); err == nil {
				_, pass, _ := strings.Cut(string(b), ":")
				ok = eq(string(b)) || eq(pass)
			}
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gen", Basic realm="gen"`)
			detail := "missing Authorization header: send the API key as \"Authorization: Bearer KEY\""
			if auth != "" {
				detail = "Authorization: wrong API key"
			}
			writeError(w, http.StatusUnauthorized, "unauthorized", detail)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// limitBody caps the request body at Limits.MaxBody.
func (s *Server) limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.Limits.MaxBody)
		h.ServeHTTP(w, r)
	})
}

// httpError is an error with its status code and the JSON "error" word.
type httpError struct {
	Status int
	Kind   string
	Detail string
}

func (e *httpError) Error() string { return e.Detail }

// badRequest is a 422 naming the field (FastAPI's status for a request
// that parses but does not validate, as A1111 answers).
func badField(field, format string, a ...any) error {
	return &httpError{http.StatusUnprocessableEntity, "invalid request", field + ": " + fmt.Sprintf(format, a...)}
}

// writeError writes {"error": kind, "detail": detail} with status.
func writeError(w http.ResponseWriter, status int, kind, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": kind, "detail": detail})
}

// fail writes err as JSON with the right status: an httpError's own,
// 503 with Retry-After for a full queue, 404 for an unknown job, 413 for
// a body over the limit, else 500.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		writeError(w, he.Status, he.Kind, he.Detail)
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "request too large", fmt.Sprintf("request body: more than %d bytes", mbe.Limit))
	case errors.Is(err, ErrQueueFull):
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusServiceUnavailable, "queue full", fmt.Sprintf("%v (%d jobs); retry later", err, s.Store.Config.QueueLimit))
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not found", err.Error())
	case errors.Is(err, context.Canceled):
		writeError(w, 499, "cancelled", err.Error())
	default:
		s.Log.Error("request failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error", err.Error())
	}
}

// writeJSON writes v as JSON with status 200.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// decodeJSON reads the body into v; malformed JSON or a field of the wrong
// type is a 400 naming the field or the offset.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.As(err, &te):
			return &httpError{http.StatusBadRequest, "malformed JSON", fmt.Sprintf("%s: expected %s, found a JSON %s", te.Field, te.Type, te.Value)}
		case errors.As(err, &se):
			return &httpError{http.StatusBadRequest, "malformed JSON", fmt.Sprintf("request body: %v (at byte %d)", se, se.Offset)}
		default:
			return &httpError{http.StatusBadRequest, "malformed JSON", "request body: " + err.Error()}
		}
	}
	return nil
}

// wait follows a job until it ends. When the client goes away first
// (ctx done) the job is cancelled, so its worker moves on.
func (s *Server) wait(ctx context.Context, id string) (*Job, error) {
	var last *Job
	err := s.Store.Watch(ctx, id, func(j *Job) bool { last = j; return true })
	if ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		s.Store.Cancel(cctx, id)
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return last, nil
}
