package runs

import (
	"math"
	"math/rand/v2"
	"testing"

	"labreview/db"
)

// fullM4 is the reference: M4 over every point, no summaries.
func fullM4(points []db.Point, lo, hi int64, buckets int) []db.Point {
	m := newM4(lo, hi, buckets)
	for _, p := range points {
		if p.Step >= lo && p.Step <= hi {
			m.add(p)
		}
	}
	return m.points()
}

func TestM4KeepsSpikesAndEnds(t *testing.T) {
	var points []db.Point
	for s := int64(0); s < 100_000; s++ {
		points = append(points, db.Point{Step: s, Value: math.Sin(float64(s) / 1000)})
	}
	points[31_337].Value = 1e6  // a spike up
	points[77_777].Value = -1e6 // and down
	points[50_000].Value = math.NaN()
	got := fullM4(points, 0, 99_999, 500)
	if len(got) > 2000 {
		t.Fatalf("%d points for 500 buckets", len(got))
	}
	has := func(step int64, v float64) bool {
		for _, p := range got {
			if p.Step == step && (p.Value == v || math.IsNaN(v) && math.IsNaN(p.Value)) {
				return true
			}
		}
		return false
	}
	for _, want := range []db.Point{{Step: 0, Value: points[0].Value}, {Step: 99_999, Value: points[99_999].Value},
		{Step: 31_337, Value: 1e6}, {Step: 77_777, Value: -1e6}} {
		if !has(want.Step, want.Value) {
			t.Errorf("M4 lost %+v", want)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].Step <= got[i-1].Step {
			t.Fatal("points are not in step order")
		}
	}
}

func TestM4BucketsCoverHugeSpans(t *testing.T) {
	m := newM4(0, MaxStep, 7)
	if m.bucket(0) != 0 || m.bucket(MaxStep) != 6 {
		t.Fatalf("buckets of the ends: %d %d", m.bucket(0), m.bucket(MaxStep))
	}
	m = newM4(5, 5, 1000)
	if m.bucket(5) != 0 {
		t.Fatal("a one-step window")
	}
}

// TestSummaryShortcutMatchesFullM4: answering whole chunks from their
// summaries picks the same points as M4 over every point.
func TestSummaryShortcutMatchesFullM4(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var points []db.Point
	step := int64(0)
	for range 20_000 {
		step += 1 + int64(r.IntN(3))
		v := r.NormFloat64()
		if r.IntN(500) == 0 {
			v = math.NaN()
		}
		points = append(points, db.Point{Step: step, Value: v})
	}
	chunks, _, _ := db.MergeChunks(nil, points)
	for _, buckets := range []int{1, 7, 50, 500} {
		lo, hi := points[100].Step, points[19_000].Step
		m := newM4(lo, hi, buckets)
		for _, c := range chunks {
			if c.FirstStep >= lo && c.LastStep <= hi && m.bucket(c.FirstStep) == m.bucket(c.LastStep) {
				m.addSummary(c.ChunkSummary)
				continue
			}
			for _, p := range c.Points {
				if p.Step >= lo && p.Step <= hi {
					m.add(p)
				}
			}
		}
		got, want := m.points(), fullM4(points, lo, hi, buckets)
		if len(got) != len(want) {
			t.Fatalf("%d buckets: %d points, full M4 %d", buckets, len(got), len(want))
		}
		for i := range got {
			if got[i].Step != want[i].Step {
				t.Fatalf("%d buckets: point %d at step %d, full M4 at %d", buckets, i, got[i].Step, want[i].Step)
			}
		}
	}
}
