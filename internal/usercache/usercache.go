// Package usercache names godiffusion's per-user cache folders (tokenizers
// given once on the command line and kept for later runs).
package usercache

import (
	"fmt"
	"os"
	"path/filepath"
)

// Env is the environment variable that moves godiffusion's cache: when set,
// the cache folder sub is $GODIFFUSION_CACHE/sub instead of
// os.UserCacheDir()/godiffusion/sub.
const Env = "GODIFFUSION_CACHE"

// Dir returns the cache folder sub: $GODIFFUSION_CACHE/sub when that
// variable is set, else os.UserCacheDir()/godiffusion/sub
// (~/.cache/godiffusion/sub on Linux). The folder may not exist.
func Dir(sub string) (string, error) {
	if base := os.Getenv(Env); base != "" {
		return filepath.Join(base, sub), nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache folder (set %s): %w", Env, err)
	}
	return filepath.Join(base, "godiffusion", sub), nil
}
