package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"
)

func sortStrings(s []string) { sort.Strings(s) }

// JobStatus is the response of GET /jobs/{id}.
type JobStatus struct {
	ID         string   `json:"id"`
	State      string   `json:"state"`
	Progress   float64  `json:"progress"`
	ETASeconds float64  `json:"eta_seconds"`
	Error      string   `json:"error"`
	Images     []string `json:"images"` // base64 PNGs, once done
	Step       int      `json:"step"`
	Steps      int      `json:"steps"`
	Image      int      `json:"image"`
	Worker     string   `json:"worker,omitempty"`
}

func status(j *Job) JobStatus {
	return JobStatus{ID: j.ID, State: j.State, Progress: j.Progress(), ETASeconds: j.ETA(time.Now()), Error: j.Error,
		Images: []string{}, Step: j.Step, Steps: j.Steps, Image: j.Image, Worker: j.Worker}
}

// postJob is POST /jobs: the body of /sdapi/v1/txt2img (or, with
// init_images, of img2img); it answers 202 {"id"} at once.
func (s *Server) postJob(w http.ResponseWriter, r *http.Request) {
	var req A1111Request
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	spec, init, _, err := s.spec(r.Context(), &req, len(req.InitImages) > 0)
	if err != nil {
		s.fail(w, err)
		return
	}
	id := NewID()
	if _, err := s.Store.Submit(r.Context(), id, spec, init); err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/jobs/"+id)
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]string{"id": id})
}

// getJob is GET /jobs/{id}.
func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	job, err := s.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	st := status(job)
	if job.State == StateDone || job.State == StateCancelled {
		images, err := s.Store.Images(r.Context(), job)
		if err != nil {
			s.fail(w, err)
			return
		}
		for _, png := range images {
			st.Images = append(st.Images, base64.StdEncoding.EncodeToString(png))
		}
	}
	writeJSON(w, st)
}

// deleteJob is DELETE /jobs/{id}: it cancels the job (a finished job is
// left as it is) and returns its status.
func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	job, err := s.Store.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, status(job))
}

// jobEvents is GET /jobs/{id}/events: Server-Sent Events, one "progress"
// event with the JobStatus (without images) at every change, ending with
// the terminal state's event.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.Store.Get(r.Context(), id); err != nil {
		s.fail(w, err)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, fmt.Errorf("streaming is not supported by this connection"))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	s.Store.Watch(r.Context(), id, func(j *Job) bool {
		data, _ := json.Marshal(status(j))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", j.State, data); err != nil {
			return false
		}
		fl.Flush()
		return true
	})
}
