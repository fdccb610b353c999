package query

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokTime     // a date or date-time
	tokRelative // -7d: a time before now
	tokDuration // 90s, 2h: a length of time
	tokOp
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokKind
	text string // as written (strings: the decoded text; a field with quoted parts: those decoded)
	pos  int
	// quoted says that a field name had quoted parts (metrics."val.loss").
	quoted bool
	num    float64
	dur    time.Duration
	time   time.Time
}

var (
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?`)
	numberRE   = regexp.MustCompile(`^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?`)
	durationRE = regexp.MustCompile(`^(\d+(\.\d+)?)(s|m|h|d|w)\b`)
	relativeRE = regexp.MustCompile(`^-(\d+(\.\d+)?)(s|m|h|d|w)\b`)
)

var units = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}

type lexer struct {
	src string
	pos int
}

func (l *lexer) fail(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Column: utf8.RuneCountInString(l.src[:min(pos, len(l.src))]) + 1, Message: fmt.Sprintf(format, args...)}
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool {
	return r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t' || l.src[l.pos] == '\n' || l.src[l.pos] == '\r') {
		l.pos++
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	rest := l.src[start:]
	c := rest[0]
	switch {
	case c == '(':
		l.pos++
		return token{kind: tokLParen, text: "(", pos: start}, nil
	case c == ')':
		l.pos++
		return token{kind: tokRParen, text: ")", pos: start}, nil
	case c == ',':
		l.pos++
		return token{kind: tokComma, text: ",", pos: start}, nil
	case c == '=' || c == '~':
		l.pos++
		return token{kind: tokOp, text: string(c), pos: start}, nil
	case c == '!' || c == '<' || c == '>':
		if len(rest) > 1 && rest[1] == '=' {
			l.pos += 2
			return token{kind: tokOp, text: rest[:2], pos: start}, nil
		}
		if c == '!' {
			return token{}, l.fail(start, `"!" must be followed by "=" (use "not" to negate)`)
		}
		l.pos++
		return token{kind: tokOp, text: string(c), pos: start}, nil
	case c == '"' || c == '\'':
		return l.str(c)
	}
	if m := dateRE.FindString(rest); m != "" {
		t, err := parseTime(m)
		if err != nil {
			return token{}, l.fail(start, "%q is not a date (write 2026-11-29 or 2026-11-29T14:30:00Z)", m)
		}
		l.pos += len(m)
		return token{kind: tokTime, text: m, pos: start, time: t}, nil
	}
	if m := relativeRE.FindStringSubmatch(rest); m != nil {
		n, _ := strconv.ParseFloat(m[1], 64)
		l.pos += len(m[0])
		return token{kind: tokRelative, text: m[0], pos: start, dur: time.Duration(n * float64(units[m[3]]))}, nil
	}
	if m := durationRE.FindStringSubmatch(rest); m != nil {
		n, _ := strconv.ParseFloat(m[1], 64)
		l.pos += len(m[0])
		return token{kind: tokDuration, text: m[0], pos: start, dur: time.Duration(n * float64(units[m[3]]))}, nil
	}
	for _, neg := range []string{"-infinity", "-inf"} {
		if len(rest) >= len(neg) && strings.EqualFold(rest[:len(neg)], neg) {
			if len(rest) == len(neg) || !isIdentPart(rune(rest[len(neg)])) {
				l.pos += len(neg)
				return token{kind: tokNumber, text: rest[:len(neg)], pos: start, num: math.Inf(-1)}, nil
			}
		}
	}
	if m := numberRE.FindString(rest); m != "" {
		f, err := strconv.ParseFloat(m, 64)
		if err != nil {
			return token{}, l.fail(start, "%q is not a number", m)
		}
		l.pos += len(m)
		if l.pos < len(l.src) {
			if r, _ := utf8.DecodeRuneInString(l.src[l.pos:]); isIdentStart(r) {
				return token{}, l.fail(start, "%q is not a number", m+string(r))
			}
		}
		return token{kind: tokNumber, text: m, pos: start, num: f}, nil
	}
	if r, _ := utf8.DecodeRuneInString(rest); isIdentStart(r) {
		return l.ident()
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return token{}, l.fail(start, "unexpected %q", r)
}

// ident reads a word: a keyword, a value, or a field name. A field name
// may go on after a dot with a quoted part, for names that hold other
// characters: metrics."val.loss", params.model."opt lr", last is read as
// a word and its series name as a string.
func (l *lexer) ident() (token, error) {
	start := l.pos
	var b strings.Builder
	quoted := false
	for l.pos < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		switch {
		case isIdentPart(r):
			b.WriteString(l.src[l.pos : l.pos+size])
			l.pos += size
			continue
		case (r == '"' || r == '\'') && l.pos > start && l.src[l.pos-1] == '.':
			t, err := l.str(byte(r))
			if err != nil {
				return token{}, err
			}
			b.WriteString(t.text)
			quoted = true
			continue
		}
		break
	}
	return token{kind: tokIdent, text: b.String(), pos: start, quoted: quoted}, nil
}

func (l *lexer) str(quote byte) (token, error) {
	start := l.pos
	var b strings.Builder
	i := start + 1
	for i < len(l.src) {
		c := l.src[i]
		switch {
		case c == quote:
			l.pos = i + 1
			return token{kind: tokString, text: b.String(), pos: start}, nil
		case c == '\\':
			if i+1 >= len(l.src) {
				return token{}, l.fail(i, "a backslash ends the query")
			}
			switch e := l.src[i+1]; e {
			case '\\', '"', '\'':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				return token{}, l.fail(i, `unknown escape \%c (use \\, \", \', \n or \t)`, e)
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return token{}, l.fail(start, "the text that starts here has no closing %c", quote)
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time")
}

// Parse parses a query. now resolves relative times (created > -7d).
// An empty query is nil (every run).
func Parse(src string, now time.Time) (Node, error) {
	if len(src) > MaxLength {
		return nil, &Error{Pos: MaxLength, Column: utf8.RuneCountInString(src[:MaxLength]) + 1,
			Message: fmt.Sprintf("a query is at most %d bytes", MaxLength)}
	}
	if !utf8.ValidString(src) {
		return nil, &Error{Pos: 0, Column: 1, Message: "the query is not valid UTF-8"}
	}
	p := &parser{lex: lexer{src: src}, now: now}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, nil
	}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.expected(`"and", "or" or the end of the query`)
	}
	return n, nil
}

type parser struct {
	lex   lexer
	tok   token
	now   time.Time
	conds int
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) found() string {
	switch p.tok.kind {
	case tokEOF:
		return "the end of the query"
	case tokString:
		return strconv.Quote(p.tok.text)
	}
	return fmt.Sprintf("%q", p.tok.text)
}

func (p *parser) expected(what string) *Error {
	return p.lex.fail(p.tok.pos, "expected %s, found %s", what, p.found())
}

func (p *parser) keyword(word string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, word)
}

func (p *parser) or(depth int) (Node, error) {
	if depth > MaxDepth {
		return nil, p.lex.fail(p.tok.pos, "parentheses and not nest at most %d deep", MaxDepth)
	}
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	terms := []Node{first}
	for p.keyword("or") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		t, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return &Or{Terms: terms}, nil
}

func (p *parser) and(depth int) (Node, error) {
	first, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	terms := []Node{first}
	for p.keyword("and") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		t, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return &And{Terms: terms}, nil
}

func (p *parser) unary(depth int) (Node, error) {
	switch {
	case p.keyword("not"):
		if depth+1 > MaxDepth {
			return nil, p.lex.fail(p.tok.pos, "parentheses and not nest at most %d deep", MaxDepth)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	case p.tok.kind == tokLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.expected(`")"`)
		}
		return n, p.advance()
	}
	return p.cond()
}

func (p *parser) cond() (Node, error) {
	if p.tok.kind != tokIdent {
		return nil, p.expected("a field (project, status, review, params.…, metrics.…, …)")
	}
	pos := p.tok.pos
	f, err := p.field()
	if err != nil {
		return nil, err
	}
	p.conds++
	if p.conds > MaxConditions {
		return nil, p.lex.fail(pos, "a query has at most %d conditions", MaxConditions)
	}
	c := &Cond{Field: f, Pos: pos}
	switch {
	case p.keyword("exists"):
		c.Op = OpExists
		if err := p.advance(); err != nil {
			return nil, err
		}
	case p.keyword("in"):
		c.Op = OpIn
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokLParen {
			return nil, p.expected(`"(" and a list of values`)
		}
		for {
			if err := p.advance(); err != nil {
				return nil, err
			}
			v, err := p.value(f)
			if err != nil {
				return nil, err
			}
			c.Values = append(c.Values, v)
			if len(c.Values) > MaxInValues {
				return nil, p.lex.fail(p.tok.pos, "a list holds at most %d values", MaxInValues)
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind == tokRParen {
				break
			}
			if p.tok.kind != tokComma {
				return nil, p.expected(`"," or ")"`)
			}
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	case p.tok.kind == tokOp:
		c.Op = Op(p.tok.text)
		if err := p.advance(); err != nil {
			return nil, err
		}
		v, err := p.value(f)
		if err != nil {
			return nil, err
		}
		c.Values = []Value{v}
		if err := p.advance(); err != nil {
			return nil, err
		}
	default:
		return nil, p.expected("an operator (= != < <= > >= ~ in exists)")
	}
	if err := check(c); err != nil {
		return nil, p.lex.fail(pos, "%s", err.Error())
	}
	return c, nil
}

// field reads a field name: a plain field, params.<path>, metrics.<name>,
// or min|max|last|count(<series>).
func (p *parser) field() (Field, error) {
	text, pos := p.tok.text, p.tok.pos
	lower := strings.ToLower(text)
	if k, ok := seriesFuncs[lower]; ok {
		if err := p.advance(); err != nil {
			return Field{}, err
		}
		if p.tok.kind != tokLParen {
			return Field{}, p.expected(fmt.Sprintf(`"(" and a series name after %s`, text))
		}
		if err := p.advance(); err != nil {
			return Field{}, err
		}
		if p.tok.kind != tokIdent && p.tok.kind != tokString {
			return Field{}, p.expected("a series name")
		}
		name, namePos := p.tok.text, p.tok.pos
		if problem := nameProblem(name); problem != "" {
			return Field{}, p.lex.fail(namePos, "%q is not a series name (%s)", name, problem)
		}
		if err := p.advance(); err != nil {
			return Field{}, err
		}
		if p.tok.kind != tokRParen {
			return Field{}, p.expected(`")"`)
		}
		return Field{Kind: k, Name: name}, p.advance()
	}
	quoted := p.tok.quoted
	if err := p.advance(); err != nil {
		return Field{}, err
	}
	if pf, ok := plainFields[lower]; ok && !quoted {
		return Field{Kind: pf.kind}, nil
	}
	for prefix, kind := range map[string]FieldKind{"params.": FieldParam, "metrics.": FieldMetric} {
		if rest, ok := strings.CutPrefix(text, prefix); ok {
			problem := nameProblem(rest)
			if kind == FieldParam && problem == "" {
				problem = paramPathProblem(rest)
			}
			if problem != "" {
				return Field{}, p.lex.fail(pos, "%q is not a %s name (%s)", text, strings.TrimSuffix(prefix, "."), problem)
			}
			return Field{Kind: kind, Name: rest}, nil
		}
	}
	return Field{}, p.lex.fail(pos, "unknown field %q; fields are project, status, review, reviewer, tag, name, notes, host, "+
		"created, started, finished, duration, failure.reason, params.<path>, metrics.<name>, min(…), max(…), last(…), count(…)", text)
}

// nameProblem says why a metric or series name (or a param path) cannot
// be one ("" when it can): the rules of names that jobs send (runs.NameProblem).
func nameProblem(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case strings.HasPrefix(name, "$"):
		return "names do not start with $"
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "names hold no control characters"
		}
	}
	return ""
}

// paramPathProblem checks the levels of a param path.
func paramPathProblem(path string) string {
	for _, level := range strings.Split(path, ".") {
		switch {
		case level == "":
			return "a dot separates levels: it does not start or end a path, and two dots do not follow each other"
		case strings.HasPrefix(level, "$"):
			return "no level starts with $"
		}
	}
	return ""
}

// value reads the current token as a value for f (the token is not
// consumed).
func (p *parser) value(f Field) (Value, error) {
	t := p.tok
	switch t.kind {
	case tokString:
		return Value{Kind: ValueText, Text: t.text}, nil
	case tokNumber:
		return Value{Kind: ValueNumber, Num: t.num}, nil
	case tokTime:
		return Value{Kind: ValueTime, Time: t.time}, nil
	case tokRelative:
		return Value{Kind: ValueTime, Time: p.now.Add(-t.dur).UTC()}, nil
	case tokDuration:
		if f.Kind == FieldDuration {
			return Value{Kind: ValueNumber, Num: t.dur.Seconds()}, nil
		}
		return Value{}, p.lex.fail(t.pos, "%q is a length of time; only duration takes one (created > -7d means 7 days ago)", t.text)
	case tokIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			return Value{Kind: ValueBool, Bool: strings.EqualFold(t.text, "true")}, nil
		case "nan":
			return Value{Kind: ValueNumber, Num: math.NaN()}, nil
		case "infinity", "inf":
			return Value{Kind: ValueNumber, Num: math.Inf(1)}, nil
		case "and", "or", "not", "in", "exists":
			return Value{}, p.expected("a value")
		}
		return Value{Kind: ValueText, Text: t.text}, nil
	}
	return Value{}, p.expected("a value")
}
