// Package sqlite is the embedded store: one SQLite database file in the
// data folder, through the CGO-free modernc.org/sqlite driver. It is the
// default when no MongoDB URI is configured.
//
// Layout of a connection pool that does not fight SQLite's locking: one
// writer connection that begins every transaction IMMEDIATE (so a
// transaction never upgrades from reading to writing and meets
// SQLITE_BUSY half-way), and a small pool of read-only connections that
// WAL lets run beside the writer. Another process on the same file (the
// CLI beside a running server) waits on SQLite's own locks for up to the
// busy timeout.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"labreview/db"
)

// Names inside the data folder.
const (
	// FileName is the database file; SQLite keeps FileName-wal and
	// FileName-shm beside it.
	FileName     = "labreview.db"
	lockFileName = "server.lock"
)

// Settings of every connection. synchronous=NORMAL in WAL mode: a commit
// survives a crash of the process (the WAL is in the OS's cache), and a
// power cut can lose the last transactions but never corrupts the file
// (docs/operations.md).
const (
	busyTimeout      = 5 * time.Second
	journalSizeLimit = 64 << 20
	writerCacheKiB   = 16 << 10
	readerCacheKiB   = 8 << 10
	// defaultWriteTimeout bounds how long a write may wait for the single
	// writer connection and run: a write queued behind others must not
	// wait forever.
	defaultWriteTimeout = 10 * time.Second
)

// ErrDataDir reports a data folder that cannot be used.
var ErrDataDir = errors.New("data folder unusable")

// ErrInUse reports another labreview server running on the data folder.
var ErrInUse = errors.New("another labreview server is already running on this data folder")

// ErrNewerSchema reports a database written by a newer labreview.
var ErrNewerSchema = errors.New("the database was written by a newer labreview")

// Options configures Open.
type Options struct {
	// DataDir holds the database file. It is created 0700.
	DataDir string
	// Server takes the folder's server lock: the embedded mode is one
	// server per folder by design (its caches assume that), so a second
	// server is refused with ErrInUse. Other processes (the CLI) open the
	// database beside it without the lock.
	Server bool
	// LegacyDatabase names the database of the FerretDB store that earlier
	// versions kept in DataDir/store (mongodb.database; default
	// "labreview"). It is imported on the first start.
	LegacyDatabase string
	// Readers is the size of the read pool (default: 2 per CPU, at least 4).
	Readers int
	// WriteTimeout bounds each write (default 10 s).
	WriteTimeout time.Duration
	// WALMaxBytes bounds the write-ahead log (default DefaultWALMaxBytes):
	// past half of it, a TRUNCATE checkpoint empties it (checkpoint.go).
	WALMaxBytes int64
	// Logger receives the adapter's own log lines.
	Logger *slog.Logger
}

// Store is the embedded database. It implements db.Store.
type Store struct {
	onBatch atomic.Pointer[func(size int, took time.Duration)] // ObserveBatches
	path    string
	dataDir string
	walMax  int64 // Options.WALMaxBytes
	// The write goroutine's state of boundWAL: no truncation before
	// walRetry, none holding writes back before walHardRetry, and the last
	// wait after such a truncation was blocked.
	walRetry, walHardRetry time.Time
	walBackoff             time.Duration
	ckptMu                 sync.Mutex // one checkpoint at a time (checkpoint, boundWAL)
	w                      *sql.DB    // the one writer connection
	r                      *sql.DB    // read-only pool
	ckpt                   *sql.DB    // the checkpointer's connection (checkpoint.go)
	lock                   *os.File
	log                    *slog.Logger
	writeTimeout           time.Duration
	stmts                  sync.Map // *sql.DB → map of prepared statements, see prepared
	// pendingPrepare holds the statements txExec met unprepared inside a
	// transaction; the writer prepares them between transactions.
	pendingPrepare sync.Map
	// readSlots admits as many reads as the read pool has connections, in
	// arrival order, so database/sql never picks a random waiter (which
	// made read latency's tail several times its median under load).
	readSlots chan struct{}
	// heavySlots admits the work whose cost grows with the data (scans
	// of the query index) to one fewer than the processors (at least
	// one), so that sign-in, session checks and plain lists always find
	// a processor and a read connection (issue 16, point 4).
	heavySlots chan struct{}
	// index is the query index (runindex.go). A load runs in the
	// background under loadCtx (ended by Close), one at a time (load, under
	// loadMu); queries wait for it, each within its own time limit.
	index    runIndex
	loadMu   sync.Mutex
	load     *loadCall
	loadCtx  context.Context
	stopLoad context.CancelFunc
	loading  sync.WaitGroup
	server   bool
	// committing is set by the writer from the commit of a batch until
	// it has applied the batch's changes to the index.
	committing         atomic.Int32
	ckptStop, ckptDone chan struct{}
	// The write goroutine (writer.go) and its queue.
	writes     chan *writeOp
	closing    chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

var _ db.Store = (*Store)(nil)

// Open opens (creating it if needed) the database in opts.DataDir, imports
// a legacy embedded store found there on the first start, and applies the
// schema migrations.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = defaultWriteTimeout
	}
	if opts.WALMaxBytes <= 0 {
		opts.WALMaxBytes = DefaultWALMaxBytes
	}
	if opts.Readers <= 0 {
		opts.Readers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if opts.LegacyDatabase == "" {
		opts.LegacyDatabase = "labreview"
	}
	dir, err := prepareDataDir(opts.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Store{path: filepath.Join(dir, FileName), dataDir: dir, log: opts.Logger, writeTimeout: opts.WriteTimeout,
		walMax: opts.WALMaxBytes}
	if opts.Server {
		if s.lock, err = lockFile(filepath.Join(dir, lockFileName), ErrInUse); err != nil {
			return nil, err
		}
	}
	if err := s.importLegacyIfNeeded(ctx, opts.LegacyDatabase); err != nil {
		s.unlock()
		return nil, err
	}
	if err := s.openPools(opts.Readers); err != nil {
		s.unlock()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	s.loadCtx, s.stopLoad = context.WithCancel(context.Background())
	if opts.Server {
		// The server loads the query index at once (a few seconds of CPU
		// per 100,000 runs), so the first query does not wait for it; a
		// query that comes earlier waits (indexRead), and other requests
		// are served meanwhile.
		s.server = true
		s.startLoad(0)
	}
	return s, nil
}

// dsn builds a connection string: busy_timeout is applied first by the
// driver, then the other pragmas.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", journalSizeLimit))
	// No memory map (mmap_size stays 0): in WAL mode every read
	// transaction after another connection's commit unmaps the file, so on
	// a server that writes, a map made lookups 4× slower than pread
	// (docs/benchmarks.md, "Lookups as data grows").
	if readOnly {
		q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", readerCacheKiB))
		q.Set("_query_only", "1")
	} else {
		q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", writerCacheKiB))
		// Checkpoints run beside the writer (checkpoint.go), never inside
		// a commit.
		q.Add("_pragma", "wal_autocheckpoint(0)")
		q.Set("_txlock", "immediate")
	}
	return fileURI(path) + "?" + q.Encode()
}

// fileURI is the SQLite URI of a file path.
func fileURI(path string) string { return "file:" + (&url.URL{Path: path}).EscapedPath() }

func (s *Store) openPools(readers int) error {
	if err := privateFiles(s.path); err != nil {
		return fmt.Errorf("db: open %s: %w", s.path, err)
	}
	w, err := sql.Open("sqlite", dsn(s.path, false))
	if err != nil {
		return fmt.Errorf("db: open %s: %w", s.path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// The first connection creates the file and switches it to WAL before
	// any reader opens it.
	if err := w.PingContext(context.Background()); err != nil {
		_ = w.Close()
		return fmt.Errorf("db: open %s: %w", s.path, classify(err))
	}
	r, err := sql.Open("sqlite", dsn(s.path, true))
	if err != nil {
		_ = w.Close()
		return fmt.Errorf("db: open %s: %w", s.path, err)
	}
	s.readSlots = make(chan struct{}, readers)
	s.heavySlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxIdleTime(5 * time.Minute)
	ck, err := sql.Open("sqlite", dsn(s.path, false))
	if err != nil {
		_ = w.Close()
		_ = r.Close()
		return fmt.Errorf("db: open %s: %w", s.path, err)
	}
	ck.SetMaxOpenConns(1)
	s.w, s.r, s.ckpt = w, r, ck
	s.startWriter()
	s.startCheckpointer()
	return nil
}

// Mode is always embedded.
func (s *Store) Mode() db.Mode { return db.ModeEmbedded }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that the database file can be read and, on a server, that
// the query index has been loaded: until then the server is not ready
// (/readyz answers 503 for the second or so a start takes per 100,000
// runs), as its first queries would wait for the index.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("db: ping: %w", classify(err))
	}
	if s.server && !s.index.everLoaded.Load() {
		// A small database loads in milliseconds: give it a moment.
		// A failed first load is tried again here.
		c := s.startLoad(0)
		select {
		case <-c.done:
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
		if !s.index.everLoaded.Load() {
			return fmt.Errorf("db: ping: the query index is loading: %w", db.ErrUnavailable)
		}
	}
	return nil
}

// Close closes every connection, folds the WAL back into the database and
// releases the folder. It is safe to call more than once.
func (s *Store) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		if s.stopLoad != nil {
			s.stopLoad()
		}
		s.loading.Wait()
		s.stopWriter()
		s.stopCheckpointer()
		var errs []error
		if s.ckpt != nil {
			errs = append(errs, s.ckpt.Close())
		}
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		if s.w != nil {
			// Best effort: leaves a compact file and no WAL behind; a
			// failure here loses nothing (the next open replays the WAL).
			_, _ = s.w.ExecContext(ctx, "PRAGMA optimize")
			_, _ = s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
			errs = append(errs, s.w.Close())
		}
		s.unlock()
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("db: close: %w", err)
		}
	})
	return s.closeErr
}

func (s *Store) unlock() {
	if s.lock != nil {
		unlockFile(s.lock)
		s.lock = nil
	}
}

// prepared returns a prepared statement for query on pool, preparing it
// once. Statements are the hot path of every request; SQLite compiling the
// same text again each time would cost more than running it.
func (s *Store) prepared(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	trace(query)
	m, _ := s.stmts.LoadOrStore(pool, &sync.Map{})
	cache := m.(*sync.Map)
	if st, ok := cache.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := cache.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// readTurn waits for a read slot, first come first served.
func (s *Store) readTurn(ctx context.Context) (release func(), err error) {
	select {
	case s.readSlots <- struct{}{}:
		return func() { <-s.readSlots }, nil
	case <-ctx.Done():
		return nil, classify(ctx.Err())
	}
}

// heavyTurn waits for one of the slots of work whose cost grows with the
// data.
func (s *Store) heavyTurn(ctx context.Context) (release func(), err error) {
	select {
	case s.heavySlots <- struct{}{}:
	case <-ctx.Done():
		return nil, classify(ctx.Err())
	}
	return func() { <-s.heavySlots }, nil
}

// readRow runs one query on the read pool and scans its single row.
func (s *Store) readRow(ctx context.Context, dest []any, query string, args ...any) error {
	release, err := s.readTurn(ctx)
	if err != nil {
		return err
	}
	defer release()
	st, err := s.prepared(ctx, s.r, query)
	if err != nil {
		return classify(err)
	}
	return classify(st.QueryRowContext(ctx, args...).Scan(dest...))
}

// readAll runs a query on the read pool and scans every row with scan.
func readAll[T any](ctx context.Context, s *Store, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	return readAllWith(ctx, s, true, scan, query, args...)
}

// readAllWith is readAll; with cache false the statement is prepared for
// this call only (statements made from user queries vary without bound).
func readAllWith[T any](ctx context.Context, s *Store, cache bool, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	release, err := s.readTurn(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var rows *sql.Rows
	if cache {
		st, err := s.prepared(ctx, s.r, query)
		if err != nil {
			return nil, classify(err)
		}
		rows, err = st.QueryContext(ctx, args...)
		if err != nil {
			return nil, classify(err)
		}
	} else {
		rows, err = s.r.QueryContext(ctx, trace(query), args...)
		if err != nil {
			return nil, classify(err)
		}
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, v)
	}
	return out, classify(rows.Err())
}

// classify maps driver errors to db's sentinels, keeping the original for
// logs (errors.Is still reaches the sentinel).
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return db.ErrNotFound
	}
	for _, sentinel := range []error{db.ErrNotFound, db.ErrConflict, db.ErrUnavailable, db.ErrStorage, db.ErrLeaseHeld, db.ErrNotEmpty, db.ErrLimit} {
		if errors.Is(err, sentinel) {
			return err
		}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", db.ErrConflict, err)
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", db.ErrUnavailable, err)
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("%w: %w", db.ErrStorage, err)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", db.ErrUnavailable, err)
	}
	return err
}

// Times are stored as integer Unix milliseconds (SQLite has no time type,
// and drivers write text in different layouts); the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func optMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ms(*t)
}

func fromOptMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// queryTracer, when set (by tests), sees the text of every statement the
// adapter runs; explain_test.go checks the query plan of each.
var queryTracer atomic.Pointer[func(query string)]

// trace hands query to the tracer and returns it.
func trace(query string) string {
	if f := queryTracer.Load(); f != nil {
		(*f)(query)
	}
	return query
}

func isNotFound(err error) bool { return errors.Is(err, db.ErrNotFound) }
