package runs

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"labreview/db"
)

func points(steps ...int64) []db.Point {
	out := make([]db.Point, len(steps))
	for i, s := range steps {
		out[i] = db.Point{Step: s, Value: float64(s) / 2}
	}
	return out
}

func TestAppendSeriesChecks(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p"})
	many := map[string][]db.Point{}
	for i := range MaxSeriesPerBatch + 1 {
		many[fmt.Sprint("s", i)] = points(0)
	}
	huge := make([]db.Point, MaxPointsPerBatch+1)
	for i := range huge {
		huge[i].Step = int64(i)
	}
	cases := []struct {
		name  string
		batch map[string][]db.Point
		times map[int64]float64
		code  string
	}{
		{"nothing", map[string][]db.Point{}, nil, "invalid"},
		{"too many series", many, nil, "invalid"},
		{"a name with a dot", map[string][]db.Point{"val.loss": points(0)}, nil, "invalid"},
		{"a name with a $", map[string][]db.Point{"$time": points(0)}, nil, "invalid"},
		{"an empty name", map[string][]db.Point{"": points(0)}, nil, "invalid"},
		{"a negative step", map[string][]db.Point{"loss": points(-1)}, nil, "invalid"},
		{"a step past 2^53-1", map[string][]db.Point{"loss": points(MaxStep + 1)}, nil, "invalid"},
		{"a NaN time", map[string][]db.Point{"loss": points(0)}, map[int64]float64{0: math.NaN()}, "invalid"},
		{"a time before 1970", map[string][]db.Point{"loss": points(0)}, map[int64]float64{0: -1}, "invalid"},
		{"a time past 9999", map[string][]db.Point{"loss": points(0)}, map[int64]float64{0: maxTime + 1}, "invalid"},
		{"too many points", map[string][]db.Point{"loss": huge}, nil, "too_large"},
	}
	for _, c := range cases {
		_, err := f.svc.AppendSeries(f.ctx(), reviewer, r.ID, c.batch, c.times)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != "series" || ie.Code != c.code {
			t.Errorf("%s: %v, want an InputError series/%s", c.name, err, c.code)
		}
	}
	if sums, _ := f.store.SeriesSummaries(f.ctx(), r.ID); len(sums) != 0 {
		t.Fatalf("refused batches stored series: %+v", sums)
	}
	// The largest step and time are fine.
	if _, err := f.svc.AppendSeries(f.ctx(), reviewer, r.ID, map[string][]db.Point{"loss": points(MaxStep)}, map[int64]float64{MaxStep: maxTime}); err != nil {
		t.Fatal(err)
	}

	batch := map[string][]db.Point{"loss": points(1)}
	if _, err := f.svc.AppendSeries(f.ctx(), apiToken(db.RoleReviewer, "q"), r.ID, batch, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a token of another project: %v", err)
	}
	if _, err := f.svc.AppendSeries(f.ctx(), reviewer, db.NewID(), batch, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown run: %v", err)
	}
	if _, err := f.svc.Delete(f.ctx(), admin, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AppendSeries(f.ctx(), reviewer, r.ID, batch, nil); !errors.Is(err, ErrDeleted) {
		t.Fatalf("a deleted run: %v", err)
	}
}

// TestAppendSeriesIsIdempotentAndKeepsTheFirstTimes: a step written again
// takes the new value and adds nothing; only new or changed values move
// the data version; the clock keeps the time a step was first received,
// or the job's own.
func TestAppendSeriesIsIdempotentAndKeepsTheFirstTimes(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p"})
	received := float64(t0.UnixMilli()) / 1000
	// Out of order, and step 1 twice: the later value wins.
	batch := map[string][]db.Point{"loss": {{Step: 2, Value: 0.5}, {Step: 0, Value: 1}, {Step: 1, Value: 0.7}, {Step: 1, Value: 0.8}}}
	times := map[int64]float64{0: 1_900_000_000.0004}
	n, err := f.svc.AppendSeries(f.ctx(), reviewer, r.ID, batch, times)
	if err != nil || n != 3 {
		t.Fatalf("first batch: %d new steps, %v", n, err)
	}
	read := func() SeriesData {
		t.Helper()
		got, err := f.svc.ReadSeries(f.ctx(), viewer, r.ID, SeriesQuery{Time: true})
		if err != nil || len(got.Series) != 1 {
			t.Fatalf("read: %+v %v", got, err)
		}
		return got.Series[0]
	}
	d := read()
	if want := []db.Point{{Step: 0, Value: 1}, {Step: 1, Value: 0.8}, {Step: 2, Value: 0.5}}; !slices.Equal(d.Points, want) {
		t.Fatalf("points %v, want %v", d.Points, want)
	}
	wantTimes := []float64{1_900_000_000, received, received}
	if !slices.Equal(d.Times, wantTimes) {
		t.Fatalf("times %v, want %v (the job's, to the millisecond, else the time received)", d.Times, wantTimes)
	}
	if v := f.get(r.ID).DataVersion; v != 2 {
		t.Fatalf("data version %d after the first points, want 2", v)
	}

	f.clock.advance(time.Hour)
	if n, err := f.svc.AppendSeries(f.ctx(), reviewer, r.ID, batch, nil); err != nil || n != 0 {
		t.Fatalf("the same batch again: %d new steps, %v", n, err)
	}
	if d := read(); !slices.Equal(d.Times, wantTimes) || d.Count != 3 {
		t.Fatalf("a retried batch moved the clock or the count: %v, %d", d.Times, d.Count)
	}
	if v := f.get(r.ID).DataVersion; v != 2 {
		t.Fatalf("data version %d after a retried batch, want 2", v)
	}
	if n, err := f.svc.AppendSeries(f.ctx(), reviewer, r.ID, map[string][]db.Point{"loss": {{Step: 2, Value: 0.4}}}, nil); err != nil || n != 0 {
		t.Fatalf("a changed value: %d new steps, %v", n, err)
	}
	if v := f.get(r.ID).DataVersion; v != 3 {
		t.Fatalf("data version %d after a changed value, want 3", v)
	}

	// Several series: the clock has each step once, for all of them.
	n, err = f.svc.AppendSeries(f.ctx(), reviewer, r.ID, map[string][]db.Point{"a": points(5, 3), "b": points(3, 9)}, map[int64]float64{9: 2_000_000_000})
	if err != nil || n != 4 {
		t.Fatalf("two series: %d new steps, %v", n, err)
	}
	clock, err := f.store.ChunkSummaries(f.ctx(), r.ID, db.ClockSeries, 0, MaxStep)
	if err != nil || len(clock) != 1 || clock[0].Count != 6 || clock[0].Last != 2_000_000_000 {
		t.Fatalf("clock %+v %v: steps 0, 1, 2, 3, 5, 9 once each", clock, err)
	}
	// The clock is not a series of the run.
	sums, err := f.svc.SeriesSummaries(f.ctx(), r)
	if err != nil || len(sums) != 3 || sums[0].Name != "a" || sums[1].Name != "b" || sums[2].Name != "loss" {
		t.Fatalf("series %+v %v", sums, err)
	}
}

func TestReadSeries(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p"})
	// 10,000 steps of a line with a spike, each at a time about 1e9 +
	// step (off the line by up to 1.5 s, so interpolated times show).
	long := make([]db.Point, 10_000)
	times := map[int64]float64{}
	jobTime := func(step int64) float64 { return 1e9 + float64(step) + 0.25*float64(step%7) }
	for i := range long {
		long[i] = db.Point{Step: int64(i), Value: float64(i)}
		times[int64(i)] = jobTime(int64(i))
	}
	long[4321].Value = 1e9
	if _, err := f.svc.AppendSeries(f.ctx(), reviewer, r.ID, map[string][]db.Point{"long": long, "short": points(10, 20, 30)}, times); err != nil {
		t.Fatal(err)
	}
	// A series written straight to the store, before the run had a clock.
	if _, err := f.store.WriteSeries(f.ctx(), r.ID, map[string][]db.Point{"old": points(20_000, 20_001)}, t0); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		q     SeriesQuery
		field string
	}{
		{SeriesQuery{MaxPoints: 3}, "max_points"},
		{SeriesQuery{MaxPoints: MaxMaxPoints + 1}, "max_points"},
		{SeriesQuery{From: ptr(int64(5)), To: ptr(int64(4))}, "from"},
		{SeriesQuery{Names: make([]string, MaxSeriesPerRead+1)}, "names"},
	} {
		_, err := f.svc.ReadSeries(f.ctx(), viewer, r.ID, c.q)
		wantInput(t, err, c.field, "invalid")
	}
	if _, err := f.svc.ReadSeries(f.ctx(), apiToken(db.RoleViewer, "q"), r.ID, SeriesQuery{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a token of another project: %v", err)
	}

	all, err := f.svc.ReadSeries(f.ctx(), viewer, r.ID, SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range all.Series {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"long", "old", "short"}) || all.Clock.Count != 10_000 || all.Clock.Min != 1e9 {
		t.Fatalf("every series: %v, clock %+v", names, all.Clock)
	}
	if s := all.Series[0]; len(s.Points) > DefaultMaxPoints || !s.Downsampled || s.WindowCount != 10_000 || s.Max != 1e9 ||
		!slices.Contains(s.Points, db.Point{Step: 4321, Value: 1e9}) || s.Points[0].Step != 0 || s.Points[len(s.Points)-1].Step != 9999 {
		t.Fatalf("the long series at %d points: %d points, downsampled %v, window %d; the spike and the ends must stay",
			DefaultMaxPoints, len(s.Points), s.Downsampled, s.WindowCount)
	}

	// A window, with every point when the chunks that hold it fit; an
	// unknown name reads as an empty series.
	got, err := f.svc.ReadSeries(f.ctx(), viewer, r.ID, SeriesQuery{Names: []string{"long", "nope", "old"}, From: ptr(int64(100)),
		To: ptr(int64(149)), MaxPoints: 500, Time: true})
	if err != nil {
		t.Fatal(err)
	}
	w, nope, old := got.Series[0], got.Series[1], got.Series[2]
	if len(w.Points) != 50 || w.Downsampled || w.WindowCount != 50 || w.Points[0].Step != 100 || w.Points[49].Step != 149 {
		t.Fatalf("window: %d points from %d, downsampled %v", len(w.Points), w.Points[0].Step, w.Downsampled)
	}
	for i, p := range w.Points {
		if w.Times[i] != jobTime(p.Step) {
			t.Fatalf("time of step %d: %v, want the job's exact time", p.Step, w.Times[i])
		}
	}
	if nope.Name != "nope" || nope.Count != 0 || nope.Points == nil || len(nope.Points) != 0 || !math.IsNaN(nope.Last) {
		t.Fatalf("an unknown series: %+v", nope)
	}
	if len(old.Points) != 0 || old.Count != 2 {
		t.Fatalf("a series outside the window: %+v", old)
	}

	// Times over a window whose clock has more points than asked for are
	// interpolated between the points the clock's chunk summaries name.
	got, err = f.svc.ReadSeries(f.ctx(), viewer, r.ID, SeriesQuery{Names: []string{"long", "old"}, MaxPoints: 100, Time: true,
		From: ptr(int64(0)), To: ptr(int64(30_000))})
	if err != nil {
		t.Fatal(err)
	}
	long2, old2 := got.Series[0], got.Series[1]
	if len(long2.Times) != len(long2.Points) || len(long2.Points) > 100 {
		t.Fatalf("%d times for %d points", len(long2.Times), len(long2.Points))
	}
	for i, p := range long2.Points {
		if math.Abs(long2.Times[i]-jobTime(p.Step)) > 1.5 {
			t.Fatalf("interpolated time of step %d: %v", p.Step, long2.Times[i])
		}
	}
	// Points the clock does not reach have no time.
	if len(old2.Times) != 2 || !math.IsNaN(old2.Times[0]) || !math.IsNaN(old2.Times[1]) {
		t.Fatalf("times of steps past the clock: %v, want NaN", old2.Times)
	}
}

func TestTimeAtInterpolatesBetweenTicks(t *testing.T) {
	ticks := []db.Point{{Step: 10, Value: 100}, {Step: 20, Value: 200}, {Step: 23, Value: 201}}
	for _, c := range []struct {
		step int64
		want float64
	}{
		{10, 100}, {15, 150}, {20, 200}, {21, 200.333}, {23, 201},
		{9, math.NaN()}, {24, math.NaN()},
	} {
		got := timeAt(ticks, c.step)
		if got != c.want && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("step %d: %v, want %v", c.step, got, c.want)
		}
	}
	if got := timeAt(nil, 5); !math.IsNaN(got) {
		t.Errorf("no ticks: %v", got)
	}
}
