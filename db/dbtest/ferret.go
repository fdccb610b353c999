package dbtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// The FerretDB stand-in: FerretDB v1 with its SQLite backend, in-process,
// listening on a Unix socket behind a proxy that lets one command at a time
// through (proxy.go explains why). It scans whole collections for any
// query but an exact _id match, which is fine for the small collections of
// tests and is why it is no embedded store.
var ferret struct {
	once   sync.Once
	uri    string
	err    error
	dir    string
	proxy  *serialProxy
	cancel context.CancelFunc
	done   chan struct{}
}

func ferretURI() (string, error) {
	ferret.once.Do(func() { ferret.uri, ferret.err = startFerret() })
	return ferret.uri, ferret.err
}

func startFerret() (string, error) {
	dir, err := os.MkdirTemp("", "lrferret-")
	if err != nil {
		return "", err
	}
	ferret.dir = dir
	backend := filepath.Join(dir, "ferretdb.sock")
	client := filepath.Join(dir, "store.sock")
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: backend},
		Handler:   "sqlite",
		SQLiteURL: "file:" + (&url.URL{Path: dir + "/"}).EscapedPath(),
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return "", fmt.Errorf("start FerretDB: %w", err)
	}
	// FerretDB must always be Run after New: an instance that never ran
	// panics when it is garbage-collected.
	ctx, cancel := context.WithCancel(context.Background())
	ferret.cancel, ferret.done = cancel, make(chan struct{})
	go func() { defer close(ferret.done); _ = f.Run(ctx) }()
	if err := waitForSocket(backend, 10*time.Second); err != nil {
		return "", fmt.Errorf("start FerretDB: %w", err)
	}
	p, err := startSerialProxy("unix", client, backend)
	if err != nil {
		return "", fmt.Errorf("start FerretDB proxy: %w", err)
	}
	ferret.proxy = p
	return "mongodb://" + url.PathEscape(client) + "/", nil
}

func stopFerret() {
	if ferret.proxy != nil {
		ferret.proxy.close()
	}
	if ferret.cancel != nil {
		ferret.cancel()
		<-ferret.done
	}
	if ferret.dir != "" {
		_ = os.RemoveAll(ferret.dir)
	}
}

func waitForSocket(path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("unix", path, 100*time.Millisecond)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no listener on %s after %s: %w", path, limit, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// StartTCP runs a separate FerretDB on a TCP address, standing for a hosted
// deployment that a test can take down and bring back; stop is idempotent
// and also runs when t ends.
func StartTCP(t testing.TB, addr string) (stop func()) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hosted")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// FreeTCPAddr returns a loopback address nothing listens on (yet).
func FreeTCPAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
