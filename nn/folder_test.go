package nn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestComponentFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ComponentFiles(dir, ""); err == nil || !strings.Contains(err.Error(), "model.safetensors") {
		t.Errorf("empty folder: %v", err)
	}
	write("model.safetensors.index.json", `{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}`)
	write("model-00001-of-00002.safetensors", "")
	if _, err := ComponentFiles(dir, ""); err == nil || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") {
		t.Errorf("missing shard: %v", err)
	}
	write("model-00002-of-00002.safetensors", "")
	files, err := ComponentFiles(dir, "")
	if err != nil || len(files) != 2 || filepath.Base(files[1]) != "model-00002-of-00002.safetensors" {
		t.Errorf("shards: %v %v", files, err)
	}
	write("model.safetensors.index.json", `{"weight_map": {"a": "../x.safetensors"}}`)
	if _, err := ComponentFiles(dir, ""); err == nil {
		t.Error("shard outside the folder: no error")
	}
	write("diffusion_pytorch_model.fp16.safetensors", "")
	if files, err := ComponentFiles(dir, "fp16"); err != nil || filepath.Base(files[0]) != "diffusion_pytorch_model.fp16.safetensors" {
		t.Errorf("fp16 variant: %v %v", files, err)
	}
}
