package hub

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Environment variables read by FromEnv; they are huggingface_hub's
// (constants.py), so one setting serves both tools.
const (
	EnvEndpoint  = "HF_ENDPOINT"    // the Hub's address, default DefaultEndpoint
	EnvHome      = "HF_HOME"        // default ~/.cache/huggingface ($XDG_CACHE_HOME/huggingface)
	EnvHubCache  = "HF_HUB_CACHE"   // default $HF_HOME/hub
	EnvOffline   = "HF_HUB_OFFLINE" // 1/ON/YES/TRUE: only the cache, no request
	EnvToken     = "HF_TOKEN"       // access token for gated or private repositories
	EnvTokenPath = "HF_TOKEN_PATH"  // default $HF_HOME/token (written by `huggingface-cli login`)
)

// DefaultEndpoint is the public Hub.
const DefaultEndpoint = "https://huggingface.co"

// Home returns $HF_HOME, else $XDG_CACHE_HOME/huggingface, else
// ~/.cache/huggingface, as huggingface_hub's constants.py computes it.
func Home() string {
	if h := os.Getenv(EnvHome); h != "" {
		return expandHome(h)
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(expandHome(cache), "huggingface")
}

// CacheDir returns the hub cache folder: $HF_HUB_CACHE, else the legacy
// $HUGGINGFACE_HUB_CACHE, else Home()/hub.
func CacheDir() string {
	for _, env := range []string{EnvHubCache, "HUGGINGFACE_HUB_CACHE"} {
		if d := os.Getenv(env); d != "" {
			return expandHome(d)
		}
	}
	return filepath.Join(Home(), "hub")
}

// Offline reports whether HF_HUB_OFFLINE is set to a true value (1, ON,
// YES or TRUE, any case: huggingface_hub's _is_true).
func Offline() bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv(EnvOffline))) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// Token returns $HF_TOKEN, else the token saved by `huggingface-cli login`
// ($HF_TOKEN_PATH, default Home()/token), else "".
func Token() string {
	if t := strings.TrimSpace(os.Getenv(EnvToken)); t != "" {
		return t
	}
	path := os.Getenv(EnvTokenPath)
	if path == "" {
		path = filepath.Join(Home(), "token")
	}
	b, err := os.ReadFile(expandHome(path))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Endpoint returns $HF_ENDPOINT without a trailing slash, else
// DefaultEndpoint.
func Endpoint() string {
	if e := strings.TrimSpace(os.Getenv(EnvEndpoint)); e != "" {
		return strings.TrimRight(e, "/")
	}
	return DefaultEndpoint
}

// FromEnv returns a Client configured as huggingface_hub would be by the
// same environment: endpoint, cache folder, offline mode and token.
func FromEnv() *Client {
	return &Client{
		Endpoint: Endpoint(),
		Cache:    Cache{Dir: CacheDir()},
		Token:    Token(),
		Offline:  Offline(),
		HTTP:     &http.Client{Timeout: 0, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 60 * time.Second, IdleConnTimeout: 90 * time.Second}},
	}
}

// expandHome replaces a leading ~ by the home folder, as os.path.expanduser.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}
