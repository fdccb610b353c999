package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/query"
)

func open(t *testing.T, dir string, server bool) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{DataDir: dir, Server: server})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func pragma(t *testing.T, conn *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := conn.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestConnectionSettings(t *testing.T) {
	s := open(t, t.TempDir(), true)
	for name, want := range map[string]string{"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1",
		"busy_timeout": "5000", "query_only": "0", "temp_store": "2", "journal_size_limit": strconv.Itoa(journalSizeLimit),
		"wal_autocheckpoint": "0", "mmap_size": "0"} {
		if got := pragma(t, s.w, name); got != want {
			t.Errorf("writer: %s = %s, want %s", name, got, want)
		}
	}
	for name, want := range map[string]string{"query_only": "1", "foreign_keys": "1", "busy_timeout": "5000",
		"mmap_size": "0"} {
		if got := pragma(t, s.r, name); got != want {
			t.Errorf("reader: %s = %s, want %s", name, got, want)
		}
	}
	if n := s.w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool has %d connections, want 1", n)
	}
	if n := s.r.Stats().MaxOpenConnections; n < 4 {
		t.Errorf("reader pool has %d connections, want at least 4", n)
	}
	if _, err := s.r.Exec("DELETE FROM users"); err == nil {
		t.Error("a reader connection could write")
	}
	info, err := os.Stat(filepath.Dir(s.Path()))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("data folder mode %v, %v; want 0700", info.Mode().Perm(), err)
	}
}

// TestReadersRunBesideAWriter: WAL lets reads go on while a write
// transaction is open, and a second write waits for the first.
func TestReadersRunBesideAWriter(t *testing.T) {
	s := open(t, t.TempDir(), true)
	ctx := context.Background()
	u := &db.User{ID: db.NewID(), Email: "r@lab.org", Role: db.RoleViewer, PasswordHash: "h", CreatedAt: time.Now()}
	if err := s.InsertUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	inTx, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.Exec("UPDATE users SET name = 'writing' WHERE id = ?", u.ID); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	<-inTx
	start := time.Now()
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || got.Name != "" {
		t.Fatalf("read beside an open write: %+v %v (must see the last commit)", got, err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("the read waited %v for the writer", d)
	}
	second := make(chan error, 1)
	go func() { second <- s.ResetCounter(ctx, "k") }()
	select {
	case err := <-second:
		t.Fatalf("a second write ran while the first transaction was open: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

func TestWriteTimeoutGivesUnavailable(t *testing.T) {
	s, err := Open(context.Background(), Options{DataDir: t.TempDir(), WriteTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	hold := make(chan struct{})
	go func() {
		_ = s.exclusiveTx(context.Background(), func(context.Context, *sql.Tx) error { <-hold; return nil })
	}()
	time.Sleep(50 * time.Millisecond)
	err = s.ResetCounter(context.Background(), "k")
	close(hold)
	if !errors.Is(err, db.ErrUnavailable) {
		t.Fatalf("a write queued past its deadline: got %v, want ErrUnavailable", err)
	}
}

func TestSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, true)
	if got := pragma(t, s.w, "user_version"); got != strconv.Itoa(SchemaVersion()) || SchemaVersion() < 1 {
		t.Fatalf("user_version %s, SchemaVersion %d", got, SchemaVersion())
	}
	// A database from a newer labreview is refused with a clear message.
	if _, err := s.w.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), Options{DataDir: dir, Server: true})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("got %v, want ErrNewerSchema", err)
	}
	for _, part := range []string{filepath.Join(dir, FileName), fmt.Sprintf("version %d", SchemaVersion()+1),
		fmt.Sprintf("up to %d", SchemaVersion())} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("message %q does not say %q", err, part)
		}
	}
}

// TestOneServerPerFolder: a second server is refused, naming the folder and
// the process; the CLI opens the same database beside the server and each
// sees the other's writes.
func TestOneServerPerFolder(t *testing.T) {
	dir := t.TempDir()
	server := open(t, dir, true)
	_, err := Open(context.Background(), Options{DataDir: dir, Server: true})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Fatalf("second server: %v", err)
	}
	cli := open(t, dir, false)
	ctx := context.Background()
	if err := cli.InsertUser(ctx, &db.User{ID: db.NewID(), Email: "cli@lab.org", Role: db.RoleAdmin, PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := server.UserByEmail(ctx, "cli@lab.org"); err != nil {
		t.Fatalf("the server does not see the CLI's write: %v", err)
	}
	// The CLI's write waits for the server's transaction instead of failing.
	release := make(chan struct{})
	go func() {
		_ = server.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, _ = tx.Exec("DELETE FROM leases")
			<-release
			return nil
		})
	}()
	time.Sleep(50 * time.Millisecond)
	go func() { time.Sleep(300 * time.Millisecond); close(release) }()
	start := time.Now()
	if _, err := cli.CountFailure(ctx, "k", time.Minute, time.Now()); err != nil {
		t.Fatalf("CLI write beside a server transaction: %v", err)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatal("the CLI's write did not wait for the server's transaction")
	}
	// After the server stops, a new one may start.
	if err := server.Close(ctx); err != nil {
		t.Fatal(err)
	}
	open(t, dir, true)
}

func TestDataSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, true)
	if err := s.InsertAudit(context.Background(), &db.AuditEvent{ID: db.NewID(), Event: "kept"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := open(t, dir, true)
	events, _, err := again.ListAudit(context.Background(), db.AuditFilter{Event: "kept"}, 10)
	if err != nil || len(events) != 1 {
		t.Fatalf("after reopen: %v %v", events, err)
	}
	if _, err := os.Stat(again.Path() + "-wal"); err != nil {
		t.Fatalf("an open database has no WAL: %v", err)
	}
}

func TestUnusableDataFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{
		"empty":        "",
		"below a file": filepath.Join(file, "data"),
		"is a file":    file,
		"procfs":       "/proc", // exists, and not even root can create files there
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(context.Background(), Options{DataDir: dir})
			if err == nil {
				s.Close(context.Background())
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrDataDir) {
				t.Fatalf("got %v, want ErrDataDir", err)
			}
		})
	}
}

// copyDir copies a folder tree (the legacy fixture) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

type legacyExpected struct {
	Passwords map[string]string `json:"passwords"`
	Users     []struct {
		ID, Email, Name, Role string
		Disabled              bool
		CreatedAt             time.Time `json:"created_at"`
	} `json:"users"`
	Audit []struct {
		ID, Event string
		UserID    string         `json:"user_id"`
		ActorID   string         `json:"actor_id"`
		Details   map[string]any `json:"details"`
	} `json:"audit"`
}

// TestLegacyImport opens a real data folder written by labreview 80ebe03
// (FerretDB store): users with their password hashes, signing keys, the
// setup claim and the audit log arrive; sessions do not; the old folder is
// renamed, and the import runs once.
func TestLegacyImport(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/legacy-v0", dir)
	var want legacyExpected
	b, err := os.ReadFile("testdata/legacy-v0/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := Open(context.Background(), Options{DataDir: dir, Server: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := context.Background()

	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != len(want.Users) || len(users) != 3 {
		t.Fatalf("users %+v %v", users, err)
	}
	for i, w := range want.Users {
		u := users[i]
		if u.ID != w.ID || u.Email != w.Email || u.Name != w.Name || u.Role != w.Role || u.Disabled != w.Disabled ||
			!u.CreatedAt.Equal(w.CreatedAt) || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Errorf("user %d: %+v, want %+v", i, u, w)
		}
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].RetiredAt == nil || keys[1].RetiredAt != nil || len(keys[1].PrivateKey) != 64 {
		t.Fatalf("signing keys %+v %v", keys, err)
	}
	events, more, err := s.ListAudit(ctx, db.AuditFilter{}, 100)
	if err != nil || more || len(events) != len(want.Audit) {
		t.Fatalf("audit: %d events (%v), want %d", len(events), err, len(want.Audit))
	}
	for i, w := range want.Audit {
		e := events[i]
		if e.ID != w.ID || e.Event != w.Event || e.UserID != w.UserID || e.ActorID != w.ActorID {
			t.Errorf("audit %d: %+v, want %+v", i, e, w)
		}
		if w.Details != nil {
			wd, _ := json.Marshal(w.Details)
			gd, _ := json.Marshal(e.Details)
			if string(wd) != string(gd) {
				t.Errorf("audit %d details %s, want %s", i, gd, wd)
			}
		}
	}
	if err := s.ClaimSetup(ctx, db.NewID(), time.Now()); !errors.Is(err, db.ErrConflict) {
		t.Fatalf("the setup claim was not imported: %v", err)
	}
	var sessions int
	if err := s.r.QueryRow("SELECT count(*) FROM sessions").Scan(&sessions); err != nil || sessions != 0 {
		t.Fatalf("%d sessions imported (%v), want none", sessions, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old store folder is still in place: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "store.imported", "labreview.sqlite")); err != nil {
		t.Fatalf("the old store was not kept as store.imported: %v", err)
	}
	for _, part := range []string{"sessions were not imported", "everyone signs in again", "users=3", "audit_events=9"} {
		if !strings.Contains(logs.String(), part) {
			t.Errorf("log does not say %q:\n%s", part, logs.String())
		}
	}
	// A second start imports nothing again, even with the old folder back.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "store.imported"), filepath.Join(dir, "store")); err != nil {
		t.Fatal(err)
	}
	again := open(t, dir, true)
	if n, _ := again.CountActiveAdmins(ctx, ""); n != 1 {
		t.Fatalf("%d admins after a second start", n)
	}
}

// TestLegacyImportWaitsForTheOldServer: while an earlier labreview holds
// its store lock, the new one refuses to start and writes nothing.
func TestLegacyImportWaitsForTheOldServer(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/legacy-v0", dir)
	f, err := os.OpenFile(filepath.Join(dir, "store.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), Options{DataDir: dir, Server: true})
	if !errors.Is(err, ErrLegacyInUse) {
		t.Fatalf("got %v, want ErrLegacyInUse", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a database file was created: %v", err)
	}
}

// TestBackupWhileWriting: a backup taken during a steady write load is a
// consistent database that passes integrity_check and holds everything
// committed before it started.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, true)
	ctx := context.Background()
	for range 200 {
		if err := s.InsertAudit(ctx, &db.AuditEvent{Event: "before"}); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var written atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.InsertAudit(ctx, &db.AuditEvent{Event: "during", Details: map[string]any{"pad": strings.Repeat("x", 500)}}); err != nil {
				t.Error(err)
				return
			}
			written.Add(1)
		}
	})
	time.Sleep(50 * time.Millisecond)
	dest := filepath.Join(t.TempDir(), "backup.db")
	info, err := s.Backup(ctx, dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if written.Load() == 0 {
		t.Fatal("no writes ran during the backup")
	}
	if err := CheckIntegrity(ctx, dest); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dest); err != nil || st.Mode().Perm() != 0o600 || st.Size() != info.Bytes {
		t.Fatalf("backup file %v %v", st, err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if err := os.MkdirAll(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(dest)
	if err := os.WriteFile(filepath.Join(restored, FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := open(t, restored, true)
	events, _, err := r.ListAudit(ctx, db.AuditFilter{Event: "before"}, 1000)
	if err != nil || len(events) != 200 {
		t.Fatalf("restored backup holds %d events from before (%v), want 200", len(events), err)
	}
	if _, err := s.Backup(ctx, dest); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("backup over an existing file: %v", err)
	}
	if _, err := os.Stat(dest + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a partial file was left behind")
	}
}

// TestReadOnlyWritesAreStorageErrors: SQLite's own read-only and full
// errors (here from query_only and max_page_count on the writer, the codes
// a read-only or full file system also gives) come out as db.ErrStorage,
// which the server answers with 503 storage_unavailable; once the
// condition ends, writes work again on the same connections.
func TestReadOnlyWritesAreStorageErrors(t *testing.T) {
	s := open(t, t.TempDir(), true)
	ctx := context.Background()
	write := func() error {
		return s.InsertAudit(ctx, &db.AuditEvent{Event: "probe", Details: map[string]any{"pad": strings.Repeat("x", 3000)}})
	}
	if _, err := s.w.Exec("PRAGMA query_only = 1"); err != nil {
		t.Fatal(err)
	}
	if err := write(); !errors.Is(err, db.ErrStorage) {
		t.Fatalf("write while read-only: got %v, want ErrStorage", err)
	}
	if _, err := s.w.Exec("PRAGMA query_only = 0"); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := s.w.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	var err error
	for range 100 {
		if err = write(); err != nil {
			break
		}
	}
	if !errors.Is(err, db.ErrStorage) {
		t.Fatalf("write into a full database: got %v, want ErrStorage", err)
	}
	if _, err := s.w.Exec("PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	if err := write(); err != nil {
		t.Fatalf("write after the condition ended: %v", err)
	}
	if err := CheckIntegrity(ctx, s.Path()); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitAnswersExactly: with writes batched, every write reported
// as done is in the database and every write reported as failed is not,
// even when callers give up (their contexts end) at random moments, and a
// failing write (a duplicate) does not take the others of its batch down.
func TestGroupCommitAnswersExactly(t *testing.T) {
	s := open(t, t.TempDir(), true)
	type outcome struct {
		id  string
		err error
	}
	results := make(chan outcome, 400)
	var wg sync.WaitGroup
	dup := db.NewID()
	if err := s.InsertAudit(context.Background(), &db.AuditEvent{ID: dup, Event: "first"}); err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*300*time.Microsecond)
			defer cancel()
			id := db.NewID()
			if i%50 == 0 {
				id = dup // a conflict inside some batch
			}
			err := s.InsertAudit(ctx, &db.AuditEvent{ID: id, Event: "batched"})
			results <- outcome{id, err}
		})
	}
	wg.Wait()
	close(results)
	done, failed := 0, 0
	for r := range results {
		events, _, err := s.ListAudit(context.Background(), db.AuditFilter{Before: nextID(r.id)}, 1)
		if err != nil {
			t.Fatal(err)
		}
		present := len(events) == 1 && events[0].ID == r.id
		switch {
		case r.id == dup:
			if !errors.Is(r.err, db.ErrConflict) && !errors.Is(r.err, db.ErrUnavailable) {
				t.Errorf("duplicate: %v", r.err)
			}
		case r.err == nil:
			done++
			if !present {
				t.Errorf("write %s reported done is missing", r.id)
			}
		default:
			failed++
			if !errors.Is(r.err, db.ErrUnavailable) {
				t.Errorf("write %s: %v", r.id, r.err)
			}
			if present {
				t.Errorf("write %s reported failed is in the database", r.id)
			}
		}
	}
	if done == 0 {
		t.Fatal("no write succeeded")
	}
	t.Logf("%d done, %d gave up", done, failed)
}

// nextID is the id right after id in sort order, as a Before cursor that
// includes id itself.
func nextID(id string) string {
	b := []byte(id)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 'f' {
			if b[i] == '9' {
				b[i] = 'a'
			} else {
				b[i]++
			}
			return string(b)
		}
		b[i] = '0'
	}
	return id + "0"
}

// TestCheckpointsKeepTheWALSmall: the writer does not checkpoint; the
// checkpointer does, so the WAL is started over and stays bounded.
func TestCheckpointsKeepTheWALSmall(t *testing.T) {
	s := open(t, t.TempDir(), true)
	ctx := context.Background()
	pad := strings.Repeat("x", 2000)
	write := func(n int) {
		for range n {
			if err := s.InsertAudit(ctx, &db.AuditEvent{Event: "fill", Details: map[string]any{"pad": pad}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(3000) // about 8 MB of pages
	time.Sleep(checkpointEvery + 500*time.Millisecond)
	write(10) // the first write after a complete checkpoint starts the WAL over
	info, err := os.Stat(s.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	var busy, logFrames, copied int
	if err := s.ckpt.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied); err != nil {
		t.Fatal(err)
	}
	if logFrames > 200 {
		t.Fatalf("the WAL holds %d frames after a checkpoint period (file %d bytes): checkpoints are not running", logFrames, info.Size())
	}
}

// TestWritesAfterCloseFail: a write after Close fails at once instead of
// waiting for a writer that is gone.
func TestWritesAfterCloseFail(t *testing.T) {
	s, err := Open(context.Background(), Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.exclusiveTx(context.Background(), func(context.Context, *sql.Tx) error { return nil })
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a write after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write after Close hangs")
	}
}

// TestQueryIndexFollowsWritesRestartsAndOtherProcesses: the query index
// the writes keep is the one a restart reads from the tables, and a run
// written by another process on the same file (the command line) is in
// the server's next answer.
func TestQueryIndexFollowsWritesRestartsAndOtherProcesses(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, true)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 12 {
		r := &db.Run{ID: db.NewID(), Project: fmt.Sprintf("p%d", i%3), ExternalID: strconv.Itoa(i), Status: db.StatusQueued,
			CreatedAt: now, UpdatedAt: now, Version: 1, Tags: []string{"a", "b"},
			Params: map[string]any{"lr": float64(i), "opt": map[string]any{"name": "adam", "empty": map[string]any{}, "l": []any{1.0}},
				fmt.Sprintf("only%d", i%4): nil, "a": 1.0, "a.b": 2.0},
			Metrics: db.Metrics{"loss": 1, fmt.Sprintf("m%d", i%5): 2}}
		if i%4 == 1 {
			r.DeletedAt = &now
		}
		if _, _, err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WriteSeries(ctx, r.ID, map[string][]db.Point{"loss": {{Step: 1, Value: 1}}, fmt.Sprintf("s%d", i%3): {{Step: 1, Value: 1}}}, now); err != nil {
			t.Fatal(err)
		}
		if i%4 == 2 {
			if _, _, err := s.UpdateRun(ctx, r.ID, now, func(r *db.Run) error { r.DeletedAt = &now; return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	state := func(s *Store) string {
		t.Helper()
		var b strings.Builder
		for _, p := range []string{"p0", "p1", "p2", db.AllProjects} {
			k, err := s.ListRunKeys(ctx, p, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%q: %v %v %v\n", p, k.Params, k.Metrics, k.Series)
		}
		n, _ := query.Parse("max(loss) = 1 and params.opt.name = adam", now)
		c, err := s.CountRuns(ctx, db.RunFilter{Query: n})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "count %d\n", c)
		return b.String()
	}
	kept := state(s)
	if !strings.Contains(kept, `"": [a a.b lr only0 only3 opt.empty opt.l opt.name] [loss m0 m1 m2 m3 m4] [loss s0 s1 s2]`) ||
		!strings.Contains(kept, "count 6") {
		t.Fatalf("as written:\n%s", kept)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, true)
	if again := state(s); again != kept {
		t.Fatalf("after a restart\n%s\nthe writes kept\n%s", again, kept)
	}
	cli := open(t, dir, false)
	if _, _, err := cli.CreateRun(ctx, &db.Run{ID: db.NewID(), Project: "p9", ExternalID: "cli", Status: db.StatusQueued,
		CreatedAt: now, UpdatedAt: now, Version: 1, Params: map[string]any{"fresh": 1.0}}); err != nil {
		t.Fatal(err)
	}
	k, err := s.ListRunKeys(ctx, "p9", "", 10)
	if err != nil || !slices.Equal(k.Params, []string{"fresh"}) {
		t.Fatalf("a run written by another process: %v %v", k, err)
	}
}

// TestBackupCopiesFiles: a backup carries the runs' files beside the
// database copy (<dest>.artifacts), and restoring both gives every file
// back byte for byte; a file deleted later stays in the backup.
func TestBackupCopiesFiles(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), true)
	run := db.NewID()
	for path, body := range map[string]string{"a.txt": "alpha", "b/c.bin": "\x00\x01", "same.txt": "alpha"} {
		if err := s.PutArtifact(ctx, &db.Artifact{RunID: run, Path: path, Project: "p", CreatedAt: time.Now()}, strings.NewReader(body), db.ArtifactLimits{}); err != nil {
			t.Fatal(err)
		}
	}
	// Blobs are private, like the database: 0600 files in 0700 folders.
	a, _ := s.ArtifactByPath(ctx, run, "a.txt")
	for path, mode := range map[string]os.FileMode{s.blobPath(a.SHA256): 0o600, filepath.Dir(s.blobPath(a.SHA256)): 0o700, s.artifactDir(): 0o700} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != mode {
			t.Fatalf("%s: %v %v, want %v", path, st.Mode().Perm(), err, mode)
		}
	}
	dest := filepath.Join(t.TempDir(), "backup.db")
	info, err := s.Backup(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if info.FilesPath != dest+".artifacts" || info.Blobs != 2 || info.BlobBytes != 7 || info.Missing != 0 {
		t.Fatalf("backup info %+v", info)
	}
	if _, err := s.DeleteArtifact(ctx, run, "b/c.bin"); err != nil {
		t.Fatal(err)
	}
	// Restore: the copy as labreview.db, its files as artifacts.
	restored := t.TempDir()
	if err := os.Rename(dest, filepath.Join(restored, "labreview.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(info.FilesPath, filepath.Join(restored, "artifacts")); err != nil {
		t.Fatal(err)
	}
	r := open(t, restored, true)
	for path, want := range map[string]string{"a.txt": "alpha", "b/c.bin": "\x00\x01", "same.txt": "alpha"} {
		a, err := r.ArtifactByPath(ctx, run, path)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := r.OpenArtifact(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != want {
			t.Fatalf("%s: %q, want %q", path, got, want)
		}
	}
}
