package sqlite

import (
	"context"
	"database/sql"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"labreview/db"
)

// TestMoveProject: the counters are what adding the deltas gives (zeros
// removed), whatever the deltas, the last activity only moves forward and
// the baseline stays. (Tried and measured: moving them in SQL with
// json_set and json_remove made raw creates slower, not faster: each
// json_extract parses the counters again.)
func TestMoveProject(t *testing.T) {
	s := open(t, t.TempDir(), true)
	ctx := context.Background()
	keys := []string{db.CountLive, db.CountDeleted, db.CountOutdated, db.CountStatus("running"), db.CountStatus("failed"),
		db.CountReview("approved"), db.CountReview(db.ReviewUnreviewed)}
	want := map[string]int64{}
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.UnixMilli(1_800_000_000_000).UTC()
	last := t0
	for i := range 300 {
		delta := map[string]int64{}
		for range rng.IntN(6) {
			delta[keys[rng.IntN(len(keys))]] += int64(rng.IntN(5)) - 2
		}
		at := t0.Add(time.Duration(rng.IntN(1000)-500) * time.Second)
		if at.After(last) || i == 0 {
			last = at
		}
		for k, v := range delta {
			want[k] += v
			if want[k] == 0 {
				delete(want, k)
			}
		}
		err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.moveProject(ctx, tx, "p", delta, at) })
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.ProjectByName(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(p.Counts, want) || !p.LastActivity.Equal(last) {
			t.Fatalf("step %d (delta %v): counts %v, want %v; last activity %v, want %v", i, delta, p.Counts, want, p.LastActivity, last)
		}
	}
	if _, err := s.w.Exec("UPDATE projects SET baseline_run = 'b' WHERE name = 'p'"); err != nil {
		t.Fatal(err)
	}
	if err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.moveProject(ctx, tx, "p", map[string]int64{db.CountLive: 1}, t0)
	}); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.ProjectByName(ctx, "p"); p.BaselineRun != "b" {
		t.Fatalf("the baseline was lost: %+v", p)
	}
}
