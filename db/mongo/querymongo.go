package mongo

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"labreview/db"
	"labreview/db/query"
)

// compileQuery turns a parsed query into a MongoDB filter. Field paths come
// from the typed tree's fixed list (param paths and names were checked:
// no dots in names, no $), values are typed BSON values, and text for ~
// is escaped into a literal pattern, so nothing of the query becomes an
// operator. A condition on a missing field is false and not ($nor) makes
// it true, as the embedded adapter answers.
func compileQuery(n query.Node, f db.RunFilter) (bson.D, error) {
	c := &mongoCompiler{f: f}
	return c.node(n)
}

type mongoCompiler struct{ f db.RunFilter }

// never matches no document.
var never = bson.D{{Key: "_id", Value: bson.D{{Key: "$exists", Value: false}}}}

func (c *mongoCompiler) node(n query.Node) (bson.D, error) {
	switch n := n.(type) {
	case *query.And:
		return c.terms("$and", n.Terms)
	case *query.Or:
		return c.terms("$or", n.Terms)
	case *query.Not:
		x, err := c.node(n.X)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: "$nor", Value: bson.A{x}}}, nil
	case *query.Cond:
		return c.cond(n)
	}
	return nil, fmt.Errorf("query: unknown node %T", n)
}

func (c *mongoCompiler) terms(op string, terms []query.Node) (bson.D, error) {
	a := bson.A{}
	for _, t := range terms {
		d, err := c.node(t)
		if err != nil {
			return nil, err
		}
		a = append(a, d)
	}
	return bson.D{{Key: op, Value: a}}, nil
}

func anyOf(ds []bson.D) bson.D {
	if len(ds) == 1 {
		return ds[0]
	}
	a := bson.A{}
	for _, d := range ds {
		a = append(a, d)
	}
	return bson.D{{Key: "$or", Value: a}}
}

func not(d bson.D) bson.D { return bson.D{{Key: "$nor", Value: bson.A{d}}} }

// contains matches text inside a string, ignoring case.
func contains(text string) bson.D {
	return bson.D{{Key: "$regex", Value: regexp.QuoteMeta(text)}, {Key: "$options", Value: "i"}}
}

func (c *mongoCompiler) cond(q *query.Cond) (bson.D, error) {
	switch q.Field.Kind {
	case query.FieldProject:
		return c.text(q, "project"), nil
	case query.FieldName:
		return c.text(q, "name"), nil
	case query.FieldHost:
		return c.text(q, "host"), nil
	case query.FieldReviewer:
		return c.text(q, "review.by"), nil
	case query.FieldNotes:
		if q.Op == query.OpExists {
			return bson.D{{Key: "notes", Value: bson.D{{Key: "$nin", Value: bson.A{"", nil}}}}}, nil
		}
		return c.text(q, "notes"), nil
	case query.FieldFailure:
		if q.Op == query.OpExists {
			return bson.D{{Key: "failure.reason", Value: bson.D{{Key: "$type", Value: "string"}}}}, nil
		}
		return c.text(q, "failure.reason"), nil
	case query.FieldStatus:
		return c.enum(q, c.status), nil
	case query.FieldReview:
		return c.enum(q, func(v string) bson.D {
			if v == db.ReviewOutdated {
				return bson.D{{Key: "review.outdated", Value: true}}
			}
			return bson.D{{Key: "review.state", Value: v}}
		}), nil
	case query.FieldTag:
		return c.tag(q), nil
	case query.FieldCreated, query.FieldStarted, query.FieldFinished:
		path := map[query.FieldKind]string{query.FieldCreated: "created_at", query.FieldStarted: "started_at", query.FieldFinished: "finished_at"}[q.Field.Kind]
		if q.Op == query.OpExists {
			return bson.D{{Key: path, Value: bson.D{{Key: "$type", Value: "date"}}}}, nil
		}
		return bson.D{{Key: path, Value: bson.D{{Key: mongoOp(q.Op), Value: q.Values[0].Time}}}}, nil
	case query.FieldDuration:
		return c.duration(q), nil
	case query.FieldParam:
		return c.param(q), nil
	case query.FieldMetric:
		return c.number(q, "metrics."+fieldName(q.Field.Name)), nil
	case query.FieldSeriesMin, query.FieldSeriesMax, query.FieldSeriesLast, query.FieldSeriesCount:
		fn := map[query.FieldKind]string{query.FieldSeriesMin: "min", query.FieldSeriesMax: "max", query.FieldSeriesLast: "last", query.FieldSeriesCount: "count"}[q.Field.Kind]
		return c.number(q, "summaries."+fieldName(q.Field.Name)+"."+fn), nil
	}
	return nil, fmt.Errorf("query: field %s has no MongoDB form", q.Field)
}

func mongoOp(op query.Op) string {
	return map[query.Op]string{query.OpEq: "$eq", query.OpNe: "$ne", query.OpLt: "$lt", query.OpLe: "$lte",
		query.OpGt: "$gt", query.OpGe: "$gte", query.OpIn: "$eq"}[op]
}

func (c *mongoCompiler) text(q *query.Cond, path string) bson.D {
	var ds []bson.D
	for _, v := range q.Values {
		switch q.Op {
		case query.OpContains:
			ds = append(ds, bson.D{{Key: path, Value: contains(v.Text)}})
		case query.OpNe:
			ds = append(ds, bson.D{{Key: path, Value: bson.D{{Key: "$type", Value: "string"}, {Key: "$ne", Value: v.Text}}}})
		default:
			ds = append(ds, bson.D{{Key: path, Value: v.Text}})
		}
	}
	return anyOf(ds)
}

func (c *mongoCompiler) enum(q *query.Cond, eq func(v string) bson.D) bson.D {
	var ds []bson.D
	for _, v := range q.Values {
		ds = append(ds, eq(v.Text))
	}
	if q.Op == query.OpNe {
		return not(anyOf(ds))
	}
	return anyOf(ds)
}

// status is the shown status: a running run without a sign of life since
// the cut-off is stale, not running.
func (c *mongoCompiler) status(v string) bson.D {
	switch v {
	case "stale":
		return bson.D{{Key: "status", Value: db.StatusRunning}, {Key: "alive_at", Value: bson.D{{Key: "$lt", Value: c.f.QueryStaleBefore}}}}
	case db.StatusRunning:
		return bson.D{{Key: "status", Value: db.StatusRunning}, {Key: "alive_at", Value: bson.D{{Key: "$gte", Value: c.f.QueryStaleBefore}}}}
	}
	return bson.D{{Key: "status", Value: v}}
}

func (c *mongoCompiler) tag(q *query.Cond) bson.D {
	hasTags := bson.D{{Key: "tags.0", Value: bson.D{{Key: "$exists", Value: true}}}}
	switch q.Op {
	case query.OpExists:
		return hasTags
	case query.OpContains:
		return bson.D{{Key: "tags", Value: bson.D{{Key: "$elemMatch", Value: contains(q.Values[0].Text)}}}}
	case query.OpNe:
		return bson.D{{Key: "$and", Value: bson.A{hasTags, not(bson.D{{Key: "tags", Value: q.Values[0].Text}})}}}
	}
	var ds []bson.D
	for _, v := range q.Values {
		ds = append(ds, bson.D{{Key: "tags", Value: v.Text}})
	}
	return anyOf(ds)
}

// duration compares the stored duration of finished runs, and the start
// time of unfinished ones (now − start op X ⇔ start op' now − X).
func (c *mongoCompiler) duration(q *query.Cond) bson.D {
	flip := map[query.Op]string{query.OpLt: "$gt", query.OpLe: "$gte", query.OpGt: "$lt", query.OpGe: "$lte", query.OpEq: "$eq", query.OpIn: "$eq", query.OpNe: "$eq"}
	var ds []bson.D
	for _, v := range q.Values {
		ms := int64(math.Round(v.Num * 1000))
		op := mongoOp(q.Op)
		if q.Op == query.OpNe {
			op = "$eq"
		}
		finished := bson.D{{Key: "duration_ms", Value: bson.D{{Key: op, Value: ms}}}}
		since := c.f.QueryNow.Add(-time.Duration(ms) * time.Millisecond)
		running := bson.D{{Key: "finished_at", Value: nil}, {Key: "started_at", Value: bson.D{{Key: "$type", Value: "date"}, {Key: flip[q.Op], Value: since}}}}
		ds = append(ds, bson.D{{Key: "$or", Value: bson.A{finished, running}}})
	}
	d := anyOf(ds)
	if q.Op == query.OpNe {
		return bson.D{{Key: "$and", Value: bson.A{bson.D{{Key: "started_at", Value: bson.D{{Key: "$type", Value: "date"}}}}, not(d)}}}
	}
	return d
}

// scalarAt guards a params path: MongoDB walks into arrays (a.b matches
// inside [{b: 1}], and a = 1 matches [1, 2]), where params compare only
// plain values; so no prefix of the path, nor the value, may be an array.
func scalarAt(path string) bson.D {
	parts := strings.Split(path, ".")
	d := bson.D{}
	for i := range parts {
		d = append(d, bson.E{Key: "params." + strings.Join(parts[:i+1], "."), Value: bson.D{{Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}}})
	}
	return d
}

func (c *mongoCompiler) param(q *query.Cond) bson.D {
	path := "params." + q.Field.Name
	guard := scalarAt(q.Field.Name)
	with := func(d bson.D) bson.D { return bson.D{{Key: "$and", Value: bson.A{guard, d}}} }
	if q.Op == query.OpExists {
		// Present at a path that does not run through an array.
		prefix := scalarAt(q.Field.Name)
		prefix = prefix[:len(prefix)-1]
		return bson.D{{Key: "$and", Value: bson.A{prefix, bson.D{{Key: path, Value: bson.D{{Key: "$exists", Value: true}}}}}}}
	}
	var ds []bson.D
	for _, v := range q.Values {
		var val any
		switch v.Kind {
		case query.ValueText:
			val = v.Text
		case query.ValueBool:
			val = v.Bool
		default:
			val = v.Num
		}
		switch {
		case q.Op == query.OpContains:
			ds = append(ds, with(bson.D{{Key: path, Value: contains(v.Text)}}))
		case q.Op == query.OpNe:
			// Present (through no array) and not equal.
			prefix := scalarAt(q.Field.Name)
			prefix = prefix[:len(prefix)-1]
			ds = append(ds, bson.D{{Key: "$and", Value: bson.A{prefix, bson.D{{Key: path, Value: bson.D{{Key: "$exists", Value: true}}}},
				not(with(bson.D{{Key: path, Value: val}}))}}})
		case v.Kind == query.ValueNumber && q.Op != query.OpEq && q.Op != query.OpIn:
			ds = append(ds, with(bson.D{{Key: path, Value: bson.D{{Key: mongoOp(q.Op), Value: val}, {Key: "$type", Value: "number"}}}}))
		case v.Kind == query.ValueText && q.Op != query.OpEq && q.Op != query.OpIn:
			ds = append(ds, with(bson.D{{Key: path, Value: bson.D{{Key: mongoOp(q.Op), Value: val}, {Key: "$type", Value: "string"}}}}))
		default:
			ds = append(ds, with(bson.D{{Key: path, Value: val}}))
		}
	}
	return anyOf(ds)
}

// number compares a metric or series summary: finite values are doubles,
// NaN and ±Inf the strings "NaN", "Infinity" and "-Infinity" (metricsDoc).
func (c *mongoCompiler) number(q *query.Cond, path string) bson.D {
	if q.Op == query.OpExists {
		return bson.D{{Key: path, Value: bson.D{{Key: "$exists", Value: true}}}}
	}
	var ds []bson.D
	for _, v := range q.Values {
		if d := numberCond(path, q.Op, v.Num); d != nil {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return never
	}
	return anyOf(ds)
}

func numberCond(path string, op query.Op, x float64) bson.D {
	at := func(v any) bson.D { return bson.D{{Key: path, Value: v}} }
	cmp := func(mop string, v float64) bson.D {
		return bson.D{{Key: path, Value: bson.D{{Key: mop, Value: v}, {Key: "$type", Value: "number"}}}}
	}
	finite := bson.D{{Key: path, Value: bson.D{{Key: "$type", Value: "number"}}}}
	posInf, negInf, nan := at("Infinity"), at("-Infinity"), at("NaN")
	or := func(ds ...bson.D) bson.D { return anyOf(ds) }
	if op == query.OpIn {
		op = query.OpEq
	}
	switch {
	case math.IsNaN(x):
		switch op {
		case query.OpEq:
			return nan
		case query.OpNe:
			return or(finite, posInf, negInf)
		}
		return nil
	case math.IsInf(x, 1):
		switch op {
		case query.OpEq, query.OpGe:
			return posInf
		case query.OpNe:
			return or(finite, negInf, nan)
		case query.OpLt:
			return or(finite, negInf)
		case query.OpLe:
			return or(finite, negInf, posInf)
		}
		return nil // > +Inf
	case math.IsInf(x, -1):
		switch op {
		case query.OpEq, query.OpLe:
			return negInf
		case query.OpNe:
			return or(finite, posInf, nan)
		case query.OpGt:
			return or(finite, posInf)
		case query.OpGe:
			return or(finite, posInf, negInf)
		}
		return nil // < -Inf
	}
	switch op {
	case query.OpEq:
		return cmp("$eq", x)
	case query.OpNe:
		return or(cmp("$ne", x), posInf, negInf, nan)
	case query.OpLt, query.OpLe:
		return or(cmp(mongoOp(op), x), negInf)
	}
	return or(cmp(mongoOp(op), x), posInf)
}
