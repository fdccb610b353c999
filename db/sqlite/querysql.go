package sqlite

import (
	"fmt"
	"math"
	"strings"

	"labreview/db"
	"labreview/db/query"
)

// compileQuery turns a parsed query into a SQL condition on the runs
// table (alias r) with its arguments. Field names come from the typed
// tree's fixed list and every value is bound as a parameter, so nothing
// of the query text becomes SQL. Every condition is 0 or 1, never NULL:
// a condition on a missing field is false and not makes it true
// (two-valued logic, as the hosted adapter answers).
func compileQuery(n query.Node, f db.RunFilter) (string, []any, error) {
	// With a project, status or verdict filter the runs it selects are
	// few: each is checked with a correlated lookup in run_values (its
	// primary key). Without one, a value condition selects the runs: its
	// index range is read once.
	c := &sqlCompiler{f: f, correlated: f.Project != "" || len(f.Projects) > 0 || f.Status != "" || f.Review != ""}
	s, err := c.node(n)
	return s, c.args, err
}

type sqlCompiler struct {
	f    db.RunFilter
	args []any
	// pending counts the arguments of value predicates made before the
	// key argument they follow in the statement (see value).
	pending    int
	correlated bool
}

// holds is the condition that the run has a run_values row under a key
// (the first ?) matching pred.
func (c *sqlCompiler) holds(pred string) string {
	if c.correlated {
		return "EXISTS (SELECT 1 FROM run_values WHERE run_id = r.id AND key = ? AND " + pred + ")"
	}
	return "r.id IN (SELECT run_id FROM run_values WHERE key = ? AND " + pred + ")"
}

func (c *sqlCompiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

func (c *sqlCompiler) node(n query.Node) (string, error) {
	switch n := n.(type) {
	case *query.And:
		return c.terms(n.Terms, " AND ")
	case *query.Or:
		return c.terms(n.Terms, " OR ")
	case *query.Not:
		x, err := c.node(n.X)
		if err != nil {
			return "", err
		}
		return "NOT " + x, nil
	case *query.Cond:
		s, err := c.cond(n)
		if err != nil {
			return "", err
		}
		// Only the started and finished times can be NULL; every other
		// condition is 0 or 1 already, and left bare the planner may
		// drive the query from a run_values index.
		if n.Field.Kind == query.FieldStarted || n.Field.Kind == query.FieldFinished {
			return "coalesce((" + s + "), 0)", nil
		}
		return "(" + s + ")", nil
	}
	return "", fmt.Errorf("query: unknown node %T", n)
}

func (c *sqlCompiler) terms(terms []query.Node, sep string) (string, error) {
	parts := make([]string, len(terms))
	for i, t := range terms {
		s, err := c.node(t)
		if err != nil {
			return "", err
		}
		parts[i] = s
	}
	return "(" + strings.Join(parts, sep) + ")", nil
}

// anyOf joins one condition per value of an in, or the single one.
func (c *sqlCompiler) anyOf(cond *query.Cond, one func(v query.Value) (string, error)) (string, error) {
	parts := make([]string, 0, len(cond.Values))
	for _, v := range cond.Values {
		s, err := one(v)
		if err != nil {
			return "", err
		}
		parts = append(parts, "("+s+")")
	}
	return strings.Join(parts, " OR "), nil
}

func sqlOp(op query.Op) string {
	if op == query.OpNe {
		return "!="
	}
	return string(op)
}

func (c *sqlCompiler) cond(q *query.Cond) (string, error) {
	switch q.Field.Kind {
	case query.FieldProject:
		return c.text(q, "r.project")
	case query.FieldName:
		return c.text(q, "r.name")
	case query.FieldHost:
		return c.text(q, "r.host")
	case query.FieldReviewer:
		return c.text(q, "r.review_by")
	case query.FieldNotes:
		if q.Op == query.OpExists {
			return "r.notes != ''", nil
		}
		return c.text(q, "r.notes")
	case query.FieldFailure:
		// '' is no failure: a run without one has no failure.reason, so
		// != is false for it, as for any missing field.
		if q.Op == query.OpExists {
			return "r.failure_reason != ''", nil
		}
		if q.Op == query.OpNe {
			s, err := c.text(q, "r.failure_reason")
			return "r.failure_reason != '' AND (" + s + ")", err
		}
		return c.text(q, "r.failure_reason")
	case query.FieldStatus:
		return c.enum(q, c.status)
	case query.FieldReview:
		return c.enum(q, func(v string) string {
			if v == db.ReviewOutdated {
				return "r.review_outdated = 1"
			}
			return "r.review_state = " + c.arg(v)
		})
	case query.FieldTag:
		return c.tag(q)
	case query.FieldCreated, query.FieldStarted, query.FieldFinished:
		col := map[query.FieldKind]string{query.FieldCreated: "r.created_at", query.FieldStarted: "r.started_at", query.FieldFinished: "r.finished_at"}[q.Field.Kind]
		if q.Op == query.OpExists {
			return col + " IS NOT NULL", nil
		}
		return col + " " + sqlOp(q.Op) + " " + c.arg(ms(q.Values[0].Time)), nil
	case query.FieldDuration:
		return c.duration(q)
	case query.FieldParam:
		return c.value(q, db.KeyParam+q.Field.Name)
	case query.FieldMetric:
		return c.value(q, db.KeyMetric+q.Field.Name)
	case query.FieldSeriesMin, query.FieldSeriesMax, query.FieldSeriesLast, query.FieldSeriesCount:
		fn := map[query.FieldKind]string{query.FieldSeriesMin: "min", query.FieldSeriesMax: "max", query.FieldSeriesLast: "last", query.FieldSeriesCount: "count"}[q.Field.Kind]
		return c.value(q, db.SeriesKey(fn, q.Field.Name))
	}
	return "", fmt.Errorf("query: field %s has no SQL form", q.Field)
}

// text compares a text column: ~ ignores case (ASCII letters: SQLite's
// lower()).
func (c *sqlCompiler) text(q *query.Cond, col string) (string, error) {
	return c.anyOf(q, func(v query.Value) (string, error) {
		switch q.Op {
		case query.OpContains:
			return "instr(lower(" + col + "), lower(" + c.arg(v.Text) + ")) > 0", nil
		case query.OpNe:
			return col + " != " + c.arg(v.Text), nil
		}
		return col + " = " + c.arg(v.Text), nil
	})
}

// enum compares status or review: != v is not (= v), in an or of =.
func (c *sqlCompiler) enum(q *query.Cond, eq func(v string) string) (string, error) {
	s, err := c.anyOf(q, func(v query.Value) (string, error) { return eq(v.Text), nil })
	if q.Op == query.OpNe {
		return "NOT (" + s + ")", err
	}
	return s, err
}

// status is the shown status: a running run without a sign of life since
// the cut-off is stale, not running.
func (c *sqlCompiler) status(v string) string {
	quiet := func() string {
		return "coalesce(r.heartbeat_at, r.started_at, r.created_at) < " + c.arg(ms(c.f.QueryStaleBefore))
	}
	switch v {
	case "stale":
		return "r.status = 'running' AND " + quiet()
	case db.StatusRunning:
		return "r.status = 'running' AND NOT (" + quiet() + ")"
	}
	return "r.status = " + c.arg(v)
}

func (c *sqlCompiler) tag(q *query.Cond) (string, error) {
	has := func(pred string, args ...any) string {
		c.args = append(c.args, db.KeyTag)
		c.args = append(c.args, args...)
		return c.holds(pred)
	}
	switch q.Op {
	case query.OpExists:
		return "r.tags != '[]'", nil
	case query.OpContains:
		return has("instr(lower(txt), lower(?)) > 0", q.Values[0].Text), nil
	case query.OpNe:
		return "r.tags != '[]' AND NOT " + has("txt = ?", q.Values[0].Text), nil
	}
	return c.anyOf(q, func(v query.Value) (string, error) { return has("txt = ?", v.Text), nil })
}

// duration compares finish − start (now − start while unfinished), in
// seconds; runs that never started have none.
func (c *sqlCompiler) duration(q *query.Cond) (string, error) {
	s, err := c.anyOf(q, func(v query.Value) (string, error) {
		op := sqlOp(q.Op)
		if q.Op == query.OpIn {
			op = "="
		}
		return "(coalesce(r.finished_at, " + c.arg(ms(c.f.QueryNow)) + ") - r.started_at) " + op + " " + c.arg(v.Num*1000), nil
	})
	return "r.started_at IS NOT NULL AND (" + s + ")", err
}

// value compares a param, metric or series summary through run_values:
// the run holds a value under key that matches.
func (c *sqlCompiler) value(q *query.Cond, key string) (string, error) {
	var preds []string
	for _, v := range q.Values {
		p, ok := c.valuePred(q.Op, v)
		if ok {
			preds = append(preds, "("+p+")")
		}
	}
	switch {
	case q.Op == query.OpExists:
		preds = []string{"1"}
	case len(preds) == 0:
		return "0", nil // no value can match (say, < NaN)
	}
	args := append([]any{key}, c.args[len(c.args)-c.pending:]...)
	c.args = c.args[:len(c.args)-c.pending]
	c.pending = 0
	c.args = append(c.args, args...)
	return c.holds("(" + strings.Join(preds, " OR ") + ")"), nil
}

// valuePred is the run_values condition of one comparison (ok false: it
// can hold for no value). Negations compare with IS, which is never NULL
// (num is NULL for NaN, txt for numbers).
func (c *sqlCompiler) valuePred(op query.Op, v query.Value) (string, bool) {
	a := func(x any) string { c.pending++; return c.arg(x) }
	switch v.Kind {
	case query.ValueText:
		switch op {
		case query.OpContains:
			return "kind = 2 AND instr(lower(txt), lower(" + a(v.Text) + ")) > 0", true
		case query.OpNe:
			return "NOT (kind = 2 AND txt IS " + a(v.Text) + ")", true
		case query.OpIn:
			op = query.OpEq
		}
		return "kind = 2 AND txt " + sqlOp(op) + " " + a(v.Text), true
	case query.ValueBool:
		n := 0.0
		if v.Bool {
			n = 1
		}
		if op == query.OpNe {
			return "NOT (kind = 3 AND num IS " + a(n) + ")", true
		}
		return "kind = 3 AND num = " + a(n), true
	case query.ValueNumber:
		if math.IsNaN(v.Num) {
			switch op {
			case query.OpEq, query.OpIn:
				return "kind = 1 AND txt = 'NaN'", true
			case query.OpNe:
				return "NOT (kind = 1 AND txt IS 'NaN')", true
			}
			return "", false // nothing is smaller or larger than NaN
		}
		switch op {
		case query.OpNe:
			return "NOT (kind = 1 AND num IS " + a(v.Num) + ")", true
		case query.OpIn:
			op = query.OpEq
		}
		return "kind = 1 AND num " + sqlOp(op) + " " + a(v.Num), true
	}
	return "", false
}
