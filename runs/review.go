package runs

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"labreview/auth/policy"
	"labreview/db"
)

// Limits of reviews.
const (
	MaxReviewComment = 4096 // bytes
	MaxBulkReview    = 1000 // runs in one bulk review
)

// EventRunReviewed is the audit event of a verdict (also of an undo).
const EventRunReviewed = "run_reviewed"

// ErrUndo: the batch does not exist, or the caller may not undo it.
var ErrUndo = errors.New("runs: no such review batch to undo")

// errDataMoved: the run's data changed between the snapshot and the
// write; the verdict is taken again on the new data.
var errDataMoved = errors.New("runs: the run's data changed during the review")

// Verdict is what a reviewer decides.
type Verdict struct {
	State   string
	Comment string
}

func (v *Verdict) validate() error {
	v.Comment = strings.TrimSpace(v.Comment)
	switch v.State {
	case db.ReviewApproved, db.ReviewUnreviewed:
	case db.ReviewRejected, db.ReviewNeedsRerun:
		if v.Comment == "" {
			return &InputError{Field: "comment", Code: "required", Message: "Say why: a comment is required for rejected and needs_rerun."}
		}
	default:
		return invalid("state", "The state is approved, rejected, needs_rerun or unreviewed.")
	}
	if len(v.Comment) > MaxReviewComment || !utf8.ValidString(v.Comment) || strings.ContainsRune(v.Comment, 0) {
		return invalid("comment", "A comment is valid UTF-8 text of at most %d bytes.", MaxReviewComment)
	}
	return nil
}

// snapshot is the data a verdict judged, kept with it to show what
// changed since.
type snapshot struct {
	Params  db.Params                 `json:"params"`
	Metrics db.Metrics                `json:"metrics"`
	Series  map[string]seriesSnapshot `json:"series"`
}

type seriesSnapshot struct {
	Count    int64 `json:"count"`
	LastStep int64 `json:"last_step"`
}

func (s *Service) snapshot(ctx context.Context, r *db.Run) ([]byte, error) {
	sums, err := s.seriesSummaries(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	snap := snapshot{Params: r.Params, Metrics: r.Metrics, Series: map[string]seriesSnapshot{}}
	for _, x := range sums {
		snap.Series[x.Name] = seriesSnapshot{Count: x.Count, LastStep: x.LastStep}
	}
	return json.Marshal(snap)
}

// Review records a verdict on a live run (reviewers and admins, signed
// in: the server checks). The full history is kept.
func (s *Service) Review(ctx context.Context, a Actor, runID string, v Verdict) (*db.Run, error) {
	if err := v.validate(); err != nil {
		return nil, err
	}
	return s.review(ctx, a, runID, v, db.NewID(), "", nil)
}

// review writes one verdict in batch; restore, for an undo, is the entry
// whose verdict comes back (its data version and snapshot included).
func (s *Service) review(ctx context.Context, a Actor, runID string, v Verdict, batch, undoOf string, restore *db.ReviewEntry) (*db.Run, error) {
	for range 3 {
		r, err := s.Get(ctx, a, runID)
		if err != nil {
			return nil, err
		}
		if r.DeletedAt != nil {
			return nil, ErrDeleted
		}
		entry := &db.ReviewEntry{ID: db.NewID(), RunID: r.ID, State: v.State, By: a.UserID, At: s.now(), Comment: v.Comment,
			BatchID: batch, UndoOf: undoOf, DataVersion: r.DataVersion}
		if restore != nil {
			entry.DataVersion, entry.Snapshot = restore.DataVersion, restore.Snapshot
		} else if entry.Snapshot, err = s.snapshot(ctx, r); err != nil {
			return nil, err
		}
		if len(entry.Snapshot) == 0 {
			entry.Snapshot = []byte("{}")
		}
		before, after, err := s.db.ReviewRun(ctx, entry, s.now(), func(cur *db.Run) error {
			switch {
			case cur.DeletedAt != nil:
				return ErrDeleted
			case restore != nil && cur.Review.ID != restore.ID && undoOf == "":
				return errDataMoved
			case restore == nil && cur.DataVersion != r.DataVersion:
				return errDataMoved
			}
			return nil
		})
		if errors.Is(err, errDataMoved) {
			continue
		}
		if err != nil {
			return nil, err
		}
		details := map[string]any{"before": map[string]any{"state": before.Review.State, "comment": auditValue(before.Review.Comment)},
			"after": map[string]any{"state": after.Review.State, "comment": auditValue(after.Review.Comment)}, "review_id": entry.ID,
			"batch_id": batch}
		if undoOf != "" {
			details["undo_of"] = undoOf
		}
		s.audit(ctx, a, EventRunReviewed, after, details)
		return after, nil
	}
	return nil, db.ErrConflict
}

// BulkResult says what a bulk review (or its undo) did.
type BulkResult struct {
	BatchID  string
	Reviewed []string
	Skipped  []BulkSkip
}

// BulkSkip is a run a bulk review left as it was, and why.
type BulkSkip struct {
	ID     string
	Reason string
}

// ReviewMany gives one verdict to several runs as one batch, which
// UndoReview takes back as one step. Runs that are deleted, unknown or out
// of the caller's reach are skipped and listed.
func (s *Service) ReviewMany(ctx context.Context, a Actor, ids []string, v Verdict) (*BulkResult, error) {
	if err := v.validate(); err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > MaxBulkReview {
		return nil, invalid("ids", "A bulk review names 1 to %d runs.", MaxBulkReview)
	}
	res := &BulkResult{BatchID: db.NewID(), Reviewed: []string{}, Skipped: []BulkSkip{}}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, err := s.review(ctx, a, id, v, res.BatchID, "", nil); err != nil {
			if reason := skipReason(err); reason != "" {
				res.Skipped = append(res.Skipped, BulkSkip{ID: id, Reason: reason})
				continue
			}
			return res, err
		}
		res.Reviewed = append(res.Reviewed, id)
	}
	return res, nil
}

func skipReason(err error) string {
	switch {
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrDeleted):
		return "deleted"
	case errors.Is(err, db.ErrConflict):
		return "changing"
	}
	return ""
}

// UndoReview takes back a bulk review (or a single verdict's batch): every
// run whose current verdict still comes from the batch gets back the
// verdict it had before, as new history entries of a new batch; runs
// reviewed again since are skipped. Only the batch's author or an admin
// may undo it (policy.RunsModerate).
func (s *Service) UndoReview(ctx context.Context, a Actor, batchID string) (*BulkResult, error) {
	entries, err := s.db.ReviewBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 || (entries[0].By != a.UserID && !a.can(policy.RunsModerate, "")) {
		return nil, ErrUndo
	}
	res := &BulkResult{BatchID: db.NewID(), Reviewed: []string{}, Skipped: []BulkSkip{}}
	for _, e := range entries {
		r, err := s.Get(ctx, a, e.RunID)
		if err != nil || r.Review.ID != e.ID {
			reason := "reviewed_since"
			if err != nil {
				if reason = skipReason(err); reason == "" {
					return res, err
				}
			}
			res.Skipped = append(res.Skipped, BulkSkip{ID: e.RunID, Reason: reason})
			continue
		}
		prev := &db.ReviewEntry{State: db.ReviewUnreviewed, DataVersion: r.DataVersion, Snapshot: []byte("{}")}
		hist, err := s.db.ReviewHistory(ctx, e.RunID)
		if err != nil {
			return res, err
		}
		if i := slices.IndexFunc(hist, func(h db.ReviewEntry) bool { return h.ID == e.ID }); i >= 0 && i+1 < len(hist) {
			prev = &hist[i+1]
		}
		if _, err := s.review(ctx, a, e.RunID, Verdict{State: prev.State, Comment: prev.Comment}, res.BatchID, batchID, prev); err != nil {
			if reason := skipReason(err); reason != "" {
				res.Skipped = append(res.Skipped, BulkSkip{ID: e.RunID, Reason: reason})
				continue
			}
			return res, err
		}
		res.Reviewed = append(res.Reviewed, e.RunID)
	}
	return res, nil
}

// History lists a run's verdicts, newest first.
func (s *Service) History(ctx context.Context, a Actor, runID string) ([]db.ReviewEntry, error) {
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return nil, err
	}
	return s.db.ReviewHistory(ctx, r.ID)
}

// BatchSizes counts the verdicts of each batch of a history: a batch of
// more than one is a bulk review (a single verdict is a batch of its own,
// so that it can be undone the same way).
func (s *Service) BatchSizes(ctx context.Context, hist []db.ReviewEntry) (map[string]int64, error) {
	ids := make([]string, 0, len(hist))
	seen := map[string]bool{}
	for _, e := range hist {
		if e.BatchID != "" && !seen[e.BatchID] {
			seen[e.BatchID] = true
			ids = append(ids, e.BatchID)
		}
	}
	return s.db.ReviewBatchSizes(ctx, ids)
}

// Changes is what moved since a verdict: params by path (before, after),
// metrics by name, and series by name (points before, after).
type Changes struct {
	Params  []ValueChange
	Metrics []ValueChange
	Series  []SeriesChange
}

// ValueChange is one param or metric that differs; a missing side is nil.
type ValueChange struct {
	Name          string
	Before, After any
}

// SeriesChange is a series whose points changed.
type SeriesChange struct {
	Name                          string
	CountBefore, CountAfter       int64
	LastStepBefore, LastStepAfter int64
}

// ChangesSince compares the run, whose series summaries are sums, with the
// data its current verdict judged (nil when the verdict is not outdated).
func (s *Service) ChangesSince(ctx context.Context, r *db.Run, sums []db.SeriesSummary) (*Changes, error) {
	if !r.Review.Outdated || r.Review.ID == "" {
		return nil, nil
	}
	e, err := s.db.ReviewByID(ctx, r.Review.ID)
	if err != nil {
		return nil, err
	}
	var snap snapshot
	if err := json.Unmarshal(e.Snapshot, &snap); err != nil {
		return nil, err
	}
	ch := &Changes{Params: DiffParams(snap.Params, r.Params), Metrics: diffMetrics(snap.Metrics, r.Metrics), Series: []SeriesChange{}}
	now := map[string]seriesSnapshot{}
	for _, x := range sums {
		now[x.Name] = seriesSnapshot{Count: x.Count, LastStep: x.LastStep}
	}
	for _, name := range sortedKeys(now, snap.Series) {
		b, a := snap.Series[name], now[name]
		if a != b {
			ch.Series = append(ch.Series, SeriesChange{Name: name, CountBefore: b.Count, CountAfter: a.Count,
				LastStepBefore: b.LastStep, LastStepAfter: a.LastStep})
		}
	}
	return ch, nil
}

func sortedKeys[V any](maps ...map[string]V) []string {
	var out []string
	for _, m := range maps {
		for k := range m {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// DiffParams lists the params that differ, by dotted path (nested objects
// are walked; arrays compare whole).
func DiffParams(before, after map[string]any) []ValueChange {
	b, a := map[string]any{}, map[string]any{}
	flatten("", before, b)
	flatten("", after, a)
	out := []ValueChange{}
	for _, k := range sortedKeys(b, a) {
		bv, bok := b[k]
		av, aok := a[k]
		if bok != aok || !jsonEqual(bv, av) {
			out = append(out, ValueChange{Name: k, Before: bv, After: av})
		}
	}
	return out
}

func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			flatten(path, sub, out)
			continue
		}
		out[path] = v
	}
}

func diffMetrics(before, after db.Metrics) []ValueChange {
	out := []ValueChange{}
	for _, k := range sortedKeys(before, after) {
		bv, bok := before[k]
		av, aok := after[k]
		if bok == aok && (bv == av || (math.IsNaN(bv) && math.IsNaN(av))) {
			continue
		}
		c := ValueChange{Name: k}
		if bok {
			c.Before = db.Float(bv)
		}
		if aok {
			c.After = db.Float(av)
		}
		out = append(out, c)
	}
	return out
}

// QueryIDs returns the ids of the live runs a query selects, for a bulk
// review: at most MaxBulkReview (more is an error: narrow the query).
func (s *Service) QueryIDs(ctx context.Context, a Actor, q string) ([]string, error) {
	var ids []string
	cursor := ""
	for {
		page, err := s.List(ctx, a, ListQuery{Q: q, Cursor: cursor, Limit: MaxPageSize})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Runs {
			ids = append(ids, r.ID)
		}
		if len(ids) > MaxBulkReview {
			return nil, &InputError{Field: "q", Code: "too_large", Message: "The query selects more than 1,000 runs; review them in parts."}
		}
		if page.Next == "" {
			return ids, nil
		}
		cursor = page.Next
	}
}
