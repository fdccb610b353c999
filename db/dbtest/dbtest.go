// Package dbtest gives tests real stores of both adapters: a fresh SQLite
// database in a temporary folder, and a fresh database on a FerretDB
// server run in-process as the stand-in for a hosted MongoDB (no real
// mongod can run where the tests run). Tests about storage behaviour run
// once per adapter with Each.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/mongo"
	"labreview/db/sqlite"
)

// Main runs a package's tests, then stops the FerretDB stand-in if a test
// started it. Use it as the body of TestMain.
func Main(m *testing.M) {
	code := m.Run()
	stopFerret()
	os.Exit(code)
}

// Adapter opens fresh stores of one kind.
type Adapter struct {
	Name string
	// Open returns a fresh, empty, ready store, closed when t ends.
	Open func(t testing.TB) db.Store
}

// Adapters lists both adapters: the embedded default first.
var Adapters = []Adapter{
	{Name: "sqlite", Open: func(t testing.TB) db.Store { return SQLite(t) }},
	{Name: "mongo", Open: func(t testing.TB) db.Store { return Mongo(t) }},
}

// Each runs fn as a subtest per adapter, each with a fresh store.
func Each(t *testing.T, fn func(t *testing.T, store db.Store)) {
	t.Helper()
	for _, a := range Adapters {
		t.Run(a.Name, func(t *testing.T) { fn(t, a.Open(t)) })
	}
}

// EachAdapter runs fn as a subtest per adapter; fn opens stores itself.
func EachAdapter(t *testing.T, fn func(t *testing.T, a Adapter)) {
	t.Helper()
	for _, a := range Adapters {
		t.Run(a.Name, func(t *testing.T) { fn(t, a) })
	}
}

// SQLite opens a fresh embedded store in a temporary folder.
func SQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Options{DataDir: t.TempDir(), Server: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// Mongo opens a fresh database on the FerretDB stand-in (started at the
// first call), with its indexes ensured; the database is dropped when t
// ends.
func Mongo(t testing.TB) *mongo.Store {
	t.Helper()
	uri, err := ferretURI()
	if err != nil {
		t.Fatal(err)
	}
	s, err := mongo.Open(context.Background(), mongo.Options{URI: uri, Database: freshName()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Drop(ctx)
		_ = s.Close(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.WaitReady(ctx, s); err != nil {
		t.Fatalf("the FerretDB stand-in did not get ready: %v", err)
	}
	return s
}

// MongoURI is the stand-in's URI, for tests that open their own clients
// (such as a server configured with mongodb.uri).
func MongoURI(t testing.TB) string {
	t.Helper()
	uri, err := ferretURI()
	if err != nil {
		t.Fatal(err)
	}
	return uri
}

// FreshName returns a database name no other test uses.
func FreshName() string { return freshName() }

func freshName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("t_%s", hex.EncodeToString(b[:]))
}
