package runs

// Writes in the style of MLflow's tracking API (server/mlflow translates
// that API onto these): params that arrive as text and are set once,
// key-value tags, and metric points that carry a wall time and a step
// that may repeat. The rules live here, beside the other run rules.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"labreview/db"
)

// Limits of keyed writes (MLflow's own limits where it has them).
const (
	MaxKeyTags        = 200  // key-value tags a run holds
	MaxKeyTagKey      = 250  // characters of a tag key
	MaxKeyTagValue    = 8000 // characters of a tag value
	MaxKeyTagsBytes   = 256 << 10
	MaxTextParamValue = 6000 // characters of a param's text
	MaxMetricPoints   = 1000 // points in one LogMetrics call
	// metricsLeaseTTL bounds how long a crashed writer holds a run's
	// metric steps; writers wait up to metricsLeaseWait for their turn.
	metricsLeaseTTL  = 30 * time.Second
	metricsLeaseWait = 10 * time.Second
)

// ParamChangedError: a param that is set already was sent with another
// text (params are set once).
type ParamChangedError struct {
	Key, Old, New string
}

func (e *ParamChangedError) Error() string {
	return fmt.Sprintf("runs: param %s is %q and cannot become %q", e.Key, e.Old, e.New)
}

// KeyedWrite changes a live run; empty fields change nothing.
type KeyedWrite struct {
	// Params are set once, by key: dots in a key nest the param
	// ("optimizer.lr" is params.optimizer.lr). A number's text is stored
	// as the number (queries compare it as one) and its exact text kept
	// beside it. Sending a set param again with the same text is fine;
	// with another text it is a ParamChangedError.
	Params map[string]string
	// Tags are set (or replaced) by key; DeleteTags removes tags.
	Tags       map[string]string
	DeleteTags []string
	Name       *string
	Notes      *string
	Status     *string
	FinishedAt *time.Time
}

// numberText is the text of a JSON number: params that look like one are
// stored as numbers.
var numberText = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// ParamValue is the value a param's text is stored as: a number when the
// text is one (within float64's range), else the text.
func ParamValue(text string) any {
	if len(text) <= 40 && numberText.MatchString(text) {
		v := db.NormalizeJSON(json.Number(text))
		if _, isText := v.(string); !isText {
			return v
		}
	}
	return text
}

// ParamText is the text of a stored param value as MLflow reads it: texts
// as they are, numbers in their shortest form, anything else as JSON.
func ParamText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v) // JSON-shaped values always marshal
	return string(b)
}

// FlatParams lists a run's params as MLflow sees them: each leaf by its
// dotted path, as text (the exact text sent, where it was kept).
func FlatParams(r *db.Run) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok && (prefix == "" || len(m) > 0) {
			for k, e := range m {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, e)
			}
			return
		}
		if t, ok := r.ParamText[prefix]; ok {
			out[prefix] = t
			return
		}
		out[prefix] = ParamText(v)
	}
	walk("", map[string]any(r.Params))
	return out
}

// checkParamKey checks an MLflow param key: a labreview param name, whose
// dots separate levels.
func checkParamKey(key string) error {
	if p := ParamNameProblem(key); p != "" {
		return invalid("params", "%s (%q).", capitalize(p), truncate(key, 40))
	}
	return nil
}

// setParam sets key (a dotted path) to text in r once.
func setParam(r *db.Run, key, text string) error {
	parts := strings.Split(key, ".")
	m := r.Params
	for i, part := range parts[:len(parts)-1] {
		next, ok := m[part]
		if !ok {
			child := map[string]any{}
			m[part] = child
			m = child
			continue
		}
		child, isObject := next.(map[string]any)
		if !isObject {
			return invalid("params", "Param %q cannot nest under param %q, which has a value.", truncate(key, 80),
				strings.Join(parts[:i+1], "."))
		}
		m = child
	}
	last := parts[len(parts)-1]
	if old, ok := m[last]; ok {
		if _, isObject := old.(map[string]any); isObject {
			return invalid("params", "Param %q has params nested under it and cannot have a value.", truncate(key, 80))
		}
		oldText, kept := r.ParamText[key]
		if !kept {
			oldText = ParamText(old)
		}
		if oldText != text {
			return &ParamChangedError{Key: key, Old: oldText, New: text}
		}
		return nil
	}
	v := ParamValue(text)
	m[last] = v
	if ParamText(v) != text {
		if r.ParamText == nil {
			r.ParamText = map[string]string{}
		}
		r.ParamText[key] = text
	}
	return nil
}

// tagLabel is the label (plain tag) that mirrors a key-value tag, so the
// query language finds it (tag = "key=value"), or "" when it does not fit
// a label. Tags whose key starts with "mlflow." are clients' bookkeeping
// and not mirrored.
func tagLabel(key, value string) string {
	l := key + "=" + value
	if strings.HasPrefix(key, "mlflow.") || utf8.RuneCountInString(l) > MaxTagLength || !printable(l) || strings.TrimSpace(l) != l {
		return ""
	}
	return l
}

func checkKeyTag(key, value string) error {
	switch {
	case key == "" || utf8.RuneCountInString(key) > MaxKeyTagKey || !printable(key):
		return invalid("tags", "A tag key is 1 to %d printable characters.", MaxKeyTagKey)
	case utf8.RuneCountInString(value) > MaxKeyTagValue || !utf8.ValidString(value):
		return invalid("tags", "A tag value is valid UTF-8 of at most %d characters (tag %q).", MaxKeyTagValue, truncate(key, 40))
	}
	return nil
}

func (w *KeyedWrite) validate() error {
	if len(w.Params) > MaxParamKeys {
		return invalid("params", "At most %d params in one write.", MaxParamKeys)
	}
	for k, v := range w.Params {
		if err := checkParamKey(k); err != nil {
			return err
		}
		if utf8.RuneCountInString(v) > MaxTextParamValue || !utf8.ValidString(v) {
			return invalid("params", "A param value is valid UTF-8 of at most %d characters (param %q).", MaxTextParamValue, truncate(k, 40))
		}
	}
	if len(w.Tags)+len(w.DeleteTags) > MaxKeyTags {
		return invalid("tags", "At most %d tags in one write.", MaxKeyTags)
	}
	for k, v := range w.Tags {
		if err := checkKeyTag(k, v); err != nil {
			return err
		}
	}
	if w.Name != nil {
		if _, err := label("name", *w.Name, false); err != nil {
			return err
		}
	}
	if w.Notes != nil {
		if err := checkNotes(*w.Notes); err != nil {
			return err
		}
	}
	if w.Status != nil {
		if err := checkStatus(*w.Status); err != nil {
			return err
		}
	}
	return nil
}

// MaxParamKeys is the most params one keyed write sets (MLflow's limit
// per batch).
const MaxParamKeys = 100

// apply changes r as the write says; like Patch.apply it depends only on
// r and now.
func (w *KeyedWrite) apply(r *db.Run, now time.Time) error {
	keys := make([]string, 0, len(w.Params))
	for k := range w.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same error whichever order the map gives
	for _, k := range keys {
		if err := setParam(r, k, w.Params[k]); err != nil {
			return err
		}
	}
	if len(w.Params) > 0 {
		if b, _ := json.Marshal(r.Params); len(b) > MaxParamsBytes {
			return &InputError{Field: "params", Code: "too_large", Message: fmt.Sprintf("Params are at most %d KiB of JSON.", MaxParamsBytes>>10)}
		}
	}
	for _, k := range w.DeleteTags {
		if old, ok := r.KeyTags[k]; ok {
			if l := tagLabel(k, old); l != "" {
				r.Tags = slices.DeleteFunc(r.Tags, func(t string) bool { return t == l })
			}
			delete(r.KeyTags, k)
		}
	}
	tagKeys := make([]string, 0, len(w.Tags))
	for k := range w.Tags {
		tagKeys = append(tagKeys, k)
	}
	slices.Sort(tagKeys)
	for _, k := range tagKeys {
		v := w.Tags[k]
		if r.KeyTags == nil {
			r.KeyTags = map[string]string{}
		}
		if old, ok := r.KeyTags[k]; ok {
			if l := tagLabel(k, old); l != "" {
				r.Tags = slices.DeleteFunc(r.Tags, func(t string) bool { return t == l })
			}
		}
		r.KeyTags[k] = v
		if l := tagLabel(k, v); l != "" && len(r.Tags) < MaxTags && !slices.Contains(r.Tags, l) {
			r.Tags = append(r.Tags, l)
		}
	}
	if len(r.KeyTags) > MaxKeyTags {
		return invalid("tags", "A run holds at most %d tags.", MaxKeyTags)
	}
	if len(w.Tags) > 0 {
		if b, _ := json.Marshal(r.KeyTags); len(b) > MaxKeyTagsBytes {
			return &InputError{Field: "tags", Code: "too_large", Message: fmt.Sprintf("A run's tags are at most %d KiB.", MaxKeyTagsBytes>>10)}
		}
	}
	if len(r.KeyTags) == 0 {
		r.KeyTags = nil
	}
	if w.Name != nil && *w.Name != "" {
		r.Name = *w.Name
	}
	if w.Notes != nil {
		r.Notes = *w.Notes
	}
	old := r.Status
	if w.Status != nil {
		r.Status = *w.Status
	}
	if w.FinishedAt != nil {
		if w.FinishedAt.After(now.Add(clockSkew)) || w.FinishedAt.Before(r.CreatedAt.Add(-clockSkew)) {
			return invalid("end_time", "The end time must lie between the run's creation and now.")
		}
	}
	if w.Status != nil || w.FinishedAt != nil {
		applyStatusTimes(r, old, now, w.FinishedAt)
	}
	return nil
}

// WriteKeyed applies a keyed write to a live run in one atomic change.
func (s *Service) WriteKeyed(ctx context.Context, a Actor, id string, w KeyedWrite) (*db.Run, error) {
	if err := w.validate(); err != nil {
		return nil, err
	}
	now := s.now()
	before, after, err := s.db.UpdateRun(ctx, id, now, func(r *db.Run) error {
		if !a.reaches(r.Project) {
			return ErrNotFound
		}
		if r.DeletedAt != nil {
			return ErrDeleted
		}
		if r.Params == nil {
			r.Params = map[string]any{}
		}
		params, _ := json.Marshal(r.Params) // JSON-shaped values always marshal
		if err := w.apply(r, now); err != nil {
			return err
		}
		if after, _ := json.Marshal(r.Params); string(after) != string(params) {
			judgedDataChanged(r)
		}
		return nil
	})
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, err
	}
	if changes := diff(before, after); len(changes) > 0 {
		s.audit(ctx, a, EventRunChanged, after, changes)
	}
	return after, nil
}

// judgedDataChanged raises the run's data version and makes a verdict on
// it outdated.
func judgedDataChanged(r *db.Run) {
	r.DataVersion++
	if r.Review.State != "" && r.Review.State != db.ReviewUnreviewed {
		r.Review.Outdated = true
	}
}

// MetricPoint is one logged value of a metric: its step and wall time as
// the job gave them.
type MetricPoint struct {
	Name  string
	Value float64
	Step  int64
	Time  time.Time
}

// LogMetrics adds points to a live run's metrics. Each metric is a series
// (its history) whose last value is also the run's metric of that name.
// A point goes to its step when that step lies after the series' last
// one; a step that repeats (MLflow's default step 0, logged again and
// again) or goes back goes to the step after the series' last, so points
// keep their order and none is overwritten. A point equal to the series'
// last one (same step, value and time) is a retry and is not stored
// again. The points' times go to the run's clock. Writers to one run take
// turns (a lease), so concurrent calls cannot place two points on one
// step. Like series points, metric points are not audited one by one.
func (s *Service) LogMetrics(ctx context.Context, a Actor, runID string, points []MetricPoint) (*db.Run, error) {
	if err := CheckMetricPoints(points); err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return nil, err
	}
	if r.DeletedAt != nil {
		return nil, ErrDeleted
	}
	if len(points) == 0 {
		return r, nil
	}
	var after *db.Run
	err = s.db.WithLease(ctx, "metrics:"+r.ID, metricsLeaseTTL, metricsLeaseWait, func() error {
		batch, times, latest, err := s.placeMetrics(ctx, r.ID, points)
		if err != nil || len(batch) == 0 {
			return err
		}
		// A run holds at most MaxMetrics metrics: refused before any point
		// is written (the run's metrics only grow, so r's count is a floor).
		if n := len(r.Metrics); n+len(latest) > MaxMetrics {
			for name := range latest {
				if _, ok := r.Metrics[name]; !ok {
					n++
				}
			}
			if n > MaxMetrics {
				return invalid("metrics", "A run holds at most %d metrics.", MaxMetrics)
			}
		}
		batch[db.ClockSeries] = clockOf(batch, times)
		if _, err := s.db.WriteSeries(ctx, r.ID, batch, s.now()); err != nil {
			return err
		}
		_, after, err = s.db.UpdateRun(ctx, r.ID, s.now(), func(r *db.Run) error {
			if r.DeletedAt != nil {
				return ErrDeleted
			}
			if r.Metrics == nil {
				r.Metrics = db.Metrics{}
			}
			changed := false
			for name, v := range latest {
				if old, ok := r.Metrics[name]; !ok || math.Float64bits(old) != math.Float64bits(v) {
					r.Metrics[name], changed = v, true
				}
			}
			if len(r.Metrics) > MaxMetrics {
				return invalid("metrics", "A run holds at most %d metrics.", MaxMetrics)
			}
			if changed {
				judgedDataChanged(r)
			}
			return nil
		})
		return err
	})
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, err
	case after == nil:
		return r, nil
	}
	return after, nil
}

// placeMetrics gives each point its step (see LogMetrics) and returns the
// series to write, the time of each step (Unix seconds, the earliest
// where points disagree) and each series' new last value.
func (s *Service) placeMetrics(ctx context.Context, runID string, points []MetricPoint) (map[string][]db.Point, map[int64]float64, map[string]float64, error) {
	sums, err := s.db.SeriesSummaries(ctx, runID)
	if err != nil {
		return nil, nil, nil, err
	}
	last := map[string]db.SeriesSummary{}
	for _, x := range sums {
		last[x.Name] = x
	}
	byName := map[string][]MetricPoint{}
	for _, p := range points {
		byName[p.Name] = append(byName[p.Name], p)
	}
	batch := map[string][]db.Point{}
	times := map[int64]float64{}
	latest := map[string]float64{}
	for name, pts := range byName {
		slices.SortStableFunc(pts, func(x, y MetricPoint) int {
			return cmp.Or(cmp.Compare(x.Step, y.Step), x.Time.Compare(y.Time))
		})
		sum, has := last[name]
		lastTime := math.NaN()
		for _, p := range pts {
			t := float64(p.Time.UnixMilli()) / 1000
			step := p.Step
			if has && step <= sum.LastStep {
				if step == sum.LastStep && math.Float64bits(p.Value) == math.Float64bits(sum.Last) {
					if math.IsNaN(lastTime) {
						if lastTime, err = s.clockAt(ctx, runID, sum.LastStep); err != nil {
							return nil, nil, nil, err
						}
					}
					if lastTime == t {
						continue // a retry of the last point
					}
				}
				step = sum.LastStep + 1
				if step > MaxStep {
					return nil, nil, nil, invalid("metrics", "Metric %q has no step left after %d.", truncate(name, 40), sum.LastStep)
				}
			}
			batch[name] = append(batch[name], db.Point{Step: step, Value: p.Value})
			if old, ok := times[step]; !ok || t < old {
				times[step] = t
			}
			sum, has, lastTime = db.SeriesSummary{LastStep: step, Last: p.Value}, true, t
			latest[name] = p.Value
		}
	}
	return batch, times, latest, nil
}

// clockAt is the time the run's stored clock holds for step (+Inf if
// none).
func (s *Service) clockAt(ctx context.Context, runID string, step int64) (float64, error) {
	sums, err := s.db.ChunkSummaries(ctx, runID, db.ClockSeries, step, step)
	if err != nil || len(sums) == 0 {
		return math.Inf(1), err
	}
	chunks, err := s.db.Chunks(ctx, runID, db.ClockSeries, []int64{sums[0].FirstStep})
	if err != nil || len(chunks) == 0 {
		return math.Inf(1), err
	}
	pts := chunks[0].Points
	if i, ok := slices.BinarySearchFunc(pts, step, func(p db.Point, s int64) int { return cmp.Compare(p.Step, s) }); ok {
		return pts[i].Value, nil
	}
	return math.Inf(1), nil
}

// clockOf is the clock's points for a batch: each step once, at its time.
func clockOf(batch map[string][]db.Point, times map[int64]float64) []db.Point {
	clock := make([]db.Point, 0, len(times))
	for step, t := range times {
		clock = append(clock, db.Point{Step: step, Value: math.Round(t*1000) / 1000})
	}
	slices.SortFunc(clock, func(x, y db.Point) int { return cmp.Compare(x.Step, y.Step) })
	for name, pts := range batch {
		batch[name] = db.SortPoints(pts)
	}
	return clock
}

// HistoryPage is a page of a metric's history: points in step order with
// their times (Unix seconds, NaN where the clock does not reach), and the
// step the next page starts at (nil at the end).
type HistoryPage struct {
	Points []db.Point
	Times  []float64
	Next   *int64
}

// MetricHistory reads up to limit points of a run's metric (its series)
// from step from on, with their times.
func (s *Service) MetricHistory(ctx context.Context, a Actor, runID, name string, from int64, limit int) (*HistoryPage, error) {
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return nil, err
	}
	out := &HistoryPage{Points: []db.Point{}, Times: []float64{}}
	if name == db.ClockSeries {
		return out, nil
	}
	sums, err := s.db.ChunkSummaries(ctx, r.ID, name, from, MaxStep)
	if err != nil {
		return nil, err
	}
	var firsts []int64
	n := 0
	for _, c := range sums {
		if n > limit {
			break
		}
		firsts, n = append(firsts, c.FirstStep), n+c.Count
	}
	if len(firsts) == 0 {
		return out, nil
	}
	chunks, err := s.db.Chunks(ctx, r.ID, name, firsts)
	if err != nil {
		return nil, err
	}
	for _, c := range chunks {
		for _, p := range c.Points {
			if p.Step < from {
				continue
			}
			if len(out.Points) == limit {
				next := p.Step
				out.Next = &next
				break
			}
			out.Points = append(out.Points, p)
		}
		if out.Next != nil {
			break
		}
	}
	if len(out.Points) == 0 {
		return out, nil
	}
	lo, hi := out.Points[0].Step, out.Points[len(out.Points)-1].Step
	clockSums, err := s.db.ChunkSummaries(ctx, r.ID, db.ClockSeries, lo, hi)
	if err != nil {
		return nil, err
	}
	clock := map[int64]float64{}
	if len(clockSums) > 0 {
		cf := make([]int64, len(clockSums))
		for i, c := range clockSums {
			cf[i] = c.FirstStep
		}
		cchunks, err := s.db.Chunks(ctx, r.ID, db.ClockSeries, cf)
		if err != nil {
			return nil, err
		}
		for _, c := range cchunks {
			for _, p := range c.Points {
				if p.Step >= lo && p.Step <= hi {
					clock[p.Step] = p.Value
				}
			}
		}
	}
	for _, p := range out.Points {
		t, ok := clock[p.Step]
		if !ok {
			t = math.NaN()
		}
		out.Times = append(out.Times, t)
	}
	return out, nil
}

// CreateProject stores a project before its first run (an MLflow
// experiment created empty); created is false when it exists already.
func (s *Service) CreateProject(ctx context.Context, a Actor, name string) (created bool, err error) {
	if _, err := label("project", name, true); err != nil {
		return false, err
	}
	if !a.reaches(name) {
		return false, ErrProject
	}
	return s.db.CreateProject(ctx, name, s.now())
}

// CheckMetricPoints checks points as LogMetrics does, before anything is
// written.
func CheckMetricPoints(points []MetricPoint) error {
	if len(points) > MaxMetricPoints {
		return invalid("metrics", "At most %d metric points in one write.", MaxMetricPoints)
	}
	for _, p := range points {
		if err := checkName("metrics", p.Name); err != nil {
			return err
		}
		if p.Step < 0 || p.Step > MaxStep {
			return invalid("metrics", "Steps are whole numbers from 0 to 2^53 − 1 (metric %q, step %d).", truncate(p.Name, 40), p.Step)
		}
		if t := p.Time.Unix(); t < 0 || t > maxTime {
			return invalid("metrics", "The timestamp of metric %q is not a time between 1970 and 9999.", truncate(p.Name, 40))
		}
	}
	return nil
}
