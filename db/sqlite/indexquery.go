package sqlite

import (
	"container/heap"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	mathbits "math/bits"
	"slices"
	"sort"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"

	"labreview/db"
	"labreview/db/query"
)

// bits is a set of slots of the index.
type bits []uint64

func newBits(n int) bits        { return make(bits, (n+63)/64) }
func (b bits) set(i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bits) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bits) and(o bits) bits {
	for i := range b {
		b[i] &= o[i]
	}
	return b
}
func (b bits) or(o bits) bits {
	for i := range b {
		b[i] |= o[i]
	}
	return b
}
func (b bits) count() (n int64) {
	for _, w := range b {
		n += int64(mathbits.OnesCount64(w))
	}
	return n
}

// evaluator answers a filter over the index in one of two ways, with the
// same conditions: as a set of slots, where each condition is one pass
// over a compact array (a field of every run, or the column of one key:
// only the runs that have it) and and, or and not combine the sets; or as
// a test of one run, for a page newest first that a loose query fills
// after a few hundred runs. It follows docs/query.md as the SQL of earlier
// versions did: a condition on a field the run does not have is false and
// not makes it true; ~ ignores the case of ASCII letters (as SQLite's
// lower()).
type evaluator struct {
	ix    *runIndex
	f     db.RunFilter
	n     int
	conds map[*query.Cond]condEval
}

// condEval is one condition: test checks one run; set, when not nil,
// computes the whole set faster than a test of every run.
type condEval struct {
	test func(i int32) bool
	set  func() bits
}

func newEvaluator(ix *runIndex, f db.RunFilter) (*evaluator, error) {
	e := &evaluator{ix: ix, f: f, n: len(ix.ids), conds: map[*query.Cond]condEval{}}
	var err error
	query.Walk(f.Query, func(c *query.Cond) {
		if err == nil {
			e.conds[c], err = e.cond(c)
		}
	})
	return e, err
}

// base tests the filter's fields (deleted, project, status, review,
// stale).
func (e *evaluator) base(i int32) bool {
	ix, f := e.ix, e.f
	if (ix.flags[i]&flagDeleted != 0) != f.Deleted || (f.Project != "" && ix.project[i] != f.Project) ||
		(len(f.Projects) > 0 && !slices.Contains(f.Projects, ix.project[i])) || (f.Status != "" && ix.status[i] != f.Status) {
		return false
	}
	switch f.Review {
	case "":
	case db.ReviewOutdated:
		if ix.flags[i]&flagOutdated == 0 {
			return false
		}
	default:
		if ix.review[i] != f.Review {
			return false
		}
	}
	return f.StaleBefore.IsZero() || ix.alive(i) < ms(f.StaleBefore)
}

// test tests one run against the whole filter.
func (e *evaluator) test(i int32) bool {
	return e.base(i) && (e.f.Query == nil || e.testNode(e.f.Query, i))
}

func (e *evaluator) testNode(n query.Node, i int32) bool {
	switch n := n.(type) {
	case *query.And:
		for _, t := range n.Terms {
			if !e.testNode(t, i) {
				return false
			}
		}
		return true
	case *query.Or:
		for _, t := range n.Terms {
			if e.testNode(t, i) {
				return true
			}
		}
		return false
	case *query.Not:
		return !e.testNode(n.X, i)
	case *query.Cond:
		return e.conds[n].test(i)
	}
	return false
}

// filter is the set of slots the whole filter selects.
func (e *evaluator) filter() bits {
	out := e.baseSet()
	switch q := e.f.Query.(type) {
	case nil:
	case *query.And:
		out = e.and(out, q.Terms)
	default:
		out = e.and(out, []query.Node{q})
	}
	return out
}

// baseSet is the set of the runs the filter's fields (deleted, project,
// status, review, stale) select, from the value sets.
func (e *evaluator) baseSet() bits {
	ix, f, n := e.ix, e.f, e.n
	out := dense(n, ix.sets.deleted)
	if !f.Deleted {
		out = all(n).andNot(out)
	}
	if f.Project != "" {
		out.and(anyOf(n, ix.sets.project, []string{f.Project}))
	}
	if len(f.Projects) > 0 {
		out.and(anyOf(n, ix.sets.project, f.Projects))
	}
	if f.Status != "" {
		out.and(anyOf(n, ix.sets.status, []string{f.Status}))
	}
	switch f.Review {
	case "":
	case db.ReviewOutdated:
		out.and(dense(n, ix.sets.outdated))
	default:
		out.and(anyOf(n, ix.sets.review, []string{f.Review}))
	}
	if !f.StaleBefore.IsZero() {
		cut := ms(f.StaleBefore)
		out.keep(func(i int32) bool { return ix.alive(i) < cut })
	}
	return out
}

// and narrows out to the runs for which every term holds (out nil: all
// runs). Terms with a set are read as sets, in the order written, until
// the runs still in are few (a 32nd of all: testing one run costs about
// 20 times what a scan spends on it); the other conditions are then
// tested on those runs alone.
func (e *evaluator) and(out bits, terms []query.Node) bits {
	var tested []*query.Cond
	few := false
	for _, t := range terms {
		if c, ok := t.(*query.Cond); ok && (few || e.conds[c].set == nil) {
			tested = append(tested, c)
			continue
		}
		if b := e.node(t); out == nil {
			out = b
		} else {
			out.and(b)
		}
		few = out.count() <= int64(e.n/32)
	}
	if out == nil {
		out = all(e.n)
	}
	for _, c := range tested {
		out.keep(e.conds[c].test)
	}
	return out
}

func (e *evaluator) node(n query.Node) bits {
	switch n := n.(type) {
	case *query.And:
		return e.and(nil, n.Terms)
	case *query.Or:
		return e.or(n.Terms)
	case *query.Not:
		return all(e.n).andNot(e.node(n.X))
	case *query.Cond:
		c := e.conds[n]
		if c.set != nil {
			return c.set()
		}
		return e.each(c.test)
	}
	return newBits(e.n)
}

// each sets the slots of every run for which test holds.
func (e *evaluator) each(test func(i int32) bool) bits {
	out := newBits(e.n)
	for i := int32(0); int(i) < e.n; i++ {
		if test(i) {
			out.set(i)
		}
	}
	return out
}

// containsFold reports whether s holds lowerNeedle (ASCII lower case),
// ignoring the case of ASCII letters in s, without allocating.
func containsFold(s, lowerNeedle string) bool {
	n := len(lowerNeedle)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lowerNeedle[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// asciiLower folds ASCII letters only, as SQLite's lower() does.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (e *evaluator) cond(q *query.Cond) (condEval, error) {
	ix := e.ix
	text := func(field []string) condEval {
		var tests []func(s string) bool
		for _, v := range q.Values {
			v := v.Text
			switch q.Op {
			case query.OpContains:
				l := asciiLower(v)
				tests = append(tests, func(s string) bool { return containsFold(s, l) })
			case query.OpNe:
				tests = append(tests, func(s string) bool { return s != v })
			default:
				tests = append(tests, func(s string) bool { return s == v })
			}
		}
		return condEval{test: func(i int32) bool {
			for _, t := range tests {
				if t(field[i]) {
					return true
				}
			}
			return false
		}}
	}
	enum := func(eq func(v string) func(i int32) bool) condEval {
		var tests []func(i int32) bool
		for _, v := range q.Values {
			tests = append(tests, eq(v.Text))
		}
		ne := q.Op == query.OpNe
		return condEval{test: func(i int32) bool {
			for _, t := range tests {
				if t(i) {
					return !ne
				}
			}
			return ne
		}}
	}
	// values are the texts of an = or in, whose runs a value set holds.
	var values []string
	if q.Op == query.OpEq || q.Op == query.OpIn {
		for _, v := range q.Values {
			values = append(values, v.Text)
		}
	}
	fromSets := func(c condEval, sets map[string]*roaring.Bitmap) condEval {
		if values != nil {
			c.set = func() bits { return anyOf(e.n, sets, values) }
		}
		return c
	}
	switch q.Field.Kind {
	case query.FieldProject:
		return fromSets(text(ix.project), ix.sets.project), nil
	case query.FieldName:
		if q.Op == query.OpContains {
			// Names are folded once, when written: a plain substring
			// search (vectorised) then does.
			var needles []string
			for _, v := range q.Values {
				needles = append(needles, asciiLower(v.Text))
			}
			c := condEval{test: func(i int32) bool {
				for _, n := range needles {
					if strings.Contains(ix.nameLower[i], n) {
						return true
					}
				}
				return false
			}}
			if !slices.ContainsFunc(needles, func(n string) bool { return len(n) < 3 }) {
				c.set = func() bits { return e.containsName(needles) }
			}
			return c, nil
		}
		return text(ix.name), nil
	case query.FieldHost:
		return text(ix.host), nil
	case query.FieldReviewer:
		return text(ix.reviewBy), nil
	case query.FieldNotes:
		// Few runs have notes: a condition that only a run with notes
		// can meet tests those alone.
		if q.Op == query.OpExists {
			return condEval{test: func(i int32) bool { return ix.notes[i] != "" }, set: func() bits { return dense(e.n, ix.sets.noted) }}, nil
		}
		c := text(ix.notes)
		if q.Op != query.OpNe && !slices.ContainsFunc(q.Values, func(v query.Value) bool { return v.Text == "" }) {
			c.set = func() bits { return dense(e.n, ix.sets.noted).keep(c.test) }
		}
		return c, nil
	case query.FieldFailure:
		// A run without a failure has no failure.reason: every comparison,
		// != too, is false for it, as for any missing field.
		if q.Op == query.OpExists {
			return condEval{test: func(i int32) bool { return ix.failure[i] != "" }}, nil
		}
		t := text(ix.failure)
		return condEval{test: func(i int32) bool { return ix.failure[i] != "" && t.test(i) }}, nil
	case query.FieldStatus:
		cut := ms(e.f.QueryStaleBefore)
		if slices.Contains(values, "stale") || slices.Contains(values, db.StatusRunning) {
			values = nil // the stale cut is no set
		}
		return fromSets(enum(func(v string) func(i int32) bool {
			switch v {
			case "stale":
				return func(i int32) bool { return ix.status[i] == db.StatusRunning && ix.alive(i) < cut }
			case db.StatusRunning:
				return func(i int32) bool { return ix.status[i] == db.StatusRunning && !(ix.alive(i) < cut) }
			}
			return func(i int32) bool { return ix.status[i] == v }
		}), ix.sets.status), nil
	case query.FieldReview:
		if slices.Contains(values, db.ReviewOutdated) {
			values = nil // a flag, not a state
		}
		return fromSets(enum(func(v string) func(i int32) bool {
			if v == db.ReviewOutdated {
				return func(i int32) bool { return ix.flags[i]&flagOutdated != 0 }
			}
			return func(i int32) bool { return ix.review[i] == v }
		}), ix.sets.review), nil
	case query.FieldTag:
		return fromSets(condEval{test: e.tag(q)}, ix.sets.tag), nil
	case query.FieldCreated, query.FieldStarted, query.FieldFinished:
		times := map[query.FieldKind][]int64{query.FieldCreated: ix.created, query.FieldStarted: ix.started, query.FieldFinished: ix.finished}[q.Field.Kind]
		if q.Op == query.OpExists {
			return condEval{test: func(i int32) bool { return times[i] != noTime }}, nil
		}
		at, op := float64(ms(q.Values[0].Time)), q.Op
		return condEval{test: func(i int32) bool { return times[i] != noTime && cmpNum(op, float64(times[i]), at) }}, nil
	case query.FieldDuration:
		now, op := ms(e.f.QueryNow), q.Op
		if op == query.OpIn {
			op = query.OpEq
		}
		return condEval{test: func(i int32) bool {
			if ix.started[i] == noTime {
				return false
			}
			end := ix.finished[i]
			if end == noTime {
				end = now
			}
			for _, v := range q.Values {
				if cmpNum(op, float64(end-ix.started[i]), v.Num*1000) {
					return true
				}
			}
			return false
		}}, nil
	}
	if key, ok := valueKey(q.Field); ok {
		return e.value(q, key), nil
	}
	return condEval{}, fmt.Errorf("query: field %s has no index form", q.Field)
}

// valueKey is the column key of a param, metric or series summary field.
func valueKey(f query.Field) (string, bool) {
	switch f.Kind {
	case query.FieldParam:
		return db.KeyParam + f.Name, true
	case query.FieldMetric:
		return db.KeyMetric + f.Name, true
	case query.FieldSeriesMin, query.FieldSeriesMax, query.FieldSeriesLast, query.FieldSeriesCount:
		fn := map[query.FieldKind]string{query.FieldSeriesMin: "min", query.FieldSeriesMax: "max", query.FieldSeriesLast: "last", query.FieldSeriesCount: "count"}[f.Kind]
		return db.SeriesKey(fn, f.Name), true
	}
	return "", false
}

// numberEquality reports whether c is = or in with numbers (not NaN) on a
// param, metric or series summary.
func numberEquality(c *query.Cond) bool {
	_, isValue := valueKey(c.Field)
	return isValue && (c.Op == query.OpEq || c.Op == query.OpIn) &&
		!slices.ContainsFunc(c.Values, func(v query.Value) bool { return v.Kind != query.ValueNumber || math.IsNaN(v.Num) })
}

// or is the set of the runs for which any term holds. Equalities with
// numbers on the same value (params.seed = 1 or params.seed = 2) are read
// in one scan, as the in they mean.
func (e *evaluator) or(terms []query.Node) bits {
	out := newBits(e.n)
	merged := map[query.Field]*query.Cond{}
	var order []query.Field
	for _, t := range terms {
		if c, ok := t.(*query.Cond); !ok || !numberEquality(c) {
			out.or(e.node(t))
			continue
		}
		c := t.(*query.Cond)
		m := merged[c.Field]
		if m == nil {
			m = &query.Cond{Field: c.Field, Op: query.OpIn}
			merged[c.Field] = m
			order = append(order, c.Field)
		}
		m.Values = append(m.Values, c.Values...)
	}
	for _, f := range order {
		key, _ := valueKey(f)
		out.or(e.value(merged[f], key).set())
	}
	return out
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

func (e *evaluator) tag(q *query.Cond) func(i int32) bool {
	tags := e.ix.tags
	switch q.Op {
	case query.OpExists:
		return func(i int32) bool { return len(tags[i]) > 0 }
	case query.OpContains:
		l := asciiLower(q.Values[0].Text)
		return func(i int32) bool {
			return slices.ContainsFunc(tags[i], func(t string) bool { return containsFold(t, l) })
		}
	case query.OpNe:
		v := q.Values[0].Text
		return func(i int32) bool { return len(tags[i]) > 0 && !slices.Contains(tags[i], v) }
	}
	return func(i int32) bool {
		for _, v := range q.Values {
			if slices.Contains(tags[i], v.Text) {
				return true
			}
		}
		return false
	}
}

// value compares a param, metric or series summary: a run holds when it
// has a value under key that one of the comparisons holds for. The set of
// such runs is read from the key's column alone.
func (e *evaluator) value(q *query.Cond, key string) condEval {
	col, ok := e.ix.colOf[key]
	if !ok {
		return condEval{test: func(int32) bool { return false }, set: func() bits { return newBits(e.n) }}
	}
	c := e.ix.cols[col]
	var tests []func(kind uint8, num float64, txt string) bool
	if q.Op == query.OpExists {
		tests = append(tests, func(uint8, float64, string) bool { return true })
	}
	for _, v := range q.Values {
		if t := valueTest(q.Op, v); t != nil {
			tests = append(tests, t)
		}
	}
	holds := func(j int) bool {
		for _, t := range tests {
			if t(c.kind[j], c.num[j], c.text(j)) {
				return true
			}
		}
		return false
	}
	return condEval{
		test: func(i int32) bool {
			for _, ref := range e.ix.refs[i] {
				if ref.col == col && holds(int(ref.pos)) {
					return true
				}
			}
			return false
		},
		set: func() bits {
			out := newBits(e.n)
			if c.scanNumbers(q, out) {
				return out
			}
			for j, slot := range c.slot {
				if holds(j) {
					out.set(slot)
				}
			}
			return out
		},
	}
}

// scanNumbers adds to out the runs whose number in c one comparison with
// numbers (not NaN) holds for, in one tight loop over the column, and
// reports whether q was such a comparison. It is the common case (a
// range, a threshold, a list of seeds), and about five times faster than
// the general test of each value.
func (c *column) scanNumbers(q *query.Cond, out bits) bool {
	var vs []float64
	for _, v := range q.Values {
		if v.Kind != query.ValueNumber || math.IsNaN(v.Num) {
			return false
		}
		vs = append(vs, v.Num)
	}
	if len(vs) == 0 {
		return false
	}
	num, kind, slot := c.num, c.kind[:len(c.num)], c.slot[:len(c.num)]
	if len(vs) > 1 {
		if q.Op != query.OpIn && q.Op != query.OpEq {
			return false
		}
		for j, x := range num {
			if kind[j] == db.ValueNumber && slices.Contains(vs, x) {
				out.set(slot[j])
			}
		}
		return true
	}
	// Every comparison is one closed interval [lo, hi]; NaN is in none.
	v, lo, hi := vs[0], math.Inf(-1), math.Inf(1)
	switch q.Op {
	case query.OpGt:
		if math.IsInf(v, 1) {
			return true // nothing is above +Inf
		}
		lo = math.Nextafter(v, hi)
	case query.OpGe:
		lo = v
	case query.OpLt:
		if math.IsInf(v, -1) {
			return true
		}
		hi = math.Nextafter(v, lo)
	case query.OpLe:
		hi = v
	case query.OpEq, query.OpIn:
		lo, hi = v, v
	default:
		return false
	}
	for j, x := range num {
		// Without a branch on the value: a threshold in the middle of
		// the values would mispredict every other run.
		var in uint64
		if x >= lo {
			in = 1
		}
		var below uint64
		if x <= hi {
			below = 1
		}
		var isNum uint64
		if kind[j] == db.ValueNumber {
			isNum = 1
		}
		s := slot[j]
		out[s>>6] |= (in & below & isNum) << (uint(s) & 63)
	}
	return true
}

// valueTest is one comparison of a stored value (nil: it holds for no
// value). Negations hold for a value of another kind.
func valueTest(op query.Op, v query.Value) func(kind uint8, num float64, txt string) bool {
	if op == query.OpIn {
		op = query.OpEq
	}
	switch v.Kind {
	case query.ValueText:
		s := v.Text
		switch op {
		case query.OpContains:
			l := asciiLower(s)
			return func(kind uint8, _ float64, txt string) bool { return kind == db.ValueText && containsFold(txt, l) }
		case query.OpNe:
			return func(kind uint8, _ float64, txt string) bool { return !(kind == db.ValueText && txt == s) }
		}
		return func(kind uint8, _ float64, txt string) bool { return kind == db.ValueText && cmpText(op, txt, s) }
	case query.ValueBool:
		n := 0.0
		if v.Bool {
			n = 1
		}
		if op == query.OpNe {
			return func(kind uint8, num float64, _ string) bool { return !(kind == db.ValueBool && num == n) }
		}
		return func(kind uint8, num float64, _ string) bool { return kind == db.ValueBool && num == n }
	case query.ValueNumber:
		n := v.Num
		if math.IsNaN(n) {
			switch op {
			case query.OpEq:
				return func(kind uint8, num float64, _ string) bool { return kind == db.ValueNumber && math.IsNaN(num) }
			case query.OpNe:
				return func(kind uint8, num float64, _ string) bool { return !(kind == db.ValueNumber && math.IsNaN(num)) }
			}
			return nil
		}
		if op == query.OpNe {
			return func(kind uint8, num float64, _ string) bool { return !(kind == db.ValueNumber && num == n) }
		}
		return func(kind uint8, num float64, _ string) bool { return kind == db.ValueNumber && cmpNum(op, num, n) }
	}
	return nil
}

// sorted is a candidate of a sorted page.
type sorted struct {
	id  string
	num float64
	txt string
}

// before reports whether x comes before y in the page's order.
func (x sorted) before(y sorted, desc bool) bool {
	c := 0
	switch {
	case x.num < y.num || (x.num == y.num && x.txt < y.txt):
		c = -1
	case x.num > y.num || x.txt > y.txt:
		c = 1
	case x.id < y.id:
		c = -1
	case x.id > y.id:
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

// sortValues calls fn with the sortable value under a sort key of every
// run (only: of the runs in only): a finite number, or the name for
// KeyName. A key's column is read whole, in order; a few runs are looked
// up one by one.
func (ix *runIndex) sortValues(key string, only bits, fn func(slot int32, num float64, txt string)) {
	col := int32(-1)
	switch key {
	case db.KeyName, db.KeyCreated, db.KeyStarted, db.KeyDuration:
	default:
		var ok bool
		if col, ok = ix.colOf[key]; !ok {
			return
		}
		if only == nil {
			c := ix.cols[col]
			for j, slot := range c.slot {
				if x := c.num[j]; sortable(c.kind[j], x) {
					fn(slot, x, "")
				}
			}
			return
		}
	}
	visit := func(i int32) {
		if num, txt, ok := ix.sortValue(key, col, i); ok {
			fn(i, num, txt)
		}
	}
	if only != nil {
		only.each(visit)
		return
	}
	for i := range int32(len(ix.ids)) {
		visit(i)
	}
}

// sortValue is one run's value under a sort key (col: the key's column,
// for a value key); ok is false when it has none.
func (ix *runIndex) sortValue(key string, col, i int32) (num float64, txt string, ok bool) {
	switch key {
	case db.KeyName:
		return 0, ix.name[i], true
	case db.KeyCreated:
		return float64(ix.created[i]), "", true
	case db.KeyStarted:
		return float64(ix.started[i]), "", ix.started[i] != noTime
	case db.KeyDuration:
		return float64(ix.finished[i] - ix.started[i]), "", ix.started[i] != noTime && ix.finished[i] != noTime
	}
	for _, ref := range ix.refs[i] {
		if ref.col == col {
			c := ix.cols[col]
			x := c.num[ref.pos]
			return x, "", sortable(c.kind[ref.pos], x)
		}
	}
	return 0, "", false
}

// sortable reports whether a value sorts: a finite number.
func sortable(kind uint8, x float64) bool {
	return kind == db.ValueNumber && !math.IsNaN(x) && !math.IsInf(x, 0)
}

// lazyRuns is how many runs a page newest first tests one by one before
// it computes the whole set of the filter instead.
const lazyRuns = 2048

// page picks the ids of a page of runs from the index: newest first, or
// by the sort key (the runs with a value, then the others newest first).
func (ix *runIndex) page(e *evaluator, limit int) ([]string, bool) {
	f := e.f
	want := limit + 1
	var out []string
	var sel bits
	newest := func(beforeID string, skip bits) {
		end := len(ix.order)
		if beforeID != "" {
			end = sort.Search(len(ix.order), func(i int) bool { return ix.ids[ix.order[i]] >= beforeID })
		}
		i := end - 1
		if sel == nil {
			// Test run by run while that is cheaper than the whole set: a
			// loose query fills its page within the first few hundred.
			for stop := max(0, end-lazyRuns); i >= stop && len(out) < want; i-- {
				if slot := ix.order[i]; e.test(slot) {
					out = append(out, ix.ids[slot])
				}
			}
			if i < 0 || len(out) >= want {
				return
			}
			sel = e.filter()
		}
		for ; i >= 0 && len(out) < want; i-- {
			if slot := ix.order[i]; sel.has(slot) && (skip == nil || !skip.has(slot)) {
				out = append(out, ix.ids[slot])
			}
		}
	}
	if f.SortKey == "" {
		newest(f.Before, nil)
	} else {
		sel = e.filter()
		pushed := newBits(len(ix.ids))
		h := &worstFirst{desc: f.SortDesc}
		var cur *sorted
		if f.After != nil {
			cur = &sorted{id: f.After.ID, num: f.After.Num, txt: f.After.Txt}
			if f.SortKey == db.KeyName {
				cur.num = 0
			}
		}
		inValued := f.After == nil || f.After.HasValue
		var only bits // few runs: look their values up rather than read the column
		if sel.count() <= int64(len(ix.ids)/32) {
			only = sel
		}
		ix.sortValues(f.SortKey, only, func(slot int32, num float64, txt string) {
			// Cheapest test first: once the page is full, most runs'
			// values are worse than its last, whatever the ids.
			if !inValued || h.Len() == want && (f.SortDesc && num < h.items[0].num || !f.SortDesc && num > h.items[0].num) ||
				!sel.has(slot) || pushed.has(slot) {
				return
			}
			c := sorted{ix.ids[slot], num, txt}
			if cur != nil && !cur.before(c, f.SortDesc) {
				return
			}
			if h.Len() == want && !c.before(h.items[0], f.SortDesc) {
				return
			}
			heap.Push(h, c)
			pushed.set(slot)
			if h.Len() > want {
				heap.Pop(h)
			}
		})
		items := make([]sorted, h.Len())
		for i := len(items) - 1; i >= 0; i-- {
			items[i] = heap.Pop(h).(sorted)
		}
		for _, c := range items {
			out = append(out, c.id)
		}
		before := ""
		if f.After != nil && !f.After.HasValue {
			before = f.After.ID
		}
		if len(out) < want {
			// The page goes on with the runs without a value: leave out
			// every run with one, in the page or before the cursor.
			valued := newBits(len(ix.ids))
			ix.sortValues(f.SortKey, only, func(slot int32, _ float64, _ string) { valued.set(slot) })
			newest(before, valued)
		}
	}
	if len(out) > limit {
		return out[:limit], true
	}
	return out, false
}

// evaluate runs fn with an evaluator of the filter over the index, under
// the index's read lock, within one of the slots of heavy work when heavy.
func (s *Store) evaluate(ctx context.Context, f db.RunFilter, heavy bool, fn func(ix *runIndex, e *evaluator)) error {
	if heavy {
		release, err := s.heavyTurn(ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	return s.indexRead(ctx, func(ix *runIndex) error {
		e, err := newEvaluator(ix, f)
		if err != nil {
			return err
		}
		fn(ix, e)
		return nil
	})
}

// runsByIDSQL reads runs by id (a JSON array): one lookup in runs' unique
// index on id each.
const runsByIDSQL = "SELECT " + runColumns + " FROM runs WHERE id IN (SELECT value FROM json_each(?))"

// ListRuns picks a page from the query index, then reads its runs by id.
// A page without a query or a sort (the chips alone: value sets, then a
// walk of the newest runs) costs tens of microseconds at 100,000 runs and
// takes no slot of heavy work, so plain lists never queue behind
// expensive queries. The runs table keeps no index for lists: each of
// the seven it had was written by every create (migration 0014).
func (s *Store) ListRuns(ctx context.Context, f db.RunFilter, limit int) ([]db.Run, bool, error) {
	var ids []string
	var more bool
	heavy := f.Query != nil || f.SortKey != ""
	err := s.evaluate(ctx, f, heavy, func(ix *runIndex, e *evaluator) { ids, more = ix.page(e, limit) })
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
	var n int64
	if err := s.evaluate(ctx, f, true, func(_ *runIndex, e *evaluator) { n = e.filter().count() }); err != nil {
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
