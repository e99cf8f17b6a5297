package server

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// openaiRequest is the body of POST /v1/images/generations (the OpenAI
// images API, field names as in openai-go's ImageGenerateParams). Quality,
// style, user and the other fields are accepted and ignored.
type openaiRequest struct {
	Prompt         string `json:"prompt"`
	N              *int   `json:"n"`
	Size           string `json:"size"`
	ResponseFormat string `json:"response_format"`
	Model          string `json:"model"`
}

// openaiGenerate is POST /v1/images/generations: n images of the prompt
// with the server's default sampler settings (A1111's: Euler, 20 steps —
// OpenAI has no steps field — cfg 7), returned as b64_json.
func (s *Server) openaiGenerate(w http.ResponseWriter, r *http.Request) {
	var req openaiRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if strings.TrimSpace(req.Prompt) == "" {
		s.fail(w, badField("prompt", "missing"))
		return
	}
	n := 1
	if req.N != nil {
		n = *req.N
	}
	if n < 1 || n > s.Limits.MaxImages {
		s.fail(w, badField("n", "%d: must be between 1 and %d", n, s.Limits.MaxImages))
		return
	}
	switch req.ResponseFormat {
	case "", "b64_json":
	default:
		s.fail(w, badField("response_format", "%q: only b64_json is served (images are not hosted at URLs)", req.ResponseFormat))
		return
	}
	width, height := a1111Side, a1111Side
	if req.Size != "" && req.Size != "auto" {
		ws, hs, ok := strings.Cut(req.Size, "x")
		var err1, err2 error
		width, err1 = strconv.Atoi(ws)
		height, err2 = strconv.Atoi(hs)
		if !ok || err1 != nil || err2 != nil {
			s.fail(w, badField("size", "%q: expected WIDTHxHEIGHT such as 512x512, or auto", req.Size))
			return
		}
	}
	if err := s.checkSize("size", "size", width, height); err != nil {
		s.fail(w, err)
		return
	}
	// OpenAI's own model names mean "the server's model".
	model := req.Model
	if strings.HasPrefix(model, "dall-e") || strings.HasPrefix(model, "gpt-image") {
		model = ""
	}
	m, err := s.model(r.Context(), "model", model)
	if err != nil {
		s.fail(w, err)
		return
	}
	spec := JobSpec{Prompt: req.Prompt, Seed: randomSeed(), Steps: 20, CFG: a1111CFG, Sampler: "euler", Scheduler: "normal",
		Width: width, Height: height, BatchSize: n, NIter: 1, Model: m}
	job, images, err := s.run(r, spec, nil)
	if err != nil {
		s.fail(w, err)
		return
	}
	if job.State != StateDone {
		s.fail(w, &httpError{http.StatusInternalServerError, "generation " + job.State, fmt.Sprintf("job %s was %s", job.ID, job.State)})
		return
	}
	data := make([]map[string]any, len(images))
	for i, png := range images {
		data[i] = map[string]any{"b64_json": base64.StdEncoding.EncodeToString(png), "revised_prompt": req.Prompt}
	}
	writeJSON(w, map[string]any{"created": time.Now().Unix(), "data": data})
}
