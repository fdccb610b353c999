package db

import (
	"time"

	"labreview/db/query"
)

// Roles, from least to most privileged.
const (
	RoleViewer   = "viewer"
	RoleReviewer = "reviewer"
	RoleAdmin    = "admin"
)

// User is a stored account. It is never an API shape: PasswordHash must not
// leave the server.
type User struct {
	ID    string
	Email string // normalised by auth; compared byte for byte
	// EmailSkeleton is the email's confusable skeleton (Unicode TR 39), set
	// by auth: two addresses that look alike have the same skeleton. Not
	// exported (auth recomputes it).
	EmailSkeleton     string
	Name              string
	Role              string
	Disabled          bool
	PasswordHash      string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	PasswordChangedAt time.Time
}

// UserChange is a partial update of a user; nil fields stay as they are.
type UserChange struct {
	Name         *string
	Role         *string
	Disabled     *bool
	PasswordHash *string // also sets PasswordChangedAt
}

// Session is one login: the family of refresh tokens that descend from it.
// Only hashes of refresh secrets are stored.
type Session struct {
	ID             string // random, also the access token's sid
	UserID         string
	SecretHash     string    // hash of the current refresh secret
	PrevHash       string    // hash of the one it replaced ("" before the first rotation)
	PrevReplacedAt time.Time // when PrevHash was replaced
	OldHashes      []string  // earlier superseded hashes, newest first, bounded: reuse of any is theft
	CreatedAt      time.Time
	LastUsedAt     time.Time
	IdleExpiresAt  time.Time // extended by every refresh, never past ExpiresAt
	ExpiresAt      time.Time // absolute end
	UserAgent      string
	IP             string
	RevokedAt      *time.Time
	RevokedReason  string
}

// Live reports whether the session can still be used at now.
func (s *Session) Live(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.IdleExpiresAt) && now.Before(s.ExpiresAt)
}

// Counter is a fixed-window failure counter.
type Counter struct {
	Failures   int
	WindowEnds time.Time
}

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID        string // NewID: time-ordered, pages go by id
	At        time.Time
	Event     string
	ActorID   string // who did it (user id), if known
	UserID    string // whom it concerns
	Email     string // the address given, e.g. for failed logins
	SessionID string
	IP        string
	UserAgent string
	// Details are JSON-shaped: strings, float64 numbers, bools, nil,
	// []any and map[string]any, as encoding/json decodes them. Both
	// adapters return them in that form.
	Details map[string]any
}

// AuditFilter selects audit events; empty fields match everything.
type AuditFilter struct {
	UserID string // events about or by this user
	Event  string // exact event name
	Before string // page cursor: only events older than this id
}

// SigningKey is a stored token-signing key, shared by every instance that
// uses the database. Anyone who can read the database can read it, as they
// can read every other secret there; that is why database files and
// credentials must be guarded like the keys themselves.
type SigningKey struct {
	ID         string // kid
	Algorithm  string
	PrivateKey []byte // Ed25519 private key (seed + public part)
	CreatedAt  time.Time
	RetiredAt  *time.Time // nil: may sign
}

// SetupClaim records which user first-run setup created, and when.
type SetupClaim struct {
	UserID string
	At     time.Time
}

// APIToken is a scoped token a cluster job uses instead of a password.
// Only a keyed hash of its secret is stored.
type APIToken struct {
	ID     string // NewID
	UserID string // the owner: the token never grants more than the owner's role
	Name   string
	// Hash is the keyed hash of the whole token string (auth computes it);
	// unique.
	Hash string
	// Hint is the token's last characters, shown so that people can tell
	// their tokens apart; too short to help a guess.
	Hint      string
	Scopes    []string // runs:read, runs:write
	Projects  []string // empty: every project
	CreatedAt time.Time
	ExpiresAt time.Time
	// LastUsedAt is when the token last authenticated a request, to about
	// a minute (nil: never).
	LastUsedAt *time.Time
	RevokedAt  *time.Time // nil: not revoked
}

// Run statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Run is one calculation a job reported. Params are JSON-shaped, in the
// normal form of NormalizeJSON; metrics may hold NaN and ±Inf.
type Run struct {
	ID         string // NewID: time-ordered, so id order is creation order
	Project    string
	ExternalID string // chosen by the client, unique per project
	Name       string
	Status     string
	Host       string
	JobID      string
	CreatedBy  string // the user, or the owner of the token, that created it
	// CreatedByToken is the API token that created it ("" for a user).
	CreatedByToken string
	Params         Params
	Metrics        Metrics
	Tags           []string
	Notes          string
	// KeyTags are key-value tags (MLflow's run tags), kept as sent; Tags
	// are plain labels. Empty for runs reported otherwise.
	KeyTags map[string]string
	// ParamText keeps, by param path, the exact text of params that came
	// in as text (the MLflow-compatible API) and are stored as numbers,
	// where the number's own text differs ("1.0" is stored as 1).
	ParamText   map[string]string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	HeartbeatAt *time.Time
	DeletedAt   *time.Time // soft delete: set while the run is deleted
	// Version counts the changes of the run (1 when created); adapters
	// use it to apply a change only to the state it was computed from.
	Version int64
	// DataVersion counts the changes of what a review judges: params,
	// metrics and series (1 when created).
	DataVersion int64
	Review      RunReview
	// Failure says why the run ended without success (nil: no reason
	// given). It goes with the failed or cancelled status.
	Failure *Failure
}

// Failure is why a run failed or was cancelled: Reason is one line (an
// exception's type and message), Detail the end of a traceback or log.
// runs bounds their sizes.
type Failure struct {
	Reason string
	Detail string
}

// Review states.
const (
	ReviewUnreviewed = "unreviewed"
	ReviewApproved   = "approved"
	ReviewRejected   = "rejected"
	ReviewNeedsRerun = "needs_rerun"
)

// RunReview is a run's current verdict. Outdated is set when the data it
// judged (DataVersion) changed after it.
type RunReview struct {
	State       string // a Review… state; "" reads as unreviewed
	ID          string // the ReviewEntry that set it ("" for none)
	By          string
	At          *time.Time
	Comment     string
	DataVersion int64 // the run's DataVersion when judged
	Outdated    bool
}

// NormalReviewState is s, or unreviewed for the empty state of a run that
// never had a verdict.
func NormalReviewState(s string) string {
	if s == "" {
		return ReviewUnreviewed
	}
	return s
}

// Verdict is the run's verdict that e sets on judged (the run as it is when
// the verdict is written): outdated at once if judged's data moved past
// the version e judged.
func (e *ReviewEntry) Verdict(judged *Run) RunReview {
	at := e.At.UTC().Truncate(time.Millisecond)
	return RunReview{State: e.State, ID: e.ID, By: e.By, At: &at, Comment: e.Comment, DataVersion: e.DataVersion,
		Outdated: e.DataVersion != judged.DataVersion && e.State != ReviewUnreviewed}
}

// ReviewEntry is one verdict in a run's history. Entries are only ever
// added: an undo adds entries that restore the earlier verdicts.
type ReviewEntry struct {
	ID          string // NewID: time-ordered
	RunID       string
	State       string
	By          string
	At          time.Time
	Comment     string
	BatchID     string // the bulk review (or undo) it was part of
	UndoOf      string // the batch this entry undoes ("" for a verdict)
	DataVersion int64
	// Snapshot is the data judged, to show what changed since: params,
	// metrics and each series' count and last step, as JSON.
	Snapshot []byte
}

// RunFilter selects runs for a page, newest first. Empty fields match
// every run.
type RunFilter struct {
	Project string
	Status  string
	// StaleBefore, with Status running, keeps only runs whose last sign of
	// life (heartbeat, else start, else creation) is before it.
	StaleBefore time.Time
	// Review keeps runs with this verdict state, or, as "outdated", runs
	// whose verdict is outdated. Not together with Status.
	Review  string
	Deleted bool   // list deleted runs instead of live ones
	Before  string // page cursor: only runs with a smaller id
	// Query keeps runs for which the parsed query holds (nil: all).
	// QueryNow is the time its conditions see (the duration of unfinished
	// runs) and QueryStaleBefore the cut-off of its status = stale.
	Query            query.Node
	QueryNow         time.Time
	QueryStaleBefore time.Time
	// Projects keeps runs of any of these projects (empty: all).
	Projects []string
	// SortKey orders the page by a value (a QueryValue key: KeyMetric…,
	// KeyParam… numbers, KeySeries…, KeyName, KeyStarted, KeyDuration);
	// "" orders newest first. Runs with a finite value (or a text, for
	// KeyName) come first, in SortDesc order with ties by id in the same
	// direction; the runs without one follow, newest first. After is the
	// page cursor for a sorted page (Before is not used then).
	SortKey  string
	SortDesc bool
	After    *SortCursor
}

// SortCursor is where a sorted page ends: in the runs with a value
// (HasValue, with the value) or in those without, and the run id.
type SortCursor struct {
	HasValue bool
	Num      float64
	Txt      string
	ID       string
}

// ReviewOutdated is the RunFilter.Review value for outdated verdicts.
const ReviewOutdated = "outdated"

// Comment is a comment on a run. Anchor points it at a param or a step
// range of a series (nil: the run as a whole). An edit keeps the text it
// replaces in History; a deletion keeps the comment's place in the thread.
type Comment struct {
	ID        string // NewID: time-ordered
	RunID     string
	Author    string
	At        time.Time
	Body      string
	Anchor    *CommentAnchor
	EditedAt  *time.Time
	DeletedAt *time.Time
	History   []CommentVersion
}

// CommentAnchor is what a comment points at: Param (a dotted path), or
// Series with a step range From..To.
type CommentAnchor struct {
	Param  string `json:"param,omitempty"`
	Series string `json:"series,omitempty"`
	From   *int64 `json:"from,omitempty"`
	To     *int64 `json:"to,omitempty"`
}

// CommentVersion is an earlier text of an edited comment.
type CommentVersion struct {
	Body string    `json:"body"`
	At   time.Time `json:"at"`
}

// Project is what labreview keeps of a project beside its runs: counters
// kept up to date by every run write (see ProjectDelta) and the baseline
// run. A project exists once a run names it.
type Project struct {
	Name         string
	Counts       map[string]int64 // ProjectDelta's keys
	LastActivity time.Time        // the last change of one of its runs
	BaselineRun  string           // "" for none
}
