// Package runs is labreview's review domain: the rules for creating,
// changing, listing, deleting and restoring the runs that cluster jobs
// report. It is plain Go: no HTTP types, storage through package db, time
// injected. The server checks scopes (auth.Principal.Allows) before it
// calls in; project limits of API tokens are applied here, where the
// run's project is known.
package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"labreview/auth/lookalike"
	"labreview/auth/policy"
	"labreview/db"
)

// Store is what the domain needs of the database.
type Store interface {
	db.Runs
	db.Series
	db.Reviews
	db.Comments
	db.Projects
	db.SavedViews
	db.Audit
	db.Leases
	db.Artifacts
}

// Config holds the runs settings (the runs section of config.yaml).
type Config struct {
	// StaleAfter: a running run without a sign of life for this long is
	// shown as stale.
	StaleAfter time.Duration
	// SeriesReadMaxPoints caps the points of one series answer, all its
	// series together (0: DefaultSeriesReadMaxPoints).
	SeriesReadMaxPoints int
	// SeriesReadPointsInFlight caps the points all series reads of this
	// instance may be answering at once (0: DefaultSeriesReadPointsInFlight).
	SeriesReadPointsInFlight int
	// MaxSeriesPerRun caps the series of one run (0: DefaultMaxSeriesPerRun).
	MaxSeriesPerRun int
	// CommentHistoryVersions and CommentHistoryBytes cap the earlier texts
	// a comment keeps (0: the defaults); the oldest go first.
	CommentHistoryVersions int
	CommentHistoryBytes    int
	// QueriesPerPrincipal bounds the lists with a query, a sort or an
	// exact count that one user or API token runs at once (default
	// DefaultQueriesPerPrincipal).
	QueriesPerPrincipal int
	// Files bounds runs' files (files.* in config.yaml).
	Files FileLimits
}

// Defaults of Config.
const (
	// DefaultStaleAfter is runs.stale_after when unset.
	DefaultStaleAfter = 5 * time.Minute
	// DefaultSeriesReadMaxPoints is runs.series_read_max_points when unset:
	// one series at the largest max_points, or its share for each of
	// several.
	DefaultSeriesReadMaxPoints = 100_000
	// DefaultSeriesReadPointsInFlight is runs.series_read_points_in_flight
	// when unset: four answers of the largest size at once.
	DefaultSeriesReadPointsInFlight = 400_000
	// DefaultMaxSeriesPerRun is runs.max_series_per_run when unset.
	DefaultMaxSeriesPerRun = 1000
	// DefaultCommentHistoryVersions and DefaultCommentHistoryBytes are
	// runs.comment_history_versions and runs.comment_history_bytes when
	// unset.
	DefaultCommentHistoryVersions = 20
	DefaultCommentHistoryBytes    = 64 << 10
)

// StatusStale is the status shown for a running run whose job has gone
// quiet; it is never stored.
const StatusStale = "stale"

// Audit events of runs.
const (
	EventRunCreated  = "run_created"
	EventRunChanged  = "run_changed"
	EventRunDeleted  = "run_deleted"
	EventRunRestored = "run_restored"
)

// Errors the HTTP layer maps to responses.
var (
	// ErrNotFound: no such run, or the caller's token does not reach its
	// project (which must not reveal that it exists).
	ErrNotFound = errors.New("runs: no such run")
	// ErrDeleted: the run is deleted; it must be restored before it
	// changes.
	ErrDeleted = errors.New("runs: the run is deleted")
	// ErrProject: the caller's token is limited to other projects.
	ErrProject = errors.New("runs: the token is not allowed for this project")
	// ErrNotDeleted: restoring a run that is not deleted.
	ErrNotDeleted = errors.New("runs: the run is not deleted")
	// ErrBusy: the expensive work asked for (series points to read) did
	// not get its turn in time; worth retrying.
	ErrBusy = errors.New("runs: busy")
)

// ProjectError is ErrProject with the projects the caller's token may
// use, for the message.
type ProjectError struct {
	Project  string
	Projects []string
}

func (e *ProjectError) Error() string { return ErrProject.Error() + ": " + e.Project }
func (e *ProjectError) Unwrap() error { return ErrProject }

// LimitError is a request that would take a stored object past one of
// its limits (the series of a run): valid in itself, refused as it
// stands (409).
type LimitError struct {
	Field   string
	Code    string
	Message string
}

func (e *LimitError) Error() string { return "runs: " + e.Field + ": " + e.Message }

// InputError is invalid client input, naming the field.
type InputError struct {
	Field   string
	Code    string
	Message string
}

func (e *InputError) Error() string { return "runs: " + e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Code: "invalid", Message: fmt.Sprintf(format, args...)}
}

// Actor is who asks: a signed-in user, or a user's API token limited to
// some projects. Access is the caller as the permission table sees it.
type Actor struct {
	UserID    string
	SessionID string
	TokenID   string
	Access    policy.Subject
	IP        string
	UserAgent string
}

// reaches reports whether the actor may touch project at all.
func (a Actor) reaches(project string) bool { return a.Access.Reaches(project) }

// can reports whether the actor may do perm on project's runs.
func (a Actor) can(perm policy.Permission, project string) bool {
	return a.Access.Can(perm, policy.Project(project))
}

// limitedTo is the projects a token is limited to (nil: every project).
func (a Actor) limitedTo() []string {
	if a.Access.Token {
		return a.Access.Projects
	}
	return nil
}

// Service applies the rules. Create it with New.
type Service struct {
	db  Store
	cfg Config
	log *slog.Logger
	now func() time.Time
	// reading holds the points series reads are answering (see ReadSeries).
	reading *semaphore.Weighted
	// turns holds each caller's turns for expensive queries (queryTurn).
	turnsMu sync.Mutex
	turns   map[string]chan struct{}
	// files bounds runs' files.
	files FileLimits
}

// New builds the service; now may be nil (time.Now).
func New(store Store, cfg Config, logger *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	if cfg.SeriesReadMaxPoints <= 0 {
		cfg.SeriesReadMaxPoints = DefaultSeriesReadMaxPoints
	}
	if cfg.SeriesReadPointsInFlight <= 0 {
		cfg.SeriesReadPointsInFlight = DefaultSeriesReadPointsInFlight
	}
	if cfg.MaxSeriesPerRun <= 0 {
		cfg.MaxSeriesPerRun = DefaultMaxSeriesPerRun
	}
	if cfg.CommentHistoryVersions <= 0 {
		cfg.CommentHistoryVersions = DefaultCommentHistoryVersions
	}
	if cfg.CommentHistoryBytes <= 0 {
		cfg.CommentHistoryBytes = DefaultCommentHistoryBytes
	}
	// A single answer must always fit.
	cfg.SeriesReadPointsInFlight = max(cfg.SeriesReadPointsInFlight, cfg.SeriesReadMaxPoints)
	if cfg.QueriesPerPrincipal <= 0 {
		cfg.QueriesPerPrincipal = DefaultQueriesPerPrincipal
	}
	return &Service{db: store, cfg: cfg, log: logger, now: now,
		reading: semaphore.NewWeighted(int64(cfg.SeriesReadPointsInFlight)), turns: map[string]chan struct{}{}, files: cfg.Files}
}

// ShownStatus is the status a reader sees: the stored one, or stale for a
// running run without a sign of life for StaleAfter.
func (s *Service) ShownStatus(r *db.Run) string {
	if r.Status == db.StatusRunning && aliveAt(r).Before(s.now().Add(-s.cfg.StaleAfter)) {
		return StatusStale
	}
	return r.Status
}

// aliveAt is the run's last sign of life: heartbeat, else start, else
// creation (the same rule the adapters index).
func aliveAt(r *db.Run) time.Time {
	switch {
	case r.HeartbeatAt != nil:
		return *r.HeartbeatAt
	case r.StartedAt != nil:
		return *r.StartedAt
	}
	return r.CreatedAt
}

// Get returns a run, deleted ones included (they carry DeletedAt).
func (s *Service) Get(ctx context.Context, a Actor, id string) (*db.Run, error) {
	r, err := s.db.RunByID(ctx, id)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, err
	case !a.reaches(r.Project):
		return nil, ErrNotFound
	}
	return r, nil
}

// GetMany gives the runs of ids (1 to MaxRunsPerRead, an id given twice
// counts once) that the actor reaches, in the order asked, and lists the
// others in missing: a run that does not exist and one out of reach are
// alike, as for Get.
func (s *Service) GetMany(ctx context.Context, a Actor, ids []string) (found []*db.Run, missing []string, err error) {
	ids, err = runIDs(ids)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		r, err := s.Get(ctx, a, id)
		switch {
		case errors.Is(err, ErrNotFound):
			missing = append(missing, id)
		case err != nil:
			return nil, nil, err
		default:
			found = append(found, r)
		}
	}
	return found, missing, nil
}

// runIDs is the runs of a batch, each once: 1 to MaxRunsPerRead of them.
func runIDs(asked []string) ([]string, error) {
	var ids []string
	for _, id := range asked {
		if id == "" {
			return nil, invalid("ids", "A run id is empty.")
		}
		if !slices.Contains(ids, id) {
			if ids = append(ids, id); len(ids) > MaxRunsPerRead {
				break // refused below; the rest of a long list is not looked at
			}
		}
	}
	if len(ids) == 0 || len(ids) > MaxRunsPerRead {
		return nil, invalid("ids", "Name 1 to %d runs.", MaxRunsPerRead)
	}
	return ids, nil
}

// Create stores a new run, or returns the run the project already has
// under the same external id (created is false then, and nothing
// changes: a retried create is harmless).
func (s *Service) Create(ctx context.Context, a Actor, in NewRun) (run *db.Run, created bool, err error) {
	r, err := in.validate()
	if err != nil {
		return nil, false, err
	}
	if !a.reaches(r.Project) {
		return nil, false, &ProjectError{Project: r.Project, Projects: a.Access.Projects}
	}
	if err := s.checkNewProject(ctx, r.Project); err != nil {
		return nil, false, err
	}
	now := s.now()
	r.ID, r.CreatedBy, r.CreatedByToken, r.CreatedAt, r.UpdatedAt, r.Version = db.NewID(), a.UserID, a.TokenID, now, now, 1
	if r.ExternalID == "" {
		r.ExternalID = r.ID
	}
	if r.Name == "" {
		r.Name = r.ExternalID
	}
	applyStatusTimes(r, "", now, nil)
	// The creation's audit event is written with the run (in its
	// transaction on the embedded store).
	stored, created, err := s.db.CreateRunAudited(ctx, r, func(stored *db.Run) *db.AuditEvent {
		return s.auditEvent(a, EventRunCreated, stored, map[string]any{"after": summary(stored)})
	})
	var auditErr *db.AuditError
	if errors.As(err, &auditErr) && stored != nil {
		// The audit log must not make a stored change fail after the fact.
		s.log.Error("writing audit event", "event", EventRunCreated, "err", auditErr.Err)
		err = nil
	}
	if err != nil {
		return nil, false, err
	}
	return stored, created, nil
}

// checkNewProject refuses a project name that is new and looks like an
// existing project's (the same confusable skeleton, Unicode TR 39: Cyrillic
// "а" for "a", "rn" for "m"), as accounts are refused for look-alike
// emails. An existing project costs one lookup by name; a new one reads
// the project list (a lab has tens to hundreds). Two look-alike projects
// created at the same instant can both pass.
func (s *Service) checkNewProject(ctx context.Context, name string) error {
	_, err := s.db.ProjectByName(ctx, name)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, db.ErrNotFound):
		return err
	}
	all, err := s.db.ListProjects(ctx)
	if err != nil {
		return err
	}
	skeleton := lookalike.Skeleton(name)
	for _, p := range all {
		if p.Name != name && lookalike.Skeleton(p.Name) == skeleton {
			return &LimitError{Field: "project", Code: "project_confusable",
				Message: fmt.Sprintf("The name looks like the existing project %q (it differs only in look-alike characters). Use that project, or a plainly different name.", p.Name)}
		}
	}
	return nil
}

// Update applies a patch to a live run.
func (s *Service) Update(ctx context.Context, a Actor, id string, p Patch) (*db.Run, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	now := s.now()
	before, after, err := s.db.UpdateRun(ctx, id, now, func(r *db.Run) error {
		if !a.reaches(r.Project) {
			return ErrNotFound
		}
		if r.DeletedAt != nil {
			return ErrDeleted
		}
		params, _ := json.Marshal(r.Params) // JSON-shaped values always marshal
		metrics := maps.Clone(r.Metrics)
		if err := p.apply(r, now); err != nil {
			return err
		}
		// A change of the judged data makes a verdict outdated.
		if after, _ := json.Marshal(r.Params); string(after) != string(params) || !sameMetrics(metrics, r.Metrics) {
			r.DataVersion++
			if r.Review.State != "" && r.Review.State != db.ReviewUnreviewed {
				r.Review.Outdated = true
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, err
	}
	if changes := diff(before, after); len(changes) > 0 {
		s.audit(ctx, a, EventRunChanged, after, changes)
	}
	return after, nil
}

// Delete soft-deletes a run (admins only; the server checks the role): it
// leaves lists but stays restorable.
func (s *Service) Delete(ctx context.Context, a Actor, id string) (*db.Run, error) {
	return s.setDeleted(ctx, a, id, true)
}

// Restore brings a deleted run back.
func (s *Service) Restore(ctx context.Context, a Actor, id string) (*db.Run, error) {
	return s.setDeleted(ctx, a, id, false)
}

func (s *Service) setDeleted(ctx context.Context, a Actor, id string, deleted bool) (*db.Run, error) {
	now := s.now()
	_, after, err := s.db.UpdateRun(ctx, id, now, func(r *db.Run) error {
		switch {
		case !a.reaches(r.Project):
			return ErrNotFound
		case deleted && r.DeletedAt != nil:
			return ErrDeleted
		case !deleted && r.DeletedAt == nil:
			return ErrNotDeleted
		}
		if deleted {
			r.DeletedAt = &now
		} else {
			r.DeletedAt = nil
		}
		return nil
	})
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, err
	}
	event := EventRunRestored
	if deleted {
		event = EventRunDeleted
	}
	s.audit(ctx, a, event, after, nil)
	return after, nil
}

func (s *Service) audit(ctx context.Context, a Actor, event string, r *db.Run, details map[string]any) {
	e := s.auditEvent(a, event, r, details)
	// The audit log must not make a stored change fail after the fact.
	if err := s.db.InsertAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("writing audit event", "event", event, "err", err)
	}
}

// auditEvent is the audit event of an action on run r.
func (s *Service) auditEvent(a Actor, event string, r *db.Run, details map[string]any) *db.AuditEvent {
	if details == nil {
		details = map[string]any{}
	}
	details["run_id"], details["project"] = r.ID, r.Project
	if a.TokenID != "" {
		details["token_id"] = a.TokenID
	}
	return &db.AuditEvent{At: s.now(), Event: event, ActorID: a.UserID, SessionID: a.SessionID, IP: a.IP,
		UserAgent: truncate(a.UserAgent, 512), Details: details}
}

func sameMetrics(a, b db.Metrics) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || math.Float64bits(v) != math.Float64bits(w) {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
