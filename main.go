// Command labreview is the review server for numeric calculation results:
// one binary with the JSON API, the web UI and (by default) an embedded
// SQLite database. The command line lives in package cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"labreview/cli"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=… -X main.buildDate=…".
var (
	version   = "dev"
	commit    = "unknown"
	buildDate = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{
		Args: os.Args[1:], Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		UI: uiFS(), Build: cli.Build{Version: version, Commit: commit, Date: buildDate},
	})
	stop()
	os.Exit(code)
}
