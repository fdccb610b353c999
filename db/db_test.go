package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// shared is the embedded store every test in this package uses, opened once
// in TestMain; each test takes a fresh database name inside it.
var shared *DB

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "labreview-db-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = Open(context.Background(), Options{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = shared.Close(context.Background())
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// freshDB returns a database no other test uses, dropped at the end.
func freshDB(t *testing.T) *mongo.Database {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	d := shared.client.Database("t_" + hex.EncodeToString(b[:]))
	t.Cleanup(func() { _ = d.Drop(context.Background()) })
	return d
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestConditionalUpdateHasOneWinner is the guarantee refresh-token rotation
// and one-time tokens rest on: of 50 concurrent identical conditional
// updates of one document, exactly one matches.
func TestConditionalUpdateHasOneWinner(t *testing.T) {
	coll := freshDB(t).Collection("tokens")
	for round := range 10 {
		id := fmt.Sprintf("tok-%d", round)
		if _, err := coll.InsertOne(ctx(t), bson.M{"_id": id, "used": false}); err != nil {
			t.Fatal(err)
		}
		var winners atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for range 50 {
			wg.Go(func() {
				res, err := coll.UpdateOne(ctx(t), bson.M{"_id": id, "used": false}, bson.M{"$set": bson.M{"used": true}})
				if err != nil {
					errs <- err
					return
				}
				winners.Add(int32(res.ModifiedCount))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: update failed: %v", round, err)
		}
		if got := winners.Load(); got != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1", round, got)
		}
	}
}

// TestConcurrentIncrementsAreNotLost: 50 goroutines × 20 $inc must add 1000.
func TestConcurrentIncrementsAreNotLost(t *testing.T) {
	coll := freshDB(t).Collection("counters")
	if _, err := coll.InsertOne(ctx(t), bson.M{"_id": "c", "n": 0}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 50 {
		wg.Go(func() {
			for range 20 {
				if _, err := coll.UpdateOne(ctx(t), bson.M{"_id": "c"}, bson.M{"$inc": bson.M{"n": 1}}); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d increments failed", failed.Load())
	}
	var doc struct{ N int }
	if err := coll.FindOne(ctx(t), bson.M{"_id": "c"}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.N != 1000 {
		t.Fatalf("n = %d, want 1000", doc.N)
	}
}

// TestAtomicityHoldsAcrossClients: a second client on the store's socket
// (as a CLI process would use) is serialised with the first.
func TestAtomicityHoldsAcrossClients(t *testing.T) {
	other, err := mongo.Connect(options.Client().ApplyURI(shared.store.uri()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Disconnect(context.Background()) })
	d := freshDB(t)
	colls := []*mongo.Collection{d.Collection("c"), other.Database(d.Name()).Collection("c")}
	if _, err := colls[0].InsertOne(ctx(t), bson.M{"_id": "c", "n": 0}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		coll := colls[i%2]
		wg.Go(func() {
			for range 25 {
				_, _ = coll.UpdateOne(ctx(t), bson.M{"_id": "c"}, bson.M{"$inc": bson.M{"n": 1}})
			}
		})
	}
	wg.Wait()
	var doc struct{ N int }
	if err := colls[1].FindOne(ctx(t), bson.M{"_id": "c"}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.N != 1000 {
		t.Fatalf("n = %d, want 1000", doc.N)
	}
}

// TestProxyKeepsCursorsAndUnacknowledgedWrites covers the two wire-protocol
// cases the proxy must get right: getMore on the connection that opened the
// cursor, and fire-and-forget (moreToCome) writes that get no reply.
func TestProxyKeepsCursorsAndUnacknowledgedWrites(t *testing.T) {
	d := freshDB(t)
	unack := d.Collection("docs", options.Collection().SetWriteConcern(writeconcern.Unacknowledged()))
	for i := range 25 {
		if _, err := unack.InsertOne(ctx(t), bson.M{"_id": i}); err != nil {
			t.Fatal(err)
		}
	}
	coll := d.Collection("docs")
	// Unacknowledged writes are applied in order on the same connection;
	// an acknowledged write after them is answered only once they are done.
	if _, err := coll.InsertOne(ctx(t), bson.M{"_id": 25}); err != nil {
		t.Fatal(err)
	}
	cur, err := coll.Find(ctx(t), bson.M{}, options.Find().SetBatchSize(4).SetSort(bson.M{"_id": 1}))
	if err != nil {
		t.Fatal(err)
	}
	var all []bson.M
	if err := cur.All(ctx(t), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 26 {
		t.Fatalf("read %d documents in batches of 4, want 26", len(all))
	}
}

func TestClassify(t *testing.T) {
	coll := freshDB(t).Collection("c")
	if _, err := coll.InsertOne(ctx(t), bson.M{"_id": 1}); err != nil {
		t.Fatal(err)
	}
	_, err := coll.InsertOne(ctx(t), bson.M{"_id": 1})
	if !errors.Is(Classify(err), ErrConflict) {
		t.Errorf("duplicate insert: got %v, want ErrConflict", Classify(err))
	}
	err = coll.FindOne(ctx(t), bson.M{"_id": 2}).Err()
	if !errors.Is(Classify(err), ErrNotFound) {
		t.Errorf("missing document: got %v, want ErrNotFound", Classify(err))
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}

func TestPingReportsReady(t *testing.T) {
	if err := shared.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if shared.Mode() != ModeEmbedded || shared.SocketPath() == "" {
		t.Fatalf("mode %q socket %q", shared.Mode(), shared.SocketPath())
	}
}

func TestEmbeddedStoreFolderIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx(t), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	for _, sub := range []string{"", storeDirName, runDirName} {
		info, err := os.Stat(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", filepath.Join(dir, sub), info.Mode().Perm())
		}
	}
	if filepath.Dir(d.SocketPath()) != filepath.Join(dir, runDirName) {
		t.Errorf("socket %s is not inside the private run folder", d.SocketPath())
	}
}

func TestSecondStoreOnSameFolderIsRefused(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(ctx(t), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx(t), Options{DataDir: dir})
	if !errors.Is(err, ErrStoreInUse) {
		t.Fatalf("second Open: got %v, want ErrStoreInUse", err)
	}
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The folder is free again, and data written before survives.
	again, err := Open(ctx(t), Options{DataDir: dir})
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	defer again.Close(context.Background())
	if err := again.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(ctx(t), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Database().Collection("c").InsertOne(ctx(t), bson.M{"_id": "kept"}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, err := Open(ctx(t), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close(context.Background())
	if err := again.Database().Collection("c").FindOne(ctx(t), bson.M{"_id": "kept"}).Err(); err != nil {
		t.Fatalf("document written before restart: %v", err)
	}
}

func TestUnusableDataFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"empty":           "",
		"below a file":    filepath.Join(file, "data"),
		"is a file":       file,
		"socket too long": filepath.Join(t.TempDir(), fmt.Sprintf("%0120d", 0)),
	}
	for name, dir := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := Open(ctx(t), Options{DataDir: dir})
			if err == nil {
				d.Close(context.Background())
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrDataDir) {
				t.Fatalf("got %v, want ErrDataDir", err)
			}
		})
	}
}

// TestProbeRejectsReadOnlyFolder uses procfs, where even root cannot create
// files, to stand for a folder that exists but is not writable.
func TestProbeRejectsReadOnlyFolder(t *testing.T) {
	if err := probeWritable("/proc"); !errors.Is(err, ErrDataDir) {
		t.Fatalf("probe of /proc: got %v, want ErrDataDir", err)
	}
	if err := probeWritable(t.TempDir()); err != nil {
		t.Fatalf("probe of a temp folder: %v", err)
	}
}

// TestHostedOutageAndRecovery runs FerretDB on TCP as the "hosted" server:
// Open succeeds while it is down, Ping says unavailable, and the same DB
// recovers by itself once the server is up, and again after a second outage.
func TestHostedOutageAndRecovery(t *testing.T) {
	addr := freeTCPAddr(t)
	d, err := Open(ctx(t), Options{
		URI:                    "mongodb://" + addr + "/?heartbeatFrequencyMS=500",
		Database:               "hosted",
		ServerSelectionTimeout: 500 * time.Millisecond,
		ConnectTimeout:         500 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Open with the server down: %v", err)
	}
	defer d.Close(context.Background())
	if d.Mode() != ModeHosted {
		t.Fatalf("mode %q", d.Mode())
	}
	if err := d.Ping(ctx(t)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping while down: got %v, want ErrUnavailable", err)
	}

	stop := startTCPFerret(t, addr)
	waitPing(t, d, nil)
	stop()
	waitPing(t, d, ErrUnavailable)
	stop = startTCPFerret(t, addr)
	defer stop()
	waitPing(t, d, nil)
}

func waitPing(t *testing.T, d *DB, want error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := d.Ping(pctx)
		cancel()
		if (want == nil && err == nil) || (want != nil && errors.Is(err, want)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ping: still %v, want %v", err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func startTCPFerret(t *testing.T, addr string) (stop func()) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hosted")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(c) }()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestSecondProcessSharesTheRunningStore: with ShareRunningStore, a second
// Open on a folder in use talks to the running store through its socket
// (it sees the same data) instead of opening the SQLite files itself.
func TestSecondProcessSharesTheRunningStore(t *testing.T) {
	dir := t.TempDir()
	server, err := Open(ctx(t), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close(context.Background())
	cli, err := Open(ctx(t), Options{DataDir: dir, ShareRunningStore: true})
	if err != nil {
		t.Fatalf("shared open: %v", err)
	}
	if cli.store != nil {
		t.Fatal("the second process started its own store")
	}
	if _, err := cli.Database().Collection("c").InsertOne(ctx(t), bson.M{"_id": "from-cli"}); err != nil {
		t.Fatal(err)
	}
	if err := server.Database().Collection("c").FindOne(ctx(t), bson.M{"_id": "from-cli"}).Err(); err != nil {
		t.Fatalf("the server does not see the CLI's write: %v", err)
	}
	if err := cli.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := server.Ping(ctx(t)); err != nil {
		t.Fatalf("closing the CLI's client disturbed the server: %v", err)
	}
}
