package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"labreview/db"
)

// The query index: what queries filter and sort on, for every run, in
// memory (about 150 bytes a run plus 32 a value: 100,000 runs of 20
// values take about 80 MB). Queries (q), sorted pages, exact counts and
// the keys of runs are answered from it; the page's rows are then read
// from the runs table by id. docs/query.md ("How it runs") says why:
// SQLite answers a random lookup in 1-20 µs here, so a plan that checks
// 10,000 candidates takes 40 ms or more, while a scan of 100,000 runs in
// Go memory takes a millisecond or two, whatever the query's shape, the
// order of its conditions or the planner's statistics.
//
// The index is built from the runs and series tables (one read
// transaction: a snapshot) when the server starts, and kept by every run
// write: the writer applies each committed write's new state right after
// its commit, in commit order, before answering its caller (afterCommit),
// so a caller that reads after a write sees it. Every run write also adds
// one to run_changes.n in its transaction; a query that finds n ahead of
// the index (a write by another process on the same file: the command
// line's import) reads the runs again.

// noTime marks a time a run does not have.
const noTime = math.MinInt64

// ival is one value a run has under a key (a db.QueryValue key: params,
// metrics, series summaries).
type ival struct {
	key  string
	kind uint8
	num  float64 // numbers (NaN for NaN) and bools (1 or 0)
	txt  string
}

// irun is a run as the index holds it. It is never changed once in the
// index: a write puts a new one in its place.
type irun struct {
	id, project, status, review, reviewBy, name, host, notes string
	outdated, deleted                                        bool
	created, started, finished, heartbeat                    int64 // ms, or noTime
	tags                                                     []string
	vals                                                     []ival // sorted by key
	series                                                   []db.SeriesSummary
	names                                                    []nameKind
}

// nameKind is a key the run adds to its project's keys, with the kinds of
// value it has there.
type nameKind struct {
	name  string
	kinds uint8 // kindNumber | kindText | kindBool bits
}

const (
	kindNumber = 1 << iota
	kindText
	kindBool
)

// find returns the run's value under key.
func (r *irun) find(key string) (ival, bool) {
	i := sort.Search(len(r.vals), func(i int) bool { return r.vals[i].key >= key })
	if i < len(r.vals) && r.vals[i].key == key {
		return r.vals[i], true
	}
	return ival{}, false
}

// alive is the run's last sign of life (heartbeat, else start, else
// creation), as the stale rule reads it.
func (r *irun) alive() int64 {
	switch {
	case r.heartbeat != noTime:
		return r.heartbeat
	case r.started != noTime:
		return r.started
	}
	return r.created
}

// keyStat counts the live runs of a project that have a key, in all and
// by kind of value.
type keyStat struct{ runs, number, text, boolean int64 }

// runIndex is the index; the zero value is empty and not loaded.
type runIndex struct {
	mu     sync.RWMutex
	loaded bool
	runs   []*irun // by id, ascending
	byID   map[string]*irun
	intern map[string]string
	keys   map[string]map[string]*keyStat // project (db.AllProjects too) → key → stat
	// changes is the run_changes.n the index reflects; pending holds the
	// writes committed while it loads.
	changes    int64
	pending    []pendingChange
	everLoaded atomic.Bool
}

type pendingChange struct {
	n     int64
	apply func(ix *runIndex)
}

func (ix *runIndex) str(s string) string {
	if v, ok := ix.intern[s]; ok {
		return v
	}
	ix.intern[s] = s
	return s
}

func optMSValue(t *time.Time) int64 {
	if t == nil {
		return noTime
	}
	return t.UnixMilli()
}

// entry builds the index's form of a run with its series summaries.
func (ix *runIndex) entry(r *db.Run, series []db.SeriesSummary) *irun {
	e := &irun{id: r.ID, project: ix.str(r.Project), status: ix.str(r.Status), review: ix.str(db.NormalReviewState(r.Review.State)),
		reviewBy: ix.str(r.Review.By), name: r.Name, host: ix.str(r.Host), notes: r.Notes, outdated: r.Review.Outdated,
		deleted: r.DeletedAt != nil, created: r.CreatedAt.UnixMilli(), started: optMSValue(r.StartedAt),
		finished: optMSValue(r.FinishedAt), heartbeat: optMSValue(r.HeartbeatAt), series: series}
	for _, t := range r.Tags {
		e.tags = append(e.tags, ix.str(t))
	}
	add := func(v db.QueryValue) {
		iv := ival{key: ix.str(v.Key), kind: uint8(v.Kind)}
		switch {
		case v.Num != nil:
			iv.num = *v.Num
		case v.Kind == db.ValueNumber: // NaN: no number, the text "NaN"
			iv.num = math.NaN()
		}
		if v.Txt != nil && v.Kind == db.ValueText {
			iv.txt = ix.str(*v.Txt)
		}
		e.vals = append(e.vals, iv)
	}
	for _, v := range db.RunValues(r) {
		if strings.HasPrefix(v.Key, db.KeyParam) || strings.HasPrefix(v.Key, db.KeyMetric) {
			add(v)
		}
	}
	var names []string
	for _, s := range series {
		for _, v := range db.SeriesValues(s) {
			add(v)
		}
		if s.Name != db.ClockSeries {
			names = append(names, s.Name)
		}
	}
	sort.Slice(e.vals, func(i, j int) bool { return e.vals[i].key < e.vals[j].key })
	if !e.deleted {
		for _, k := range db.RunNames(r, names) {
			nk := nameKind{name: ix.str(k)}
			if strings.HasPrefix(k, db.KeyParam) || strings.HasPrefix(k, db.KeyMetric) {
				if v, ok := e.find(k); ok {
					nk.kinds = map[uint8]uint8{db.ValueNumber: kindNumber, db.ValueText: kindText, db.ValueBool: kindBool}[v.kind]
				}
			}
			e.names = append(e.names, nk)
		}
	}
	return e
}

// moveKeys takes a run's names out of (sign -1) or into (+1) the keys of
// its project and of all projects.
func (ix *runIndex) moveKeys(e *irun, sign int64) {
	if e == nil {
		return
	}
	for _, p := range []string{e.project, db.AllProjects} {
		m := ix.keys[p]
		if m == nil {
			m = map[string]*keyStat{}
			ix.keys[p] = m
		}
		for _, nk := range e.names {
			st := m[nk.name]
			if st == nil {
				st = &keyStat{}
				m[nk.name] = st
			}
			st.runs += sign
			if nk.kinds&kindNumber != 0 {
				st.number += sign
			}
			if nk.kinds&kindText != 0 {
				st.text += sign
			}
			if nk.kinds&kindBool != 0 {
				st.boolean += sign
			}
			if st.runs <= 0 {
				delete(m, nk.name)
			}
		}
		if len(m) == 0 {
			delete(ix.keys, p)
		}
	}
}

// put places a run's new entry in the index.
func (ix *runIndex) put(e *irun) {
	old := ix.byID[e.id]
	ix.moveKeys(old, -1)
	ix.moveKeys(e, 1)
	ix.byID[e.id] = e
	if old != nil {
		i := sort.Search(len(ix.runs), func(i int) bool { return ix.runs[i].id >= e.id })
		ix.runs[i] = e
		return
	}
	if n := len(ix.runs); n == 0 || ix.runs[n-1].id < e.id {
		ix.runs = append(ix.runs, e)
		return
	}
	i := sort.Search(len(ix.runs), func(i int) bool { return ix.runs[i].id >= e.id })
	ix.runs = append(ix.runs, nil)
	copy(ix.runs[i+1:], ix.runs[i:])
	ix.runs[i] = e
}

// putRun applies a run's state after a write; its series stay.
func (ix *runIndex) putRun(r *db.Run) {
	var series []db.SeriesSummary
	if old := ix.byID[r.ID]; old != nil {
		series = old.series
	}
	ix.put(ix.entry(r, series))
}

// putSeries applies a series write: the run's state after it and the
// summaries of the series written.
func (ix *runIndex) putSeries(r *db.Run, sums []db.SeriesSummary) {
	var series []db.SeriesSummary
	if old := ix.byID[r.ID]; old != nil {
		series = append(series, old.series...)
	}
	for _, s := range sums {
		i := sort.Search(len(series), func(i int) bool { return series[i].Name >= s.Name })
		if i < len(series) && series[i].Name == s.Name {
			series[i] = s
			continue
		}
		series = append(series, db.SeriesSummary{})
		copy(series[i+1:], series[i:])
		series[i] = s
	}
	ix.put(ix.entry(r, series))
}

// runChanged counts a run write in run_changes and has apply run on the
// index once the write has committed, in commit order.
func (s *Store) runChanged(ctx context.Context, tx *sql.Tx, apply func(ix *runIndex)) error {
	var n int64
	if err := s.txRow(ctx, tx, trace("UPDATE run_changes SET n = n + 1 WHERE id = 1 RETURNING n")).Scan(&n); err != nil {
		return err
	}
	afterCommit(ctx, func() { s.index.committed(n, apply) })
	return nil
}

// committed applies a committed write (n: its run_changes count), or
// keeps it for after the load.
func (ix *runIndex) committed(n int64, apply func(ix *runIndex)) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.loaded {
		if len(ix.pending) < 1_000_000 {
			ix.pending = append(ix.pending, pendingChange{n, apply})
		}
		return
	}
	if n <= ix.changes {
		return
	}
	apply(ix)
	ix.changes = n
}

// invalidate makes the next reader load the index again (after an
// import, which writes runs in bulk).
func (ix *runIndex) invalidate() {
	ix.mu.Lock()
	ix.loaded, ix.pending = false, nil
	ix.mu.Unlock()
}

const indexRunColumns = "id, project, status, name, host, params, metrics, tags, notes, created_at, started_at, finished_at, " +
	"heartbeat_at, deleted_at, review_state, review_by, review_outdated"

// load reads every run and series summary in one read transaction and
// builds the index from them, then applies the writes committed since.
func (s *Store) loadIndex(ctx context.Context) error {
	release, err := s.readTurn(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return classify(err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int64
	if err := tx.QueryRowContext(ctx, trace("SELECT n FROM run_changes WHERE id = 1")).Scan(&n); err != nil {
		return classify(err)
	}
	series := map[string][]db.SeriesSummary{}
	rows, err := tx.QueryContext(ctx, trace("SELECT run_id, "+seriesColumns+" FROM series ORDER BY run_id, name"))
	if err != nil {
		return classify(err)
	}
	for rows.Next() {
		var runID string
		var sum db.SeriesSummary
		var lo, hi, last sql.NullFloat64
		if err := rows.Scan(&runID, &sum.Name, &sum.Count, &sum.FirstStep, &sum.LastStep, &lo, &hi, &last); err != nil {
			rows.Close()
			return classify(err)
		}
		sum.Min, sum.Max, sum.Last = fromReal(lo), fromReal(hi), fromReal(last)
		series[runID] = append(series[runID], sum)
	}
	if err := rows.Close(); err != nil {
		return classify(err)
	}
	fresh := &runIndex{byID: map[string]*irun{}, intern: map[string]string{}, keys: map[string]map[string]*keyStat{}}
	rows, err = tx.QueryContext(ctx, trace("SELECT "+indexRunColumns+" FROM runs ORDER BY id"))
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r db.Run
		var params, metrics, tags string
		var created int64
		var started, finished, heartbeat, deleted sql.NullInt64
		var outdated int
		if err := rows.Scan(&r.ID, &r.Project, &r.Status, &r.Name, &r.Host, &params, &metrics, &tags, &r.Notes, &created, &started,
			&finished, &heartbeat, &deleted, &r.Review.State, &r.Review.By, &outdated); err != nil {
			return classify(err)
		}
		r.CreatedAt, r.Review.Outdated = fromMS(created), outdated == 1
		r.StartedAt, r.FinishedAt, r.HeartbeatAt, r.DeletedAt = fromOptMS(started), fromOptMS(finished), fromOptMS(heartbeat), fromOptMS(deleted)
		if r.Params, err = db.DecodeJSONObject([]byte(params)); err != nil {
			return fmt.Errorf("run %s: params: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(metrics), &r.Metrics); err != nil {
			return fmt.Errorf("run %s: metrics: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
			return fmt.Errorf("run %s: tags: %w", r.ID, err)
		}
		fresh.put(fresh.entry(&r, series[r.ID]))
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	s.index.runs, s.index.byID, s.index.intern, s.index.keys = fresh.runs, fresh.byID, fresh.intern, fresh.keys
	s.index.changes, s.index.loaded = n, true
	for _, p := range s.index.pending {
		if p.n > s.index.changes {
			p.apply(&s.index)
			s.index.changes = p.n
		}
	}
	s.index.pending = nil
	return nil
}

// indexRead runs fn on the index under its read lock, once the index is
// loaded and reflects every run write committed to the file: a count in
// run_changes ahead of it that its own writer does not catch up with
// within a few milliseconds is another process's write, and the index is
// read again.
func (s *Store) indexRead(ctx context.Context, fn func(ix *runIndex) error) error {
	var n int64
	if err := s.readRow(ctx, []any{&n}, "SELECT n FROM run_changes WHERE id = 1"); err != nil {
		return err
	}
	for wait := 0; ; wait++ {
		s.index.mu.RLock()
		loaded, behind := s.index.loaded, n > s.index.changes
		s.index.mu.RUnlock()
		if loaded && !behind {
			break
		}
		if !loaded || wait == 20 {
			if err := s.reloadIndex(ctx, n); err != nil {
				return err
			}
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.index.mu.RLock()
	defer s.index.mu.RUnlock()
	return fn(&s.index)
}

// reloadIndex loads the index unless a load that began after the count
// n was read has done it meanwhile (queries arriving together load once).
func (s *Store) reloadIndex(ctx context.Context, n int64) error {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	s.index.mu.RLock()
	done := s.index.loaded && s.index.changes >= n
	s.index.mu.RUnlock()
	if done {
		return nil
	}
	if s.index.everLoaded.Load() {
		s.log.Info("runs were written by another process: reading the query index again")
	}
	start := time.Now()
	if err := s.loadIndex(ctx); err != nil {
		return err
	}
	s.index.everLoaded.Store(true)
	s.log.Debug("query index loaded", "runs", len(s.index.runs), "took", time.Since(start).Round(time.Millisecond))
	return nil
}
