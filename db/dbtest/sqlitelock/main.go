// Command sqlitelock holds an exclusive lock on an SQLite database, as
// another program on the same file might (a sqlite3 shell left in
// BEGIN EXCLUSIVE, a backup tool), so that a test can see what the
// embedded store does meanwhile. It is test support only.
//
//	sqlitelock FILE
//
// It prints "locked" once it holds the lock and releases it (ROLLBACK)
// on SIGINT or SIGTERM, or when its standard input closes.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "modernc.org/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sqlitelock:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: sqlitelock FILE")
	}
	// The busy timeout lets it wait for a write in progress, like any
	// well-behaved client.
	d, err := sql.Open("sqlite", "file:"+os.Args[1]+"?_pragma=busy_timeout(30000)")
	if err != nil {
		return err
	}
	defer d.Close()
	ctx := context.Background()
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		return fmt.Errorf("begin exclusive: %w", err)
	}
	fmt.Println("locked")
	stop, cancel := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer cancel()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	<-stop.Done()
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	fmt.Println("released")
	return nil
}
