package sqlite

import (
	"container/heap"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"labreview/db"
	"labreview/db/query"
)

// pred is a compiled condition on a run of the index.
type pred func(r *irun) bool

// compileIndex turns the filter (its fields and its query) into one
// condition on index entries. It follows docs/query.md as the SQL of
// earlier versions did: a condition on a field the run does not have is
// false and not makes it true; ~ ignores the case of ASCII letters (as
// SQLite's lower()).
func compileIndex(f db.RunFilter) (pred, error) {
	var terms []pred
	terms = append(terms, func(r *irun) bool { return r.deleted == f.Deleted })
	if f.Project != "" {
		p := f.Project
		terms = append(terms, func(r *irun) bool { return r.project == p })
	}
	if len(f.Projects) > 0 {
		ps := f.Projects
		terms = append(terms, func(r *irun) bool { return slices.Contains(ps, r.project) })
	}
	if f.Status != "" {
		st := f.Status
		terms = append(terms, func(r *irun) bool { return r.status == st })
	}
	switch f.Review {
	case "":
	case db.ReviewOutdated:
		terms = append(terms, func(r *irun) bool { return r.outdated })
	default:
		rv := f.Review
		terms = append(terms, func(r *irun) bool { return r.review == rv })
	}
	if !f.StaleBefore.IsZero() {
		cut := ms(f.StaleBefore)
		terms = append(terms, func(r *irun) bool { return r.alive() < cut })
	}
	if f.Query != nil {
		c := &indexCompiler{f: f}
		q, err := c.node(f.Query)
		if err != nil {
			return nil, err
		}
		terms = append(terms, q)
	}
	return all(terms), nil
}

func all(terms []pred) pred {
	if len(terms) == 1 {
		return terms[0]
	}
	return func(r *irun) bool {
		for _, t := range terms {
			if !t(r) {
				return false
			}
		}
		return true
	}
}

func anyOf(terms []pred) pred {
	if len(terms) == 1 {
		return terms[0]
	}
	return func(r *irun) bool {
		for _, t := range terms {
			if t(r) {
				return true
			}
		}
		return false
	}
}

func never(*irun) bool { return false }

type indexCompiler struct{ f db.RunFilter }

func (c *indexCompiler) node(n query.Node) (pred, error) {
	switch n := n.(type) {
	case *query.And, *query.Or:
		var list []query.Node
		if a, ok := n.(*query.And); ok {
			list = a.Terms
		} else {
			list = n.(*query.Or).Terms
		}
		terms := make([]pred, len(list))
		for i, t := range list {
			p, err := c.node(t)
			if err != nil {
				return nil, err
			}
			terms[i] = p
		}
		if _, ok := n.(*query.And); ok {
			return all(terms), nil
		}
		return anyOf(terms), nil
	case *query.Not:
		x, err := c.node(n.X)
		if err != nil {
			return nil, err
		}
		return func(r *irun) bool { return !x(r) }, nil
	case *query.Cond:
		return c.cond(n)
	}
	return nil, fmt.Errorf("query: unknown node %T", n)
}

// asciiLower folds ASCII letters only, as SQLite's lower() does.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func contains(s, lowerNeedle string) bool { return strings.Contains(asciiLower(s), lowerNeedle) }

func (c *indexCompiler) cond(q *query.Cond) (pred, error) {
	text := func(get func(r *irun) string) pred {
		var terms []pred
		for _, v := range q.Values {
			v := v.Text
			switch q.Op {
			case query.OpContains:
				l := asciiLower(v)
				terms = append(terms, func(r *irun) bool { return contains(get(r), l) })
			case query.OpNe:
				terms = append(terms, func(r *irun) bool { return get(r) != v })
			default:
				terms = append(terms, func(r *irun) bool { return get(r) == v })
			}
		}
		return anyOf(terms)
	}
	enum := func(eq func(v string) pred) pred {
		var terms []pred
		for _, v := range q.Values {
			terms = append(terms, eq(v.Text))
		}
		p := anyOf(terms)
		if q.Op == query.OpNe {
			return func(r *irun) bool { return !p(r) }
		}
		return p
	}
	switch q.Field.Kind {
	case query.FieldProject:
		return text(func(r *irun) string { return r.project }), nil
	case query.FieldName:
		return text(func(r *irun) string { return r.name }), nil
	case query.FieldHost:
		return text(func(r *irun) string { return r.host }), nil
	case query.FieldReviewer:
		return text(func(r *irun) string { return r.reviewBy }), nil
	case query.FieldNotes:
		if q.Op == query.OpExists {
			return func(r *irun) bool { return r.notes != "" }, nil
		}
		return text(func(r *irun) string { return r.notes }), nil
	case query.FieldStatus:
		cut := ms(c.f.QueryStaleBefore)
		return enum(func(v string) pred {
			switch v {
			case "stale":
				return func(r *irun) bool { return r.status == db.StatusRunning && r.alive() < cut }
			case db.StatusRunning:
				return func(r *irun) bool { return r.status == db.StatusRunning && !(r.alive() < cut) }
			}
			return func(r *irun) bool { return r.status == v }
		}), nil
	case query.FieldReview:
		return enum(func(v string) pred {
			if v == db.ReviewOutdated {
				return func(r *irun) bool { return r.outdated }
			}
			return func(r *irun) bool { return r.review == v }
		}), nil
	case query.FieldTag:
		return c.tag(q), nil
	case query.FieldCreated, query.FieldStarted, query.FieldFinished:
		get := map[query.FieldKind]func(r *irun) int64{
			query.FieldCreated:  func(r *irun) int64 { return r.created },
			query.FieldStarted:  func(r *irun) int64 { return r.started },
			query.FieldFinished: func(r *irun) int64 { return r.finished },
		}[q.Field.Kind]
		if q.Op == query.OpExists {
			return func(r *irun) bool { return get(r) != noTime }, nil
		}
		at := float64(ms(q.Values[0].Time))
		op := q.Op
		return func(r *irun) bool { t := get(r); return t != noTime && cmpNum(op, float64(t), at) }, nil
	case query.FieldDuration:
		now := ms(c.f.QueryNow)
		op := q.Op
		if op == query.OpIn {
			op = query.OpEq
		}
		var terms []pred
		for _, v := range q.Values {
			x := v.Num * 1000
			terms = append(terms, func(r *irun) bool {
				end := r.finished
				if end == noTime {
					end = now
				}
				return cmpNum(op, float64(end-r.started), x)
			})
		}
		p := anyOf(terms)
		return func(r *irun) bool { return r.started != noTime && p(r) }, nil
	case query.FieldParam:
		return c.value(q, db.KeyParam+q.Field.Name), nil
	case query.FieldMetric:
		return c.value(q, db.KeyMetric+q.Field.Name), nil
	case query.FieldSeriesMin, query.FieldSeriesMax, query.FieldSeriesLast, query.FieldSeriesCount:
		fn := map[query.FieldKind]string{query.FieldSeriesMin: "min", query.FieldSeriesMax: "max", query.FieldSeriesLast: "last", query.FieldSeriesCount: "count"}[q.Field.Kind]
		return c.value(q, db.SeriesKey(fn, q.Field.Name)), nil
	}
	return nil, fmt.Errorf("query: field %s has no index form", q.Field)
}

// cmpNum compares as SQL does: any comparison with NaN (NULL) is false.
func cmpNum(op query.Op, a, b float64) bool {
	switch op {
	case query.OpEq, query.OpIn:
		return a == b
	case query.OpNe:
		return a != b && !math.IsNaN(a) && !math.IsNaN(b)
	case query.OpLt:
		return a < b
	case query.OpLe:
		return a <= b
	case query.OpGt:
		return a > b
	case query.OpGe:
		return a >= b
	}
	return false
}

func cmpText(op query.Op, a, b string) bool {
	switch op {
	case query.OpLt:
		return a < b
	case query.OpLe:
		return a <= b
	case query.OpGt:
		return a > b
	case query.OpGe:
		return a >= b
	case query.OpNe:
		return a != b
	}
	return a == b
}

func (c *indexCompiler) tag(q *query.Cond) pred {
	has := func(match func(t string) bool) pred {
		return func(r *irun) bool { return slices.ContainsFunc(r.tags, match) }
	}
	switch q.Op {
	case query.OpExists:
		return func(r *irun) bool { return len(r.tags) > 0 }
	case query.OpContains:
		l := asciiLower(q.Values[0].Text)
		return has(func(t string) bool { return contains(t, l) })
	case query.OpNe:
		v := q.Values[0].Text
		in := has(func(t string) bool { return t == v })
		return func(r *irun) bool { return len(r.tags) > 0 && !in(r) }
	}
	var terms []pred
	for _, v := range q.Values {
		v := v.Text
		terms = append(terms, has(func(t string) bool { return t == v }))
	}
	return anyOf(terms)
}

// value compares a param, metric or series summary: the run has a value
// under key that one of the comparisons holds for.
func (c *indexCompiler) value(q *query.Cond, key string) pred {
	if q.Op == query.OpExists {
		return func(r *irun) bool { _, ok := r.find(key); return ok }
	}
	var tests []func(v ival) bool
	for _, v := range q.Values {
		if t := valueTest(q.Op, v); t != nil {
			tests = append(tests, t)
		}
	}
	if len(tests) == 0 {
		return never // no value can match (say, < NaN)
	}
	return func(r *irun) bool {
		x, ok := r.find(key)
		if !ok {
			return false
		}
		for _, t := range tests {
			if t(x) {
				return true
			}
		}
		return false
	}
}

// valueTest is one comparison of a stored value (nil: it holds for no
// value). Negations hold for a value of another kind.
func valueTest(op query.Op, v query.Value) func(x ival) bool {
	if op == query.OpIn {
		op = query.OpEq
	}
	switch v.Kind {
	case query.ValueText:
		s := v.Text
		switch op {
		case query.OpContains:
			l := asciiLower(s)
			return func(x ival) bool { return x.kind == db.ValueText && contains(x.txt, l) }
		case query.OpNe:
			return func(x ival) bool { return !(x.kind == db.ValueText && x.txt == s) }
		}
		return func(x ival) bool { return x.kind == db.ValueText && cmpText(op, x.txt, s) }
	case query.ValueBool:
		n := 0.0
		if v.Bool {
			n = 1
		}
		if op == query.OpNe {
			return func(x ival) bool { return !(x.kind == db.ValueBool && x.num == n) }
		}
		return func(x ival) bool { return x.kind == db.ValueBool && x.num == n }
	case query.ValueNumber:
		n := v.Num
		if math.IsNaN(n) {
			switch op {
			case query.OpEq:
				return func(x ival) bool { return x.kind == db.ValueNumber && math.IsNaN(x.num) }
			case query.OpNe:
				return func(x ival) bool { return !(x.kind == db.ValueNumber && math.IsNaN(x.num)) }
			}
			return nil
		}
		if op == query.OpNe {
			return func(x ival) bool { return !(x.kind == db.ValueNumber && x.num == n) }
		}
		return func(x ival) bool { return x.kind == db.ValueNumber && cmpNum(op, x.num, n) }
	}
	return nil
}

// sortValue is a run's sortable value under a sort key: a finite number,
// or the name for KeyName.
func sortValue(r *irun, key string) (num float64, txt string, ok bool) {
	finite := func(v float64) (float64, string, bool) {
		return v, "", !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	switch key {
	case db.KeyName:
		return 0, r.name, true
	case db.KeyCreated:
		return float64(r.created), "", true
	case db.KeyStarted:
		if r.started == noTime {
			return 0, "", false
		}
		return float64(r.started), "", true
	case db.KeyDuration:
		if r.started == noTime || r.finished == noTime {
			return 0, "", false
		}
		return float64(r.finished - r.started), "", true
	}
	if x, ok := r.find(key); ok && x.kind == db.ValueNumber {
		return finite(x.num)
	}
	return 0, "", false
}

// checkEvery is how many runs a scan checks between looks at its
// context (a query's time limit).
const checkEvery = 4096

// sorted is a candidate of a sorted page.
type sorted struct {
	r   *irun
	num float64
	txt string
}

// before reports whether a comes before b in the page's order.
func (x sorted) before(y sorted, desc bool) bool {
	c := 0
	switch {
	case x.num < y.num || (x.num == y.num && x.txt < y.txt):
		c = -1
	case x.num > y.num || x.txt > y.txt:
		c = 1
	case x.r.id < y.r.id:
		c = -1
	case x.r.id > y.r.id:
		c = 1
	}
	if desc {
		return c > 0
	}
	return c < 0
}

// worstFirst is a heap of the best candidates so far, the worst on top.
type worstFirst struct {
	items []sorted
	desc  bool
}

func (h *worstFirst) Len() int           { return len(h.items) }
func (h *worstFirst) Less(i, j int) bool { return h.items[j].before(h.items[i], h.desc) }
func (h *worstFirst) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *worstFirst) Push(x any)         { h.items = append(h.items, x.(sorted)) }
func (h *worstFirst) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// page picks the ids of a page of runs from the index: newest first, or
// by the sort key (the runs with a value, then the others newest first).
func (ix *runIndex) page(ctx context.Context, f db.RunFilter, p pred, limit int) ([]string, bool, error) {
	want := limit + 1
	var out []string
	if f.SortKey == "" {
		end := len(ix.runs)
		if f.Before != "" {
			end = sort.Search(len(ix.runs), func(i int) bool { return ix.runs[i].id >= f.Before })
		}
		for i, n := end-1, 0; i >= 0 && len(out) < want; i, n = i-1, n+1 {
			if n%checkEvery == checkEvery-1 && ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
			if p(ix.runs[i]) {
				out = append(out, ix.runs[i].id)
			}
		}
		if len(out) > limit {
			return out[:limit], true, nil
		}
		return out, false, nil
	}
	if f.After == nil || f.After.HasValue {
		var cur *sorted
		if f.After != nil {
			cur = &sorted{r: &irun{id: f.After.ID}, num: f.After.Num, txt: f.After.Txt}
			if f.SortKey == db.KeyName {
				cur.num = 0
			}
		}
		h := &worstFirst{desc: f.SortDesc}
		for i, r := range ix.runs {
			if i%checkEvery == checkEvery-1 && ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
			num, txt, ok := sortValue(r, f.SortKey)
			if !ok {
				continue
			}
			c := sorted{r, num, txt}
			if cur != nil && !cur.before(c, f.SortDesc) {
				continue
			}
			if h.Len() == want && !c.before(h.items[0], f.SortDesc) {
				continue
			}
			if !p(r) {
				continue
			}
			heap.Push(h, c)
			if h.Len() > want {
				heap.Pop(h)
			}
		}
		items := make([]sorted, h.Len())
		for i := len(items) - 1; i >= 0; i-- {
			items[i] = heap.Pop(h).(sorted)
		}
		for _, c := range items {
			out = append(out, c.r.id)
		}
		if len(out) > limit {
			return out[:limit], true, nil
		}
	}
	end := len(ix.runs)
	if f.After != nil && !f.After.HasValue {
		end = sort.Search(len(ix.runs), func(i int) bool { return ix.runs[i].id >= f.After.ID })
	}
	for i, n := end-1, 0; i >= 0 && len(out) < want; i, n = i-1, n+1 {
		if n%checkEvery == checkEvery-1 && ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		r := ix.runs[i]
		if _, _, ok := sortValue(r, f.SortKey); ok || !p(r) {
			continue
		}
		out = append(out, r.id)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// count counts the runs of the index that the filter selects.
func (ix *runIndex) count(ctx context.Context, p pred) (int64, error) {
	var n int64
	for i, r := range ix.runs {
		if i%checkEvery == checkEvery-1 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if p(r) {
			n++
		}
	}
	return n, nil
}

// runsByIDSQL reads runs by id (a JSON array): one lookup in runs' unique
// index on id each.
const runsByIDSQL = "SELECT " + runColumns + " FROM runs WHERE id IN (SELECT value FROM json_each(?))"

// listIndexed answers a page with a query or a sort from the index, then
// reads its runs.
func (s *Store) listIndexed(ctx context.Context, f db.RunFilter, limit int) ([]db.Run, bool, error) {
	p, err := compileIndex(f)
	if err != nil {
		return nil, false, fmt.Errorf("db: list runs: %w", err)
	}
	release, err := s.heavyTurn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("db: list runs: %w", err)
	}
	var ids []string
	var more bool
	err = s.indexRead(ctx, func(ix *runIndex) error {
		ids, more, err = ix.page(ctx, f, p, limit)
		return err
	})
	release()
	if err != nil {
		return nil, false, fmt.Errorf("db: list runs: %w", classify(err))
	}
	runs, err := s.runsByID(ctx, ids)
	if err != nil {
		return nil, false, fmt.Errorf("db: list runs: %w", err)
	}
	return runs, more, nil
}

// runsByID reads runs in the order of ids (a run no longer there is left
// out).
func (s *Store) runsByID(ctx context.Context, ids []string) ([]db.Run, error) {
	if len(ids) == 0 {
		return []db.Run{}, nil
	}
	list, _ := json.Marshal(ids) // strings always marshal
	got, err := readAll(ctx, s, func(r *sql.Rows) (db.Run, error) { return scanRun(r) }, runsByIDSQL, string(list))
	if err != nil {
		return nil, err
	}
	at := make(map[string]int, len(got))
	for i := range got {
		at[got[i].ID] = i
	}
	out := make([]db.Run, 0, len(ids))
	for _, id := range ids {
		if i, ok := at[id]; ok {
			out = append(out, got[i])
		}
	}
	return out, nil
}

// CountRuns counts the runs the filter selects, exactly, from the index.
func (s *Store) CountRuns(ctx context.Context, f db.RunFilter) (int64, error) {
	p, err := compileIndex(f)
	if err != nil {
		return 0, fmt.Errorf("db: count runs: %w", err)
	}
	release, err := s.heavyTurn(ctx)
	if err != nil {
		return 0, fmt.Errorf("db: count runs: %w", err)
	}
	defer release()
	var n int64
	err = s.indexRead(ctx, func(ix *runIndex) error {
		n, err = ix.count(ctx, p)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("db: count runs: %w", classify(err))
	}
	return n, nil
}

// ListRunKeys lists a project's keys from the index.
func (s *Store) ListRunKeys(ctx context.Context, project, prefix string, limit int) (*db.RunKeys, error) {
	out := &db.RunKeys{Params: []string{}, Metrics: []string{}, Series: []string{}}
	err := s.indexRead(ctx, func(ix *runIndex) error {
		for name := range ix.keys[project] {
			for _, kind := range db.RunKeyKinds {
				if rest, ok := strings.CutPrefix(name, kind); ok && strings.HasPrefix(rest, prefix) {
					*out.Kind(kind) = append(*out.Kind(kind), rest)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("db: list run keys: %w", err)
	}
	for _, kind := range db.RunKeyKinds {
		l := out.Kind(kind)
		sort.Strings(*l)
		if len(*l) > limit {
			*l, out.Truncated = (*l)[:limit], true
		}
	}
	return out, nil
}

// RunKeyKinds says how many live runs of a project (db.AllProjects: of
// all) have a key (a db.Name… kind prefix and name), and of which kinds
// their values are.
func (s *Store) RunKeyKinds(ctx context.Context, project, key string) (db.KeyKinds, error) {
	var out db.KeyKinds
	err := s.indexRead(ctx, func(ix *runIndex) error {
		if st := ix.keys[project][key]; st != nil {
			out = db.KeyKinds{Runs: st.runs, Number: st.number, Text: st.text, Bool: st.boolean}
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("db: run key kinds: %w", err)
	}
	return out, nil
}
