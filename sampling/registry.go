package sampling

import (
	"fmt"
	"sort"
	"strings"
)

// registryNames lists the keys of table and of aliases, sorted: every name
// a user may type.
func registryNames[T any](table map[string]T, aliases map[string]string) []string {
	names := make([]string, 0, len(table)+len(aliases))
	for k := range table {
		names = append(names, k)
	}
	for k := range aliases {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// registryLookup resolves name (case-insensitive, possibly an alias) to its
// canonical key and entry in table, or returns an error that names the
// input and lists every valid name. kind ("sampler", "scheduler") is for the
// message.
func registryLookup[T any](kind string, table map[string]T, aliases map[string]string, name string) (string, T, error) {
	key := strings.ToLower(name)
	if a, ok := aliases[key]; ok {
		key = a
	}
	if v, ok := table[key]; ok {
		return key, v, nil
	}
	var zero T
	return "", zero, fmt.Errorf("sampling: unknown %s %q (valid: %s)", kind, name, strings.Join(registryNames(table, aliases), ", "))
}
