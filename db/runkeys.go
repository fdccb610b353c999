package db

import (
	"context"
	"sort"
	"strings"
	"unicode/utf8"
)

// The names runs use, for completion and the column chooser: param paths,
// metric names and series names. Both adapters keep the keys of each
// project with the number of live runs that have each (the embedded store
// in its query index in memory, the hosted one in a collection), moved by
// every run write like the project counters. A
// deleted run's keys are taken away (and given back on restore), and a key
// no live run has any more is removed: the list is of live runs only.

// Key kinds of the keys table: the key is the kind's prefix and the name.
// Params and metrics share the prefixes of QueryValue keys.
const (
	NameParam  = KeyParam  // "p:<path>"
	NameMetric = KeyMetric // "m:<name>"
	NameSeries = "s:"      // "s:<series>"
)

// AllProjects is the keys table's project of the rows that count the runs
// of every project together (project names are never empty), so a list
// over all projects is one index range too.
const AllProjects = ""

// RunKeysLimit is the most names of one kind that ListRunKeys returns.
const RunKeysLimit = 1000

// RunKeys are the names the live runs of a project (or of all) have, each
// kind sorted byte-wise; Truncated says that some kind had more than the
// limit asked for.
type RunKeys struct {
	Params    []string
	Metrics   []string
	Series    []string
	Truncated bool
}

// RunKeyKinds lists the kinds in the order of RunKeys' fields.
var RunKeyKinds = []string{NameParam, NameMetric, NameSeries}

// Kind returns the list of one kind.
func (k *RunKeys) Kind(kind string) *[]string {
	switch kind {
	case NameParam:
		return &k.Params
	case NameMetric:
		return &k.Metrics
	}
	return &k.Series
}

// MergeRunKeys is the union of lists (of several projects), each kind
// sorted and cut to limit.
func MergeRunKeys(limit int, lists ...*RunKeys) *RunKeys {
	out := &RunKeys{Params: []string{}, Metrics: []string{}, Series: []string{}}
	for _, kind := range RunKeyKinds {
		seen := map[string]bool{}
		all := *out.Kind(kind)
		for _, l := range lists {
			out.Truncated = out.Truncated || l.Truncated
			for _, n := range *l.Kind(kind) {
				if !seen[n] {
					seen[n] = true
					all = append(all, n)
				}
			}
		}
		sort.Strings(all)
		if len(all) > limit {
			all, out.Truncated = all[:limit], true
		}
		*out.Kind(kind) = all
	}
	return out
}

// KeyRange is the range [from, to) of keys of a kind that start with
// prefix, for an index range: to is from with its last character one
// higher. Keys are valid UTF-8 (they come from JSON), whose byte order is
// the order of code points, so the range holds exactly those keys, and
// both bounds are valid text for either database.
func KeyRange(kind, prefix string) (from, to string) {
	from = kind + strings.ToValidUTF8(prefix, "\uFFFD")
	rs := []rune(from)
	for i := len(rs) - 1; i >= 0; i-- {
		switch {
		case rs[i] == utf8.MaxRune:
			continue
		case rs[i] == 0xD7FF: // the surrogates are no characters
			rs[i] = 0xE000
		default:
			rs[i]++
		}
		return from, string(rs[:i+1])
	}
	return from, from // unreachable: a kind ends in ':'
}

// runNames lists the keys a run adds to its project's keys: nil for a
// deleted run; else its param paths and metric names (as RunValues lists
// them, without the paths of objects that have a path below them: the
// migration that built the keys from run_values applies the same rule),
// and its series.
func runNames(r *Run, series []string) []string {
	if r == nil || r.DeletedAt != nil {
		return nil
	}
	var out []string
	vals := RunValues(r)
	parent := map[string]bool{}
	for _, v := range vals {
		if !strings.HasPrefix(v.Key, KeyParam) {
			continue
		}
		for i := len(KeyParam); i < len(v.Key); i++ {
			if v.Key[i] == '.' {
				parent[v.Key[:i]] = true
			}
		}
	}
	seen := map[string]bool{}
	for _, v := range vals {
		switch {
		case strings.HasPrefix(v.Key, KeyParam) && v.Kind == ValueNone && parent[v.Key]:
		case strings.HasPrefix(v.Key, KeyParam), strings.HasPrefix(v.Key, KeyMetric):
			if !seen[v.Key] {
				seen[v.Key] = true
				out = append(out, v.Key)
			}
		}
	}
	for _, s := range series {
		if s != ClockSeries {
			out = append(out, NameSeries+s)
		}
	}
	return out
}

// RunNames lists the keys a run adds to its project's keys (see
// runNames): nil for a deleted run.
func RunNames(r *Run, series []string) []string { return runNames(r, series) }

// KeyKinds says how many live runs have a key, and of which kind their
// values are there (a key can hold numbers in some runs and text in
// others).
type KeyKinds struct {
	Runs, Number, Text, Bool int64
}

// KeyKinder is a store that can say which kinds of value a key holds
// (the embedded store, from its query index). Query hints use it to point
// out a comparison of text with a number or the reverse.
type KeyKinder interface {
	RunKeyKinds(ctx context.Context, project, key string) (KeyKinds, error)
}

// NamesDelta is how a run write moves its project's keys: before is nil
// for a new run; series are the run's series names (they do not change in
// a run write, but they come and go with the run when it is deleted or
// restored). Keys that do not move are left out.
func NamesDelta(before, after *Run, series []string) map[string]int64 {
	d := map[string]int64{}
	for _, k := range runNames(before, series) {
		d[k]--
	}
	for _, k := range runNames(after, series) {
		d[k]++
	}
	for k, v := range d {
		if v == 0 {
			delete(d, k)
		}
	}
	return d
}

// NamesNeedSeries reports whether a run write moves the keys of the
// run's series: when it deletes or restores the run.
func NamesNeedSeries(before, after *Run) bool {
	return (before.DeletedAt == nil) != (after.DeletedAt == nil)
}
