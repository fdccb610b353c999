package runs

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"labreview/db"
)

func TestCreateFillsDefaultsAndAudits(t *testing.T) {
	f := newFixture(t)
	job := apiToken(db.RoleReviewer)
	r := f.create(job, NewRun{Project: "sweep"})
	switch {
	case r.Status != db.StatusQueued:
		t.Errorf("status %q, want queued", r.Status)
	case r.ExternalID != r.ID || r.Name != r.ID:
		t.Errorf("external id %q, name %q: want both the run's id %q", r.ExternalID, r.Name, r.ID)
	case r.CreatedBy != job.UserID || r.CreatedByToken != job.TokenID:
		t.Errorf("created by %q/%q, want the token's owner and the token", r.CreatedBy, r.CreatedByToken)
	case !r.CreatedAt.Equal(t0) || !r.UpdatedAt.Equal(t0):
		t.Errorf("created %v, updated %v, want the clock's %v", r.CreatedAt, r.UpdatedAt, t0)
	case r.Version != 1 || r.DataVersion != 1:
		t.Errorf("version %d, data version %d, want 1 and 1", r.Version, r.DataVersion)
	case r.Params == nil || r.Metrics == nil || r.Tags == nil:
		t.Errorf("empty params, metrics and tags must be empty, not nil: %#v %#v %#v", r.Params, r.Metrics, r.Tags)
	case r.StartedAt != nil || r.FinishedAt != nil || r.HeartbeatAt != nil:
		t.Errorf("a queued run has no start, finish or heartbeat: %s %s %s", fmtTime(r.StartedAt), fmtTime(r.FinishedAt), fmtTime(r.HeartbeatAt))
	}
	// A name defaults to the external id, not the id.
	if r := f.create(job, NewRun{Project: "sweep", ExternalID: "job-7"}); r.Name != "job-7" {
		t.Errorf("name %q, want the external id", r.Name)
	}

	ev := f.events(EventRunCreated)
	if len(ev) != 2 {
		t.Fatalf("%d run_created events, want 2", len(ev))
	}
	e := ev[1] // the first run's
	after, _ := e.Details["after"].(map[string]any)
	if e.ActorID != job.UserID || e.Details["token_id"] != job.TokenID || e.Details["run_id"] != r.ID ||
		e.Details["project"] != "sweep" || after["status"] != db.StatusQueued || !e.At.Equal(t0) || e.IP != job.IP {
		t.Fatalf("run_created event %+v", e)
	}
}

// TestCreateSetsTheTimesOfItsStatus: a run created running has started and
// shows a sign of life; one created finished has its finish time.
func TestCreateSetsTheTimesOfItsStatus(t *testing.T) {
	f := newFixture(t)
	running := f.create(reviewer, NewRun{Project: "p", Status: db.StatusRunning})
	if !sameTime(running.StartedAt, &t0) || !sameTime(running.HeartbeatAt, &t0) || running.FinishedAt != nil {
		t.Errorf("created running: started %s, heartbeat %s, finished %s", fmtTime(running.StartedAt), fmtTime(running.HeartbeatAt), fmtTime(running.FinishedAt))
	}
	done := f.create(reviewer, NewRun{Project: "p", Status: db.StatusSucceeded})
	if !sameTime(done.FinishedAt, &t0) || done.StartedAt != nil {
		t.Errorf("created succeeded: started %s, finished %s", fmtTime(done.StartedAt), fmtTime(done.FinishedAt))
	}
}

// TestCreateIsIdempotent: a retried create (same project, same external
// id) returns the stored run and changes nothing; the same external id in
// another project is another run.
func TestCreateIsIdempotent(t *testing.T) {
	f := newFixture(t)
	first := f.create(reviewer, NewRun{Project: "p", ExternalID: "slurm-1", Name: "first", Metrics: db.Metrics{"loss": 1}})
	f.clock.advance(time.Minute)
	again, created, err := f.svc.Create(f.ctx(), reviewer, NewRun{Project: "p", ExternalID: "slurm-1", Name: "second",
		Status: db.StatusFailed, Metrics: db.Metrics{"loss": 2}})
	if err != nil || created {
		t.Fatalf("retried create: created %v, %v", created, err)
	}
	if again.ID != first.ID || again.Name != "first" || again.Status != db.StatusQueued || again.Metrics["loss"] != 1 ||
		!again.CreatedAt.Equal(t0) || again.Version != 1 {
		t.Fatalf("a retried create changed the run: %+v", again)
	}
	if n := len(f.events(EventRunCreated)); n != 1 {
		t.Fatalf("%d run_created events after a retry, want 1", n)
	}
	other := f.create(reviewer, NewRun{Project: "q", ExternalID: "slurm-1"})
	if other.ID == first.ID {
		t.Fatal("the same external id in another project must be another run")
	}
}

// TestTokensStayInTheirProjects: a token limited to some projects creates
// runs there only, and cannot see, change, delete or restore runs of other
// projects, which look as if they did not exist.
func TestTokensStayInTheirProjects(t *testing.T) {
	f := newFixture(t)
	inside := f.create(admin, NewRun{Project: "mine"})
	outside := f.create(admin, NewRun{Project: "theirs"})
	job := apiToken(db.RoleReviewer, "mine", "also-mine")
	if _, _, err := f.svc.Create(f.ctx(), job, NewRun{Project: "theirs"}); !errors.Is(err, ErrProject) {
		t.Fatalf("create in another project: %v, want ErrProject", err)
	}
	f.create(job, NewRun{Project: "also-mine"})
	if _, err := f.svc.Get(f.ctx(), job, inside.ID); err != nil {
		t.Fatalf("get inside: %v", err)
	}
	notes := "x"
	for name, call := range map[string]func() error{
		"get":     func() error { _, err := f.svc.Get(f.ctx(), job, outside.ID); return err },
		"update":  func() error { _, err := f.svc.Update(f.ctx(), job, outside.ID, Patch{Notes: &notes}); return err },
		"delete":  func() error { _, err := f.svc.Delete(f.ctx(), job, outside.ID); return err },
		"restore": func() error { _, err := f.svc.Restore(f.ctx(), job, outside.ID); return err },
		"unknown": func() error { _, err := f.svc.Get(f.ctx(), job, db.NewID()); return err },
	} {
		if err := call(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of another project's run: %v, want ErrNotFound", name, err)
		}
	}
	if got := f.get(outside.ID); got.Version != 1 || got.DeletedAt != nil {
		t.Fatalf("a refused call changed the run: %+v", got)
	}
}

func TestNewRunIsChecked(t *testing.T) {
	deep := "1"
	for range MaxParamsDepth + 1 {
		deep = `{"a":` + deep + `}`
	}
	manyMetrics := db.Metrics{}
	for i := range MaxMetrics + 1 {
		manyMetrics[strings.Repeat("m", 1+i%50)+string(rune('a'+i/50))] = 1
	}
	manyTags := make([]string, MaxTags+1)
	for i := range manyTags {
		manyTags[i] = "tag" + string(rune('A'+i))
	}
	cases := []struct {
		name        string
		in          NewRun
		field, code string
	}{
		{"no project", NewRun{}, "project", "required"},
		{"project with a trailing space", NewRun{Project: "p "}, "project", "invalid"},
		{"project too long", NewRun{Project: strings.Repeat("é", MaxNameLength+1)}, "project", "invalid"},
		{"control character in the name", NewRun{Project: "p", Name: "a\tb"}, "name", "invalid"},
		{"external id not UTF-8", NewRun{Project: "p", ExternalID: "a\xffb"}, "external_id", "invalid"},
		{"host with a newline", NewRun{Project: "p", Host: "node\n1"}, "host", "invalid"},
		{"job id with a leading space", NewRun{Project: "p", JobID: " 42"}, "job_id", "invalid"},
		{"stale is shown, not set", NewRun{Project: "p", Status: StatusStale}, "status", "invalid"},
		{"unknown status", NewRun{Project: "p", Status: "done"}, "status", "invalid"},
		{"params not an object", NewRun{Project: "p", Params: json.RawMessage(`[1,2]`)}, "params", "invalid"},
		{"params not JSON", NewRun{Project: "p", Params: json.RawMessage(`{"a":`)}, "params", "invalid"},
		{"param name with a dot", NewRun{Project: "p", Params: json.RawMessage(`{"a.b":1}`)}, "params", "invalid"},
		{"nested param name with a $", NewRun{Project: "p", Params: json.RawMessage(`{"a":{"$gt":1}}`)}, "params", "invalid"},
		{"empty param name", NewRun{Project: "p", Params: json.RawMessage(`{"":1}`)}, "params", "invalid"},
		{"params too deep", NewRun{Project: "p", Params: json.RawMessage(deep)}, "params", "invalid"},
		{"params too large", NewRun{Project: "p", Params: json.RawMessage(`{"a":"` + strings.Repeat("x", MaxParamsBytes) + `"}`)}, "params", "too_large"},
		{"metric name with a dot", NewRun{Project: "p", Metrics: db.Metrics{"val.loss": 1}}, "metrics", "invalid"},
		{"metric name too long", NewRun{Project: "p", Metrics: db.Metrics{strings.Repeat("m", MaxKeyLength+1): 1}}, "metrics", "invalid"},
		{"too many metrics", NewRun{Project: "p", Metrics: manyMetrics}, "metrics", "invalid"},
		{"empty tag", NewRun{Project: "p", Tags: []string{""}}, "tags", "invalid"},
		{"tag with a trailing space", NewRun{Project: "p", Tags: []string{"a "}}, "tags", "invalid"},
		{"too many tags", NewRun{Project: "p", Tags: manyTags}, "tags", "invalid"},
		{"notes with NUL", NewRun{Project: "p", Notes: "a\x00b"}, "notes", "invalid"},
		{"notes too long", NewRun{Project: "p", Notes: strings.Repeat("n", MaxNotesBytes+1)}, "notes", "invalid"},
	}
	f := newFixture(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := f.svc.Create(f.ctx(), reviewer, c.in)
			wantInput(t, err, c.field, c.code)
		})
	}
	if runs, _, err := f.store.ListRuns(f.ctx(), db.RunFilter{}, 10); err != nil || len(runs) != 0 {
		t.Fatalf("refused creates stored %d runs (%v)", len(runs), err)
	}
	// At the limits is fine; repeated tags are dropped, first order kept.
	r := f.create(reviewer, NewRun{Project: strings.Repeat("é", MaxNameLength), Tags: []string{"b", "a", "b"},
		Params: json.RawMessage(`{"x":{"y":[1,"two",null]}}`), Notes: strings.Repeat("n", MaxNotesBytes)})
	if !reflect.DeepEqual(r.Tags, []string{"b", "a"}) {
		t.Fatalf("tags %v, want [b a]", r.Tags)
	}
}

// TestStatusChangesKeepTheTimesInStep walks one run through its statuses:
// it starts once, a heartbeat moves its sign of life, an end stamps the
// finish time (the job's, or the server's), repeating the end keeps it,
// and running or queueing again clears it.
func TestStatusChangesKeepTheTimesInStep(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p"})
	m := func(n int) *time.Time { t := t0.Add(time.Duration(n) * time.Minute); return &t }
	// The job's clock, in another zone and finer than milliseconds.
	jobEnd := t0.Add(7*time.Minute + 30*time.Second + 1234567*time.Nanosecond).In(time.FixedZone("CET", 3600))
	jobEndMS := jobEnd.UTC().Truncate(time.Millisecond)
	// Step i runs at minute i+1.
	steps := []struct {
		name                         string
		patch                        Patch
		status                       string
		started, heartbeat, finished *time.Time
	}{
		{"start", Patch{Status: ptr(db.StatusRunning)}, db.StatusRunning, m(1), m(1), nil},
		{"heartbeat", Patch{Heartbeat: true}, db.StatusRunning, m(1), m(2), nil},
		{"running again keeps the heartbeat", Patch{Status: ptr(db.StatusRunning)}, db.StatusRunning, m(1), m(2), nil},
		{"succeed", Patch{Status: ptr(db.StatusSucceeded)}, db.StatusSucceeded, m(1), m(2), m(4)},
		{"succeed again keeps the finish", Patch{Status: ptr(db.StatusSucceeded)}, db.StatusSucceeded, m(1), m(2), m(4)},
		{"fail: another end", Patch{Status: ptr(db.StatusFailed)}, db.StatusFailed, m(1), m(2), m(6)},
		{"run again: started once, finish cleared", Patch{Status: ptr(db.StatusRunning)}, db.StatusRunning, m(1), m(7), nil},
		{"the job's finish time, in ms and UTC", Patch{Status: ptr(db.StatusCancelled), FinishedAt: &jobEnd}, db.StatusCancelled, m(1), m(7), &jobEndMS},
		{"queued again", Patch{Status: ptr(db.StatusQueued)}, db.StatusQueued, m(1), m(7), nil},
	}
	for i, s := range steps {
		f.clock.t = t0.Add(time.Duration(i+1) * time.Minute)
		got := f.update(reviewer, r.ID, s.patch)
		if got.Status != s.status || !sameTime(got.StartedAt, s.started) || !sameTime(got.HeartbeatAt, s.heartbeat) ||
			!sameTime(got.FinishedAt, s.finished) {
			t.Fatalf("%s: status %s, started %s, heartbeat %s, finished %s; want %s, %s, %s, %s", s.name, got.Status,
				fmtTime(got.StartedAt), fmtTime(got.HeartbeatAt), fmtTime(got.FinishedAt), s.status,
				fmtTime(s.started), fmtTime(s.heartbeat), fmtTime(s.finished))
		}
		if got.FinishedAt != nil && got.FinishedAt.Location() != time.UTC {
			t.Fatalf("%s: finish time in %v, want UTC", s.name, got.FinishedAt.Location())
		}
		if want := int64(i + 2); got.Version != want || !got.UpdatedAt.Equal(f.clock.t) {
			t.Fatalf("%s: version %d, updated %v; want %d, %v", s.name, got.Version, got.UpdatedAt, want, f.clock.t)
		}
	}
}

// TestFinishTimeMustBePlausible: a job's finish time lies between the
// run's creation and now, with five minutes of clock skew either way.
func TestFinishTimeMustBePlausible(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p", Status: db.StatusRunning})
	f.clock.advance(time.Hour)
	now := f.clock.now()
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{now.Add(clockSkew + time.Millisecond), false},
		{now.Add(clockSkew), true},
		{t0.Add(-clockSkew), true},
		{t0.Add(-clockSkew - time.Millisecond), false},
	} {
		_, err := f.svc.Update(f.ctx(), reviewer, r.ID, Patch{Status: ptr(db.StatusSucceeded), FinishedAt: &c.at})
		if c.ok && err != nil {
			t.Errorf("finished at %v (now %v): %v", c.at, now, err)
		}
		if !c.ok {
			wantInput(t, err, "finished_at", "invalid")
		}
	}
	if got := f.get(r.ID); got.Version != 3 {
		t.Fatalf("version %d after two accepted and two refused changes, want 3", got.Version)
	}
}

func TestPatchMergesMetricsAndReplacesTheRest(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p", Params: json.RawMessage(`{"lr":0.1,"opt":{"name":"adam"}}`),
		Metrics: db.Metrics{"loss": 2, "acc": 0.5}, Tags: []string{"a"}, Notes: "old"})
	got := f.update(reviewer, r.ID, Patch{Metrics: db.Metrics{"loss": 1, "f1": 0.3}, Params: json.RawMessage(`{"lr":0.2}`),
		Tags: &[]string{"x", "y", "x"}, Notes: ptr("new")})
	if !reflect.DeepEqual(got.Metrics, db.Metrics{"loss": 1, "acc": 0.5, "f1": 0.3}) {
		t.Errorf("metrics %v: the names given are set, the others kept", got.Metrics)
	}
	if !reflect.DeepEqual(got.Params, map[string]any{"lr": 0.2}) {
		t.Errorf("params %v: new params replace the old ones", got.Params)
	}
	if !reflect.DeepEqual(got.Tags, []string{"x", "y"}) || got.Notes != "new" {
		t.Errorf("tags %v, notes %q", got.Tags, got.Notes)
	}
	// An empty patch changes nothing of the data.
	same := f.update(reviewer, r.ID, Patch{})
	if !reflect.DeepEqual(same.Metrics, got.Metrics) || !reflect.DeepEqual(same.Params, got.Params) ||
		!reflect.DeepEqual(same.Tags, got.Tags) || same.Notes != got.Notes || same.DataVersion != got.DataVersion {
		t.Errorf("an empty patch changed the run: %+v", same)
	}

	// The metrics limit counts the merged set.
	full := db.Metrics{}
	for i := range MaxMetrics - 3 {
		full["k"+strings.Repeat("x", i/26)+string(rune('a'+i%26))] = 1
	}
	f.update(reviewer, r.ID, Patch{Metrics: full}) // 3 + 997 = 1000
	_, err := f.svc.Update(f.ctx(), reviewer, r.ID, Patch{Metrics: db.Metrics{"one-more": 1}})
	wantInput(t, err, "metrics", "invalid")
	f.update(reviewer, r.ID, Patch{Metrics: db.Metrics{"loss": 0}}) // a known name is no new one

	for name, p := range map[string]Patch{
		"status":  {Status: ptr("finished")},
		"metrics": {Metrics: db.Metrics{"$bad": 1}},
		"params":  {Params: json.RawMessage(`"text"`)},
		"tags":    {Tags: &[]string{" x"}},
		"notes":   {Notes: ptr("\xff")},
	} {
		_, err := f.svc.Update(f.ctx(), reviewer, r.ID, p)
		wantInput(t, err, name, "invalid")
	}
}

// TestJudgedDataOutdatesAVerdict: a change of params or metrics moves the
// data version and makes a verdict outdated; status, notes, tags and
// heartbeats do not, nor does writing a metric's value again (NaN
// included).
func TestJudgedDataOutdatesAVerdict(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p", Params: json.RawMessage(`{"lr":0.1}`), Metrics: db.Metrics{"loss": 1, "nan": math.NaN()}})
	f.review(reviewer, r.ID, db.ReviewApproved, "")
	for name, p := range map[string]Patch{
		"status":         {Status: ptr(db.StatusRunning)},
		"heartbeat":      {Heartbeat: true},
		"notes":          {Notes: ptr("looked at it")},
		"tags":           {Tags: &[]string{"good"}},
		"same metric":    {Metrics: db.Metrics{"loss": 1}},
		"NaN again":      {Metrics: db.Metrics{"nan": math.NaN()}},
		"same params":    {Params: json.RawMessage(`{ "lr" : 0.1 }`)},
		"finished early": {Status: ptr(db.StatusSucceeded)},
	} {
		got := f.update(reviewer, r.ID, p)
		if got.DataVersion != 1 || got.Review.Outdated {
			t.Fatalf("%s: data version %d, outdated %v; want 1 and false", name, got.DataVersion, got.Review.Outdated)
		}
	}
	got := f.update(reviewer, r.ID, Patch{Metrics: db.Metrics{"loss": 0.9}})
	if got.DataVersion != 2 || !got.Review.Outdated || got.Review.State != db.ReviewApproved {
		t.Fatalf("a new metric value: data version %d, review %+v", got.DataVersion, got.Review)
	}
	got = f.update(reviewer, r.ID, Patch{Params: json.RawMessage(`{"lr":0.2}`)})
	if got.DataVersion != 3 || !got.Review.Outdated {
		t.Fatalf("new params: data version %d, review %+v", got.DataVersion, got.Review)
	}
	if p, err := f.store.ProjectByName(f.ctx(), "p"); err != nil || p.Counts[db.CountOutdated] != 1 {
		t.Fatalf("project counts %+v (%v): want one outdated verdict", p, err)
	}

	// A run without a verdict moves its data version but has nothing to
	// outdate.
	plain := f.create(reviewer, NewRun{Project: "p", Metrics: db.Metrics{"loss": 1}})
	got = f.update(reviewer, plain.ID, Patch{Metrics: db.Metrics{"loss": 2}})
	if got.DataVersion != 2 || got.Review.Outdated {
		t.Fatalf("unreviewed run: data version %d, outdated %v", got.DataVersion, got.Review.Outdated)
	}
	// A verdict taken back to unreviewed is not outdated by new data.
	f.review(reviewer, plain.ID, db.ReviewUnreviewed, "")
	if got = f.update(reviewer, plain.ID, Patch{Metrics: db.Metrics{"loss": 3}}); got.Review.Outdated {
		t.Fatal("an unreviewed verdict became outdated")
	}
}

// TestChangesAreAudited: a change is audited field by field with before
// and after values; a heartbeat alone is not audited.
func TestChangesAreAudited(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p", Params: json.RawMessage(`{"lr":0.1,"keep":1}`), Metrics: db.Metrics{"loss": 1},
		Status: db.StatusRunning})
	f.update(reviewer, r.ID, Patch{Heartbeat: true})
	if ev := f.events(EventRunChanged); len(ev) != 0 {
		t.Fatalf("a heartbeat was audited: %+v", ev)
	}
	f.clock.advance(time.Minute)
	f.update(reviewer, r.ID, Patch{Status: ptr(db.StatusFailed), Notes: ptr("oom"), Tags: &[]string{"t"},
		Metrics: db.Metrics{"loss": math.Inf(1), "new": 2}, Params: json.RawMessage(`{"lr":0.2,"keep":1}`)})
	ev := f.events(EventRunChanged)
	if len(ev) != 1 {
		t.Fatalf("%d run_changed events, want 1", len(ev))
	}
	want := map[string]any{
		"before": map[string]any{"status": "running", "notes": "", "tags": []any{},
			"metrics": map[string]any{"loss": 1.0, "new": nil}, "params": map[string]any{"lr": 0.1}, "finished_at": nil},
		"after": map[string]any{"status": "failed", "notes": "oom", "tags": []any{"t"},
			"metrics": map[string]any{"loss": "Infinity", "new": 2.0}, "params": map[string]any{"lr": 0.2},
			"finished_at": t0.Add(time.Minute).Format(time.RFC3339Nano)},
	}
	got := map[string]any{"before": ev[0].Details["before"], "after": ev[0].Details["after"]}
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		t.Fatalf("audited change\n got %s\nwant %s", gb, wb)
	}
}

func TestDeleteAndRestore(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p"})
	f.clock.advance(time.Minute)
	del, err := f.svc.Delete(f.ctx(), admin, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !sameTime(del.DeletedAt, ptr(f.clock.now())) {
		t.Fatalf("deleted at %s, want the clock's time", fmtTime(del.DeletedAt))
	}
	if _, err := f.svc.Delete(f.ctx(), admin, r.ID); !errors.Is(err, ErrDeleted) {
		t.Fatalf("second delete: %v, want ErrDeleted", err)
	}
	if _, err := f.svc.Update(f.ctx(), reviewer, r.ID, Patch{Notes: ptr("x")}); !errors.Is(err, ErrDeleted) {
		t.Fatalf("change of a deleted run: %v, want ErrDeleted", err)
	}
	// A deleted run still reads (it carries DeletedAt).
	if got, err := f.svc.Get(f.ctx(), viewer, r.ID); err != nil || got.DeletedAt == nil {
		t.Fatalf("get a deleted run: %v %+v", err, got)
	}
	back, err := f.svc.Restore(f.ctx(), admin, r.ID)
	if err != nil || back.DeletedAt != nil {
		t.Fatalf("restore: %v %+v", err, back)
	}
	if _, err := f.svc.Restore(f.ctx(), admin, r.ID); !errors.Is(err, ErrNotDeleted) {
		t.Fatalf("restore of a live run: %v, want ErrNotDeleted", err)
	}
	if _, err := f.svc.Delete(f.ctx(), admin, db.NewID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of an unknown run: %v", err)
	}
	for _, event := range []string{EventRunDeleted, EventRunRestored} {
		if ev := f.events(event); len(ev) != 1 || ev[0].ActorID != admin.UserID || ev[0].Details["run_id"] != r.ID {
			t.Fatalf("%s events: %+v", event, ev)
		}
	}
}

// TestStaleIsShownForQuietRunningRuns: a running run without a sign of
// life (heartbeat, else start, else creation) for StaleAfter shows as
// stale; other statuses never do.
func TestStaleIsShownForQuietRunningRuns(t *testing.T) {
	now := t0.Add(time.Hour)
	old, recent := now.Add(-20*time.Minute), now.Add(-time.Minute)
	edge := now.Add(-10 * time.Minute) // exactly StaleAfter ago: not yet stale
	cases := []struct {
		name string
		run  db.Run
		want string
	}{
		{"old heartbeat", db.Run{Status: db.StatusRunning, CreatedAt: old, StartedAt: &old, HeartbeatAt: &old}, StatusStale},
		{"recent heartbeat after an old start", db.Run{Status: db.StatusRunning, CreatedAt: old, StartedAt: &old, HeartbeatAt: &recent}, db.StatusRunning},
		{"old heartbeat after a recent start", db.Run{Status: db.StatusRunning, CreatedAt: old, StartedAt: &recent, HeartbeatAt: &old}, StatusStale},
		{"no heartbeat, recent start", db.Run{Status: db.StatusRunning, CreatedAt: old, StartedAt: &recent}, db.StatusRunning},
		{"no heartbeat, old start", db.Run{Status: db.StatusRunning, CreatedAt: old, StartedAt: &old}, StatusStale},
		{"only a creation time, recent", db.Run{Status: db.StatusRunning, CreatedAt: recent}, db.StatusRunning},
		{"only a creation time, old", db.Run{Status: db.StatusRunning, CreatedAt: old}, StatusStale},
		{"exactly at the limit", db.Run{Status: db.StatusRunning, CreatedAt: edge}, db.StatusRunning},
		{"a millisecond past it", db.Run{Status: db.StatusRunning, CreatedAt: edge.Add(-time.Millisecond)}, StatusStale},
		{"queued long ago", db.Run{Status: db.StatusQueued, CreatedAt: old}, db.StatusQueued},
		{"failed long ago", db.Run{Status: db.StatusFailed, CreatedAt: old, HeartbeatAt: &old}, db.StatusFailed},
	}
	s := New(nil, Config{StaleAfter: 10 * time.Minute}, nil, func() time.Time { return now })
	for _, c := range cases {
		if got := s.ShownStatus(&c.run); got != c.want {
			t.Errorf("%s: shown %q, want %q", c.name, got, c.want)
		}
	}
	// The default: five minutes.
	d := New(nil, Config{}, nil, func() time.Time { return now })
	quiet := now.Add(-DefaultStaleAfter - time.Second)
	if got := d.ShownStatus(&db.Run{Status: db.StatusRunning, CreatedAt: quiet}); got != StatusStale || DefaultStaleAfter != 5*time.Minute {
		t.Fatalf("default stale_after: shown %q", got)
	}
}

func TestTruncateKeepsWholeCharacters(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"aé", 2, "a"}, // é is two bytes: cutting inside it drops it
		{"日本", 4, "日"},
		{"日本", 2, ""},
	} {
		if got := truncate(c.in, c.n); got != c.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
