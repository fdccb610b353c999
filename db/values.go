package db

import (
	"math"
	"sort"
)

// Value kinds of QueryValue.
const (
	ValueNone   = 0 // an object, an array or null: present, not comparable
	ValueNumber = 1
	ValueText   = 2
	ValueBool   = 3
)

// QueryValue is one value a query can filter on, for stores that keep
// them in an index table (the embedded store's run_values).
type QueryValue struct {
	Key  string
	Kind int
	Num  *float64 // numbers (nil for NaN), bools as 1 or 0
	Txt  *string  // texts; "NaN" for a NaN number
}

// Key prefixes of QueryValues.
const (
	KeyParam  = "p:"
	KeyMetric = "m:"
	KeyTag    = "t:"
	KeySeries = "x:" // x:min:<series>, x:max:…, x:last:…, x:count:…
	// Sort keys of run columns: name (text), start and duration (numbers,
	// milliseconds; duration only for finished runs).
	KeyName     = "c:name"
	KeyCreated  = "c:created"
	KeyStarted  = "c:started"
	KeyDuration = "c:duration"
)

// SeriesKey is the key of a series summary value: fn is min, max, last or
// count.
func SeriesKey(fn, series string) string { return KeySeries + fn + ":" + series }

func numValue(key string, v float64) QueryValue {
	if math.IsNaN(v) {
		nan := "NaN"
		return QueryValue{Key: key, Kind: ValueNumber, Txt: &nan}
	}
	return QueryValue{Key: key, Kind: ValueNumber, Num: &v}
}

// RunValues lists the params, metrics and tags of a run as query values,
// in a stable order. Param paths join levels with dots: {"a.b": 1} and
// {"a": {"b": 1}} both give p:a.b (see ExpandParams).
func RunValues(r *Run) []QueryValue {
	var out []QueryValue
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			path := prefix + k
			switch v := m[k].(type) {
			case map[string]any:
				out = append(out, QueryValue{Key: KeyParam + path, Kind: ValueNone})
				walk(path+".", v)
			case string:
				s := v
				out = append(out, QueryValue{Key: KeyParam + path, Kind: ValueText, Txt: &s})
			case bool:
				n := 0.0
				if v {
					n = 1
				}
				out = append(out, QueryValue{Key: KeyParam + path, Kind: ValueBool, Num: &n})
			case int64:
				out = append(out, numValue(KeyParam+path, float64(v)))
			case float64:
				out = append(out, numValue(KeyParam+path, v))
			default: // arrays, null
				out = append(out, QueryValue{Key: KeyParam + path, Kind: ValueNone})
			}
		}
	}
	// Dotted names are levels: the values of the expanded params (params
	// that cannot be expanded were refused as input).
	params, err := ExpandParams(r.Params)
	if err != nil {
		params = r.Params
	}
	walk("", params)
	names := make([]string, 0, len(r.Metrics))
	for k := range r.Metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out = append(out, numValue(KeyMetric+k, r.Metrics[k]))
	}
	for _, t := range r.Tags {
		s := t
		out = append(out, QueryValue{Key: KeyTag, Kind: ValueText, Txt: &s})
	}
	name := r.Name
	out = append(out, QueryValue{Key: KeyName, Kind: ValueText, Txt: &name}, numValue(KeyCreated, float64(r.CreatedAt.UnixMilli())))
	if r.StartedAt != nil {
		out = append(out, numValue(KeyStarted, float64(r.StartedAt.UnixMilli())))
		if r.FinishedAt != nil {
			out = append(out, numValue(KeyDuration, float64(r.FinishedAt.UnixMilli()-r.StartedAt.UnixMilli())))
		}
	}
	return out
}

// SeriesValues lists a series summary's query values.
func SeriesValues(s SeriesSummary) []QueryValue {
	if s.Name == ClockSeries {
		return nil
	}
	return []QueryValue{numValue(SeriesKey("min", s.Name), s.Min), numValue(SeriesKey("max", s.Name), s.Max),
		numValue(SeriesKey("last", s.Name), s.Last), numValue(SeriesKey("count", s.Name), float64(s.Count))}
}
