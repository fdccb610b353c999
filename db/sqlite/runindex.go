package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json/jsontext"

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

// Run flags.
const (
	flagDeleted = 1 << iota
	flagOutdated
)

// column holds the values of one key (a db.QueryValue key: a param path,
// a metric, a series summary), one entry per run that has it, in no
// order.
type column struct {
	key  string
	slot []int32
	kind []uint8
	num  []float64 // numbers (NaN for NaN) and bools (1 or 0)
	// txt holds the texts, nil until the column has one: most columns
	// hold numbers only, and an empty string per value is 16 bytes the
	// collector would scan.
	txt []string
}

// text is the text of entry j ("" for none).
func (c *column) text(j int) string {
	if c.txt == nil {
		return ""
	}
	return c.txt[j]
}

// valRef is where a run's value sits: its key's column and position.
type valRef struct{ col, pos int32 }

// runIndex is the index. Each run has a slot, given when it first comes
// and never reused; the fields below are indexed by slot (a struct of
// arrays: a scan of one field reads one compact array, which is what
// makes a scan of 100,000 runs take a fraction of a millisecond).
type runIndex struct {
	mu     sync.RWMutex
	loaded bool

	ids                                   []string
	project, reviewBy, status, review     []string
	name, host, notes, failure            []string // failure: the failure's reason ("" for none)
	nameLower                             []string // name with ASCII letters folded (the same string when it has none)
	flags                                 []uint8
	created, started, finished, heartbeat []int64
	tags                                  [][]string
	refs                                  [][]valRef
	names                                 [][]nameKind
	series                                [][]db.SeriesSummary
	order                                 []int32 // slots by id, ascending
	slotOf                                map[string]int32

	cols   []*column
	colOf  map[string]int32
	intern map[string]string
	keys   map[string]map[string]*keyStat // project (db.AllProjects too) → key → stat
	// keyNames are the keys runs have, by number; keyOf numbers them.
	keyNames []string
	keyOf    map[string]int32
	sets     valueSets

	// changes is the run_changes.n the index reflects; pending holds the
	// writes committed while it loads.
	changes    int64
	pending    []pendingChange
	everLoaded atomic.Bool
}

// nameKind is a key a run adds to its project's keys (by its number in
// keyNames: no pointer for the collector to follow, for each of the
// runs' values), with the kinds of value it has there.
type nameKind struct {
	key   int32
	kinds uint8 // kindNumber | kindText | kindBool bits
}

const (
	kindNumber = 1 << iota
	kindText
	kindBool
)

// keyStat counts the live runs of a project that have a key, in all and
// by kind of value.
type keyStat struct{ runs, number, text, boolean int64 }

type pendingChange struct {
	n     int64
	apply func(ix *runIndex)
}

func newRunIndex() *runIndex {
	return &runIndex{slotOf: map[string]int32{}, colOf: map[string]int32{}, intern: map[string]string{},
		keys: map[string]map[string]*keyStat{}, keyOf: map[string]int32{}, sets: newValueSets()}
}

// keyNumber is the number of a key in keyNames.
func (ix *runIndex) keyNumber(name string) int32 {
	if k, ok := ix.keyOf[name]; ok {
		return k
	}
	k := int32(len(ix.keyNames))
	ix.keyNames = append(ix.keyNames, name)
	ix.keyOf[name] = k
	return k
}

func (ix *runIndex) str(s string) string {
	if v, ok := ix.intern[s]; ok {
		return v
	}
	ix.intern[s] = s
	return s
}

// grow makes room for n runs.
func (ix *runIndex) grow(n int) {
	ix.ids, ix.order = make([]string, 0, n), make([]int32, 0, n)
	ix.project, ix.reviewBy, ix.status, ix.review = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	ix.name, ix.host, ix.notes, ix.flags = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]uint8, 0, n)
	ix.failure = make([]string, 0, n)
	ix.nameLower = make([]string, 0, n)
	ix.created, ix.started, ix.finished, ix.heartbeat = make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	ix.tags, ix.refs, ix.names, ix.series = make([][]string, 0, n), make([][]valRef, 0, n), make([][]nameKind, 0, n), make([][]db.SeriesSummary, 0, n)
	ix.slotOf = make(map[string]int32, n)
}

// alive is a run's last sign of life (heartbeat, else start, else
// creation), as the stale rule reads it.
func (ix *runIndex) alive(slot int32) int64 {
	switch {
	case ix.heartbeat[slot] != noTime:
		return ix.heartbeat[slot]
	case ix.started[slot] != noTime:
		return ix.started[slot]
	}
	return ix.created[slot]
}

func optMSValue(t *time.Time) int64 {
	if t == nil {
		return noTime
	}
	return t.UnixMilli()
}

// slotFor is the run's slot, a new one for a run not seen yet.
func (ix *runIndex) slotFor(id string) int32 {
	if slot, ok := ix.slotOf[id]; ok {
		return slot
	}
	slot := int32(len(ix.ids))
	ix.slotOf[id] = slot
	ix.ids = append(ix.ids, id)
	ix.project, ix.reviewBy, ix.status, ix.review = append(ix.project, ""), append(ix.reviewBy, ""), append(ix.status, ""), append(ix.review, "")
	ix.name, ix.host, ix.notes, ix.nameLower = append(ix.name, ""), append(ix.host, ""), append(ix.notes, ""), append(ix.nameLower, "")
	ix.failure = append(ix.failure, "")
	ix.flags = append(ix.flags, flagDeleted) // no run until put: never selected
	ix.created, ix.started, ix.finished, ix.heartbeat = append(ix.created, 0), append(ix.started, noTime), append(ix.finished, noTime), append(ix.heartbeat, noTime)
	ix.tags, ix.refs, ix.names, ix.series = append(ix.tags, nil), append(ix.refs, nil), append(ix.names, nil), append(ix.series, nil)
	if n := len(ix.order); n == 0 || ix.ids[ix.order[n-1]] < id {
		ix.order = append(ix.order, slot)
	} else {
		i := sort.Search(n, func(i int) bool { return ix.ids[ix.order[i]] >= id })
		ix.order = append(ix.order, 0)
		copy(ix.order[i+1:], ix.order[i:])
		ix.order[i] = slot
	}
	return slot
}

// dropValues takes a run's values out of their columns (each entry's
// place is taken by its column's last, whose run's reference follows).
func (ix *runIndex) dropValues(slot int32) {
	for _, ref := range ix.refs[slot] {
		c := ix.cols[ref.col]
		last := int32(len(c.slot) - 1)
		if ref.pos != last {
			moved := c.slot[last]
			c.slot[ref.pos], c.kind[ref.pos], c.num[ref.pos] = moved, c.kind[last], c.num[last]
			if c.txt != nil {
				c.txt[ref.pos] = c.txt[last]
			}
			for i, r := range ix.refs[moved] {
				if r.col == ref.col && r.pos == last {
					ix.refs[moved][i].pos = ref.pos
				}
			}
		}
		c.slot, c.kind, c.num = c.slot[:last], c.kind[:last], c.num[:last]
		if c.txt != nil {
			c.txt = c.txt[:last]
		}
	}
	ix.refs[slot] = ix.refs[slot][:0]
}

// addValue puts one value of a run in its key's column.
func (ix *runIndex) addValue(slot int32, key string, kind uint8, num float64, txt string) {
	col, ok := ix.colOf[key]
	if !ok {
		col = int32(len(ix.cols))
		ix.colOf[key] = col
		ix.cols = append(ix.cols, &column{key: key})
	}
	c := ix.cols[col]
	ix.refs[slot] = append(ix.refs[slot], valRef{col: col, pos: int32(len(c.slot))})
	if txt != "" && c.txt == nil {
		c.txt = make([]string, len(c.slot), cap(c.slot))
	}
	if c.txt != nil {
		c.txt = append(c.txt, ix.str(txt))
	}
	c.slot, c.kind, c.num = append(c.slot, slot), append(c.kind, kind), append(c.num, num)
}

// moveKeys takes a run's names out of (sign -1) or into (+1) the keys of
// its project and of all projects.
func (ix *runIndex) moveKeys(slot int32, sign int64) {
	for _, p := range []string{ix.project[slot], db.AllProjects} {
		m := ix.keys[p]
		if m == nil {
			m = map[string]*keyStat{}
			ix.keys[p] = m
		}
		for _, nk := range ix.names[slot] {
			name := ix.keyNames[nk.key]
			st := m[name]
			if st == nil {
				st = &keyStat{}
				m[name] = st
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
				delete(m, name)
			}
		}
		if len(m) == 0 {
			delete(ix.keys, p)
		}
	}
}

// put places a run's state, with its series summaries, in the index.
func (ix *runIndex) put(r *db.Run, series []db.SeriesSummary) {
	_ = ix.putJSON(r, nil, series) // without JSON, no error
}

// putJSON is put, with the params read from their stored JSON
// (paramsJSON, when not nil) rather than from r.Params: a load reads them
// as a stream, without building the maps.
func (ix *runIndex) putJSON(r *db.Run, paramsJSON []byte, series []db.SeriesSummary) error {
	slot := ix.slotFor(r.ID)
	ix.moveKeys(slot, -1)
	ix.dropValues(slot)
	review := db.NormalReviewState(r.Review.State)
	move(ix.sets.project, slot, ix.project[slot], r.Project)
	move(ix.sets.status, slot, ix.status[slot], r.Status)
	move(ix.sets.review, slot, ix.review[slot], review)
	ix.sets.moveTags(slot, ix.tags[slot], r.Tags)
	flag(ix.sets.deleted, slot, r.DeletedAt != nil)
	flag(ix.sets.outdated, slot, r.Review.Outdated)
	flag(ix.sets.noted, slot, r.Notes != "")
	ix.project[slot], ix.reviewBy[slot], ix.status[slot] = ix.str(r.Project), ix.str(r.Review.By), ix.str(r.Status)
	ix.review[slot] = ix.str(review)
	ix.name[slot], ix.host[slot], ix.notes[slot] = r.Name, ix.str(r.Host), r.Notes
	ix.failure[slot] = ""
	if r.Failure != nil {
		ix.failure[slot] = r.Failure.Reason
	}
	lower := r.Name
	if l := asciiLower(r.Name); l != r.Name {
		lower = l
	}
	if lower != ix.nameLower[slot] {
		ix.sets.addName(slot, lower)
	}
	ix.nameLower[slot] = lower
	var fl uint8
	if r.DeletedAt != nil {
		fl |= flagDeleted
	}
	if r.Review.Outdated {
		fl |= flagOutdated
	}
	ix.flags[slot] = fl
	ix.created[slot], ix.started[slot] = r.CreatedAt.UnixMilli(), optMSValue(r.StartedAt)
	ix.finished[slot], ix.heartbeat[slot] = optMSValue(r.FinishedAt), optMSValue(r.HeartbeatAt)
	tags := make([]string, len(r.Tags))
	for i, t := range r.Tags {
		tags[i] = ix.str(t)
	}
	ix.tags[slot], ix.series[slot] = tags, series
	var names []nameKind
	// objects are the params' object paths seen so far: a dotted name is
	// a level (db.ExpandParams), so {"model.lr": 1} makes "model" an
	// object as {"model": {"lr": 1}} does, once.
	var objects map[string]bool
	visit := func(path string, kind uint8, num float64, txt string, parent bool) {
		for i := 0; i < len(path); i++ {
			if path[i] != '.' {
				continue
			}
			if objects == nil {
				objects = map[string]bool{}
			}
			if p := path[:i]; !objects[p] {
				objects[p] = true
				ix.addValue(slot, db.KeyParam+p, db.ValueNone, 0, "")
			}
		}
		if parent {
			if objects[path] {
				return
			}
			if objects == nil {
				objects = map[string]bool{}
			}
			objects[path] = true
		}
		key := db.KeyParam + path
		ix.addValue(slot, key, kind, num, txt)
		if parent {
			return // an object with a path below it is no name of its own
		}
		nk := nameKind{key: ix.keyNumber(key)}
		switch kind {
		case db.ValueNumber:
			nk.kinds = kindNumber
		case db.ValueText:
			nk.kinds = kindText
		case db.ValueBool:
			nk.kinds = kindBool
		}
		names = append(names, nk)
	}
	if paramsJSON != nil {
		if err := walkParamsJSON(paramsJSON, visit); err != nil {
			return err
		}
	} else {
		walkParams("", r.Params, visit)
	}
	for k, v := range r.Metrics {
		ix.addValue(slot, db.KeyMetric+k, db.ValueNumber, v, "")
		names = append(names, nameKind{key: ix.keyNumber(db.KeyMetric + k), kinds: kindNumber})
	}
	for _, s := range series {
		if s.Name == db.ClockSeries {
			continue
		}
		for fn, v := range map[string]float64{"min": s.Min, "max": s.Max, "last": s.Last, "count": float64(s.Count)} {
			ix.addValue(slot, db.SeriesKey(fn, s.Name), db.ValueNumber, v, "")
		}
		names = append(names, nameKind{key: ix.keyNumber(db.NameSeries + s.Name)})
	}
	if r.DeletedAt != nil {
		names = nil
	}
	ix.names[slot] = names
	ix.moveKeys(slot, 1)
	return nil
}

// paramVisitor sees one param value: its dotted path, kind (db.Value…),
// number (bools as 1 or 0) or text; parent marks an object with a path
// below it.
type paramVisitor func(path string, kind uint8, num float64, txt string, parent bool)

// walkParams visits the params of a run as db.RunValues lists them.
func walkParams(prefix string, m map[string]any, visit paramVisitor) {
	for k, v := range m {
		path := prefix + k
		switch v := v.(type) {
		case map[string]any:
			visit(path, db.ValueNone, 0, "", len(v) > 0)
			walkParams(path+".", v, visit)
		case string:
			visit(path, db.ValueText, 0, v, false)
		case bool:
			n := 0.0
			if v {
				n = 1
			}
			visit(path, db.ValueBool, n, "", false)
		case int64:
			visit(path, db.ValueNumber, float64(v), "", false)
		case float64:
			visit(path, db.ValueNumber, v, "", false)
		default: // arrays, null
			visit(path, db.ValueNone, 0, "", false)
		}
	}
}

// walkParamsJSON visits the params of a stored JSON object, as walkParams
// does with the decoded object.
func walkParamsJSON(b []byte, visit paramVisitor) error {
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return fmt.Errorf("params: not an object")
	}
	var object func(prefix string) error
	object = func(prefix string) error {
		for dec.PeekKind() != '}' {
			k, err := dec.ReadToken()
			if err != nil {
				return err
			}
			path := prefix + k.String()
			switch dec.PeekKind() {
			case '{':
				if _, err := dec.ReadToken(); err != nil {
					return err
				}
				visit(path, db.ValueNone, 0, "", dec.PeekKind() != '}')
				if err := object(path + "."); err != nil {
					return err
				}
				continue
			case '[':
				if err := dec.SkipValue(); err != nil {
					return err
				}
				visit(path, db.ValueNone, 0, "", false)
				continue
			}
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			switch tok.Kind() {
			case '"':
				visit(path, db.ValueText, 0, tok.String(), false)
			case 't', 'f':
				n := 0.0
				if tok.Bool() {
					n = 1
				}
				visit(path, db.ValueBool, n, "", false)
			case '0':
				f, err := tok.Float()
				if err != nil {
					return err
				}
				visit(path, db.ValueNumber, f, "", false)
			default: // null
				visit(path, db.ValueNone, 0, "", false)
			}
		}
		_, err := dec.ReadToken() // the closing brace
		return err
	}
	return object("")
}

// putRun applies a run's state after a write; its series stay.
func (ix *runIndex) putRun(r *db.Run) {
	var series []db.SeriesSummary
	if slot, ok := ix.slotOf[r.ID]; ok {
		series = ix.series[slot]
	}
	ix.put(r, series)
}

// putSeries applies a series write: the run's state after it and the
// summaries of the series written.
func (ix *runIndex) putSeries(r *db.Run, sums []db.SeriesSummary) {
	var series []db.SeriesSummary
	if slot, ok := ix.slotOf[r.ID]; ok {
		series = append(series, ix.series[slot]...)
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
	ix.put(r, series)
}

// dropSeries applies the removal of a run's series: the run's state after
// it, without the series.
func (ix *runIndex) dropSeries(r *db.Run, name string) {
	var series []db.SeriesSummary
	if slot, ok := ix.slotOf[r.ID]; ok {
		for _, s := range ix.series[slot] {
			if s.Name != name {
				series = append(series, s)
			}
		}
	}
	ix.put(r, series)
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

// swap takes the contents of a freshly loaded index.
func (ix *runIndex) swap(f *runIndex) {
	ix.ids, ix.project, ix.reviewBy, ix.status, ix.review = f.ids, f.project, f.reviewBy, f.status, f.review
	ix.name, ix.host, ix.notes, ix.flags, ix.nameLower, ix.failure = f.name, f.host, f.notes, f.flags, f.nameLower, f.failure
	ix.created, ix.started, ix.finished, ix.heartbeat = f.created, f.started, f.finished, f.heartbeat
	ix.tags, ix.refs, ix.names, ix.series, ix.order, ix.slotOf = f.tags, f.refs, f.names, f.series, f.order, f.slotOf
	ix.cols, ix.colOf, ix.intern, ix.keys, ix.sets = f.cols, f.colOf, f.intern, f.keys, f.sets
	ix.keyNames, ix.keyOf = f.keyNames, f.keyOf
}

const indexRunColumns = "id, project, status, name, host, params, metrics, tags, notes, created_at, started_at, finished_at, " +
	"heartbeat_at, deleted_at, review_state, review_by, review_outdated, failure_reason"

// loadIndex reads every run and series summary in one read transaction,
// builds a fresh index from them, swaps it in and applies the writes
// committed since. It returns how many runs it read.
func (s *Store) loadIndex(ctx context.Context) (int, error) {
	release, err := s.readTurn(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, classify(err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int64
	if err := tx.QueryRowContext(ctx, trace("SELECT n FROM run_changes WHERE id = 1")).Scan(&n); err != nil {
		return 0, classify(err)
	}
	series := map[string][]db.SeriesSummary{}
	rows, err := tx.QueryContext(ctx, trace("SELECT run_id, "+seriesColumns+" FROM series ORDER BY run_id, name"))
	if err != nil {
		return 0, classify(err)
	}
	for rows.Next() {
		var runID string
		var sum db.SeriesSummary
		var lo, hi, last sql.NullFloat64
		if err := rows.Scan(&runID, &sum.Name, &sum.Count, &sum.FirstStep, &sum.LastStep, &lo, &hi, &last); err != nil {
			rows.Close()
			return 0, classify(err)
		}
		sum.Min, sum.Max, sum.Last = fromReal(lo), fromReal(hi), fromReal(last)
		series[runID] = append(series[runID], sum)
	}
	if err := rows.Close(); err != nil {
		return 0, classify(err)
	}
	var count int
	if err := tx.QueryRowContext(ctx, trace("SELECT count(*) FROM runs")).Scan(&count); err != nil {
		return 0, classify(err)
	}
	fresh := newRunIndex()
	fresh.grow(count)
	rows, err = tx.QueryContext(ctx, trace("SELECT "+indexRunColumns+" FROM runs ORDER BY id"))
	if err != nil {
		return 0, classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r db.Run
		var params, metrics, tags string
		var created int64
		var started, finished, heartbeat, deleted sql.NullInt64
		var outdated int
		var failure string
		if err := rows.Scan(&r.ID, &r.Project, &r.Status, &r.Name, &r.Host, &params, &metrics, &tags, &r.Notes, &created, &started,
			&finished, &heartbeat, &deleted, &r.Review.State, &r.Review.By, &outdated, &failure); err != nil {
			return 0, classify(err)
		}
		r.CreatedAt, r.Review.Outdated = fromMS(created), outdated == 1
		if failure != "" {
			r.Failure = &db.Failure{Reason: failure}
		}
		r.StartedAt, r.FinishedAt, r.HeartbeatAt, r.DeletedAt = fromOptMS(started), fromOptMS(finished), fromOptMS(heartbeat), fromOptMS(deleted)
		if err := json.Unmarshal([]byte(metrics), &r.Metrics); err != nil {
			return 0, fmt.Errorf("run %s: metrics: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
			return 0, fmt.Errorf("run %s: tags: %w", r.ID, err)
		}
		if err := fresh.putJSON(&r, []byte(params), series[r.ID]); err != nil {
			return 0, fmt.Errorf("run %s: %w", r.ID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, classify(err)
	}
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	s.index.swap(fresh)
	s.index.changes, s.index.loaded = n, true
	for _, p := range s.index.pending {
		if p.n > s.index.changes {
			p.apply(&s.index)
			s.index.changes = p.n
		}
	}
	s.index.pending = nil
	return len(fresh.ids), nil
}

// indexRead runs fn on the index under its read lock, once the index is
// loaded and reflects every run write committed to the file. A count in
// run_changes ahead of the index while the writer is not between a commit
// and its apply (committing) is another process's write: the index is
// read again.
func (s *Store) indexRead(ctx context.Context, fn func(ix *runIndex) error) error {
	var n int64
	if err := s.readRow(ctx, []any{&n}, "SELECT n FROM run_changes WHERE id = 1"); err != nil {
		return err
	}
	for {
		s.index.mu.RLock()
		loaded, behind := s.index.loaded, n > s.index.changes
		s.index.mu.RUnlock()
		if loaded && !behind {
			break
		}
		if loaded && s.committing.Load() > 0 {
			// Our own writer has committed and is applying: wait for it.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Microsecond):
			}
			continue
		}
		if loaded {
			s.index.mu.RLock()
			behind = n > s.index.changes
			s.index.mu.RUnlock()
			if !behind {
				break
			}
			if s.index.everLoaded.Load() {
				s.log.Info("runs were written by another process: reading the query index again")
			}
		}
		if err := s.awaitLoad(ctx, n); err != nil {
			return err
		}
	}
	s.index.mu.RLock()
	defer s.index.mu.RUnlock()
	return fn(&s.index)
}

// loadCall is one load of the index in the background.
type loadCall struct {
	n    int64 // the run_changes count that made it start
	done chan struct{}
	err  error
}

// startLoad starts a load unless one is running; it returns the load.
func (s *Store) startLoad(n int64) *loadCall {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.load != nil {
		return s.load
	}
	c := &loadCall{n: n, done: make(chan struct{})}
	s.load = c
	s.loading.Add(1)
	go func() {
		defer s.loading.Done()
		start := time.Now()
		var runs int
		runs, c.err = s.loadIndex(s.loadCtx)
		if c.err == nil {
			s.index.everLoaded.Store(true)
			s.log.Debug("query index loaded", "runs", runs, "took", time.Since(start).Round(time.Millisecond))
		} else if s.loadCtx.Err() == nil {
			s.log.Warn("query index: load failed; the next query tries again", "err", c.err)
		}
		s.loadMu.Lock()
		s.load = nil
		s.loadMu.Unlock()
		close(c.done)
	}()
	return c
}

// awaitLoad starts (or joins) a load of the index and waits for it
// within ctx. A load keeps going when its waiter gives up, so a slow load
// under a busy machine still ends.
func (s *Store) awaitLoad(ctx context.Context, n int64) error {
	c := s.startLoad(n)
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
