package runs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

func TestVerdictsAreChecked(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p"})
	cases := []struct {
		v           Verdict
		field, code string
	}{
		{Verdict{State: "fine"}, "state", "invalid"},
		{Verdict{State: db.ReviewOutdated}, "state", "invalid"},
		{Verdict{State: ""}, "state", "invalid"},
		{Verdict{State: db.ReviewRejected}, "comment", "required"},
		{Verdict{State: db.ReviewNeedsRerun, Comment: " \n\t"}, "comment", "required"},
		{Verdict{State: db.ReviewApproved, Comment: strings.Repeat("x", MaxReviewComment+1)}, "comment", "invalid"},
		{Verdict{State: db.ReviewRejected, Comment: "bad\xff"}, "comment", "invalid"},
		{Verdict{State: db.ReviewRejected, Comment: "a\x00b"}, "comment", "invalid"},
	}
	for _, c := range cases {
		_, err := f.svc.Review(f.ctx(), reviewer, r.ID, c.v)
		wantInput(t, err, c.field, c.code)
		_, err = f.svc.ReviewMany(f.ctx(), reviewer, []string{r.ID}, c.v)
		wantInput(t, err, c.field, c.code)
	}
	if h, _ := f.svc.History(f.ctx(), viewer, r.ID); len(h) != 0 {
		t.Fatalf("refused verdicts were stored: %+v", h)
	}
	// The comment is trimmed; approved and unreviewed need none.
	got := f.review(reviewer, r.ID, db.ReviewRejected, "  diverged at step 40\n")
	if got.Review.Comment != "diverged at step 40" {
		t.Fatalf("comment %q, want it trimmed", got.Review.Comment)
	}
	f.review(reviewer, r.ID, db.ReviewApproved, "")
	f.review(reviewer, r.ID, db.ReviewUnreviewed, "")
	if _, err := f.svc.Review(f.ctx(), reviewer, r.ID, Verdict{State: db.ReviewApproved, Comment: strings.Repeat("x", MaxReviewComment)}); err != nil {
		t.Fatalf("a comment of the largest size: %v", err)
	}
}

// TestReviewKeepsHistoryAndWhatWasJudged: each verdict becomes the run's
// and is added to its history with the data it judged.
func TestReviewKeepsHistoryAndWhatWasJudged(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p", Params: json.RawMessage(`{"lr":0.1}`), Metrics: db.Metrics{"loss": math.NaN()}})
	if _, err := f.svc.AppendSeries(f.ctx(), reviewer, r.ID, map[string][]db.Point{"val": {{Step: 1, Value: 1}, {Step: 9, Value: 2}}}, nil); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(time.Minute)
	got := f.review(reviewer, r.ID, db.ReviewRejected, "loss is NaN")
	rv := got.Review
	if rv.State != db.ReviewRejected || rv.By != reviewer.UserID || !sameTime(rv.At, ptr(f.clock.now())) ||
		rv.Comment != "loss is NaN" || rv.DataVersion != 2 || rv.Outdated || rv.ID == "" {
		t.Fatalf("verdict %+v", rv)
	}
	f.clock.advance(time.Minute)
	f.review(admin, r.ID, db.ReviewApproved, "")
	hist, err := f.svc.History(f.ctx(), viewer, r.ID)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history %+v %v", hist, err)
	}
	if hist[0].State != db.ReviewApproved || hist[0].By != admin.UserID || hist[1].ID != rv.ID || hist[0].BatchID == hist[1].BatchID {
		t.Fatalf("history is not newest first, or verdicts share a batch: %+v", hist)
	}
	var snap map[string]any
	if err := json.Unmarshal(hist[1].Snapshot, &snap); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"params": map[string]any{"lr": 0.1}, "metrics": map[string]any{"loss": "NaN"},
		"series": map[string]any{"val": map[string]any{"count": 2.0, "last_step": 9.0}}}
	if !reflect.DeepEqual(snap, want) {
		t.Fatalf("snapshot %s: want the params, metrics and series summaries (not the clock)", hist[1].Snapshot)
	}
	ev := f.events(EventRunReviewed)
	if len(ev) != 2 || ev[1].Details["review_id"] != rv.ID || ev[1].Details["before"].(map[string]any)["state"] != db.ReviewUnreviewed ||
		ev[0].Details["before"].(map[string]any)["comment"] != "loss is NaN" {
		t.Fatalf("run_reviewed events %+v", ev)
	}

	if _, err := f.svc.Delete(f.ctx(), admin, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Review(f.ctx(), reviewer, r.ID, Verdict{State: db.ReviewApproved}); !errors.Is(err, ErrDeleted) {
		t.Fatalf("review of a deleted run: %v", err)
	}
	if _, err := f.svc.Review(f.ctx(), reviewer, db.NewID(), Verdict{State: db.ReviewApproved}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("review of an unknown run: %v", err)
	}
}

// TestChangesSinceTheVerdict: an outdated verdict shows what moved since:
// params by dotted path, metrics by name, series by count and last step.
func TestChangesSinceTheVerdict(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p", Params: json.RawMessage(`{"opt":{"lr":0.1,"name":"adam"},"seed":1}`),
		Metrics: db.Metrics{"loss": 1, "acc": 0.5}})
	series := func(batch map[string][]db.Point) {
		t.Helper()
		if _, err := f.svc.AppendSeries(f.ctx(), reviewer, r.ID, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	series(map[string][]db.Point{"val": {{Step: 0, Value: 3}, {Step: 1, Value: 2}}, "same": {{Step: 0, Value: 1}}})
	judged := f.review(reviewer, r.ID, db.ReviewApproved, "")
	if ch, err := f.svc.ChangesSince(f.ctx(), judged, nil); err != nil || ch != nil {
		t.Fatalf("changes of a current verdict: %+v %v", ch, err)
	}
	f.update(reviewer, r.ID, Patch{Params: json.RawMessage(`{"opt":{"lr":0.2,"name":"adam"},"new":true}`), Metrics: db.Metrics{"loss": 0.5, "f1": 0.1}})
	series(map[string][]db.Point{"val": {{Step: 5, Value: 1}}, "grad": {{Step: 0, Value: 1}, {Step: 2, Value: 1}}})
	now := f.get(r.ID)
	if !now.Review.Outdated {
		t.Fatal("the verdict is not outdated after new data")
	}
	sums, err := f.svc.SeriesSummaries(f.ctx(), now)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := f.svc.ChangesSince(f.ctx(), now, sums)
	if err != nil || ch == nil {
		t.Fatalf("changes: %+v %v", ch, err)
	}
	got, _ := json.Marshal(ch)
	want := `{"Params":[{"Name":"new","Before":null,"After":true},{"Name":"opt.lr","Before":0.1,"After":0.2},{"Name":"seed","Before":1,"After":null}],` +
		`"Metrics":[{"Name":"f1","Before":null,"After":0.1},{"Name":"loss","Before":1,"After":0.5}],` +
		`"Series":[{"Name":"grad","CountBefore":0,"CountAfter":2,"LastStepBefore":0,"LastStepAfter":2},` +
		`{"Name":"val","CountBefore":2,"CountAfter":3,"LastStepBefore":1,"LastStepAfter":5}]}`
	if string(got) != want {
		t.Fatalf("changes\n got %s\nwant %s", got, want)
	}
	// A new verdict is current again.
	again := f.review(reviewer, r.ID, db.ReviewApproved, "")
	if again.Review.Outdated || again.Review.DataVersion != again.DataVersion {
		t.Fatalf("a new verdict: %+v (data version %d)", again.Review, again.DataVersion)
	}
}

func TestDiffParams(t *testing.T) {
	cases := []struct {
		name          string
		before, after string
		want          string
	}{
		{"equal", `{"a":1,"b":{"c":[1,2]}}`, `{"b":{"c":[1,2]},"a":1}`, `[]`},
		{"nested leaf", `{"o":{"lr":0.1,"n":"x"}}`, `{"o":{"lr":0.2,"n":"x"}}`, `[{"Name":"o.lr","Before":0.1,"After":0.2}]`},
		{"arrays compare whole", `{"l":[1,2]}`, `{"l":[1,3]}`, `[{"Name":"l","Before":[1,2],"After":[1,3]}]`},
		{"added and removed, by name", `{"z":1}`, `{"a":null}`, `[{"Name":"a","Before":null,"After":null},{"Name":"z","Before":1,"After":null}]`},
		{"an empty object is a leaf", `{"o":{}}`, `{"o":{"k":1}}`, `[{"Name":"o","Before":{},"After":null},{"Name":"o.k","Before":null,"After":1}]`},
		{"type change", `{"a":"1"}`, `{"a":1}`, `[{"Name":"a","Before":"1","After":1}]`},
	}
	for _, c := range cases {
		var b, a map[string]any
		if err := json.Unmarshal([]byte(c.before), &b); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(c.after), &a); err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(DiffParams(b, a))
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

// TestBulkReview: one verdict for several runs as one batch; runs that
// are unknown or deleted are skipped with the reason, repeats reviewed
// once.
func TestBulkReview(t *testing.T) {
	f := newFixture(t)
	a := f.create(reviewer, NewRun{Project: "p"})
	b := f.create(reviewer, NewRun{Project: "q"})
	gone := f.create(reviewer, NewRun{Project: "p"})
	if _, err := f.svc.Delete(f.ctx(), admin, gone.ID); err != nil {
		t.Fatal(err)
	}
	unknown := db.NewID()
	res, err := f.svc.ReviewMany(f.ctx(), reviewer, []string{a.ID, a.ID, unknown, gone.ID, "not-an-id", b.ID},
		Verdict{State: db.ReviewNeedsRerun, Comment: "rerun with seed 2"})
	if err != nil {
		t.Fatal(err)
	}
	wantSkips := []BulkSkip{{unknown, "not_found"}, {gone.ID, "deleted"}, {"not-an-id", "not_found"}}
	if !reflect.DeepEqual(res.Reviewed, []string{a.ID, b.ID}) || !reflect.DeepEqual(res.Skipped, wantSkips) || !db.ValidID(res.BatchID) {
		t.Fatalf("bulk result %+v", res)
	}
	for _, r := range []*db.Run{a, b} {
		hist, _ := f.svc.History(f.ctx(), viewer, r.ID)
		if len(hist) != 1 || hist[0].BatchID != res.BatchID || hist[0].State != db.ReviewNeedsRerun || hist[0].Comment != "rerun with seed 2" {
			t.Fatalf("history of %s: %+v", r.ID, hist)
		}
	}
	if ev := f.events(EventRunReviewed); len(ev) != 2 || ev[0].Details["batch_id"] != res.BatchID {
		t.Fatalf("run_reviewed events %+v", ev)
	}
	for _, ids := range [][]string{nil, make([]string, MaxBulkReview+1)} {
		_, err := f.svc.ReviewMany(f.ctx(), reviewer, ids, Verdict{State: db.ReviewApproved})
		wantInput(t, err, "ids", "invalid")
	}
}

// TestUndoReview: undoing a batch gives each run whose verdict still comes
// from it the verdict it had before (with the data version that one
// judged), as a new batch; runs reviewed since or deleted are skipped.
// Only the batch's author or a moderator may undo it.
func TestUndoReview(t *testing.T) {
	f := newFixture(t)
	other := person(db.RoleReviewer)
	a := f.create(reviewer, NewRun{Project: "p", Metrics: db.Metrics{"loss": 1}})
	b := f.create(reviewer, NewRun{Project: "p"})
	c := f.create(reviewer, NewRun{Project: "p"})
	d := f.create(reviewer, NewRun{Project: "p"})
	f.review(other, a.ID, db.ReviewRejected, "too high") // judged data version 1
	f.update(reviewer, a.ID, Patch{Metrics: db.Metrics{"loss": 0.5}})
	batch, err := f.svc.ReviewMany(f.ctx(), reviewer, []string{a.ID, b.ID, c.ID, d.ID}, Verdict{State: db.ReviewApproved})
	if err != nil || len(batch.Reviewed) != 4 {
		t.Fatalf("batch %+v %v", batch, err)
	}
	f.review(other, c.ID, db.ReviewNeedsRerun, "flaky") // reviewed since
	if _, err := f.svc.Delete(f.ctx(), admin, d.ID); err != nil {
		t.Fatal(err)
	}

	for name, actor := range map[string]Actor{"another reviewer": other, "a viewer": viewer} {
		if _, err := f.svc.UndoReview(f.ctx(), actor, batch.BatchID); !errors.Is(err, ErrUndo) {
			t.Fatalf("undo by %s: %v, want ErrUndo", name, err)
		}
	}
	if _, err := f.svc.UndoReview(f.ctx(), admin, db.NewID()); !errors.Is(err, ErrUndo) {
		t.Fatalf("undo of an unknown batch: %v", err)
	}

	f.clock.advance(time.Minute)
	undo, err := f.svc.UndoReview(f.ctx(), reviewer, batch.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	if undo.BatchID == batch.BatchID || !reflect.DeepEqual(undo.Reviewed, []string{a.ID, b.ID}) ||
		!reflect.DeepEqual(undo.Skipped, []BulkSkip{{c.ID, "reviewed_since"}, {d.ID, "deleted"}}) {
		t.Fatalf("undo %+v", undo)
	}
	ra, rb := f.get(a.ID).Review, f.get(b.ID).Review
	// a's earlier verdict comes back as it was: on data version 1, so
	// outdated by the change since.
	if ra.State != db.ReviewRejected || ra.Comment != "too high" || ra.DataVersion != 1 || !ra.Outdated || ra.By != reviewer.UserID {
		t.Fatalf("a after the undo: %+v", ra)
	}
	if rb.State != db.ReviewUnreviewed || rb.Outdated {
		t.Fatalf("b after the undo: %+v", rb)
	}
	hist, _ := f.svc.History(f.ctx(), viewer, a.ID)
	if len(hist) != 3 || hist[0].UndoOf != batch.BatchID || hist[0].BatchID != undo.BatchID || !json.Valid(hist[0].Snapshot) ||
		string(hist[0].Snapshot) != string(hist[2].Snapshot) {
		t.Fatalf("a's history: the undo adds an entry restoring the first one's snapshot: %+v", hist)
	}
	if ev := f.events(EventRunReviewed); ev[0].Details["undo_of"] != batch.BatchID {
		t.Fatalf("the undo's audit event %+v", ev[0])
	}

	// Undoing again finds nothing of the batch current.
	again, err := f.svc.UndoReview(f.ctx(), reviewer, batch.BatchID)
	if err != nil || len(again.Reviewed) != 0 || len(again.Skipped) != 4 {
		t.Fatalf("second undo %+v %v", again, err)
	}
	// The undo is a batch too: a moderator may undo it, which brings the
	// approvals back.
	redo, err := f.svc.UndoReview(f.ctx(), admin, undo.BatchID)
	if err != nil || len(redo.Reviewed) != 2 {
		t.Fatalf("undo of the undo %+v %v", redo, err)
	}
	if ra := f.get(a.ID).Review; ra.State != db.ReviewApproved || ra.Outdated {
		t.Fatalf("a after undoing the undo: %+v", ra)
	}
}

// movingStore changes a run's metrics just before the first moves reviews
// are written, as a job writing at the same moment would.
type movingStore struct {
	db.Store
	moves int
}

func (m *movingStore) ReviewRun(ctx context.Context, e *db.ReviewEntry, now time.Time, check func(*db.Run) error) (*db.Run, *db.Run, error) {
	if m.moves > 0 {
		m.moves--
		if _, _, err := m.UpdateRun(ctx, e.RunID, now, func(r *db.Run) error {
			r.Metrics["loss"]++
			r.DataVersion++
			return nil
		}); err != nil {
			return nil, nil, err
		}
	}
	return m.Store.ReviewRun(ctx, e, now, check)
}

// TestAVerdictJudgesTheDataItSaw: when the data moves between reading the
// run and writing the verdict, the verdict is taken again on the new data
// (not recorded as current on data nobody saw); after three tries it
// gives up with a conflict.
func TestAVerdictJudgesTheDataItSaw(t *testing.T) {
	store := &movingStore{Store: dbtest.SQLite(t)}
	c := &clock{t: t0}
	svc := New(store, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), c.now)
	ctx := context.Background()
	r, _, err := svc.Create(ctx, reviewer, NewRun{Project: "p", Metrics: db.Metrics{"loss": 1}})
	if err != nil {
		t.Fatal(err)
	}
	store.moves = 2
	got, err := svc.Review(ctx, reviewer, r.ID, Verdict{State: db.ReviewApproved})
	if err != nil {
		t.Fatal(err)
	}
	if got.Review.DataVersion != 3 || got.Review.Outdated || got.Metrics["loss"] != 3 {
		t.Fatalf("verdict %+v on data version %d", got.Review, got.DataVersion)
	}
	var snap snapshot
	hist, _ := store.ReviewHistory(ctx, r.ID)
	if len(hist) != 1 || json.Unmarshal(hist[0].Snapshot, &snap) != nil || snap.Metrics["loss"] != 3 {
		t.Fatalf("history %+v: one entry whose snapshot has the data judged", hist)
	}
	store.moves = 3
	if _, err := svc.Review(ctx, reviewer, r.ID, Verdict{State: db.ReviewRejected, Comment: "x"}); !errors.Is(err, db.ErrConflict) {
		t.Fatalf("data moving at every try: %v, want ErrConflict", err)
	}
	// A bulk review skips such a run and says why.
	store.moves = 3
	res, err := svc.ReviewMany(ctx, reviewer, []string{r.ID}, Verdict{State: db.ReviewApproved})
	if err != nil || len(res.Reviewed) != 0 || !reflect.DeepEqual(res.Skipped, []BulkSkip{{r.ID, "changing"}}) {
		t.Fatalf("bulk review of a run whose data keeps moving: %+v %v", res, err)
	}
}
