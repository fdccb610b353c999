// Package query is labreview's run query language: it parses a query such
// as
//
//	project = "sweep-12" and status in (failed, stale) and metrics.loss < 1e-3
//
// into a typed tree that each storage adapter compiles into its own
// allow-listed filter. Nothing of the query text reaches a database as
// code: field names are checked against a fixed list here, values are
// typed, and adapters bind them as parameters. docs/query.md is the user's
// reference.
package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Limits of a query.
const (
	MaxLength     = 2000 // bytes
	MaxConditions = 50
	MaxDepth      = 20
	MaxInValues   = 100
)

// FieldKind says which field a condition is about.
type FieldKind int

// The fields.
const (
	FieldProject FieldKind = iota + 1
	FieldStatus
	FieldReview
	FieldReviewer
	FieldTag
	FieldName
	FieldNotes
	FieldHost
	FieldCreated
	FieldStarted
	FieldFinished
	FieldDuration
	FieldParam  // params.<path>
	FieldMetric // metrics.<name>
	FieldSeriesMin
	FieldSeriesMax
	FieldSeriesLast
	FieldSeriesCount
	FieldFailure // failure.reason: why a run failed or was cancelled
)

// Type is what kind of values a field holds.
type Type int

// The types.
const (
	TypeText   Type = iota + 1 // project, name, notes, host, tag, reviewer
	TypeEnum                   // status, review
	TypeTime                   // created, started, finished
	TypeNumber                 // duration (seconds), metrics, series summaries
	TypeAny                    // params: text, number or bool
)

var plainFields = map[string]struct {
	kind FieldKind
	typ  Type
}{
	"project": {FieldProject, TypeText}, "status": {FieldStatus, TypeEnum}, "review": {FieldReview, TypeEnum},
	"reviewer": {FieldReviewer, TypeText}, "tag": {FieldTag, TypeText}, "name": {FieldName, TypeText},
	"notes": {FieldNotes, TypeText}, "host": {FieldHost, TypeText}, "created": {FieldCreated, TypeTime},
	"started": {FieldStarted, TypeTime}, "finished": {FieldFinished, TypeTime}, "duration": {FieldDuration, TypeNumber},
	"failure.reason": {FieldFailure, TypeText},
}

var seriesFuncs = map[string]FieldKind{"min": FieldSeriesMin, "max": FieldSeriesMax, "last": FieldSeriesLast, "count": FieldSeriesCount}

// Enums lists the values of the enum fields.
var Enums = map[FieldKind][]string{
	FieldStatus: {"queued", "running", "succeeded", "failed", "cancelled", "stale"},
	FieldReview: {"unreviewed", "approved", "rejected", "needs_rerun", "outdated"},
}

// Field is a condition's field. Name is the param path (dotted), the
// metric name or the series name for those kinds.
type Field struct {
	Kind FieldKind
	Name string
}

// Type is the field's type.
func (f Field) Type() Type {
	switch f.Kind {
	case FieldParam:
		return TypeAny
	case FieldMetric, FieldSeriesMin, FieldSeriesMax, FieldSeriesLast, FieldSeriesCount, FieldDuration:
		return TypeNumber
	}
	for _, pf := range plainFields {
		if pf.kind == f.Kind {
			return pf.typ
		}
	}
	return 0
}

// String writes the field as the language does.
func (f Field) String() string {
	switch f.Kind {
	case FieldParam:
		levels := strings.Split(f.Name, ".")
		for i, l := range levels {
			levels[i] = partOrQuoted(l)
		}
		return "params." + strings.Join(levels, ".")
	case FieldMetric:
		return "metrics." + partOrQuoted(f.Name)
	case FieldSeriesMin, FieldSeriesMax, FieldSeriesLast, FieldSeriesCount:
		for name, k := range seriesFuncs {
			if k == f.Kind {
				return name + "(" + identOrQuoted(f.Name) + ")"
			}
		}
	}
	for name, pf := range plainFields {
		if pf.kind == f.Kind {
			return name
		}
	}
	return "?"
}

// identOrQuoted writes a name bare when the lexer reads it back as one
// identifier, else quoted.
func identOrQuoted(name string) string {
	for i, r := range name {
		if (i == 0 && !isIdentStart(r)) || !isIdentPart(r) {
			return strconv.Quote(name)
		}
	}
	if name == "" {
		return `""`
	}
	return name
}

// partOrQuoted writes a name after "metrics." or a level after
// "params." bare when the lexer reads it back as part of one word, else
// quoted.
func partOrQuoted(name string) string {
	for _, r := range name {
		if !isIdentPart(r) {
			return strconv.Quote(name)
		}
	}
	if name == "" {
		return `""`
	}
	return name
}

// Op is a comparison.
type Op string

// The operators.
const (
	OpEq       Op = "="
	OpNe       Op = "!="
	OpLt       Op = "<"
	OpLe       Op = "<="
	OpGt       Op = ">"
	OpGe       Op = ">="
	OpContains Op = "~" // substring, case-insensitive
	OpIn       Op = "in"
	OpExists   Op = "exists"
)

// ValueKind is a value's type.
type ValueKind int

// The value kinds.
const (
	ValueText ValueKind = iota + 1
	ValueNumber
	ValueTime
	ValueBool
)

// Value is a typed literal.
type Value struct {
	Kind ValueKind
	Text string
	Num  float64 // NaN and ±Inf allowed (the literals NaN, Infinity, -Infinity)
	Time time.Time
	Bool bool
}

// String writes the value as the language does.
func (v Value) String() string {
	switch v.Kind {
	case ValueNumber:
		switch {
		case math.IsNaN(v.Num):
			return "NaN"
		case math.IsInf(v.Num, 1):
			return "Infinity"
		case math.IsInf(v.Num, -1):
			return "-Infinity"
		}
		return strconv.FormatFloat(v.Num, 'g', -1, 64)
	case ValueTime:
		return v.Time.UTC().Format(time.RFC3339)
	case ValueBool:
		return strconv.FormatBool(v.Bool)
	}
	return strconv.Quote(v.Text)
}

// Node is a node of the tree: *And, *Or, *Not or *Cond.
type Node interface {
	String() string
	node()
}

// And holds when all its terms hold.
type And struct{ Terms []Node }

// Or holds when one of its terms holds.
type Or struct{ Terms []Node }

// Not holds when X does not. Conditions on a missing field are false, so
// `not metrics.loss < 1` holds for a run without that metric: both
// adapters answer the same (two-valued logic).
type Not struct{ X Node }

// Cond is one condition. Values holds one value, several for OpIn, none
// for OpExists.
type Cond struct {
	Field  Field
	Op     Op
	Values []Value
	Pos    int // byte offset of the field in the query
}

func (*And) node()  {}
func (*Or) node()   {}
func (*Not) node()  {}
func (*Cond) node() {}

func join(terms []Node, sep string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		s := t.String()
		if _, ok := t.(*Or); ok && sep == " and " {
			s = "(" + s + ")"
		}
		parts[i] = s
	}
	return strings.Join(parts, sep)
}

func (n *And) String() string { return join(n.Terms, " and ") }
func (n *Or) String() string  { return join(n.Terms, " or ") }
func (n *Not) String() string {
	if _, ok := n.X.(*Cond); ok {
		return "not " + n.X.String()
	}
	return "not (" + n.X.String() + ")"
}

func (n *Cond) String() string {
	switch n.Op {
	case OpExists:
		return n.Field.String() + " exists"
	case OpIn:
		vals := make([]string, len(n.Values))
		for i, v := range n.Values {
			vals[i] = v.String()
		}
		return n.Field.String() + " in (" + strings.Join(vals, ", ") + ")"
	}
	return fmt.Sprintf("%s %s %s", n.Field, n.Op, n.Values[0])
}

// Error is a query the language does not accept: Pos is the byte offset
// of the problem, Column the 1-based character column.
type Error struct {
	Pos     int
	Column  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("query: column %d: %s", e.Column, e.Message) }

// Walk calls fn with every condition of the tree, in the order written.
func Walk(n Node, fn func(c *Cond)) {
	switch n := n.(type) {
	case *And:
		for _, t := range n.Terms {
			Walk(t, fn)
		}
	case *Or:
		for _, t := range n.Terms {
			Walk(t, fn)
		}
	case *Not:
		Walk(n.X, fn)
	case *Cond:
		fn(n)
	}
}
