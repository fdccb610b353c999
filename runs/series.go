package runs

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"labreview/db"
)

// Limits of series writes and reads (docs/api.md lists them).
const (
	MaxSeriesPerBatch = 100
	MaxPointsPerBatch = 100_000
	// MaxStep keeps steps exact in JavaScript (2^53 − 1), where the web UI
	// reads them.
	MaxStep          = 1<<53 - 1
	DefaultMaxPoints = 2000
	MaxMaxPoints     = 100_000
	MaxSeriesPerRead = 20
)

// Times of points: Unix seconds from 1970 up to the year 9999.
const maxTime = 253402300799

// AppendSeries stores points of a live run's series: {name: points}. A
// step already stored takes the new value, so a retried batch adds
// nothing twice. times gives the wall time (Unix seconds) of steps whose
// job sent one; every other step of the batch is stamped with the time the
// server received it. Those times go to the run's clock (db.ClockSeries),
// one time a step for all its series, which the time axis of the plots
// reads. It returns how many steps were new. Series points are data, not
// changes of record: they are not audited one by one.
func (s *Service) AppendSeries(ctx context.Context, a Actor, runID string, batch map[string][]db.Point, times map[int64]float64) (int, error) {
	if len(batch) == 0 {
		return 0, invalid("series", "Send at least one series: {\"<name>\": [[step, value], …]}.")
	}
	if len(batch) > MaxSeriesPerBatch {
		return 0, invalid("series", "A batch holds at most %d series.", MaxSeriesPerBatch)
	}
	total := 0
	for _, pts := range batch {
		total += len(pts)
	}
	if total > MaxPointsPerBatch {
		return 0, &InputError{Field: "series", Code: "too_large", Message: "A batch holds at most 100,000 points; send several."}
	}
	if bad := CheckSeries(batch); len(bad) > 0 {
		return 0, NewPointErrors(bad)
	}
	for step, t := range times {
		if !ValidTime(t) {
			return 0, invalid("series", "Times are Unix seconds from 0 to %d (step %d).", maxTime, step)
		}
	}
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return 0, err
	}
	if r.DeletedAt != nil {
		return 0, ErrDeleted
	}
	if err := s.checkSeriesCount(ctx, r.ID, batch); err != nil {
		return 0, err
	}
	sorted := make(map[string][]db.Point, len(batch)+1)
	for name, pts := range batch {
		sorted[name] = db.SortPoints(pts)
	}
	sorted[db.ClockSeries] = clockPoints(sorted, times, s.now())
	return s.db.WriteSeries(ctx, r.ID, sorted, s.now())
}

// MaxPointErrors is how many bad points an error names.
const MaxPointErrors = 20

// PointError is one bad point of a series batch: Index is its place in
// the series' array as sent, or -1 when the whole series is refused (its
// name).
type PointError struct {
	Series  string
	Index   int
	Message string
}

// PointErrors refuses a series batch whole and names its bad points: the
// first MaxPointErrors (by series name, then index) and how many there
// were. A client can drop them and send the rest again.
type PointErrors struct {
	Points []PointError
	Total  int
}

func (e *PointErrors) Error() string {
	return fmt.Sprintf("runs: %d bad points in the series batch", e.Total)
}

// Unwrap gives the refusal as an InputError on series too, for callers
// that read input errors alike (the first point's reason).
func (e *PointErrors) Unwrap() error {
	msg := "A point of the batch is invalid."
	if len(e.Points) > 0 {
		p := e.Points[0]
		msg = fmt.Sprintf("%s (series %q, point %d).", capitalize(p.Message), truncate(p.Series, 40), p.Index)
		if p.Index < 0 {
			msg = fmt.Sprintf("%s (series %q).", capitalize(p.Message), truncate(p.Series, 40))
		}
	}
	return &InputError{Field: "series", Code: "invalid", Message: msg}
}

// NewPointErrors sorts bad points and keeps the first MaxPointErrors.
func NewPointErrors(bad []PointError) *PointErrors {
	slices.SortStableFunc(bad, func(a, b PointError) int {
		return cmp.Or(cmp.Compare(a.Series, b.Series), cmp.Compare(a.Index, b.Index))
	})
	total := len(bad)
	return &PointErrors{Points: bad[:min(total, MaxPointErrors)], Total: total}
}

// CheckSeries lists the bad points of a batch: names the rules refuse
// (one entry for the series) and steps outside 0 to MaxStep.
func CheckSeries(batch map[string][]db.Point) []PointError {
	var bad []PointError
	for name, pts := range batch {
		if p := NameProblem(name); p != "" {
			bad = append(bad, PointError{Series: name, Index: -1, Message: p})
			continue
		}
		for i, p := range pts {
			if p.Step < 0 || p.Step > MaxStep {
				bad = append(bad, PointError{Series: name, Index: i, Message: fmt.Sprintf("the step %d is not a whole number from 0 to 2^53 − 1", p.Step)})
			}
		}
	}
	return bad
}

// ValidTime reports whether t is a point's time the server keeps: Unix
// seconds from 1970 up to the year 9999.
func ValidTime(t float64) bool { return t >= 0 && t <= maxTime }

// checkSeriesCount refuses a batch that would give the run more than
// Config.MaxSeriesPerRun series (GET /api/runs/{id} lists them all; 20,000
// series made it 4.7 MB). It counts before the write: batches racing for
// the last places can pass it together, by at most the batches written at
// once (ingest slots) times MaxSeriesPerBatch.
func (s *Service) checkSeriesCount(ctx context.Context, runID string, batch map[string][]db.Point) error {
	existing, err := s.seriesSummaries(ctx, runID)
	if err != nil {
		return err
	}
	if len(existing)+len(batch) <= s.cfg.MaxSeriesPerRun {
		return nil // the usual case: no need to see which names are new
	}
	known := make(map[string]bool, len(existing))
	for _, sum := range existing {
		known[sum.Name] = true
	}
	added := 0
	for name := range batch {
		if !known[name] {
			added++
		}
	}
	if added > 0 && len(existing)+added > s.cfg.MaxSeriesPerRun {
		return &LimitError{Field: "series", Code: "too_many_series",
			Message: fmt.Sprintf("A run holds at most %d series; this one has %d, and the batch adds %d new ones.",
				s.cfg.MaxSeriesPerRun, len(existing), added)}
	}
	return nil
}

// clockPoints is the clock of a batch of sorted series: each step once,
// at the time the job gave or else received, in milliseconds' precision.
func clockPoints(batch map[string][]db.Point, times map[int64]float64, received time.Time) []db.Point {
	now := float64(received.UnixMilli()) / 1000
	var clock []db.Point
	for _, pts := range batch {
		if clock == nil && len(batch) == 1 { // the steps are sorted and distinct already
			clock = make([]db.Point, len(pts))
			for i, p := range pts {
				clock[i].Step = p.Step
			}
			break
		}
		for _, p := range pts {
			clock = append(clock, db.Point{Step: p.Step})
		}
	}
	if len(batch) > 1 {
		clock = db.SortPoints(clock)
	}
	for i := range clock {
		t, ok := times[clock[i].Step]
		if !ok {
			t = now
		}
		clock[i].Value = math.Round(t*1000) / 1000
	}
	return clock
}

// SeriesQuery asks for series of a run: at most MaxPoints points each,
// between steps From and To (inclusive; nil is open).
type SeriesQuery struct {
	Names     []string // empty: every series of the run (up to MaxSeriesPerRead); a name given twice counts once
	MaxPoints int      // 0: DefaultMaxPoints
	From, To  *int64
	Time      bool // also the wall time of each point, from the run's clock
}

// SeriesRead is the answer to a SeriesQuery.
type SeriesRead struct {
	// MaxPoints is the most points each series got: the query's, or less
	// when the series asked for share Config.SeriesReadMaxPoints.
	MaxPoints int
	Series    []SeriesData
	// Clock summarises the run's clock (Count 0: its points carry no
	// times, having been written before the clock existed): Min is the
	// earliest time, the origin of a relative time axis.
	Clock db.SeriesSummary
}

// SeriesData is one series as read.
type SeriesData struct {
	db.SeriesSummary // the whole series (Count 0: no such series)
	Points           []db.Point
	// WindowCount is the number of stored points in the window, and
	// Downsampled says whether Points are the M4 selection of them
	// rather than all of them.
	WindowCount int64
	Downsampled bool
	// Times holds, when asked for, the wall time of each point in Unix
	// seconds, NaN where the clock does not reach (points written before
	// it existed). Exact when the clock's points over the window fit max
	// points; else interpolated between the points the clock's chunk
	// summaries name, at most ChunkPoints steps apart (clockTicks).
	Times []float64
}

// userSeries leaves the clock out of a run's series.
func userSeries(all []db.SeriesSummary) (user []db.SeriesSummary, clock db.SeriesSummary) {
	user = all[:0:0]
	for _, x := range all {
		if x.Name == db.ClockSeries {
			clock = x
		} else {
			user = append(user, x)
		}
	}
	return user, clock
}

// seriesSummaries lists a run's series without its clock.
func (s *Service) seriesSummaries(ctx context.Context, runID string) ([]db.SeriesSummary, error) {
	all, err := s.db.SeriesSummaries(ctx, runID)
	if err != nil {
		return nil, err
	}
	user, _ := userSeries(all)
	return user, nil
}

// SeriesSummaries lists a run's series.
func (s *Service) SeriesSummaries(ctx context.Context, r *db.Run) ([]db.SeriesSummary, error) {
	return s.seriesSummaries(ctx, r.ID)
}

// seriesReadWait bounds how long a series read waits for its turn
// (Config.SeriesReadPointsInFlight) before it is refused with ErrBusy.
const seriesReadWait = 10 * time.Second

// decodeChunksAtOnce bounds the chunks a read decodes at a time (32,768
// points, 512 KiB): a window downsampled from millions of points decodes
// every chunk that straddles a bucket edge, which could be all of them.
const decodeChunksAtOnce = 64

// ReadSeries reads series of a run, each at most q.MaxPoints points: all
// points of the window when they fit, else the M4 selection (per step
// bucket its first, last, minimum and maximum: Jugel et al., PVLDB 2014),
// which draws the same line as the full data at that width. Whole chunks
// inside a bucket are answered from their summaries; only chunks that
// straddle a bucket edge are decoded, decodeChunksAtOnce at a time.
//
// The cost of one read is bounded: a name asked for twice is read once,
// and all series together get at most Config.SeriesReadMaxPoints points
// (each series max_points, or an equal share of that cap when the series
// asked for would pass it; SeriesRead.MaxPoints says which). Reads of this
// instance answer at most Config.SeriesReadPointsInFlight points at once:
// a read waits for its turn in arrival order, up to seriesReadWait, then
// gets ErrBusy.
func (s *Service) ReadSeries(ctx context.Context, a Actor, runID string, q SeriesQuery) (*SeriesRead, error) {
	from, to, err := q.window()
	if err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return nil, err
	}
	all, err := s.db.SeriesSummaries(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	all, clock := userSeries(all)
	names, err := seriesNames(q.Names)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		for _, sum := range all {
			names = append(names, sum.Name)
		}
	}
	if len(names) > MaxSeriesPerRead {
		return nil, invalid("names", "Ask for at most %d series at a time.", MaxSeriesPerRead)
	}
	perSeries := s.pointsEach(q, 1, len(names))
	release, err := s.readTurn(ctx, perSeries, 1, len(names), q.Time)
	if err != nil {
		return nil, err
	}
	defer release()
	return s.readRun(ctx, r.ID, all, clock, names, from, to, perSeries, q.Time)
}

// MaxRunsPerRead is how many runs one read of several runs' series
// (ReadSeriesOfRuns) or one batch of runs (GetMany) names.
const MaxRunsPerRead = 100

// RunSeriesRead is one run's part of a read of several runs' series.
type RunSeriesRead struct {
	RunID string
	*SeriesRead
}

// ReadSeriesOfRuns reads the same series of several runs (compare): as
// ReadSeries for each, but the runs share the cost bound of one read:
// every series of every run gets q.MaxPoints points, or an equal share of
// Config.SeriesReadMaxPoints when all of them would pass it, and the read
// waits for one turn for all of its points. q.Names is required (up to
// MaxSeriesPerRead); ids are at most MaxRunsPerRead, an id given twice
// counts once. Runs that do not exist or lie outside the actor's reach
// are left out and listed in missing, in the order asked.
func (s *Service) ReadSeriesOfRuns(ctx context.Context, a Actor, ids []string, q SeriesQuery) ([]RunSeriesRead, []string, error) {
	from, to, err := q.window()
	if err != nil {
		return nil, nil, err
	}
	names, err := seriesNames(q.Names)
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, invalid("names", "Name the series to read.")
	}
	runs, missing, err := s.GetMany(ctx, a, ids)
	if err != nil {
		return nil, nil, err
	}
	type target struct {
		id    string
		all   []db.SeriesSummary
		clock db.SeriesSummary
	}
	targets := make([]target, len(runs))
	for i, r := range runs {
		all, err := s.db.SeriesSummaries(ctx, r.ID)
		if err != nil {
			return nil, nil, err
		}
		targets[i].id = r.ID
		targets[i].all, targets[i].clock = userSeries(all)
	}
	perSeries := s.pointsEach(q, len(targets), len(names))
	release, err := s.readTurn(ctx, perSeries, len(targets), len(names), q.Time)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	found := make([]RunSeriesRead, 0, len(targets))
	for _, t := range targets {
		read, err := s.readRun(ctx, t.id, t.all, t.clock, names, from, to, perSeries, q.Time)
		if err != nil {
			return nil, nil, err
		}
		found = append(found, RunSeriesRead{RunID: t.id, SeriesRead: read})
	}
	return found, missing, nil
}

// window checks q's max_points and gives its steps, clamped to 0 to
// MaxStep (MaxPoints 0 becomes DefaultMaxPoints).
func (q *SeriesQuery) window() (from, to int64, err error) {
	if q.MaxPoints == 0 {
		q.MaxPoints = DefaultMaxPoints
	}
	if q.MaxPoints < 4 || q.MaxPoints > MaxMaxPoints {
		return 0, 0, invalid("max_points", "max_points is 4 to %d.", MaxMaxPoints)
	}
	from, to = int64(0), int64(MaxStep)
	if q.From != nil {
		from = max(*q.From, 0)
	}
	if q.To != nil {
		to = min(*q.To, MaxStep)
	}
	if from > to {
		return 0, 0, invalid("from", "from must not be after to.")
	}
	return from, to, nil
}

// seriesNames is the names of a read, each once, at most MaxSeriesPerRead.
func seriesNames(asked []string) ([]string, error) {
	if len(asked) > MaxSeriesPerRead {
		return nil, invalid("names", "Ask for at most %d series at a time.", MaxSeriesPerRead)
	}
	var names []string
	for _, n := range asked {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, nil
}

// pointsEach is the points each of series×runs series gets: q.MaxPoints,
// or an equal share (at least 4) of Config.SeriesReadMaxPoints when they
// would pass it together.
func (s *Service) pointsEach(q SeriesQuery, runs, series int) int {
	if n := runs * series; n > 0 {
		return min(q.MaxPoints, max(4, s.cfg.SeriesReadMaxPoints/n))
	}
	return q.MaxPoints
}

// readRun reads names of one run (its series summaries all, its clock)
// over [from, to], perSeries points each.
func (s *Service) readRun(ctx context.Context, runID string, all []db.SeriesSummary, clock db.SeriesSummary, names []string, from, to int64, perSeries int, times bool) (*SeriesRead, error) {
	out := &SeriesRead{MaxPoints: perSeries, Series: make([]SeriesData, 0, len(names)), Clock: clock}
	for _, name := range names {
		d := SeriesData{SeriesSummary: db.SeriesSummary{Name: name, Min: math.NaN(), Max: math.NaN(), Last: math.NaN()}, Points: []db.Point{}}
		if i := slices.IndexFunc(all, func(x db.SeriesSummary) bool { return x.Name == name }); i >= 0 {
			d.SeriesSummary = all[i]
			if err := s.readWindow(ctx, runID, name, from, to, perSeries, &d); err != nil {
				return nil, err
			}
		}
		out.Series = append(out.Series, d)
	}
	if times {
		if err := s.readTimes(ctx, runID, clock, perSeries, out.Series); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readTurn waits, in arrival order, until the points of a read (perSeries
// for each series of each run, and for each run's clock with times) may
// be read at once; ErrBusy after seriesReadWait. release gives them back.
func (s *Service) readTurn(ctx context.Context, perSeries, runs, series int, times bool) (release func(), err error) {
	if times {
		series++ // the clock's points
	}
	weight := int64(min(max(perSeries*series*runs, 1), s.cfg.SeriesReadPointsInFlight))
	wait, cancel := context.WithTimeout(ctx, seriesReadWait)
	defer cancel()
	if err := s.reading.Acquire(wait, weight); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrBusy
	}
	return func() { s.reading.Release(weight) }, nil
}

// readTimes sets the times of the series' points from the run's clock,
// read once over the steps they span.
func (s *Service) readTimes(ctx context.Context, runID string, clock db.SeriesSummary, maxPoints int, series []SeriesData) error {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range series {
		pts := series[i].Points
		series[i].Times = make([]float64, len(pts))
		if len(pts) > 0 {
			lo, hi = min(lo, pts[0].Step), max(hi, pts[len(pts)-1].Step)
		}
	}
	var ticks []db.Point
	if clock.Count > 0 && lo <= hi {
		var err error
		if ticks, err = s.clockTicks(ctx, runID, lo, hi, maxPoints); err != nil {
			return err
		}
	}
	for i := range series {
		for j, p := range series[i].Points {
			series[i].Times[j] = timeAt(ticks, p.Step)
		}
	}
	return nil
}

// clockTicks reads the clock over [lo, hi]: every point when the chunks
// that hold it have at most maxPoints, else, without decoding a chunk,
// the points each chunk summary names (first, last, earliest, latest: a
// point every ChunkPoints steps at most), between which times are
// interpolated.
func (s *Service) clockTicks(ctx context.Context, runID string, lo, hi int64, maxPoints int) ([]db.Point, error) {
	sums, err := s.db.ChunkSummaries(ctx, runID, db.ClockSeries, lo, hi)
	if err != nil || len(sums) == 0 {
		return nil, err
	}
	n := 0
	for _, c := range sums {
		n += c.Count
	}
	var ticks []db.Point
	if n <= maxPoints {
		err := s.eachChunk(ctx, runID, db.ClockSeries, sums, func(c db.Chunk) {
			ticks = append(ticks, c.Points...)
		})
		return ticks, err
	}
	for _, c := range sums {
		ticks = append(ticks, db.Point{Step: c.FirstStep, Value: c.First}, db.Point{Step: c.MinStep, Value: c.Min},
			db.Point{Step: c.MaxStep, Value: c.Max}, db.Point{Step: c.LastStep, Value: c.Last})
	}
	slices.SortFunc(ticks, func(a, b db.Point) int { return cmp.Compare(a.Step, b.Step) })
	return slices.CompactFunc(ticks, func(a, b db.Point) bool { return a.Step == b.Step }), nil
}

// timeAt is the clock's time at step: exact at a tick, linear between two
// ticks, NaN outside them.
func timeAt(ticks []db.Point, step int64) float64 {
	i, found := slices.BinarySearchFunc(ticks, step, func(p db.Point, step int64) int {
		return cmp.Compare(p.Step, step)
	})
	switch {
	case found:
		return ticks[i].Value
	case i == 0 || i == len(ticks):
		return math.NaN()
	}
	a, b := ticks[i-1], ticks[i]
	t := a.Value + (b.Value-a.Value)*float64(step-a.Step)/float64(b.Step-a.Step)
	return math.Round(t*1000) / 1000
}

func (s *Service) readWindow(ctx context.Context, runID, name string, from, to int64, maxPoints int, d *SeriesData) error {
	sums, err := s.db.ChunkSummaries(ctx, runID, name, from, to)
	if err != nil || len(sums) == 0 {
		return err
	}
	lo, hi := max(from, sums[0].FirstStep), min(to, sums[len(sums)-1].LastStep)
	upper := 0 // points in the chunks: at least the window's
	for _, c := range sums {
		upper += c.Count
	}
	if upper <= maxPoints {
		d.Points = make([]db.Point, 0, upper)
		err := s.eachChunk(ctx, runID, name, sums, func(c db.Chunk) {
			for _, p := range c.Points {
				if p.Step >= lo && p.Step <= hi {
					d.Points = append(d.Points, p)
				}
			}
		})
		d.WindowCount = int64(len(d.Points))
		return err
	}
	m := newM4(lo, hi, maxPoints/4)
	var straddling []db.ChunkSummary
	for _, c := range sums {
		if c.FirstStep >= lo && c.LastStep <= hi && m.bucket(c.FirstStep) == m.bucket(c.LastStep) {
			m.addSummary(c)
			d.WindowCount += int64(c.Count)
		} else {
			straddling = append(straddling, c)
		}
	}
	err = s.eachChunk(ctx, runID, name, straddling, func(c db.Chunk) {
		for _, p := range c.Points {
			if p.Step >= lo && p.Step <= hi {
				m.add(p)
				d.WindowCount++
			}
		}
	})
	if err != nil {
		return err
	}
	d.Points = m.points()
	d.Downsampled = d.WindowCount > int64(len(d.Points))
	return nil
}

// eachChunk hands fn the points of the summarised chunks in step order,
// loading decodeChunksAtOnce of them at a time; a step met twice (a hosted
// write interrupted between its two halves) is kept once.
func (s *Service) eachChunk(ctx context.Context, runID, name string, sums []db.ChunkSummary, fn func(db.Chunk)) error {
	var last int64 = math.MinInt64
	for len(sums) > 0 {
		part := sums[:min(len(sums), decodeChunksAtOnce)]
		sums = sums[len(part):]
		firsts := make([]int64, len(part))
		for i, c := range part {
			firsts[i] = c.FirstStep
		}
		chunks, err := s.db.Chunks(ctx, runID, name, firsts)
		if err != nil {
			return err
		}
		for _, c := range chunks {
			pts := c.Points
			if len(pts) == 0 || pts[0].Step <= last {
				kept := pts[:0]
				for _, p := range pts {
					if p.Step > last {
						kept = append(kept, p)
						last = p.Step
					}
				}
				c.Points = kept
			} else {
				// The usual case: no step repeats (steps in a chunk ascend).
				last = pts[len(pts)-1].Step
			}
			fn(c)
		}
	}
	return nil
}

// m4 folds points into equal step buckets, keeping per bucket the first,
// last, minimum and maximum point.
type m4 struct {
	lo, span uint64 // span = hi − lo + 1
	n        uint64 // buckets
	b        []m4Bucket
}

type m4Bucket struct {
	set                   bool
	first, last, min, max db.Point
	hasMinMax             bool
}

func newM4(lo, hi int64, buckets int) *m4 {
	n := max(buckets, 1)
	return &m4{lo: uint64(lo), span: uint64(hi-lo) + 1, n: uint64(n), b: make([]m4Bucket, n)}
}

// bucket is ⌊(step − lo) · n / span⌋, computed in 128 bits.
func (m *m4) bucket(step int64) int {
	hiBits, loBits := bits.Mul64(uint64(step)-m.lo, m.n)
	q, _ := bits.Div64(hiBits, loBits, m.span)
	return int(q)
}

func (m *m4) add(p db.Point) {
	b := &m.b[m.bucket(p.Step)]
	if !b.set {
		b.set, b.first, b.last = true, p, p
	}
	if p.Step < b.first.Step {
		b.first = p
	}
	if p.Step > b.last.Step {
		b.last = p
	}
	if !math.IsNaN(p.Value) {
		if !b.hasMinMax || p.Value < b.min.Value {
			b.min = p
		}
		if !b.hasMinMax || p.Value > b.max.Value {
			b.max = p
		}
		b.hasMinMax = true
	}
}

func (m *m4) addSummary(c db.ChunkSummary) {
	m.add(db.Point{Step: c.FirstStep, Value: c.First})
	m.add(db.Point{Step: c.LastStep, Value: c.Last})
	if !math.IsNaN(c.Min) {
		m.add(db.Point{Step: c.MinStep, Value: c.Min})
		m.add(db.Point{Step: c.MaxStep, Value: c.Max})
	}
}

// points lists each bucket's distinct selected points, by step.
func (m *m4) points() []db.Point {
	out := []db.Point{}
	for _, b := range m.b {
		if !b.set {
			continue
		}
		sel := []db.Point{b.first, b.last}
		if b.hasMinMax {
			sel = append(sel, b.min, b.max)
		}
		slices.SortFunc(sel, func(x, y db.Point) int {
			switch {
			case x.Step < y.Step:
				return -1
			case x.Step > y.Step:
				return 1
			}
			return 0
		})
		sel = slices.CompactFunc(sel, func(x, y db.Point) bool { return x.Step == y.Step })
		out = append(out, sel...)
	}
	return out
}
