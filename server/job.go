package server

import (
	"fmt"
	"time"
)

// JobSpec is one generation job as it travels on the queue: everything a
// worker needs, with every default and the random seed already resolved so
// that a redelivered job renders the same images.
type JobSpec struct {
	Prompt    string  `json:"prompt"`
	Negative  string  `json:"negative_prompt"`
	Seed      uint64  `json:"seed"` // the first image's seed; image i uses Seed+i
	Steps     int     `json:"steps"`
	CFG       float64 `json:"cfg_scale"`
	Sampler   string  `json:"sampler"`   // ComfyUI name (euler, euler_ancestral, ...)
	Scheduler string  `json:"scheduler"` // ComfyUI name (normal, karras, ...)
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	ClipSkip  int     `json:"clip_skip,omitempty"`
	BatchSize int     `json:"batch_size"` // A1111 batch_size; images = BatchSize·NIter
	NIter     int     `json:"n_iter"`
	Model     string  `json:"model"` // a name from the worker's model registry
	// Denoise is img2img's denoising strength; InitImage names the input
	// image in the object store ("" for txt2img).
	Denoise   float64 `json:"denoising_strength,omitempty"`
	InitImage string  `json:"init_image,omitempty"`
}

// Images is the number of images the job renders.
func (s JobSpec) Images() int { return s.BatchSize * s.NIter }

// Job states.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateDone      = "done"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Terminal reports whether a job in this state will not change again.
func Terminal(state string) bool {
	return state == StateDone || state == StateFailed || state == StateCancelled
}

// Job is a job's record in the KV bucket: its spec and where it stands.
// Workers update it at every sampling step.
type Job struct {
	ID    string  `json:"id"`
	State string  `json:"state"`
	Spec  JobSpec `json:"spec"`
	Error string  `json:"error,omitempty"`

	Image int `json:"image"` // index of the image being rendered (images done when state is done)
	Step  int `json:"step"`  // sampling steps done of this image
	Steps int `json:"steps"` // sampling steps of this image (0 before the first step)

	Worker   string    `json:"worker,omitempty"`
	Attempts int       `json:"attempts"` // deliveries to workers
	Created  time.Time `json:"created"`
	Started  time.Time `json:"started,omitzero"`
	Updated  time.Time `json:"updated"`
}

// Progress is the fraction of the job done, 0..1: images done plus the
// current image's steps.
func (j *Job) Progress() float64 {
	n := j.Spec.Images()
	switch {
	case j.State == StateDone:
		return 1
	case n == 0:
		return 0
	}
	p := float64(j.Image)
	if j.Steps > 0 {
		p += float64(j.Step) / float64(j.Steps)
	}
	return min(p/float64(n), 1)
}

// ETA estimates the seconds left from the time spent so far (A1111's
// eta_relative): elapsed/progress − elapsed; 0 before any progress.
func (j *Job) ETA(now time.Time) float64 {
	p := j.Progress()
	if j.State != StateRunning || p <= 0 || j.Started.IsZero() {
		return 0
	}
	el := now.Sub(j.Started).Seconds()
	return max(el/p-el, 0)
}

// imageName is the object store name of image i of job id.
func imageName(id string, i int) string { return fmt.Sprintf("%s/%d.png", id, i) }

// initName is the object store name of job id's img2img input.
func initName(id string) string { return id + "/init" }
