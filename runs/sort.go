package runs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"time"

	"labreview/db"
	"labreview/db/query"
)

// Sorts: "" or "-created" is newest first (the default); otherwise a field
// and an optional leading "-" for descending: created, started, duration,
// name, metrics.<name>, params.<path> (numbers), min|max|last|count(<series>).

// sortKey maps a sort to its value key and direction.
func sortKey(sort string) (key string, desc bool, err error) {
	field, desc := strings.CutPrefix(sort, "-")
	switch field {
	case "created":
		return db.KeyCreated, desc, nil
	case "started":
		return db.KeyStarted, desc, nil
	case "duration":
		return db.KeyDuration, desc, nil
	case "name":
		return db.KeyName, desc, nil
	}
	// The other sorts are the query language's numeric fields.
	if f, ok := numericField(field); ok {
		switch f.Kind {
		case query.FieldMetric:
			return db.KeyMetric + f.Name, desc, nil
		case query.FieldParam:
			return db.KeyParam + f.Name, desc, nil
		}
		if fn, name, ok := SeriesSummaryField(field); ok {
			return db.SeriesKey(fn, name), desc, nil
		}
	}
	return "", false, invalid("sort", "Sort by created, started, duration, name, metrics.<name>, params.<path> or min|max|last|count(<series>), with a leading - for descending.")
}

// numericField reads a field of the query language written alone
// (metrics.loss, params."opt lr", last("val/loss")).
func numericField(text string) (query.Field, bool) {
	n, err := query.Parse(text+" exists", timeZero)
	if err != nil {
		return query.Field{}, false
	}
	c, ok := n.(*query.Cond)
	if !ok {
		return query.Field{}, false
	}
	return c.Field, true
}

// seriesFns names the summary of each series field kind.
var seriesFns = map[query.FieldKind]string{query.FieldSeriesMin: "min", query.FieldSeriesMax: "max",
	query.FieldSeriesLast: "last", query.FieldSeriesCount: "count"}

// SeriesSummaryField reads a series summary as the query language writes
// it (min(loss), last("val/loss")): the summary's function (min, max,
// last or count) and the series name.
func SeriesSummaryField(text string) (fn, name string, ok bool) {
	f, ok := numericField(text)
	if !ok || seriesFns[f.Kind] == "" {
		return "", "", false
	}
	return seriesFns[f.Kind], f.Name, true
}

// cursorJSON is a sorted page's cursor, sent base64url-encoded behind "s.".
type cursorJSON struct {
	Key      string  `json:"k"`
	Desc     bool    `json:"d"`
	HasValue bool    `json:"h"`
	Num      float64 `json:"n"`
	Txt      string  `json:"t"`
	ID       string  `json:"i"`
}

func encodeCursor(key string, desc bool, c db.SortCursor) string {
	b, _ := json.Marshal(cursorJSON{Key: key, Desc: desc, HasValue: c.HasValue, Num: c.Num, Txt: c.Txt, ID: c.ID}) // plain fields always marshal
	return "s." + base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, key string, desc bool) (*db.SortCursor, error) {
	bad := invalid("cursor", "The cursor is not one this server gave out for this sort.")
	raw, ok := strings.CutPrefix(s, "s.")
	if !ok {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil, bad
	}
	var c cursorJSON
	if err := json.Unmarshal(b, &c); err != nil || c.Key != key || c.Desc != desc || !db.ValidID(c.ID) {
		return nil, bad
	}
	return &db.SortCursor{HasValue: c.HasValue, Num: c.Num, Txt: c.Txt, ID: c.ID}, nil
}

// cursorAfter is the cursor that continues after run r.
func (s *Service) cursorAfter(ctx context.Context, r *db.Run, key string) (db.SortCursor, error) {
	c := db.SortCursor{ID: r.ID}
	finite := func(v float64, ok bool) {
		if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			c.HasValue, c.Num = true, v
		}
	}
	switch {
	case key == db.KeyName:
		c.HasValue, c.Txt = true, r.Name
	case key == db.KeyCreated:
		finite(float64(r.CreatedAt.UnixMilli()), true)
	case key == db.KeyStarted:
		if r.StartedAt != nil {
			finite(float64(r.StartedAt.UnixMilli()), true)
		}
	case key == db.KeyDuration:
		if r.StartedAt != nil && r.FinishedAt != nil {
			finite(float64(r.FinishedAt.UnixMilli()-r.StartedAt.UnixMilli()), true)
		}
	case strings.HasPrefix(key, db.KeyMetric):
		v, ok := r.Metrics[strings.TrimPrefix(key, db.KeyMetric)]
		finite(v, ok)
	case strings.HasPrefix(key, db.KeyParam):
		expanded, err := db.ExpandParams(r.Params) // a dot in a name is a level
		if err != nil {
			break
		}
		cur := any(expanded)
		for _, part := range strings.Split(strings.TrimPrefix(key, db.KeyParam), ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur = m[part]
		}
		switch v := cur.(type) {
		case int64:
			finite(float64(v), true)
		case float64:
			finite(v, true)
		}
	case strings.HasPrefix(key, db.KeySeries):
		fn, name, _ := strings.Cut(strings.TrimPrefix(key, db.KeySeries), ":")
		sums, err := s.seriesSummaries(ctx, r.ID)
		if err != nil {
			return c, err
		}
		for _, x := range sums {
			if x.Name == name {
				finite(map[string]float64{"min": x.Min, "max": x.Max, "last": x.Last, "count": float64(x.Count)}[fn], true)
			}
		}
	}
	return c, nil
}

// timeZero parses sort fields (they hold no times).
var timeZero = time.Time{}
