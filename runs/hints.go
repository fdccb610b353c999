package runs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"labreview/db"
	"labreview/db/query"
)

// Warning is a hint about a query that names something no run in view
// has: a param, metric or series name, a project, or a comparison of text
// with a number (or the reverse). The page is answered as usual; the UI
// shows the message, and offers Suggestion (the field or condition as it
// probably was meant, "" when nothing is close) in place of the text at
// Column (1-based character column in q; 0 for the project filter).
type Warning struct {
	Message    string
	Suggestion string
	Column     int
}

// maxHints bounds the warnings of one answer.
const maxHints = 5

// hints finds the warnings of a list: each condition on a param, metric
// or series whose name no live run in view has, each param comparison of
// text with numbers or of a number with texts, and each project asked for
// that does not exist. Names come from the keys the store keeps (one
// index read per project in view), projects from the projects list.
func (s *Service) hints(ctx context.Context, a Actor, q ListQuery, n query.Node) ([]Warning, error) {
	var out []Warning
	add := func(w Warning) {
		if len(out) < maxHints {
			out = append(out, w)
		}
	}
	projects, err := s.Projects(ctx, a)
	if err != nil {
		return nil, err
	}
	projectNames := make([]string, len(projects))
	for i, p := range projects {
		projectNames[i] = p.Name
	}
	known := func(name string) bool {
		for _, p := range projectNames {
			if p == name {
				return true
			}
		}
		return false
	}
	if q.Project != "" && !known(q.Project) {
		w := Warning{Message: fmt.Sprintf("There is no project %q.", q.Project)}
		if c := closest(q.Project, projectNames); c != "" {
			w.Message += fmt.Sprintf(" Did you mean %q?", c)
			w.Suggestion = c
		}
		add(w)
	}
	// The keys of the projects in view.
	view := []string{q.Project}
	switch {
	case q.Project != "":
	case len(a.limitedTo()) > 0:
		view = a.limitedTo()
	default:
		view = []string{db.AllProjects}
	}
	var keys *db.RunKeys
	keysOf := func() (*db.RunKeys, error) {
		if keys != nil {
			return keys, nil
		}
		lists := make([]*db.RunKeys, 0, len(view))
		for _, p := range view {
			k, err := s.db.ListRunKeys(ctx, p, "", db.RunKeysLimit)
			if err != nil {
				return nil, err
			}
			lists = append(lists, k)
		}
		keys = db.MergeRunKeys(db.RunKeysLimit, lists...)
		return keys, nil
	}
	var walkErr error
	query.Walk(n, func(c *query.Cond) {
		if walkErr != nil || len(out) >= maxHints {
			return
		}
		column := utf8.RuneCountInString(q.Q[:min(c.Pos, len(q.Q))]) + 1
		switch c.Field.Kind {
		case query.FieldProject:
			if c.Op != query.OpEq && c.Op != query.OpIn {
				return
			}
			for _, v := range c.Values {
				if !known(v.Text) {
					w := Warning{Message: fmt.Sprintf("There is no project %q.", v.Text), Column: column}
					if cl := closest(v.Text, projectNames); cl != "" {
						w.Message += fmt.Sprintf(" Did you mean %q?", cl)
						w.Suggestion = strings.Replace(c.String(), query.Value{Kind: query.ValueText, Text: v.Text}.String(),
							query.Value{Kind: query.ValueText, Text: cl}.String(), 1)
					}
					add(w)
				}
			}
			return
		case query.FieldParam, query.FieldMetric, query.FieldSeriesMin, query.FieldSeriesMax, query.FieldSeriesLast, query.FieldSeriesCount:
		default:
			return
		}
		k, err := keysOf()
		if err != nil {
			walkErr = err
			return
		}
		names, kindKey := k.Series, db.NameSeries
		switch c.Field.Kind {
		case query.FieldParam:
			names, kindKey = k.Params, db.NameParam
		case query.FieldMetric:
			names, kindKey = k.Metrics, db.NameMetric
		}
		has := false
		for _, name := range names {
			if name == c.Field.Name || (c.Field.Kind == query.FieldParam && strings.HasPrefix(name, c.Field.Name+".")) {
				has = true
				break
			}
		}
		if !has {
			w := Warning{Message: fmt.Sprintf("No run here has %s.", c.Field), Column: column}
			if cl := closest(c.Field.Name, names); cl != "" {
				f := query.Field{Kind: c.Field.Kind, Name: cl}
				w.Message += fmt.Sprintf(" Did you mean %s?", f)
				w.Suggestion = f.String()
			}
			add(w)
			return
		}
		if c.Field.Kind != query.FieldParam || c.Op == query.OpExists || c.Op == query.OpContains {
			return
		}
		kk, ok := s.db.(db.KeyKinder)
		if !ok {
			return // the hosted store keeps no kinds: no hint about them
		}
		var kinds db.KeyKinds
		for _, p := range view {
			x, err := kk.RunKeyKinds(ctx, p, kindKey+c.Field.Name)
			if err != nil {
				walkErr = err
				return
			}
			kinds.Number, kinds.Text, kinds.Bool = kinds.Number+x.Number, kinds.Text+x.Text, kinds.Bool+x.Bool
		}
		for _, v := range c.Values {
			switch {
			case v.Kind == query.ValueText && kinds.Text == 0 && kinds.Number > 0:
				w := Warning{Message: fmt.Sprintf("%s holds numbers, and %s is text: no run matches it.", c.Field, v), Column: column}
				if f, ok := asNumber(v.Text); ok {
					w.Message += fmt.Sprintf(" Write %s without quotes.", f)
					w.Suggestion = strings.Replace(c.String(), v.String(), f, 1)
				}
				add(w)
				return
			case v.Kind == query.ValueNumber && kinds.Number == 0 && kinds.Text > 0:
				w := Warning{Message: fmt.Sprintf("%s holds text, and %s is a number: no run matches it.", c.Field, v), Column: column}
				w.Message += " Put the value in quotes."
				w.Suggestion = strings.Replace(c.String(), v.String(), query.Value{Kind: query.ValueText, Text: v.String()}.String(), 1)
				add(w)
				return
			}
		}
	})
	if walkErr != nil {
		if errors.Is(walkErr, context.DeadlineExceeded) {
			return out, nil
		}
		return nil, walkErr
	}
	return out, nil
}

// asNumber writes text as the query language's number when it is one.
func asNumber(text string) (string, bool) {
	n, err := query.Parse("metrics.x = "+text, timeZero)
	if err != nil {
		return "", false
	}
	c, ok := n.(*query.Cond)
	if !ok || c.Values[0].Kind != query.ValueNumber {
		return "", false
	}
	return c.Values[0].String(), true
}

// closest is the name of names nearest to name (edit distance, ignoring
// case), if it is near enough to be a slip: at most a third of its
// length, and at least one edit.
func closest(name string, names []string) string {
	best, bestD := "", -1
	limit := max(1, utf8.RuneCountInString(name)/3)
	for _, n := range names {
		d := editDistance(strings.ToLower(name), strings.ToLower(n), limit)
		if d <= limit && (bestD < 0 || d < bestD || (d == bestD && n < best)) {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b with adjacent
// transpositions counting one, or more than limit when it exceeds it.
func editDistance(a, b string, limit int) int {
	x, y := []rune(a), []rune(b)
	if d := len(x) - len(y); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}
