package mlflow

// MLflow's search filter: clauses joined by AND, each
// `<entity>.<key> <comparator> <value>`. Every clause is checked here, in
// Go, on each run of a page, with MLflow's meaning (params and tags are
// text, metrics numbers); the clauses that labreview's query language can
// say are also sent to the store as a query, so that the page is read by
// its indexes (pushdown). A page may then hold fewer runs than asked for,
// with a next_page_token: MLflow's clients page on until the token ends.

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"labreview/runs"
)

type entity int

const (
	entityMetric entity = iota
	entityParam
	entityTag
	entityAttribute
)

// clause is one condition of a filter.
type clause struct {
	kind   entity
	key    string
	op     string // = != < <= > >= LIKE ILIKE IN NOT IN, IS NULL, IS NOT NULL
	str    string
	num    float64
	isNum  bool
	list   []string
	text   string // the clause as written, for messages
	regexp *regexp.Regexp
}

// maxFilterLength bounds a filter (MLflow has no limit; labreview's own
// queries stop at 2,000 bytes).
const maxFilterLength = 8000

var entities = map[string]entity{
	"metric": entityMetric, "metrics": entityMetric, "m": entityMetric,
	"param": entityParam, "params": entityParam, "parameter": entityParam, "parameters": entityParam, "p": entityParam,
	"tag": entityTag, "tags": entityTag, "t": entityTag,
	"attribute": entityAttribute, "attributes": entityAttribute, "attr": entityAttribute, "run": entityAttribute,
}

// numericAttributes are compared as numbers; the others as text.
var numericAttributes = map[string]bool{"start_time": true, "end_time": true, "created": true, "Created": true}

var textAttributes = map[string]bool{"run_id": true, "run_name": true, "status": true, "user_id": true,
	"artifact_uri": true, "lifecycle_stage": true, "name": true}

type lexer struct {
	s   string
	pos int
}

func (l *lexer) skip() {
	for l.pos < len(l.s) && unicode.IsSpace(rune(l.s[l.pos])) {
		l.pos++
	}
}

func (l *lexer) done() bool { l.skip(); return l.pos >= len(l.s) }

// word reads letters, digits and _ (a keyword or entity name).
func (l *lexer) word() string {
	l.skip()
	start := l.pos
	for l.pos < len(l.s) && (isWordByte(l.s[l.pos])) {
		l.pos++
	}
	return l.s[start:l.pos]
}

func isWordByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// quoted reads a quoted text at the position (', " or `), or false.
func (l *lexer) quoted() (string, bool, error) {
	l.skip()
	if l.pos >= len(l.s) {
		return "", false, nil
	}
	q := l.s[l.pos]
	if q != '\'' && q != '"' && q != '`' {
		return "", false, nil
	}
	var b strings.Builder
	for i := l.pos + 1; i < len(l.s); i++ {
		switch {
		case l.s[i] == '\\' && i+1 < len(l.s):
			i++
			b.WriteByte(l.s[i])
		case l.s[i] == q:
			if i+1 < len(l.s) && l.s[i+1] == q { // SQL's doubled quote
				b.WriteByte(q)
				i++
				continue
			}
			l.pos = i + 1
			return b.String(), true, nil
		default:
			b.WriteByte(l.s[i])
		}
	}
	return "", false, invalidParam("Invalid filter: a quote is not closed (at character %d).", l.pos+1)
}

// key reads an identifier's key: quoted, or up to a space or comparator.
func (l *lexer) key() (string, error) {
	if k, ok, err := l.quoted(); ok || err != nil {
		return k, err
	}
	start := l.pos
	for l.pos < len(l.s) && !unicode.IsSpace(rune(l.s[l.pos])) && !strings.ContainsRune("=!<>(),'\"", rune(l.s[l.pos])) {
		l.pos++
	}
	if l.pos == start {
		return "", invalidParam("Invalid filter: expected a name at character %d.", start+1)
	}
	return l.s[start:l.pos], nil
}

func (l *lexer) comparator() (string, error) {
	l.skip()
	for _, op := range []string{"!=", "<=", ">=", "<>", "=", "<", ">"} {
		if strings.HasPrefix(l.s[l.pos:], op) {
			l.pos += len(op)
			if op == "<>" {
				op = "!="
			}
			return op, nil
		}
	}
	w := strings.ToUpper(l.word())
	switch w {
	case "LIKE", "ILIKE", "IN":
		return w, nil
	case "NOT":
		if strings.ToUpper(l.word()) == "IN" {
			return "NOT IN", nil
		}
	case "IS":
		next := strings.ToUpper(l.word())
		if next == "NULL" {
			return "IS NULL", nil
		}
		if next == "NOT" && strings.ToUpper(l.word()) == "NULL" {
			return "IS NOT NULL", nil
		}
	}
	return "", invalidParam("Invalid filter: expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL) at character %d.", l.pos+1)
}

// parseFilter parses an MLflow filter ("" is no condition).
func parseFilter(s string) ([]clause, error) {
	if len(s) > maxFilterLength {
		return nil, invalidParam("The filter is longer than %d bytes.", maxFilterLength)
	}
	l := &lexer{s: s}
	var out []clause
	for !l.done() {
		if len(out) > 0 {
			if w := l.word(); !strings.EqualFold(w, "and") {
				return nil, invalidParam("Invalid filter: clauses are joined by AND (at character %d).", l.pos+1)
			}
		}
		start := l.pos
		l.skip()
		var cl clause
		ent := l.word()
		kind, ok := entities[strings.ToLower(ent)]
		if !ok || l.pos >= len(l.s) || l.s[l.pos] != '.' {
			// A bare attribute name (run_name, status, start_time…).
			if textAttributes[ent] || numericAttributes[ent] {
				kind, cl.key = entityAttribute, ent
			} else {
				return nil, invalidParam("Invalid filter: %q is not metrics.<key>, params.<key>, tags.<key> or attributes.<name>.", truncate(ent, 60))
			}
		} else {
			l.pos++ // the dot
			k, err := l.key()
			if err != nil {
				return nil, err
			}
			cl.key = k
		}
		cl.kind = kind
		if kind == entityAttribute && !textAttributes[cl.key] && !numericAttributes[cl.key] {
			return nil, invalidParam("Invalid attribute key '%s': one of run_id, run_name, status, user_id, artifact_uri, lifecycle_stage, start_time, end_time.", truncate(cl.key, 60))
		}
		op, err := l.comparator()
		if err != nil {
			return nil, err
		}
		cl.op = op
		switch op {
		case "IS NULL", "IS NOT NULL":
		case "IN", "NOT IN":
			l.skip()
			if l.pos >= len(l.s) || l.s[l.pos] != '(' {
				return nil, invalidParam("Invalid filter: IN takes a list in parentheses.")
			}
			l.pos++
			for {
				v, ok, err := l.quoted()
				if err != nil {
					return nil, err
				}
				if !ok {
					return nil, invalidParam("Invalid filter: IN lists quoted texts.")
				}
				cl.list = append(cl.list, v)
				l.skip()
				if l.pos < len(l.s) && l.s[l.pos] == ',' {
					l.pos++
					continue
				}
				if l.pos < len(l.s) && l.s[l.pos] == ')' {
					l.pos++
					break
				}
				return nil, invalidParam("Invalid filter: expected , or ) in the IN list.")
			}
		default:
			v, ok, err := l.quoted()
			if err != nil {
				return nil, err
			}
			if ok {
				cl.str = v
			} else {
				l.skip()
				st := l.pos
				for l.pos < len(l.s) && !unicode.IsSpace(rune(l.s[l.pos])) && l.s[l.pos] != ')' {
					l.pos++
				}
				cl.str = l.s[st:l.pos]
				n, err := strconv.ParseFloat(cl.str, 64)
				if err != nil {
					return nil, invalidParam("Invalid filter: expected a quoted text or a number, got %q.", truncate(cl.str, 40))
				}
				cl.num, cl.isNum = n, true
			}
		}
		if err := cl.check(); err != nil {
			return nil, err
		}
		cl.text = strings.TrimSpace(s[start:l.pos])
		out = append(out, cl)
	}
	return out, nil
}

// check enforces which comparators fit which entity, as MLflow does.
func (cl *clause) check() error {
	numeric := cl.kind == entityMetric || (cl.kind == entityAttribute && numericAttributes[cl.key])
	switch cl.op {
	case "LIKE", "ILIKE":
		if numeric {
			return invalidParam("LIKE and ILIKE compare texts; %s is a number.", cl.key)
		}
		pat := regexp.QuoteMeta(cl.str)
		pat = strings.NewReplacer("%", ".*", "_", ".").Replace(pat)
		if cl.op == "ILIKE" {
			pat = "(?is)" + pat
		} else {
			pat = "(?s)" + pat
		}
		cl.regexp = regexp.MustCompile("^" + pat + "$") // QuoteMeta leaves only . and .* to mean anything
	case "IN", "NOT IN":
		if numeric {
			return invalidParam("IN compares texts; %s is a number.", cl.key)
		}
	case "IS NULL", "IS NOT NULL":
	default:
		if numeric {
			if !cl.isNum {
				if n, err := strconv.ParseFloat(cl.str, 64); err == nil {
					cl.num, cl.isNum = n, true
				} else {
					return invalidParam("%s is compared with a number, not %q.", cl.key, truncate(cl.str, 40))
				}
			}
		} else if cl.op != "=" && cl.op != "!=" && cl.isNum {
			// labreview's extension: params compared as numbers.
			if cl.kind != entityParam {
				return invalidParam("%s compares texts with =, !=, LIKE or ILIKE.", cl.key)
			}
		}
	}
	return nil
}

// runView is what a filter sees of a run, in MLflow's terms.
type runView struct {
	metrics map[string]float64
	params  map[string]string
	tags    map[string]string
	attrs   map[string]string
	nums    map[string]float64
}

func matchAll(clauses []clause, v *runView) bool {
	for i := range clauses {
		if !clauses[i].match(v) {
			return false
		}
	}
	return true
}

func (cl *clause) match(v *runView) bool {
	if cl.kind == entityMetric || (cl.kind == entityAttribute && numericAttributes[cl.key]) {
		var x float64
		var ok bool
		if cl.kind == entityMetric {
			x, ok = v.metrics[cl.key]
		} else {
			x, ok = v.nums[cl.key]
		}
		switch cl.op {
		case "IS NULL":
			return !ok
		case "IS NOT NULL":
			return ok
		}
		return ok && compareNum(x, cl.op, cl.num)
	}
	var m map[string]string
	switch cl.kind {
	case entityParam:
		m = v.params
	case entityTag:
		m = v.tags
	default:
		m = v.attrs
	}
	x, ok := m[cl.key]
	switch cl.op {
	case "IS NULL":
		return !ok
	case "IS NOT NULL":
		return ok
	}
	if !ok {
		return false
	}
	switch cl.op {
	case "=":
		return x == cl.str
	case "!=":
		return x != cl.str
	case "LIKE", "ILIKE":
		return cl.regexp.MatchString(x)
	case "IN", "NOT IN":
		in := false
		for _, e := range cl.list {
			if e == x || (cl.key == "status" && strings.EqualFold(e, x)) {
				in = true
			}
		}
		return in == (cl.op == "IN")
	}
	// < <= > >= on a param: numbers (labreview's extension).
	n, err := strconv.ParseFloat(x, 64)
	return err == nil && compareNum(n, cl.op, cl.num)
}

func compareNum(x float64, op string, y float64) bool {
	switch op {
	case "=":
		return x == y
	case "!=":
		return x != y && !math.IsNaN(x)
	case "<":
		return x < y
	case "<=":
		return x <= y
	case ">":
		return x > y
	case ">=":
		return x >= y
	}
	return false
}

var simpleName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// statusToLabreview maps MLflow's run statuses to labreview's.
var statusToLabreview = map[string]string{"RUNNING": "running", "SCHEDULED": "queued", "FINISHED": "succeeded",
	"FAILED": "failed", "KILLED": "cancelled"}

// pushdown is the part of the clauses that labreview's query language
// says with the same or a wider meaning ("" for none): the store then
// reads only runs that may match.
func pushdown(clauses []clause) []string {
	var out []string
	for _, cl := range clauses {
		switch {
		case cl.kind == entityMetric && simpleName.MatchString(cl.key) && cl.isNum && cl.op != "!=" && !math.IsNaN(cl.num) && !math.IsInf(cl.num, 0):
			out = append(out, "metrics."+cl.key+" "+cl.op+" "+strconv.FormatFloat(cl.num, 'g', -1, 64))
		case cl.kind == entityParam && cl.op == "=" && paramPath(cl.key):
			cond := "params." + cl.key + " = " + quote(cl.str)
			if n, ok := runs.ParamValue(cl.str).(string); !ok || n != cl.str {
				cond = "(" + cond + " or params." + cl.key + " = " + runs.ParamText(runs.ParamValue(cl.str)) + ")"
			}
			out = append(out, cond)
		case cl.kind == entityParam && cl.isNum && cl.op != "=" && cl.op != "!=" && paramPath(cl.key):
			out = append(out, "params."+cl.key+" "+cl.op+" "+strconv.FormatFloat(cl.num, 'g', -1, 64))
		case cl.kind == entityAttribute && cl.key == "status" && (cl.op == "=" || cl.op == "IN"):
			vals := cl.list
			if cl.op == "=" {
				vals = []string{cl.str}
			}
			var st []string
			for _, v := range vals {
				if s, ok := statusToLabreview[strings.ToUpper(v)]; ok {
					st = append(st, s)
					if s == "running" {
						st = append(st, "stale")
					}
				}
			}
			if len(st) == 0 {
				st = []string{"queued"} // no status matches: MLflow answers none, filtered below
			}
			out = append(out, "status in ("+strings.Join(st, ", ")+")")
		case (cl.kind == entityAttribute && cl.key == "run_name" || cl.kind == entityTag && cl.key == "mlflow.runName") && cl.op == "=":
			out = append(out, "name = "+quote(cl.str))
		}
	}
	return out
}

// paramPath reports whether a param key can be named in a query:
// dot-separated simple names.
func paramPath(key string) bool {
	for part := range strings.SplitSeq(key, ".") {
		if !simpleName.MatchString(part) {
			return false
		}
	}
	return true
}

// quote writes s as a query-language text.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s) + `"`
}
