// Package dbtest starts the real embedded store for a package's tests:
// one store per test binary (TestMain), a fresh database name per test.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"labreview/db"
)

// Main opens the embedded store in a temporary folder, hands it to set, runs
// the tests and removes everything. Use it as the body of TestMain.
func Main(m *testing.M, set func(*db.DB)) {
	os.Exit(run(m, set))
}

func run(m *testing.M, set func(*db.DB)) int {
	dir, err := os.MkdirTemp("", "labreview-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	store, err := db.Open(context.Background(), db.Options{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer store.Close(context.Background())
	set(store)
	return m.Run()
}

// Fresh returns a handle on a database name no other test uses, on the same
// store, with its indexes ensured; the database is dropped when t ends.
func Fresh(t testing.TB, store *db.DB) *db.DB {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	d, err := store.WithDatabase(context.Background(), "t_"+hex.EncodeToString(b[:]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Database().Drop(context.Background()) })
	return d
}
