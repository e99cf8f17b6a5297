package server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/godiffusion/godiffusion/internal/pngmeta"
	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
)

// TestOpenAISDK drives /v1/images/generations with the official OpenAI Go
// client, only its base URL changed (and the server's API key as the
// OpenAI key).
func TestOpenAISDK(t *testing.T) {
	h := newHarness(t, harnessOpts{workers: 2, apiKey: "sk-local"})
	client := openai.NewClient(option.WithBaseURL(h.http.URL+"/v1/"), option.WithAPIKey("sk-local"), option.WithMaxRetries(0))
	resp, err := client.Images.Generate(t.Context(), openai.ImageGenerateParams{
		Prompt:         "a lighthouse",
		N:              openai.Int(2),
		Size:           "16x8",
		Model:          openai.ImageModelDallE2,
		ResponseFormat: openai.ImageGenerateParamsResponseFormatB64JSON,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 2 || resp.Created == 0 {
		t.Fatalf("%d images, created %d", len(resp.Data), resp.Created)
	}
	var seeds []string
	for i, d := range resp.Data {
		png, err := base64.StdEncoding.DecodeString(d.B64JSON)
		if err != nil {
			t.Fatal(err)
		}
		text, err := pngmeta.ReadText(bytes.NewReader(png))
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		p := text["parameters"]
		if !bytes.Contains([]byte(p), []byte("a lighthouse\nSteps: 20, Sampler: Euler")) || !bytes.Contains([]byte(p), []byte("Size: 16x8, Model: a.safetensors")) {
			t.Errorf("image %d parameters %q", i, p)
		}
		seeds = append(seeds, p)
	}
	if seeds[0] == seeds[1] {
		t.Error("both images have the same seed")
	}

	// Errors come back as the SDK's API errors with the status.
	_, err = client.Images.Generate(t.Context(), openai.ImageGenerateParams{Prompt: "x", Size: "7x7"})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 422 {
		t.Errorf("bad size: %v", err)
	}
	bad := openai.NewClient(option.WithBaseURL(h.http.URL+"/v1/"), option.WithAPIKey("wrong"), option.WithMaxRetries(0))
	_, err = bad.Images.Generate(t.Context(), openai.ImageGenerateParams{Prompt: "x"})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("wrong key: %v", err)
	}
}
