package server

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Models is the registry of models clients may name: the checkpoints in a
// folder (*.safetensors files and diffusers folders, i.e. folders with a
// model_index.json) and models registered by path on the command line.
// A client's name is looked up among these entries and never joined to a
// path, so no name reaches a file outside the folder.
type Models struct {
	Dir   string            // the models folder ("" for none)
	Extra map[string]string // title → path, e.g. gen serve --model PATH
}

// ModelInfo is one entry of the registry, with A1111's names:
// Title is the file name ("v1-5-pruned-emaonly.safetensors"), Name the file
// name without extension (A1111's model_name).
type ModelInfo struct {
	Title, Name, Path string
}

// List returns the registry's entries sorted by title.
func (m *Models) List() []ModelInfo {
	var out []ModelInfo
	seen := map[string]bool{}
	add := func(title, path string) {
		if seen[title] {
			return
		}
		seen[title] = true
		out = append(out, ModelInfo{Title: title, Name: strings.TrimSuffix(title, filepath.Ext(title)), Path: path})
	}
	for title, path := range m.Extra {
		add(title, path)
	}
	if m != nil && m.Dir != "" {
		entries, _ := os.ReadDir(m.Dir)
		for _, e := range entries {
			p := filepath.Join(m.Dir, e.Name())
			switch {
			case strings.HasPrefix(e.Name(), "."):
			case e.Type().IsRegular() && strings.HasSuffix(strings.ToLower(e.Name()), ".safetensors"):
				add(e.Name(), p)
			case e.IsDir():
				if _, err := os.Stat(filepath.Join(p, "model_index.json")); err == nil {
					add(e.Name(), p)
				}
			}
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Title < out[b].Title })
	return out
}

// Empty reports whether the registry has no entry (a server without a
// models folder then passes names on to the workers unchecked).
func (m *Models) Empty() bool { return m == nil || len(m.List()) == 0 }

// Resolve finds the entry a client's name means: its title, its name
// without extension, or A1111's "title [hash]".
func (m *Models) Resolve(name string) (ModelInfo, error) {
	n := strings.TrimSpace(name)
	if i := strings.LastIndex(n, " ["); i > 0 && strings.HasSuffix(n, "]") {
		n = n[:i]
	}
	if n == "" {
		return ModelInfo{}, fmt.Errorf("no model named")
	}
	if strings.ContainsAny(n, `/\`) || strings.Contains(n, "..") {
		return ModelInfo{}, fmt.Errorf("model %q: names are those of /sdapi/v1/sd-models, not paths (nothing outside the models folder is served)", name)
	}
	list := m.List()
	for _, mi := range list {
		if mi.Title == n || mi.Name == n {
			return mi, nil
		}
	}
	var titles []string
	for _, mi := range list {
		titles = append(titles, mi.Title)
	}
	return ModelInfo{}, fmt.Errorf("model %q is not in the models folder (have: %s)", name, strings.Join(titles, ", "))
}
