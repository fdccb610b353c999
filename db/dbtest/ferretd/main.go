// Command ferretd runs the tests' MongoDB stand-in, FerretDB v1 with its
// SQLite backend, as a process of its own, so that a test can run several
// labreview processes on one store and cut them off from it. It is test
// support only, like the rest of db/dbtest.
//
// FerretDB's own command cannot be installed with `go install` (it panics
// at start for want of a generated version file), so this wraps the
// embeddable package instead.
//
//	ferretd -dir DIR [-unix PATH]
//
// It prints one line, "listening <socket>", once it accepts connections,
// and stops on SIGINT or SIGTERM. The SQLite handler has no
// authentication, so it listens on a Unix socket only (by default inside
// DIR, which is 0700); a test puts its own proxy in front for TCP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ferretd:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "", "folder of the SQLite files (created 0700)")
	unix := flag.String("unix", "", "Unix socket to listen on (default DIR/ferretdb.sock)")
	flag.Parse()
	if *dir == "" {
		return errors.New("-dir is required")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}
	listener := ferretdb.ListenerConfig{Unix: *unix}
	if listener.Unix == "" {
		listener.Unix = filepath.Join(abs, "ferretdb.sock")
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  listener,
		Handler:   "sqlite",
		SQLiteURL: "file:" + (&url.URL{Path: abs + "/"}).EscapedPath(),
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return err
	}
	// FerretDB must always Run after New (an instance that never ran
	// panics when it is garbage-collected): from here on, stop by
	// cancelling.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()

	if err := waitListening(ctx, listener.Unix); err != nil {
		stop()
		<-done
		return err
	}
	fmt.Printf("listening %s\n", listener.Unix)
	<-done
	return nil
}

func waitListening(ctx context.Context, socket string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("unix", socket, 100*time.Millisecond)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("no listener on %s: %w", socket, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
