// Package db is labreview's storage boundary: the domain-shaped interface
// the rest of the program stores and reads through, the stored types and
// the errors. Two adapters implement it: db/sqlite, the embedded default,
// and db/mongo, a hosted MongoDB deployment. One contract suite
// (db/contract_test.go) runs against both.
//
// Outside this package tree nothing imports a database driver, bson or
// database/sql, and ids are opaque strings. Adapters turn driver errors
// into this package's sentinels, so no driver text travels further up.
package db

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Errors returned by every adapter. Callers compare with errors.Is.
var (
	// ErrNotFound means no record matched.
	ErrNotFound = errors.New("db: not found")
	// ErrConflict means a write would have broken a unique constraint or a
	// precondition.
	ErrConflict = errors.New("db: conflict")
	// ErrUnavailable means the database cannot be reached or is too busy
	// right now; retrying later may succeed.
	ErrUnavailable = errors.New("db: database unavailable")
	// ErrStorage means the data folder refuses writes: the disk is full, the
	// folder is read-only, or the device reports an I/O error. Reads may
	// still work. An operator has to act.
	ErrStorage = errors.New("db: the data folder cannot be written (disk full, read-only or I/O error)")
	// ErrLeaseHeld means another caller holds the lease right now.
	ErrLeaseHeld = errors.New("db: lease held by another caller")
	// ErrNotEmpty means an import without merging met a database that
	// already holds data.
	ErrNotEmpty = errors.New("db: the database is not empty")
	// ErrLimit means a write would take a record count past its limit
	// (a user's saved views).
	ErrLimit = errors.New("db: limit reached")
)

// Mode names where the data lives.
type Mode string

// The two modes.
const (
	ModeEmbedded Mode = "embedded"
	ModeHosted   Mode = "hosted"
)

// Store is the whole storage boundary. Implementations are safe for
// concurrent use. Every method takes a context first; writes that must not
// race (refresh-token rotation, counters, setup, leases) are single
// conditional statements or transactions inside the adapter.
type Store interface {
	Users
	Sessions
	Throttle
	Audit
	Keys
	Secrets
	Tokens
	Runs
	Series
	Reviews
	Comments
	Projects
	SavedViews
	Setup
	Leases
	Transfer
	Artifacts

	// Mode reports whether this is the embedded or a hosted database.
	Mode() Mode
	// Ping checks that the database answers and is ready (schema or
	// indexes in place); ErrUnavailable otherwise.
	Ping(ctx context.Context) error
	// Close releases the database. It is safe to call more than once.
	Close(ctx context.Context) error
}

// Users stores accounts. Emails are stored as given (auth normalises them)
// and compared byte for byte; one account per email.
type Users interface {
	// InsertUser stores a new user; a taken email or id gives ErrConflict.
	InsertUser(ctx context.Context, u *User) error
	// UserByID finds a user (ErrNotFound if none).
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail finds a user by exact email (ErrNotFound if none).
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UserBySkeleton finds a user whose email has the given confusable
	// skeleton (ErrNotFound if none).
	UserBySkeleton(ctx context.Context, skeleton string) (*User, error)
	// SetEmailSkeleton stores a user's email skeleton (filling in users
	// stored before skeletons existed).
	SetEmailSkeleton(ctx context.Context, id, skeleton string) error
	// UsersWithoutSkeleton returns up to limit users whose skeleton is not
	// stored yet, by an index (an up-to-date store answers with none at
	// the cost of one index probe).
	UsersWithoutSkeleton(ctx context.Context, limit int) ([]User, error)
	// ListUsers returns every user, ordered by email.
	ListUsers(ctx context.Context) ([]User, error)
	// CountActiveAdmins counts enabled admins, leaving out the user except
	// ("" leaves out nobody).
	CountActiveAdmins(ctx context.Context, except string) (int64, error)
	// UpdateUser applies change atomically and returns the user before and
	// after it. ErrNotFound if there is no such user.
	UpdateUser(ctx context.Context, id string, change UserChange, now time.Time) (before, after *User, err error)
	// ReplacePasswordHash swaps the hash only if it is still oldHash and
	// reports whether it did.
	ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string) (bool, error)
	// DeleteUser removes a user with their saved views and returns it
	// (ErrNotFound if none).
	DeleteUser(ctx context.Context, id string) (*User, error)
}

// Sessions stores refresh-token families.
type Sessions interface {
	InsertSession(ctx context.Context, s *Session) error
	// SessionByID finds a session, live or not (ErrNotFound if none).
	SessionByID(ctx context.Context, id string) (*Session, error)
	// RotateSession replaces the current secret hash, if it is presented,
	// by newHash in one conditional write, only while the session is live:
	// of concurrent rotations presenting the same secret exactly one
	// succeeds. The replaced hash becomes PrevHash (replaced at now); the
	// PrevHash before it goes to the front of OldHashes, of which at most
	// keepOld are kept; LastUsedAt becomes now and IdleExpiresAt the
	// earlier of now+idle and ExpiresAt. It returns the session as
	// rotated, or nil when nothing was rotated (the secret is not the
	// current one, or the session ended or does not exist).
	RotateSession(ctx context.Context, id, presented, newHash string, now time.Time, idle time.Duration, keepOld int) (*Session, error)
	// TouchSession records use of a session that is not revoked.
	TouchSession(ctx context.Context, id string, now time.Time) error
	// RevokeSession ends a session and reports whether it was not revoked
	// before.
	RevokeSession(ctx context.Context, id, reason string, now time.Time) (bool, error)
	// RevokeUserSessions ends every unrevoked session of a user except keep
	// ("" keeps none) and returns the ids it ended.
	RevokeUserSessions(ctx context.Context, userID, keep, reason string, now time.Time) ([]string, error)
	// LiveSessions lists a user's live sessions, most recently used first.
	LiveSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// SweepSessions deletes sessions that ended (expired, idle or revoked)
	// before cutoff and returns how many.
	SweepSessions(ctx context.Context, cutoff time.Time) (int64, error)
}

// Throttle keeps fixed-window failure counters shared by every instance.
type Throttle interface {
	// CounterState returns key's counter as of now (zero when there is
	// none or its window is over).
	CounterState(ctx context.Context, key string, now time.Time) (Counter, error)
	// CountFailure adds one failure to key's running window, or starts a
	// new window of length window at now, and returns the counter after
	// it. Concurrent calls are all counted.
	CountFailure(ctx context.Context, key string, window time.Duration, now time.Time) (Counter, error)
	// ReleaseAttempt takes back one counted attempt of key (an attempt
	// reserved by CountFailure that turned out to succeed).
	ReleaseAttempt(ctx context.Context, key string) error
	// ResetCounter clears key.
	ResetCounter(ctx context.Context, key string) error
	// SweepCounters deletes counters whose window ended before cutoff.
	SweepCounters(ctx context.Context, cutoff time.Time) error
}

// Audit is the append-only audit log: nothing updates or deletes an event,
// except the retention sweep, which drops events past their age.
type Audit interface {
	// InsertAudit appends an event; a zero ID or time is filled in.
	InsertAudit(ctx context.Context, e *AuditEvent) error
	// ListAudit returns up to limit events matching f, newest first, and
	// whether more exist.
	ListAudit(ctx context.Context, f AuditFilter, limit int) ([]AuditEvent, bool, error)
	// DeleteAuditBefore deletes events older than cutoff (the retention
	// sweep) and returns how many.
	DeleteAuditBefore(ctx context.Context, cutoff time.Time) (int64, error)
}

// Keys stores token-signing keys shared by every instance.
type Keys interface {
	// SigningKeys lists every stored key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	InsertSigningKey(ctx context.Context, k *SigningKey) error
	// RetireSigningKeys marks every active key except keep as retired.
	RetireSigningKeys(ctx context.Context, keep string, now time.Time) error
	// DeleteSigningKeysRetiredBefore removes keys retired before cutoff.
	DeleteSigningKeysRetiredBefore(ctx context.Context, cutoff time.Time) (int64, error)
}

// Secrets keeps named server secrets shared by every instance (the key of
// the API-token hash).
type Secrets interface {
	// SharedSecret returns the secret stored under name. When there is
	// none it stores candidate first; of concurrent callers with different
	// candidates, all get the one that was stored first.
	SharedSecret(ctx context.Context, name string, candidate []byte) ([]byte, error)
}

// Tokens stores API tokens.
type Tokens interface {
	// InsertAPIToken stores a new token; a taken id or hash gives
	// ErrConflict.
	InsertAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByHash finds a token by the hash of its secret, revoked or
	// not (ErrNotFound if none).
	APITokenByHash(ctx context.Context, hash string) (*APIToken, error)
	// APITokenByID finds a token (ErrNotFound if none).
	APITokenByID(ctx context.Context, id string) (*APIToken, error)
	// ListAPITokens lists the tokens of userID ("" lists everyone's),
	// newest first, revoked ones included.
	ListAPITokens(ctx context.Context, userID string) ([]APIToken, error)
	// RevokeAPIToken revokes a token and reports whether it was not
	// revoked before (ErrNotFound if there is no such token).
	RevokeAPIToken(ctx context.Context, id string, now time.Time) (bool, error)
	// TouchAPIToken records a use of a token.
	TouchAPIToken(ctx context.Context, id string, now time.Time) error
}

// Runs stores the runs jobs report.
type Runs interface {
	// CreateRun stores r unless a run with the same project and external
	// id exists; it returns the stored run and whether this call created
	// it. Of concurrent identical creates exactly one creates.
	CreateRun(ctx context.Context, r *Run) (*Run, bool, error)
	// CreateRunAudited is CreateRun that, when it creates the run, also
	// stores the audit event that audit makes of the stored run: in the
	// run's transaction on the embedded store (one write instead of two),
	// right after the run on the hosted one, where a failure to store the
	// event is returned as an *AuditError beside the created run.
	CreateRunAudited(ctx context.Context, r *Run, audit func(stored *Run) *AuditEvent) (*Run, bool, error)
	// RunByID finds a run, deleted or not (ErrNotFound if none).
	RunByID(ctx context.Context, id string) (*Run, error)
	// UpdateRun applies change to the run's current state and stores the
	// result atomically, with Version one higher and UpdatedAt now. change
	// may be called more than once (when another writer got there first)
	// and must depend only on its argument; an error from it is returned
	// as it is and nothing is stored.
	UpdateRun(ctx context.Context, id string, now time.Time, change func(*Run) error) (before, after *Run, err error)
	// ListRuns returns up to limit runs matching f, newest first, and
	// whether more exist. Every filter combination is served by an index.
	ListRuns(ctx context.Context, f RunFilter, limit int) ([]Run, bool, error)
	// CountRuns counts the runs the filter selects (its paging fields are
	// ignored), exactly.
	CountRuns(ctx context.Context, f RunFilter) (int64, error)
	// ListRunKeys returns the param paths, metric names and series names
	// that live runs of project (AllProjects: of any project) have, those
	// that start with prefix (byte for byte), up to limit of each kind
	// (Truncated when there are more). It reads the keys that run writes
	// keep (see runkeys.go), never the runs.
	ListRunKeys(ctx context.Context, project, prefix string, limit int) (*RunKeys, error)
}

// Series stores the points of runs' series in chunks (see ChunkPoints).
type Series interface {
	// WriteSeries merges each series' points (sorted by step, one point a
	// step: SortPoints) into the run's series and updates their summaries,
	// atomically: a step already stored takes the new value, so writing a
	// batch again adds nothing. When a step was added or a value changed,
	// the run's DataVersion and Version go up, UpdatedAt becomes now, and
	// a verdict on it becomes outdated. It returns how many steps were new.
	// The run's clock (ClockSeries) is written like a series, but neither
	// counts in added nor changes the judged data.
	WriteSeries(ctx context.Context, runID string, batch map[string][]Point, now time.Time) (added int, err error)
	// DeleteSeries removes the points of a run's series from step
	// fromStep on (0: every point; the series is then gone) and returns
	// how many it removed, atomically on the embedded store (see
	// WriteSeries for the hosted one). When it removed any, the series
	// summary follows, and the run changes as for WriteSeries: DataVersion
	// and Version up, UpdatedAt now, a verdict outdated. Removing points
	// of the clock (ClockSeries) changes no judged data.
	DeleteSeries(ctx context.Context, runID, name string, fromStep int64, now time.Time) (removed int64, err error)
	// SeriesSummaries returns the summaries of a run's series, by name.
	SeriesSummaries(ctx context.Context, runID string) ([]SeriesSummary, error)
	// SummariesOf returns, by run id, the summaries of the named series
	// of several runs (a page of a list): a run without any of them is
	// left out, and each run's summaries are sorted by name. The callers
	// bound both lists (runs.MaxPageSize, runs.MaxSummaryNames).
	SummariesOf(ctx context.Context, runIDs, names []string) (map[string][]SeriesSummary, error)
	// ChunkSummaries returns the summaries of the chunks of a series that
	// hold steps in [from, to], in step order.
	ChunkSummaries(ctx context.Context, runID, name string, from, to int64) ([]ChunkSummary, error)
	// Chunks returns the chunks of a series that start at the given steps,
	// with their points, in step order.
	Chunks(ctx context.Context, runID, name string, firstSteps []int64) ([]Chunk, error)
}

// Reviews stores verdicts on runs: each run's history, and the current
// verdict on the run itself.
type Reviews interface {
	// ReviewRun adds entry to the run's history and makes it the run's
	// verdict (Review, with Version one higher and UpdatedAt now) in one
	// step, if check accepts the run's current state; check's error is
	// returned as it is and nothing is stored.
	ReviewRun(ctx context.Context, entry *ReviewEntry, now time.Time, check func(*Run) error) (before, after *Run, err error)
	// ReviewHistory lists a run's verdicts, newest first.
	ReviewHistory(ctx context.Context, runID string) ([]ReviewEntry, error)
	// ReviewBatch lists the verdicts of one bulk review (or undo).
	ReviewBatch(ctx context.Context, batchID string) ([]ReviewEntry, error)
	// ReviewBatchSizes counts the verdicts of each batch named (a batch
	// with none is left out), so a history can tell a bulk review from a
	// single verdict.
	ReviewBatchSizes(ctx context.Context, batchIDs []string) (map[string]int64, error)
	// ReviewByID finds a verdict (ErrNotFound if none).
	ReviewByID(ctx context.Context, id string) (*ReviewEntry, error)
}

// Comments stores comments on runs.
type Comments interface {
	InsertComment(ctx context.Context, c *Comment) error
	// CommentByID finds a comment, deleted or not (ErrNotFound if none).
	CommentByID(ctx context.Context, id string) (*Comment, error)
	// ListComments lists a run's comments, oldest first, deleted ones
	// included.
	ListComments(ctx context.Context, runID string) ([]Comment, error)
	// UpdateComment applies change to the comment atomically (change may
	// run more than once; its error is returned as it is).
	UpdateComment(ctx context.Context, id string, change func(*Comment) error) (*Comment, error)
}

// Projects stores what is kept of projects beside their runs. Their
// counters move with every run write (CreateRun, UpdateRun, ReviewRun,
// WriteSeries), in the same transaction on SQLite.
type Projects interface {
	// ListProjects returns every project, by name (a lab has tens to
	// hundreds).
	ListProjects(ctx context.Context) ([]Project, error)
	// ProjectByName finds a project (ErrNotFound if none).
	ProjectByName(ctx context.Context, name string) (*Project, error)
	// SetBaseline sets (or with "" clears) a project's baseline run.
	SetBaseline(ctx context.Context, project, runID string) error
	// CreateProject stores a project before its first run (an MLflow
	// experiment created empty) and reports whether it is new; an
	// existing project stays as it is.
	CreateProject(ctx context.Context, name string, now time.Time) (bool, error)
}

// Setup records that first-run setup created the first admin.
type Setup interface {
	// ClaimSetup succeeds for exactly one caller ever; the others get
	// ErrConflict.
	ClaimSetup(ctx context.Context, userID string, now time.Time) error
	// ReleaseSetup undoes the claim of userID (creating the admin failed).
	ReleaseSetup(ctx context.Context, userID string) error
}

// Leases serialise multi-record rules (such as "never remove the last
// admin") across instances and processes.
type Leases interface {
	// WithLease runs fn while holding the named lease. A lease left by a
	// crashed holder expires after ttl. ErrLeaseHeld if it stays taken for
	// longer than wait.
	WithLease(ctx context.Context, name string, ttl, wait time.Duration, fn func() error) error
}

// leaseRetry is the first pause before HoldLease tries a taken lease
// again; the pause doubles, with jitter, up to leaseRetryMax, so waiters
// do not crowd the database that the holder is working on.
const (
	leaseRetry    = 10 * time.Millisecond
	leaseRetryMax = 200 * time.Millisecond
)

// HoldLease is the lease loop of both adapters' WithLease: take tries once
// to take the lease at now (true when it did), then again after growing,
// jittered pauses until wait has passed (then ErrLeaseHeld) or ctx ends.
// fn runs while the lease is held; release gives it back afterwards, even
// when ctx ended.
func HoldLease(ctx context.Context, wait time.Duration, take func(now time.Time) (bool, error),
	release func(ctx context.Context), fn func() error) error {
	deadline := time.Now().Add(wait)
	pause := leaseRetry
	for {
		taken, err := take(time.Now())
		if err != nil {
			return err
		}
		if taken {
			break
		}
		if time.Now().After(deadline) {
			return ErrLeaseHeld
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause/2 + rand.N(pause/2+1)):
		}
		pause = min(2*pause, leaseRetryMax)
	}
	defer release(context.WithoutCancel(ctx))
	return fn()
}

// Transfer moves whole databases in and out (labreview export / import,
// and the import of a legacy embedded store).
type Transfer interface {
	// ExportRecords calls emit for every record worth keeping, kind by kind
	// in RecordKinds order, each kind ordered by id. The embedded store
	// reads one consistent snapshot.
	ExportRecords(ctx context.Context, emit func(Record) error) error
	// ImportRecords writes the records next yields until it returns
	// io.EOF. Without merge it refuses (ErrNotEmpty) a database that holds
	// any record. See ImportReport for what merge does with records that
	// exist already.
	ImportRecords(ctx context.Context, next func() (Record, error), merge bool) (*ImportReport, error)
}

// AuditError is a change that was stored while its audit event was not.
type AuditError struct{ Err error }

func (e *AuditError) Error() string { return "db: audit event not stored: " + e.Err.Error() }
func (e *AuditError) Unwrap() error { return e.Err }

// IsTransient reports whether err is worth retrying later: the database
// could not be reached or was busy.
func IsTransient(err error) bool { return errors.Is(err, ErrUnavailable) }

// WaitReady pings store until it answers and is ready, or ctx ends (then
// the last ErrUnavailable). Errors that waiting cannot fix return at once.
func WaitReady(ctx context.Context, store Store) error {
	for {
		err := store.Ping(ctx)
		if err == nil || !errors.Is(err, ErrUnavailable) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
