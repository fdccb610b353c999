// Package db owns the connection to MongoDB: a hosted deployment named by a
// URI, or the embedded store (FerretDB on SQLite) started in-process. It maps
// driver errors to the package's sentinel errors at its boundary, so no
// driver text ever travels further up.
package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// Errors returned by this package. Callers compare with errors.Is.
var (
	// ErrNotFound means no document matched.
	ErrNotFound = errors.New("db: not found")
	// ErrConflict means a write would have broken a unique constraint or a
	// precondition.
	ErrConflict = errors.New("db: conflict")
	// ErrUnavailable means the database cannot be reached right now.
	ErrUnavailable = errors.New("db: database unavailable")
)

// Mode names where the data lives.
type Mode string

// The two modes.
const (
	ModeEmbedded Mode = "embedded"
	ModeHosted   Mode = "hosted"
)

// Options configures Open.
type Options struct {
	// URI of a hosted MongoDB (mongodb:// or mongodb+srv://). Empty selects
	// the embedded store under DataDir.
	URI string
	// Database is the database name inside the deployment.
	Database string
	// DataDir holds the embedded store's files and socket.
	DataDir string
	// ConnectTimeout bounds dialling one server.
	ConnectTimeout time.Duration
	// ServerSelectionTimeout bounds how long an operation waits for a usable
	// server before it fails with ErrUnavailable.
	ServerSelectionTimeout time.Duration
	// Logger receives the package's own log lines.
	Logger *slog.Logger
	// ShareRunningStore lets a second process (the CLI) use the store of the
	// server already running on DataDir, through its socket, instead of
	// failing with ErrStoreInUse. Two stores never open the same files.
	ShareRunningStore bool
}

func (o *Options) setDefaults() {
	if o.Database == "" {
		o.Database = "labreview"
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.ServerSelectionTimeout <= 0 {
		o.ServerSelectionTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// DB is an open database. It is safe for concurrent use.
type DB struct {
	mode   Mode
	name   string
	log    *slog.Logger
	client *mongo.Client
	store  *embeddedStore // nil in hosted mode

	indexesReady atomic.Bool
	stop         context.CancelFunc
	background   sync.WaitGroup
	closeOnce    sync.Once
}

// Open connects to the hosted deployment named by opts.URI, or starts the
// embedded store when opts.URI is empty. A hosted deployment that cannot be
// reached is not an error: Open returns at once, operations fail with
// ErrUnavailable, and indexes are ensured in the background as soon as the
// deployment answers. Errors that retrying cannot fix (a malformed URI, an
// unwritable data folder, a folder in use by another process) are returned.
func Open(ctx context.Context, opts Options) (*DB, error) {
	opts.setDefaults()
	d := &DB{name: opts.Database, log: opts.Logger}

	clientOpts := options.Client().
		SetAppName("labreview").
		SetConnectTimeout(opts.ConnectTimeout).
		SetServerSelectionTimeout(opts.ServerSelectionTimeout)

	if opts.URI == "" {
		d.mode = ModeEmbedded
		store, err := startEmbedded(opts.DataDir, opts.Logger)
		switch {
		case errors.Is(err, ErrStoreInUse) && opts.ShareRunningStore:
			sock, serr := runningStoreSocket(opts.DataDir)
			if serr != nil {
				return nil, fmt.Errorf("%w, and its socket does not answer: %w", err, serr)
			}
			clientOpts.ApplyURI(socketURI(sock))
		case err != nil:
			return nil, err
		default:
			d.store = store
			clientOpts.ApplyURI(store.uri())
		}
	} else {
		d.mode = ModeHosted
		clientOpts.ApplyURI(opts.URI)
	}

	client, err := mongo.Connect(clientOpts)
	if err != nil {
		d.closeStore()
		return nil, fmt.Errorf("db: connect: %w", err)
	}
	d.client = client

	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stop = stop
	if d.mode == ModeEmbedded {
		// The embedded store is local: if it cannot take its indexes now,
		// something is badly wrong, and starting anyway would hide it.
		if err := d.ensureIndexes(ctx); err != nil {
			_ = d.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		d.indexesReady.Store(true)
	} else {
		d.background.Add(1)
		go d.ensureIndexesLoop(bg)
	}
	return d, nil
}

// WithDatabase returns a DB that shares this one's connection but uses
// another database name, with its indexes ensured. Tests use it to isolate
// themselves; closing the returned DB is not needed (and does nothing).
func (d *DB) WithDatabase(ctx context.Context, name string) (*DB, error) {
	other := &DB{mode: d.mode, name: name, log: d.log, client: d.client, store: nil}
	other.closeOnce.Do(func() {}) // the connection belongs to d
	if err := other.ensureIndexes(ctx); err != nil {
		return nil, err
	}
	other.indexesReady.Store(true)
	return other, nil
}

// Mode reports whether the data lives in the embedded store or a hosted
// deployment.
func (d *DB) Mode() Mode { return d.mode }

// Name is the database name.
func (d *DB) Name() string { return d.name }

// Database is the handle collections are taken from.
func (d *DB) Database() *mongo.Database { return d.client.Database(d.name) }

// SocketPath is the embedded store's Unix socket, or "" in hosted mode.
func (d *DB) SocketPath() string {
	if d.store == nil {
		return ""
	}
	return d.store.socketPath
}

// Ping checks that the database answers and that its indexes are in place.
// It returns ErrUnavailable otherwise.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("db: ping: %w", Classify(err))
	}
	if !d.indexesReady.Load() {
		return fmt.Errorf("db: indexes not yet ensured: %w", ErrUnavailable)
	}
	return nil
}

// Close disconnects and, in embedded mode, stops the store. It is safe to
// call more than once and never panics.
func (d *DB) Close(ctx context.Context) error {
	var err error
	d.closeOnce.Do(func() {
		if d.stop != nil {
			d.stop()
		}
		d.background.Wait()
		if d.client != nil {
			if e := d.client.Disconnect(ctx); e != nil {
				err = fmt.Errorf("db: disconnect: %w", e)
			}
		}
		d.closeStore()
	})
	return err
}

func (d *DB) closeStore() {
	if d.store != nil {
		d.store.close()
	}
}

// ensureIndexesLoop retries until every index exists, backing off up to 30 s.
func (d *DB) ensureIndexesLoop(ctx context.Context) {
	defer d.background.Done()
	wait := time.Second
	for {
		err := d.ensureIndexes(ctx)
		if err == nil {
			d.indexesReady.Store(true)
			d.log.Info("database ready", "mode", string(d.mode))
			return
		}
		d.log.Warn("database not reachable; will retry", "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// Classify maps a driver error to this package's sentinels, keeping the
// original only for logs (errors.Is still reaches the sentinel).
func Classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return ErrNotFound
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case isUnavailable(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	default:
		return err
	}
}

func isUnavailable(err error) bool {
	var sel topology.ServerSelectionError
	return mongo.IsNetworkError(err) ||
		mongo.IsTimeout(err) ||
		errors.As(err, &sel) ||
		errors.Is(err, topology.ErrTopologyClosed) ||
		errors.Is(err, mongo.ErrClientDisconnected) ||
		errors.Is(err, context.DeadlineExceeded)
}
