package server

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// Embedded is a NATS server with JetStream running inside this process:
// gen serve's queue when no --nats URL is given.
type Embedded struct {
	ns *natsserver.Server
}

// StartEmbedded starts a NATS server with JetStream listening on
// 127.0.0.1:port (0 picks a free port) with its file store in dir, so
// that queued jobs survive a restart.
func StartEmbedded(dir string, port int) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("NATS store folder: %w", err)
	}
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	ns, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "godiffusion",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: 8 << 20, // JobSpecs are small; images go to the object store in chunks
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS server (store %s) did not start", dir)
	}
	return &Embedded{ns: ns}, nil
}

// URL is the embedded server's client URL (nats://127.0.0.1:port).
func (e *Embedded) URL() string { return e.ns.ClientURL() }

// Shutdown stops the server and waits until it has.
func (e *Embedded) Shutdown() {
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
}

// StateDir is the default folder of the embedded server's store:
// $GODIFFUSION_STATE, else the user's state folder ($XDG_STATE_HOME or
// ~/.local/state on Unix, the config folder elsewhere) + godiffusion/nats.
func StateDir() (string, error) {
	if d := os.Getenv("GODIFFUSION_STATE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "godiffusion", "nats"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		d, err2 := os.UserConfigDir()
		if err2 != nil {
			return "", fmt.Errorf("no state folder: %v", err)
		}
		return filepath.Join(d, "godiffusion", "nats"), nil
	}
	return filepath.Join(home, ".local", "state", "godiffusion", "nats"), nil
}
