package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"labreview/db"
)

// runDoc is a run as written. alive_at (the last sign of life: heartbeat,
// else start, else creation) is kept beside the times so that stale runs
// are found by an index.
type runDoc struct {
	ID             bson.ObjectID `bson:"_id"`
	Project        string        `bson:"project"`
	ExternalID     string        `bson:"external_id"`
	Name           string        `bson:"name"`
	Status         string        `bson:"status"`
	Host           string        `bson:"host"`
	JobID          string        `bson:"job_id"`
	CreatedBy      string        `bson:"created_by"`
	CreatedByToken string        `bson:"created_by_token"`
	// Params are the params with dotted names expanded (db.ExpandParams):
	// what queries read. ParamsRaw keeps the params as sent, as JSON,
	// when they differ (a name holds a dot, which MongoDB reads as a path).
	Params      map[string]any `bson:"params"`
	ParamsRaw   string         `bson:"params_raw,omitempty"`
	Metrics     map[string]any `bson:"metrics"` // see metricsDoc
	Tags        []string       `bson:"tags"`
	Notes       string         `bson:"notes"`
	CreatedAt   time.Time      `bson:"created_at"`
	UpdatedAt   time.Time      `bson:"updated_at"`
	StartedAt   *time.Time     `bson:"started_at"`
	FinishedAt  *time.Time     `bson:"finished_at"`
	HeartbeatAt *time.Time     `bson:"heartbeat_at"`
	AliveAt     time.Time      `bson:"alive_at"`
	Deleted     bool           `bson:"deleted"`
	DeletedAt   *time.Time     `bson:"deleted_at"`
	Version     int64          `bson:"version"`
	DataVersion int64          `bson:"data_version"`
	Review      reviewFields   `bson:"review"`
	// DurationMs is finish − start of a finished run, for queries.
	DurationMs *int64 `bson:"duration_ms"`
	// Summaries are the run's series summaries by name (fieldName), for
	// queries (kept by WriteSeries; a replace carries them over).
	Summaries map[string]seriesSums `bson:"summaries,omitempty"`
	Failure   *failureFields        `bson:"failure,omitempty"`
	// KeyTags and ParamText are lists of pairs, not documents: their keys
	// may hold dots and dollars, which field names should not.
	KeyTags   []stringPair `bson:"key_tags,omitempty"`
	ParamText []stringPair `bson:"param_text,omitempty"`
}

// stringPair is one entry of a string map.
type stringPair struct {
	K string `bson:"k"`
	V string `bson:"v"`
}

func pairs(m map[string]string) []stringPair {
	if len(m) == 0 {
		return nil
	}
	out := make([]stringPair, 0, len(m))
	for k, v := range m {
		out = append(out, stringPair{k, v})
	}
	slices.SortFunc(out, func(a, b stringPair) int { return strings.Compare(a.K, b.K) })
	return out
}

func fromPairs(p []stringPair) map[string]string {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]string, len(p))
	for _, e := range p {
		out[e.K] = e.V
	}
	return out
}

// failureFields is why a run failed; failure.reason is queried.
type failureFields struct {
	Reason string `bson:"reason"`
	Detail string `bson:"detail"`
}

// fieldName is a metric or series name as a field name: MongoDB reads a
// dot in a field path as a level, so a dot is kept as U+001F, a control
// character that names never hold (runs.NameProblem), which makes the
// mapping one to one. Names written before dots were allowed are the same
// either way.
func fieldName(name string) string { return strings.ReplaceAll(name, ".", "\x1f") }

// nameOfField undoes fieldName.
func nameOfField(field string) string { return strings.ReplaceAll(field, "\x1f", ".") }

// seriesSums is a series summary as queries read it (NaN and ±Inf as
// storedFloat strings).
type seriesSums struct {
	Min   any   `bson:"min"`
	Max   any   `bson:"max"`
	Last  any   `bson:"last"`
	Count int64 `bson:"count"`
}

// reviewFields is a run's current verdict; review.outdated is set in the
// same write that changes the judged data.
type reviewFields struct {
	State       string     `bson:"state"`
	ID          string     `bson:"id"`
	By          string     `bson:"by"`
	At          *time.Time `bson:"at"`
	Comment     string     `bson:"comment"`
	DataVersion int64      `bson:"data_version"`
	Outdated    bool       `bson:"outdated"`
}

func toRunDoc(r *db.Run) (*runDoc, error) {
	id, err := bson.ObjectIDFromHex(r.ID)
	if err != nil {
		return nil, fmt.Errorf("run id %q is not an id", r.ID)
	}
	alive := r.CreatedAt
	if r.HeartbeatAt != nil {
		alive = *r.HeartbeatAt
	} else if r.StartedAt != nil {
		alive = *r.StartedAt
	}
	params := map[string]any(r.Params)
	if params == nil {
		params = map[string]any{}
	}
	expanded, err := db.ExpandParams(params)
	if err != nil {
		return nil, fmt.Errorf("run %s: params: %w", r.ID, err)
	}
	raw := ""
	if db.HasDottedName(params) {
		b, err := db.AppendJSON(nil, params)
		if err != nil {
			return nil, fmt.Errorf("run %s: params: %w", r.ID, err)
		}
		raw = string(b)
	}
	var failure *failureFields
	if r.Failure != nil {
		failure = &failureFields{Reason: r.Failure.Reason, Detail: r.Failure.Detail}
	}
	var duration *int64
	if r.StartedAt != nil && r.FinishedAt != nil {
		d := r.FinishedAt.Truncate(time.Millisecond).Sub(r.StartedAt.Truncate(time.Millisecond)).Milliseconds()
		duration = &d
	}
	return &runDoc{ID: id, Project: r.Project, ExternalID: r.ExternalID, Name: r.Name, Status: r.Status, Host: r.Host,
		JobID: r.JobID, CreatedBy: r.CreatedBy, CreatedByToken: r.CreatedByToken, Params: expanded, ParamsRaw: raw, Failure: failure,
		Metrics: metricsDoc(r.Metrics), Tags: nonNil(r.Tags), Notes: r.Notes, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, HeartbeatAt: r.HeartbeatAt,
		AliveAt: alive, Deleted: r.DeletedAt != nil, DeletedAt: r.DeletedAt, Version: r.Version, DataVersion: max(r.DataVersion, 1),
		Review: reviewFields{State: db.NormalReviewState(r.Review.State), ID: r.Review.ID, By: r.Review.By, At: r.Review.At,
			Comment: r.Review.Comment, DataVersion: r.Review.DataVersion, Outdated: r.Review.Outdated}, DurationMs: duration,
		KeyTags: pairs(r.KeyTags), ParamText: pairs(r.ParamText)}, nil
}

// metricsDoc stores finite metrics as doubles and NaN and ±Inf as the
// strings of their JSON form ("NaN", "Infinity", "-Infinity"). MongoDB
// itself stores non-finite doubles, but the FerretDB stand-in that tests
// this adapter refuses infinities and fails on NaN; the strings work on
// both, and a comparison with a number never matches a string, which is
// the right answer for NaN (a query that must match ±Inf asks for the
// string too).
func metricsDoc(m db.Metrics) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[fieldName(k)] = db.FloatValue(v)
	}
	return out
}

func metricsFromDoc(d map[string]any) (db.Metrics, error) {
	out := make(db.Metrics, len(d))
	for f, v := range d {
		k := nameOfField(f)
		switch x := v.(type) {
		case float64:
			out[k] = x
		case int64:
			out[k] = float64(x)
		case int32:
			out[k] = float64(x)
		case string:
			var f db.Float
			if err := f.UnmarshalJSON([]byte(`"` + x + `"`)); err != nil {
				return nil, fmt.Errorf("metric %s: %w", k, err)
			}
			out[k] = float64(f)
		default:
			return nil, fmt.Errorf("metric %s: stored as %T", k, v)
		}
	}
	return out, nil
}

// run turns the document into a run. Params go through BSON and relaxed
// extended JSON into the normal JSON form: the driver decodes nested
// documents as bson.D and keeps int32 apart from int64.
func (d *runDoc) run() (db.Run, error) {
	r := db.Run{ID: d.ID.Hex(), Project: d.Project, ExternalID: d.ExternalID, Name: d.Name, Status: d.Status, Host: d.Host,
		JobID: d.JobID, CreatedBy: d.CreatedBy, CreatedByToken: d.CreatedByToken,
		Tags: nonNil(d.Tags), Notes: d.Notes, CreatedAt: utc(d.CreatedAt), UpdatedAt: utc(d.UpdatedAt),
		StartedAt: optUTC(d.StartedAt), FinishedAt: optUTC(d.FinishedAt), HeartbeatAt: optUTC(d.HeartbeatAt),
		DeletedAt: optUTC(d.DeletedAt), Version: d.Version, DataVersion: d.DataVersion,
		Review: db.RunReview{State: db.NormalReviewState(d.Review.State), ID: d.Review.ID, By: d.Review.By, At: optUTC(d.Review.At),
			Comment: d.Review.Comment, DataVersion: d.Review.DataVersion, Outdated: d.Review.Outdated},
		KeyTags: fromPairs(d.KeyTags), ParamText: fromPairs(d.ParamText)}
	var err error
	if r.Metrics, err = metricsFromDoc(d.Metrics); err != nil {
		return r, fmt.Errorf("run %s: %w", r.ID, err)
	}
	if d.Failure != nil && d.Failure.Reason != "" {
		r.Failure = &db.Failure{Reason: d.Failure.Reason, Detail: d.Failure.Detail}
	}
	r.Params = map[string]any{}
	if d.ParamsRaw != "" {
		if r.Params, err = db.DecodeJSONObject([]byte(d.ParamsRaw)); err != nil {
			return r, fmt.Errorf("run %s: params: %w", r.ID, err)
		}
	} else if len(d.Params) > 0 {
		raw, err := bson.Marshal(d.Params)
		if err != nil {
			return r, fmt.Errorf("run %s: params: %w", r.ID, err)
		}
		b, err := bson.MarshalExtJSON(bson.Raw(raw), false, false)
		if err != nil {
			return r, fmt.Errorf("run %s: params: %w", r.ID, err)
		}
		if r.Params, err = db.DecodeJSONObject(b); err != nil {
			return r, fmt.Errorf("run %s: params: %w", r.ID, err)
		}
	}
	return r, nil
}

func (s *Store) runs() *mdb.Collection { return s.coll(runsCollection) }

func (s *Store) findRun(ctx context.Context, filter bson.D) (*db.Run, error) {
	_, r, err := s.findRunDoc(ctx, filter)
	return r, err
}

// findRunDoc returns the stored document with the run.
func (s *Store) findRunDoc(ctx context.Context, filter bson.D) (*runDoc, *db.Run, error) {
	var d runDoc
	if err := s.runs().FindOne(ctx, filter).Decode(&d); err != nil {
		return nil, nil, classify(err)
	}
	r, err := d.run()
	return &d, &r, err
}

// CreateRun inserts the run with a conditional upsert on (project,
// external_id): an existing run is left as it is and returned. Two racing
// upserts can both miss and insert; the unique index fails the second,
// which then finds the first's run.
func (s *Store) CreateRun(ctx context.Context, r *db.Run) (*db.Run, bool, error) {
	return s.CreateRunAudited(ctx, r, nil)
}

// CreateRunAudited is CreateRun, then the audit event of a creation (no
// transactions here: a failure to store it comes back as *db.AuditError
// with the created run).
func (s *Store) CreateRunAudited(ctx context.Context, r *db.Run, audit func(*db.Run) *db.AuditEvent) (*db.Run, bool, error) {
	doc, err := toRunDoc(r)
	if err != nil {
		return nil, false, fmt.Errorf("db: create run: %w", err)
	}
	byExternal := bson.D{{Key: "project", Value: r.Project}, {Key: "external_id", Value: r.ExternalID}}
	for range 3 {
		_, err = s.runs().UpdateOne(ctx, byExternal, bson.D{{Key: "$setOnInsert", Value: doc}}, options.UpdateOne().SetUpsert(true))
		if err != nil && !mdb.IsDuplicateKeyError(err) {
			return nil, false, fmt.Errorf("db: create run: %w", classify(err))
		}
		stored, ferr := s.findRun(ctx, byExternal)
		if errors.Is(ferr, db.ErrNotFound) {
			continue // the winner of a race is not visible yet
		}
		if ferr != nil {
			return nil, false, fmt.Errorf("db: create run: %w", ferr)
		}
		created := stored.ID == r.ID
		if created {
			if err := s.moveProject(ctx, stored.Project, db.ProjectDelta(nil, stored), stored.UpdatedAt); err != nil {
				return nil, false, err
			}
			if err := s.moveNames(ctx, stored.Project, db.NamesDelta(nil, stored, nil)); err != nil {
				return nil, false, err
			}
			if audit != nil {
				if err := s.InsertAudit(context.WithoutCancel(ctx), audit(stored)); err != nil {
					return stored, true, &db.AuditError{Err: err}
				}
			}
		}
		return stored, created, nil
	}
	return nil, false, fmt.Errorf("db: create run: %w", db.ErrConflict)
}

// RunByID finds a run.
func (s *Store) RunByID(ctx context.Context, id string) (*db.Run, error) {
	o, err := oid(id)
	if err != nil {
		return nil, fmt.Errorf("db: find run: %w", err)
	}
	r, err := s.findRun(ctx, bson.D{{Key: "_id", Value: o}})
	if err != nil {
		return nil, fmt.Errorf("db: find run: %w", err)
	}
	return r, nil
}

// maxUpdateTries bounds the retries of an update whose document another
// writer changed in between; each retry waits a little longer, with
// jitter, so that racing writers spread out.
const maxUpdateTries = 50

// optimistic runs try until it reports done: a versioned write that found
// its document changed since it read it reports false and is tried again.
// try's errors are returned as they are.
func optimistic(ctx context.Context, what string, try func() (done bool, err error)) error {
	for n := range maxUpdateTries {
		if n > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("db: %s: %w", what, classify(ctx.Err()))
			case <-time.After(time.Duration(rand.Int64N(int64(min(n, 10))*int64(time.Millisecond)) + 1)):
			}
		}
		done, err := try()
		if err != nil || done {
			return err
		}
	}
	return fmt.Errorf("db: %s: too many concurrent changes: %w", what, db.ErrUnavailable)
}

// UpdateRun applies change to the run with a versioned replace.
func (s *Store) UpdateRun(ctx context.Context, id string, now time.Time, change func(*db.Run) error) (before, after *db.Run, err error) {
	o, err := oid(id)
	if err != nil {
		return nil, nil, fmt.Errorf("db: update run: %w", err)
	}
	return s.replaceRun(ctx, o, "update run", now, func(_, upd *db.Run) error { return change(upd) })
}

// replaceRun reads the run, applies change to a copy (old is the state
// read) and replaces the document only if its version is still the one
// read (a conditional single-document write); otherwise it reads again and
// retries. The series summaries kept on the document are carried over and
// the project's counters and keys move. change may run more than once; its
// errors are returned as they are.
func (s *Store) replaceRun(ctx context.Context, rid bson.ObjectID, what string, now time.Time, change func(old, upd *db.Run) error) (before, after *db.Run, err error) {
	err = optimistic(ctx, what, func() (bool, error) {
		oldDoc, old, err := s.findRunDoc(ctx, bson.D{{Key: "_id", Value: rid}})
		if err != nil {
			return false, fmt.Errorf("db: %s: %w", what, err)
		}
		upd := db.CloneRun(old)
		if err := change(old, upd); err != nil {
			return false, err
		}
		upd.ID, upd.Version, upd.UpdatedAt = old.ID, old.Version+1, utc(now.Truncate(time.Millisecond))
		doc, err := toRunDoc(upd)
		if err != nil {
			return false, fmt.Errorf("db: %s: %w", what, err)
		}
		doc.Summaries = oldDoc.Summaries
		res, err := s.runs().ReplaceOne(ctx, bson.D{{Key: "_id", Value: rid}, {Key: "version", Value: old.Version}}, doc)
		if err != nil {
			return false, fmt.Errorf("db: %s: %w", what, classify(err))
		}
		if res.MatchedCount == 0 {
			return false, nil
		}
		before, after = old, upd
		if err := s.moveProject(ctx, upd.Project, db.ProjectDelta(old, upd), upd.UpdatedAt); err != nil {
			return true, err
		}
		var series []string
		if db.NamesNeedSeries(old, upd) {
			series = seriesNames(oldDoc)
		}
		return true, s.moveNames(ctx, upd.Project, db.NamesDelta(old, upd, series))
	})
	if err != nil {
		return nil, nil, err
	}
	return before, after, nil
}

// runFilter is the filter's condition on run documents, without paging.
func runFilter(f db.RunFilter) (bson.D, error) {
	filter := bson.D{{Key: "deleted", Value: f.Deleted}}
	if f.Project != "" {
		filter = append(filter, bson.E{Key: "project", Value: f.Project})
	}
	if len(f.Projects) > 0 {
		filter = append(filter, bson.E{Key: "project", Value: bson.D{{Key: "$in", Value: f.Projects}}})
	}
	if f.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: f.Status})
	}
	switch f.Review {
	case "":
	case db.ReviewOutdated:
		filter = append(filter, bson.E{Key: "review.outdated", Value: true})
	default:
		filter = append(filter, bson.E{Key: "review.state", Value: f.Review})
	}
	if !f.StaleBefore.IsZero() {
		filter = append(filter, bson.E{Key: "alive_at", Value: bson.D{{Key: "$lt", Value: f.StaleBefore}}})
	}
	if f.Query != nil {
		q, err := compileQuery(f.Query, f)
		if err != nil {
			return nil, err
		}
		filter = append(filter, bson.E{Key: "$and", Value: bson.A{q}})
	}
	return filter, nil
}

func (s *Store) listDocs(ctx context.Context, filter bson.D, sort bson.D, limit int) ([]db.Run, error) {
	docs, err := findAll[runDoc](ctx, s.runs(), "list runs", filter, options.Find().SetSort(sort).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := make([]db.Run, 0, len(docs))
	for i := range docs {
		r, err := docs[i].run()
		if err != nil {
			return nil, fmt.Errorf("db: list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ListRuns walks the index that matches the filter, newest first, or the
// sort key's path (listSorted).
func (s *Store) ListRuns(ctx context.Context, f db.RunFilter, limit int) ([]db.Run, bool, error) {
	filter, err := runFilter(f)
	if err != nil {
		return nil, false, fmt.Errorf("db: list runs: %w", err)
	}
	if f.SortKey != "" {
		return s.listSorted(ctx, f, filter, limit)
	}
	if f.Before != "" {
		before, err := oid(f.Before)
		if err != nil {
			return []db.Run{}, false, nil
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	out, err := s.listDocs(ctx, filter, bson.D{{Key: "_id", Value: -1}}, limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// sortPath is where a sort key's value lives in a run document, and the
// condition of a sortable value there (a finite number, a text for the
// name, a date for the start; params through no array).
func sortPath(key string) (path string, valued bson.D) {
	number := func(p string) (string, bson.D) {
		return p, bson.D{{Key: p, Value: bson.D{{Key: "$type", Value: "number"}}}}
	}
	switch {
	case key == db.KeyName:
		return "name", bson.D{{Key: "name", Value: bson.D{{Key: "$type", Value: "string"}}}}
	case key == db.KeyStarted:
		return "started_at", bson.D{{Key: "started_at", Value: bson.D{{Key: "$type", Value: "date"}}}}
	case key == db.KeyCreated:
		return "created_at", bson.D{{Key: "created_at", Value: bson.D{{Key: "$type", Value: "date"}}}}
	case key == db.KeyDuration:
		return number("duration_ms")
	case strings.HasPrefix(key, db.KeyMetric):
		return number("metrics." + fieldName(strings.TrimPrefix(key, db.KeyMetric)))
	case strings.HasPrefix(key, db.KeyParam):
		// A number that is not an array (an array of numbers has type
		// number too), on a path through no array.
		name := strings.TrimPrefix(key, db.KeyParam)
		guards := scalarAt(name)
		p := "params." + name
		return p, append(guards[:len(guards)-1], bson.E{Key: p, Value: bson.D{{Key: "$type", Value: "number"},
			{Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}}})
	case strings.HasPrefix(key, db.KeySeries):
		fn, series, _ := strings.Cut(strings.TrimPrefix(key, db.KeySeries), ":")
		return number("summaries." + fieldName(series) + "." + fn)
	}
	return "", nil
}

// listSorted pages runs by a value: first the runs that have one, in the
// sort's direction with ties by _id; then the others, newest first.
func (s *Store) listSorted(ctx context.Context, f db.RunFilter, filter bson.D, limit int) ([]db.Run, bool, error) {
	path, valued := sortPath(f.SortKey)
	if path == "" {
		return nil, false, fmt.Errorf("db: list runs: unknown sort key %q", f.SortKey)
	}
	dir, cmp := 1, "$gt"
	if f.SortDesc {
		dir, cmp = -1, "$lt"
	}
	var out []db.Run
	if f.After == nil || f.After.HasValue {
		phase := append(append(bson.D{}, filter...), valued...)
		if f.After != nil {
			id, err := oid(f.After.ID)
			if err != nil {
				return []db.Run{}, false, nil
			}
			var at any = f.After.Num
			switch f.SortKey {
			case db.KeyName:
				at = f.After.Txt
			case db.KeyStarted, db.KeyCreated:
				at = time.UnixMilli(int64(f.After.Num)).UTC()
			}
			phase = append(phase, bson.E{Key: "$or", Value: bson.A{
				bson.D{{Key: path, Value: bson.D{{Key: cmp, Value: at}}}},
				bson.D{{Key: path, Value: at}, {Key: "_id", Value: bson.D{{Key: cmp, Value: id}}}}}})
		}
		var err error
		out, err = s.listDocs(ctx, phase, bson.D{{Key: path, Value: dir}, {Key: "_id", Value: dir}}, limit+1)
		if err != nil {
			return nil, false, err
		}
		if len(out) > limit {
			return out[:limit], true, nil
		}
	}
	rest := append(append(bson.D{}, filter...), bson.E{Key: "$nor", Value: bson.A{valued}})
	if f.After != nil && !f.After.HasValue {
		id, err := oid(f.After.ID)
		if err != nil {
			return []db.Run{}, false, nil
		}
		rest = append(rest, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: id}}})
	}
	more, err := s.listDocs(ctx, rest, bson.D{{Key: "_id", Value: -1}}, limit+1-len(out))
	if err != nil {
		return nil, false, err
	}
	out = append(out, more...)
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// CountRuns counts the runs the filter selects. The filter's equality
// fields lead the same indexes as its pages; a query's conditions on
// params and metrics want the wildcard indexes of docs/operations.md.
func (s *Store) CountRuns(ctx context.Context, f db.RunFilter) (int64, error) {
	filter, err := runFilter(f)
	if err != nil {
		return 0, fmt.Errorf("db: count runs: %w", err)
	}
	n, err := s.runs().CountDocuments(ctx, filter)
	if err != nil {
		return 0, fmt.Errorf("db: count runs: %w", classify(err))
	}
	return n, nil
}
