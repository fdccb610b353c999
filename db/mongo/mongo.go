// Package mongo is the hosted adapter: a MongoDB deployment (replica set or
// Atlas) named by a URI, through the official v2 driver. Several labreview
// instances may share one deployment; every state change that must not race
// is a single-document conditional write, which MongoDB makes atomic.
//
// Documents keep the layout earlier versions wrote (user ids as ObjectIDs,
// times as BSON dates), so hosted databases carry over unchanged.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"labreview/db"
)

// Options configures Open.
type Options struct {
	// URI of the deployment (mongodb:// or mongodb+srv://).
	URI string
	// Database is the database name inside the deployment.
	Database string
	// ConnectTimeout bounds dialling one server.
	ConnectTimeout time.Duration
	// ServerSelectionTimeout bounds how long an operation waits for a
	// usable server before it fails with db.ErrUnavailable.
	ServerSelectionTimeout time.Duration
	// Logger receives the adapter's own log lines.
	Logger *slog.Logger
}

// Store is a hosted MongoDB database. It implements db.Store.
type Store struct {
	name   string
	log    *slog.Logger
	client *mdb.Client

	indexesReady atomic.Bool
	stop         context.CancelFunc
	background   sync.WaitGroup
	closeOnce    sync.Once
}

var _ db.Store = (*Store)(nil)

// Open connects to the deployment. A deployment that cannot be reached is
// not an error: Open returns at once, operations fail with
// db.ErrUnavailable, and indexes are ensured in the background as soon as
// the deployment answers. A malformed URI is an error.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Database == "" {
		opts.Database = "labreview"
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	if opts.ServerSelectionTimeout <= 0 {
		opts.ServerSelectionTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	client, err := mdb.Connect(options.Client().
		ApplyURI(opts.URI).
		SetAppName("labreview").
		SetConnectTimeout(opts.ConnectTimeout).
		SetServerSelectionTimeout(opts.ServerSelectionTimeout))
	if err != nil {
		return nil, fmt.Errorf("db: connect: %s", RedactURIText(err.Error(), opts.URI))
	}
	s := &Store{name: opts.Database, log: opts.Logger, client: client}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.background.Add(1)
	go s.ensureIndexesLoop(bg)
	return s, nil
}

// Mode is always hosted.
func (s *Store) Mode() db.Mode { return db.ModeHosted }

// Name is the database name.
func (s *Store) Name() string { return s.name }

func (s *Store) database() *mdb.Database { return s.client.Database(s.name) }

func (s *Store) coll(name string) *mdb.Collection { return s.database().Collection(name) }

// Ping checks that the deployment answers and that the indexes are in
// place; db.ErrUnavailable otherwise. Before the deployment has first
// answered it fails at once, without waiting for a server.
func (s *Store) Ping(ctx context.Context) error {
	if !s.indexesReady.Load() {
		return fmt.Errorf("db: indexes not yet ensured: %w", db.ErrUnavailable)
	}
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("db: ping: %w", classify(err))
	}
	return nil
}

// Ready reports, without waiting, whether the deployment has answered
// since the start and the indexes exist. Until then every operation would
// wait the server-selection timeout to fail: start-up work and API
// requests ask this first and skip or answer 503 at once.
func (s *Store) Ready() bool { return s.indexesReady.Load() }

// Close stops the background work and disconnects. Safe to call twice.
func (s *Store) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		s.stop()
		s.background.Wait()
		if e := s.client.Disconnect(ctx); e != nil {
			err = fmt.Errorf("db: disconnect: %w", e)
		}
	})
	return err
}

// Drop deletes the whole database (tests use it to clean up).
func (s *Store) Drop(ctx context.Context) error {
	return classify(s.database().Drop(ctx))
}

// ensureIndexesLoop retries until every index exists. Each try against a
// deployment that is down already waits the server-selection timeout, so
// the pause between tries stays short (at most 2 s): service starts within
// a few seconds of the deployment's return.
func (s *Store) ensureIndexesLoop(ctx context.Context) {
	defer s.background.Done()
	wait := time.Second
	for {
		err := s.ensureIndexes(ctx)
		if err == nil {
			s.indexesReady.Store(true)
			s.log.Info("database ready", "mode", string(db.ModeHosted))
			return
		}
		s.log.Warn("database not reachable; will retry", "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// classify maps driver errors to db's sentinels, keeping the original for
// logs (errors.Is still reaches the sentinel).
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mdb.ErrNoDocuments):
		return db.ErrNotFound
	case mdb.IsDuplicateKeyError(err):
		return fmt.Errorf("%w: %w", db.ErrConflict, err)
	case isUnavailable(err):
		return fmt.Errorf("%w: %w", db.ErrUnavailable, err)
	default:
		return err
	}
}

func isUnavailable(err error) bool {
	var sel topology.ServerSelectionError
	return mdb.IsNetworkError(err) ||
		mdb.IsTimeout(err) ||
		errors.As(err, &sel) ||
		errors.Is(err, topology.ErrTopologyClosed) ||
		errors.Is(err, mdb.ErrClientDisconnected) ||
		errors.Is(err, context.DeadlineExceeded)
}

// oid converts an id to the ObjectID it is stored as. A malformed id names
// no stored record.
func oid(id string) (bson.ObjectID, error) {
	o, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return o, db.ErrNotFound
	}
	return o, nil
}

// findAll runs a query and decodes every result; what names the operation
// in error messages.
func findAll[T any](ctx context.Context, coll *mdb.Collection, what string, filter any, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := coll.Find(ctx, filter, opts...)
	if err != nil {
		return nil, fmt.Errorf("db: %s: %w", what, classify(err))
	}
	out := []T{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("db: %s: %w", what, classify(err))
	}
	return out, nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func optUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}
