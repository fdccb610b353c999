package db_test

// The round-trip fixture: one value of every stored type, with every field
// set to a distinctive non-zero value, written through the store and read
// back field by field on both adapters, then carried through export and
// import into a fresh store of each adapter and read back again. A column
// an adapter forgets to write (or read, or export) comes back zero or
// with another field's value and fails here, naming the field.
//
// TestRoundTripFixtureSetsEveryField keeps the fixture complete: a field
// added to a stored type without a fixture value, or a record kind added
// to the export without a fixture record, fails it.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// roundTrip holds the values written and, for what the store derives
// (project counters, series summaries, login counters), the values it
// must read back.
type roundTrip struct {
	Secret  db.Secret
	Key     db.SigningKey
	User    db.User
	View    db.SavedView
	Setup   db.SetupClaim
	Session db.Session
	Token   db.APIToken
	// Run is created as it is; Changed replaces every field of it but
	// the id and the project through UpdateRun (Version and UpdatedAt as
	// the store sets them).
	Run     db.Run
	Changed db.Run
	Review  db.ReviewEntry
	Comment db.Comment
	Audit   db.AuditEvent
	// Points are one series of the run; Chunk and Summary what the store
	// must make of them.
	SeriesName string
	Points     []db.Point
	Chunk      db.Chunk
	Summary    db.SeriesSummary
	// Project is the run's project as the store must keep it.
	Project db.Project
	// Counter is a login counter after two failures.
	CounterKey string
	Counter    db.Counter
	// File is a file of the run, FileBytes its bytes (they travel as
	// file_part records).
	File      db.Artifact
	FileBytes []byte
	// The times of the writes that set UpdatedAt, and the counter's.
	UpdatedAt, ReviewedAt, SeriesAt, CountedAt time.Time
	Window                                     time.Duration
}

func newRoundTrip() *roundTrip {
	base := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	n := 0
	// Every time differs from every other, to the millisecond, so a time
	// written to the wrong column shows.
	at := func() time.Time {
		n++
		return base.Add(time.Duration(n)*time.Hour + time.Duration(n)*time.Millisecond)
	}
	atp := func() *time.Time { t := at(); return &t }
	step := func(v int64) *int64 { return &v }

	userID, runID, reviewID := db.NewID(), db.NewID(), db.NewID()
	fx := &roundTrip{
		Secret: db.Secret{Name: "rt-secret", Value: []byte("\x00secret\xffvalue")},
		Key: db.SigningKey{ID: "rt-kid", Algorithm: "EdDSA", PrivateKey: bytes.Repeat([]byte{0xA5, 0x01}, 32),
			CreatedAt: at(), RetiredAt: atp()},
		User: db.User{ID: userID, Email: "rt-user@lab.example", EmailSkeleton: "rt-user@1ab.example", Name: "Ré Tript",
			Role: db.RoleReviewer, Disabled: true, PasswordHash: "$argon2id$v=19$rt-hash", CreatedAt: at(), UpdatedAt: at(),
			PasswordChangedAt: at()},
		Session: db.Session{ID: "rt-session", UserID: userID, SecretHash: "rt-secret-hash", PrevHash: "rt-prev-hash",
			PrevReplacedAt: at(), OldHashes: []string{"rt-old-1", "rt-old-2"}, CreatedAt: at(), LastUsedAt: at(),
			IdleExpiresAt: at(), ExpiresAt: at(), UserAgent: "rt-agent \"quoted\" <b>", IP: "2001:db8::7",
			RevokedAt: atp(), RevokedReason: "rt-logout"},
		Token: db.APIToken{ID: db.NewID(), UserID: userID, Name: "rt token", Hash: "rt-token-hash", Hint: "rt9z",
			Scopes: []string{"runs:read", "runs:write"}, Projects: []string{"rt-project", "rt-other"}, CreatedAt: at(),
			ExpiresAt: at(), LastUsedAt: atp(), RevokedAt: atp()},
		Run: db.Run{ID: runID, Project: "rt-project", ExternalID: "rt-ext", Name: "rt run", Status: db.StatusFailed,
			Host: "rt-host", JobID: "rt-job", CreatedBy: userID, CreatedByToken: db.NewID(),
			Params: map[string]any{"int": int64(1) << 60, "float": 0.5, "text": "x \"y\" <b>", "bool": true,
				"nested": map[string]any{"list": []any{int64(1), "two", map[string]any{"deep": -2.5e-300}}}},
			Metrics: db.Metrics{"loss": 0.25, "nan": math.NaN(), "inf": math.Inf(1), "-inf": math.Inf(-1)},
			Tags:    []string{"rt-a", "rt-b"}, Notes: "rt\nnotes",
			KeyTags:   map[string]string{"rt.key": "rt value", "mlflow.source.name": "rt.py"},
			ParamText: map[string]string{"float": "0.50"}, CreatedAt: at(), UpdatedAt: at(), StartedAt: atp(),
			FinishedAt: atp(), HeartbeatAt: atp(), DeletedAt: atp(), Version: 3, DataVersion: 4,
			Review: db.RunReview{State: db.ReviewNeedsRerun, ID: db.NewID(), By: db.NewID(), At: atp(), Comment: "rt first verdict",
				DataVersion: 2, Outdated: true},
			Failure: &db.Failure{Reason: "rt FloatingPointError: NaN", Detail: "rt Traceback\n  <b>"}},
		Review: db.ReviewEntry{ID: reviewID, RunID: runID, State: db.ReviewRejected, By: userID, At: at(),
			Comment: "rt verdict", BatchID: db.NewID(), UndoOf: db.NewID(), DataVersion: 5,
			Snapshot: []byte(`{"metrics":{"loss":"NaN"},"params":{"a":1}}`)},
		Comment: db.Comment{ID: db.NewID(), RunID: runID, Author: userID, At: at(), Body: "rt comment <b>",
			Anchor:   &db.CommentAnchor{Param: "rt.param", Series: "rt-series", From: step(7), To: step(9)},
			EditedAt: atp(), DeletedAt: atp(), History: []db.CommentVersion{{Body: "rt v1", At: at()}, {Body: "rt v2", At: at()}}},
		Audit: db.AuditEvent{ID: db.NewID(), At: at(), Event: "rt_event", ActorID: db.NewID(), UserID: userID,
			Email: "rt-who@lab.example", SessionID: "rt-session", IP: "192.0.2.77", UserAgent: "rt-audit-agent",
			Details: map[string]any{"text": "v", "num": 1.5, "bool": true, "list": []any{"a", 2.0},
				"nested": map[string]any{"k": "deep"}}},
		SeriesName: "rt-loss",
		// Summaries ignore NaN for min and max; the last point is NaN.
		Points:     []db.Point{{Step: 11, Value: 0.25}, {Step: 12, Value: -7.5}, {Step: 13, Value: 3.5}, {Step: 14, Value: math.NaN()}},
		CounterKey: "rt-counter",
		Window:     17 * time.Minute,
	}
	fx.View = db.SavedView{UserID: userID, Name: "rt view / ä", Search: "q=status%3Dfailed&cols=rt", UpdatedAt: at()}
	fx.Setup = db.SetupClaim{UserID: userID, At: at()}
	fx.UpdatedAt, fx.ReviewedAt, fx.SeriesAt, fx.CountedAt = at(), at(), at(), at()
	fx.Changed = db.Run{ID: runID, Project: fx.Run.Project, ExternalID: "rt-ext-2", Name: "rt run 2", Status: db.StatusCancelled,
		Host: "rt-host-2", JobID: "rt-job-2", CreatedBy: db.NewID(), CreatedByToken: db.NewID(),
		Params: map[string]any{"other": "params", "n": int64(-3)}, Metrics: db.Metrics{"acc": 0.75}, Tags: []string{"rt-c"},
		Notes: "rt notes 2", KeyTags: map[string]string{"rt$key.2": "rt value 2"}, ParamText: map[string]string{"n": "-3.0"}, CreatedAt: at(), UpdatedAt: fx.UpdatedAt, StartedAt: atp(), FinishedAt: atp(), HeartbeatAt: atp(),
		DeletedAt: atp(), Version: fx.Run.Version + 1, DataVersion: 8,
		Review: db.RunReview{State: db.ReviewApproved, ID: db.NewID(), By: db.NewID(), At: atp(), Comment: "rt verdict 2",
			DataVersion: 7, Outdated: true},
		Failure: &db.Failure{Reason: "rt closed by a reviewer", Detail: "rt detail 2"}}
	fx.Chunk = db.Chunk{ChunkSummary: db.ChunkSummary{FirstStep: 11, LastStep: 14, Count: 4, First: 0.25, Last: math.NaN(),
		Min: -7.5, Max: 3.5, MinStep: 12, MaxStep: 13}, Points: fx.Points}
	fx.Summary = db.SeriesSummary{Name: fx.SeriesName, Count: 4, FirstStep: 11, LastStep: 14, Min: -7.5, Max: 3.5, Last: math.NaN()}
	fx.Project = db.Project{Name: fx.Run.Project, Counts: map[string]int64{db.CountDeleted: 1}, LastActivity: fx.SeriesAt,
		BaselineRun: runID}
	fx.Counter = db.Counter{Failures: 2, WindowEnds: fx.CountedAt.Add(fx.Window)}
	fx.FileBytes = bytes.Repeat([]byte("rt\x00file\xff"), 30_000) // 300 KB: more than one part
	sum := sha256.Sum256(fx.FileBytes)
	fx.File = db.Artifact{RunID: runID, Path: "rt dir/plot ä.png", Project: fx.Run.Project, Size: int64(len(fx.FileBytes)),
		SHA256: hex.EncodeToString(sum[:]), ContentType: "image/png", CreatedAt: at(), CreatedBy: userID}
	return fx
}

// finalRun is the run as it must read at the end: Changed, then the
// verdict (ReviewRun) and the points (WriteSeries), each a change.
func (fx *roundTrip) finalRun() db.Run {
	r := *db.CloneRun(&fx.Changed)
	r.Review = fx.Review.Verdict(&fx.Changed)
	r.Version += 2
	r.DataVersion++
	r.UpdatedAt = fx.SeriesAt
	return r
}

// write stores the fixture, checking each write's read-back as it goes.
func (fx *roundTrip) write(t *testing.T, s db.Store) {
	t.Helper()
	c := ctx(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := s.SharedSecret(c, fx.Secret.Name, fx.Secret.Value)
	must("secret", err)
	must("signing key", s.InsertSigningKey(c, &fx.Key))
	must("user", s.InsertUser(c, &fx.User))
	must("saved view", s.PutSavedView(c, &fx.View, 10))
	must("setup", s.ClaimSetup(c, fx.Setup.UserID, fx.Setup.At))
	must("session", s.InsertSession(c, &fx.Session))
	must("token", s.InsertAPIToken(c, &fx.Token))

	run := db.CloneRun(&fx.Run)
	_, created, err := s.CreateRun(c, run)
	must("create run", err)
	if !created {
		t.Fatal("the run was not created")
	}
	got, err := s.RunByID(c, fx.Run.ID)
	must("run by id", err)
	same(t, "created Run", got, &fx.Run)

	_, _, err = s.UpdateRun(c, fx.Run.ID, fx.UpdatedAt, func(r *db.Run) error {
		*r = *db.CloneRun(&fx.Changed)
		return nil
	})
	must("update run", err)
	got, err = s.RunByID(c, fx.Run.ID)
	must("run by id", err)
	same(t, "changed Run", got, &fx.Changed)

	_, _, err = s.ReviewRun(c, &fx.Review, fx.ReviewedAt, func(*db.Run) error { return nil })
	must("review run", err)
	_, err = s.WriteSeries(c, fx.Run.ID, map[string][]db.Point{fx.SeriesName: fx.Points}, fx.SeriesAt)
	must("write series", err)
	must("comment", s.InsertComment(c, &fx.Comment))
	must("baseline", s.SetBaseline(c, fx.Project.Name, fx.Project.BaselineRun))
	must("audit", s.InsertAudit(c, &fx.Audit))
	file := fx.File
	file.Size, file.SHA256 = 0, ""
	must("file", s.PutArtifact(c, &file, bytes.NewReader(fx.FileBytes), db.ArtifactLimits{}))
	for range fx.Counter.Failures {
		_, err := s.CountFailure(c, fx.CounterKey, fx.Window, fx.CountedAt)
		must("count failure", err)
	}
}

// check reads every record back from s and compares it with the fixture.
// imported leaves out what an export does not carry: the email skeleton
// (auth computes it again at start-up) and login counters (transient).
func (fx *roundTrip) check(t *testing.T, s db.Store, imported bool) {
	t.Helper()
	c := ctx(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	secret, err := s.SharedSecret(c, fx.Secret.Name, []byte("another candidate"))
	must("secret", err)
	same(t, "Secret", &db.Secret{Name: fx.Secret.Name, Value: secret}, &fx.Secret)

	keys, err := s.SigningKeys(c)
	must("signing keys", err)
	if len(keys) != 1 {
		t.Fatalf("%d signing keys, want 1", len(keys))
	}
	same(t, "SigningKey", &keys[0], &fx.Key)

	user, err := s.UserByID(c, fx.User.ID)
	must("user", err)
	wantUser := fx.User
	if imported {
		wantUser.EmailSkeleton = ""
	}
	same(t, "User", user, &wantUser)

	views, err := s.ListSavedViews(c, fx.User.ID)
	must("saved views", err)
	if len(views) != 1 {
		t.Fatalf("%d saved views, want 1", len(views))
	}
	same(t, "SavedView", &views[0], &fx.View)

	var setup *db.SetupClaim
	must("export", s.ExportRecords(c, func(r db.Record) error {
		if r.Kind == db.KindSetup {
			setup = r.Setup
		}
		return nil
	}))
	if setup == nil {
		t.Fatal("no setup claim")
	}
	same(t, "SetupClaim", setup, &fx.Setup)

	session, err := s.SessionByID(c, fx.Session.ID)
	must("session", err)
	same(t, "Session", session, &fx.Session)

	tok, err := s.APITokenByID(c, fx.Token.ID)
	must("token", err)
	same(t, "APIToken", tok, &fx.Token)

	run, err := s.RunByID(c, fx.Run.ID)
	must("run", err)
	want := fx.finalRun()
	same(t, "Run", run, &want)

	review, err := s.ReviewByID(c, fx.Review.ID)
	must("review", err)
	same(t, "ReviewEntry", review, &fx.Review)

	comment, err := s.CommentByID(c, fx.Comment.ID)
	must("comment", err)
	same(t, "Comment", comment, &fx.Comment)

	sums, err := s.SeriesSummaries(c, fx.Run.ID)
	must("series summaries", err)
	if len(sums) != 1 {
		t.Fatalf("%d series, want 1: %+v", len(sums), sums)
	}
	same(t, "SeriesSummary", &sums[0], &fx.Summary)
	chunkSums, err := s.ChunkSummaries(c, fx.Run.ID, fx.SeriesName, 0, 1<<53)
	must("chunk summaries", err)
	if len(chunkSums) != 1 {
		t.Fatalf("%d chunks, want 1", len(chunkSums))
	}
	same(t, "ChunkSummary", &chunkSums[0], &fx.Chunk.ChunkSummary)
	chunks, err := s.Chunks(c, fx.Run.ID, fx.SeriesName, []int64{fx.Chunk.FirstStep})
	must("chunks", err)
	if len(chunks) != 1 {
		t.Fatalf("%d chunks, want 1", len(chunks))
	}
	same(t, "Chunk", &chunks[0], &fx.Chunk)

	project, err := s.ProjectByName(c, fx.Project.Name)
	must("project", err)
	same(t, "Project", project, &fx.Project)

	events, _, err := s.ListAudit(c, db.AuditFilter{}, 10)
	must("audit", err)
	if len(events) != 1 {
		t.Fatalf("%d audit events, want 1", len(events))
	}
	same(t, "AuditEvent", &events[0], &fx.Audit)

	file, err := s.ArtifactByPath(c, fx.File.RunID, fx.File.Path)
	must("file", err)
	same(t, "Artifact", file, &fx.File)
	rc, err := s.OpenArtifact(c, file)
	must("open file", err)
	b, err := io.ReadAll(rc)
	must("read file", err)
	_ = rc.Close()
	if !bytes.Equal(b, fx.FileBytes) {
		t.Errorf("the file reads back as %d other bytes", len(b))
	}

	if !imported {
		counter, err := s.CounterState(c, fx.CounterKey, fx.CountedAt)
		must("counter", err)
		same(t, "Counter", &counter, &fx.Counter)
	}
}

// TestRoundTripFixtureSetsEveryField: every field of the fixture, down to
// the last nested one, is set; every stored type of the export is in it;
// Changed differs from Run in every field it may change.
func TestRoundTripFixtureSetsEveryField(t *testing.T) {
	fx := newRoundTrip()
	for _, z := range zeroFields("fixture", reflect.ValueOf(fx).Elem()) {
		t.Errorf("%s is not set: give it a distinctive value in newRoundTrip", z)
	}
	final := fx.finalRun()
	for _, z := range zeroFields("final Run", reflect.ValueOf(final)) {
		t.Errorf("%s is zero", z)
	}
	// Every record type of the export is a field of the fixture.
	held := map[reflect.Type]bool{}
	ft := reflect.TypeOf(*fx)
	for i := range ft.NumField() {
		held[ft.Field(i).Type] = true
	}
	rt := reflect.TypeOf(db.Record{})
	for i := range rt.NumField() {
		f := rt.Field(i)
		if f.Type.Kind() != reflect.Pointer {
			continue
		}
		if f.Type.Elem() == reflect.TypeOf(db.SeriesPart{}) {
			continue // series travel as points: fx.Points
		}
		if f.Type.Elem() == reflect.TypeOf(db.FilePart{}) {
			continue // a file's parts are its bytes: fx.FileBytes
		}
		if !held[f.Type.Elem()] {
			t.Errorf("db.Record.%s (%s) has no value in the round-trip fixture", f.Name, f.Type.Elem())
		}
	}
	// Changed must move every field of the run but its identity, or the
	// update's read-back would not show a forgotten column.
	rv, cv := reflect.ValueOf(fx.Run), reflect.ValueOf(fx.Changed)
	for i := range rv.NumField() {
		name := rv.Type().Field(i).Name
		equal := len(diffs("", rv.Field(i), cv.Field(i))) == 0
		if keep := name == "ID" || name == "Project"; equal != keep {
			t.Errorf("Run.%s: the changed run must differ from the created one exactly outside ID and Project", name)
		}
	}
	rr, cr := reflect.ValueOf(fx.Run.Review), reflect.ValueOf(fx.Changed.Review)
	for i := range rr.NumField() {
		if len(diffs("", rr.Field(i), cr.Field(i))) == 0 && rr.Type().Field(i).Name != "Outdated" {
			t.Errorf("Run.Review.%s: the changed run must change it", rr.Type().Field(i).Name)
		}
	}
}

// TestEveryFieldRoundTrips writes the fixture on each adapter and reads it
// back, then exports it and imports the file into a fresh store of each
// adapter and reads it back again.
func TestEveryFieldRoundTrips(t *testing.T) {
	dbtest.EachAdapter(t, func(t *testing.T, from dbtest.Adapter) {
		fx := newRoundTrip()
		src := from.Open(t)
		fx.write(t, src)
		fx.check(t, src, false)

		var file bytes.Buffer
		counts, err := db.Export(ctx(t), src, &file, db.ExportInfo{Version: "roundtrip"})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range db.RecordKinds {
			if counts[k] == 0 {
				t.Errorf("the fixture exports no %s record: add one to newRoundTrip", k)
			}
		}
		for _, to := range dbtest.Adapters {
			t.Run("import into "+to.Name, func(t *testing.T) {
				dst := to.Open(t)
				if _, err := db.Import(ctx(t), dst, bytes.NewReader(file.Bytes()), false); err != nil {
					t.Fatal(err)
				}
				fx.check(t, dst, true)
			})
		}
	})
}

// same fails the test with every field of got that differs from want.
func same[T any](t *testing.T, what string, got, want *T) {
	t.Helper()
	if d := diffs(what, reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()); len(d) > 0 {
		t.Errorf("%s read back differs:\n  %s", what, strings.Join(d, "\n  "))
	}
}

var timeType = reflect.TypeOf(time.Time{})

// diffs lists the paths at which got and want differ: times by instant,
// floats with NaN equal to NaN, interfaces by dynamic type and value.
func diffs(path string, got, want reflect.Value) []string {
	if got.Type() != want.Type() {
		return []string{fmt.Sprintf("%s: %s, want %s", path, got.Type(), want.Type())}
	}
	differ := func() []string {
		return []string{fmt.Sprintf("%s: %s, want %s", path, show(got), show(want))}
	}
	if got.Type() == timeType {
		if !got.Interface().(time.Time).Equal(want.Interface().(time.Time)) {
			return differ()
		}
		return nil
	}
	switch got.Kind() {
	case reflect.Pointer, reflect.Interface:
		if got.IsNil() || want.IsNil() {
			if got.IsNil() != want.IsNil() {
				return differ()
			}
			return nil
		}
		if got.Kind() == reflect.Interface && got.Elem().Type() != want.Elem().Type() {
			return differ()
		}
		return diffs(path, got.Elem(), want.Elem())
	case reflect.Struct:
		var out []string
		for i := range got.NumField() {
			out = append(out, diffs(path+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i))...)
		}
		return out
	case reflect.Slice:
		if got.Len() != want.Len() {
			return differ()
		}
		var out []string
		for i := range got.Len() {
			out = append(out, diffs(fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i))...)
		}
		return out
	case reflect.Map:
		var out []string
		for _, k := range want.MapKeys() {
			g := got.MapIndex(k)
			if !g.IsValid() {
				out = append(out, fmt.Sprintf("%s[%v]: missing, want %s", path, k, show(want.MapIndex(k))))
				continue
			}
			out = append(out, diffs(fmt.Sprintf("%s[%v]", path, k), g, want.MapIndex(k))...)
		}
		for _, k := range got.MapKeys() {
			if !want.MapIndex(k).IsValid() {
				out = append(out, fmt.Sprintf("%s[%v]: %s, want no such key", path, k, show(got.MapIndex(k))))
			}
		}
		return out
	case reflect.Float32, reflect.Float64:
		g, w := got.Float(), want.Float()
		if g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
			return differ()
		}
		return nil
	}
	if !got.Equal(want) {
		return differ()
	}
	return nil
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
		return fmt.Sprintf("%q", v.Bytes())
	}
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && !v.IsNil() {
		return fmt.Sprintf("%T %+v", v.Interface(), v.Elem().Interface())
	}
	return fmt.Sprintf("%#v", v.Interface())
}

// zeroFields lists the paths of v that hold a zero value: nil pointers,
// interfaces, empty slices and maps, zero times, numbers, strings and
// false, recursively.
func zeroFields(path string, v reflect.Value) []string {
	if v.Type() == timeType {
		if v.Interface().(time.Time).IsZero() {
			return []string{path}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return []string{path}
		}
		return zeroFields(path, v.Elem())
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			out = append(out, zeroFields(path+"."+v.Type().Field(i).Name, v.Field(i))...)
		}
		return out
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes: a zero byte is data
		}
		var out []string
		if v.Kind() == reflect.Slice {
			for i := range v.Len() {
				out = append(out, zeroFields(fmt.Sprintf("%s[%d]", path, i), v.Index(i))...)
			}
			return out
		}
		for _, k := range v.MapKeys() {
			out = append(out, zeroFields(fmt.Sprintf("%s[%v]", path, k), v.MapIndex(k))...)
		}
		return out
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}

// TestRoundTripHelpersSeeDifferences: the comparison and the zero check
// find what they must (a helper that saw nothing would pass every
// adapter).
func TestRoundTripHelpersSeeDifferences(t *testing.T) {
	fx := newRoundTrip()
	a, b := fx.finalRun(), fx.finalRun()
	b.JobID, b.Metrics["acc"], b.Params["n"] = "", math.NaN(), -3.0
	*b.Review.At = b.Review.At.Add(time.Millisecond)
	got := diffs("Run", reflect.ValueOf(b), reflect.ValueOf(a))
	want := []string{"Run.JobID", "Run.Params[n]", "Run.Metrics[acc]", "Run.Review.At"}
	for _, w := range want {
		if !strings.Contains(strings.Join(got, "\n"), w+":") {
			t.Errorf("diffs missed %s: %v", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("diffs found %d differences, want %d: %v", len(got), len(want), got)
	}
	if d := diffs("Run", reflect.ValueOf(a), reflect.ValueOf(fx.finalRun())); len(d) != 0 {
		t.Errorf("equal runs differ: %v", d)
	}
	type nested struct {
		S []int
		M map[string]any
		P *time.Time
		B bool
	}
	z := zeroFields("x", reflect.ValueOf(struct {
		N nested
		F float64
	}{N: nested{S: []int{1, 0}, M: map[string]any{"k": ""}}}))
	if strings.Join(z, " ") != "x.N.S[1] x.N.M[k] x.N.P x.N.B x.F" {
		t.Errorf("zero fields %v", z)
	}
}
