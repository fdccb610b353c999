package db_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// fill writes one of each kind of record, with every optional field used.
func fill(t *testing.T, s db.Store, users int) {
	t.Helper()
	t0 := now()
	retired := t0.Add(-time.Hour)
	for _, k := range []*db.SigningKey{
		{ID: "kid-old", Algorithm: "EdDSA", PrivateKey: bytes.Repeat([]byte{7}, 64), CreatedAt: t0.Add(-2 * time.Hour), RetiredAt: &retired},
		{ID: "kid-new", Algorithm: "EdDSA", PrivateKey: bytes.Repeat([]byte{9}, 64), CreatedAt: t0.Add(-time.Minute)},
	} {
		if err := s.InsertSigningKey(ctx(t), k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SharedSecret(ctx(t), "token_hash_key", bytes.Repeat([]byte{3}, 32)); err != nil {
		t.Fatal(err)
	}
	var first, baseline string
	defer func() {
		if users > 0 {
			if err := s.SetBaseline(ctx(t), "p0", baseline); err != nil {
				t.Fatal(err)
			}
		}
	}()
	for i := range users {
		u := newUser(fmt.Sprintf("u%03d@lab.org", i), []string{db.RoleAdmin, db.RoleReviewer, db.RoleViewer}[i%3])
		u.Disabled = i%4 == 3
		if err := s.InsertUser(ctx(t), u); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = u.ID
			if err := s.ClaimSetup(ctx(t), u.ID, t0); err != nil {
				t.Fatal(err)
			}
		}
		if i%2 == 1 {
			for _, v := range []*db.SavedView{
				{UserID: u.ID, Name: "Failed runs / p0 <b>", Search: "q=status%20%3D%20failed&sort=-created&cols=name,loss", UpdatedAt: t0},
				{UserID: u.ID, Name: "älpha", Search: "", UpdatedAt: t0.Add(-time.Hour)},
			} {
				if err := s.PutSavedView(ctx(t), v, 100); err != nil {
					t.Fatal(err)
				}
			}
		}
		sess := newSession(fmt.Sprintf("sess-%03d", i), u.ID, t0)
		if i%2 == 1 {
			sess.PrevHash, sess.PrevReplacedAt, sess.OldHashes = "p", t0, []string{"o1"}
			sess.RevokedAt, sess.RevokedReason = &t0, "logout"
		}
		if err := s.InsertSession(ctx(t), sess); err != nil {
			t.Fatal(err)
		}
		if i%3 != 2 {
			tok := newToken(u.ID, fmt.Sprintf("hash-%03d", i), t0)
			if i%2 == 1 {
				tok.LastUsedAt, tok.RevokedAt, tok.Projects = &t0, &t0, []string{"sweep-1", "sweep-2"}
			}
			if err := s.InsertAPIToken(ctx(t), tok); err != nil {
				t.Fatal(err)
			}
		}
		run := newRun(fmt.Sprintf("p%d", i%2), fmt.Sprintf("job-%03d", i), t0)
		run.CreatedBy = u.ID
		// A float that is whole stays a float; a dot in a name is a level.
		run.Params = map[string]any{"i": int64(i), "f": 0.5, "whole": 2.0, "model.lr": 0.01,
			"nested": map[string]any{"l": []any{"a", nil, true}}}
		run.Metrics = db.Metrics{"loss": 1.5, "nan": math.NaN(), "inf": math.Inf(-1), "val.loss": 0.25}
		if i%2 == 1 {
			run.StartedAt, run.FinishedAt, run.HeartbeatAt, run.DeletedAt = &t0, &t0, &t0, &t0
			run.Tags, run.Notes, run.CreatedByToken, run.Status = []string{"x"}, "n", db.NewID(), db.StatusFailed
			run.Failure = &db.Failure{Reason: "FloatingPointError: loss is NaN", Detail: "Traceback (most recent call last):\n  <b>"}
		}
		if _, _, err := s.CreateRun(ctx(t), run); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			baseline = run.ID
		}
		if i%6 == 3 {
			from, to := int64(10), int64(20)
			c := &db.Comment{ID: db.NewID(), RunID: run.ID, Author: u.ID, At: t0, Body: "spike at 15 <b>",
				Anchor: &db.CommentAnchor{Series: "loss", From: &from, To: &to}, EditedAt: &t0,
				History: []db.CommentVersion{{Body: "first text", At: t0}}}
			if err := s.InsertComment(ctx(t), c); err != nil {
				t.Fatal(err)
			}
			if err := s.InsertComment(ctx(t), &db.Comment{ID: db.NewID(), RunID: run.ID, Author: u.ID, At: t0, Body: "",
				DeletedAt: &t0, History: []db.CommentVersion{}}); err != nil {
				t.Fatal(err)
			}
		}
		if i%6 == 0 {
			e := &db.ReviewEntry{ID: db.NewID(), RunID: run.ID, State: db.ReviewRejected, By: u.ID, At: t0, Comment: "why",
				BatchID: "b", DataVersion: 1, Snapshot: []byte(`{"params":{"i":1}}`)}
			if _, _, err := s.ReviewRun(ctx(t), e, t0, func(*db.Run) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if i%4 == 0 {
			// 600 points: three chunks; NaN and an infinity among them.
			points := pts(0, 599, 1, func(st int64) float64 { return float64(st) / 3 })
			points[5].Value, points[7].Value = math.NaN(), math.Inf(1)
			if _, err := s.WriteSeries(ctx(t), run.ID, map[string][]db.Point{"loss": points}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		e := &db.AuditEvent{Event: "login_ok", ActorID: u.ID, UserID: u.ID, SessionID: sess.ID, IP: "192.0.2.1",
			UserAgent: "Firefox \"quoted\" <b>", Details: map[string]any{"n": float64(i), "nested": map[string]any{"ok": true}}}
		if err := s.InsertAudit(ctx(t), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertAudit(ctx(t), &db.AuditEvent{Event: "login_failed", Email: "nobody@lab.org", ActorID: first}); err != nil {
		t.Fatal(err)
	}
}

func export(t *testing.T, s db.Store) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := db.Export(ctx(t), s, &buf, db.ExportInfo{Version: "test", Now: time.Unix(1_800_000_000, 0)}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// body drops the header line, which names the source mode.
func body(export string) string {
	_, rest, _ := strings.Cut(export, "\n")
	return rest
}

// TestRoundTripAcrossAdapters: embedded → file → hosted → file → embedded
// gives identical data, and the files are identical record for record.
func TestRoundTripAcrossAdapters(t *testing.T) {
	embedded := dbtest.SQLite(t)
	fill(t, embedded, 12)
	first := export(t, embedded)
	// header, secret, 2 keys, 12 users, 12 saved views, setup, 12 sessions,
	// 8 tokens, 12 runs, 2 projects, 2 reviews, 4 comments, 3 series of 3
	// chunks, 13 events, trailer
	if n := strings.Count(first, "\n"); n != 1+1+2+12+12+1+12+8+12+2+2+4+9+13+1 {
		t.Fatalf("export has %d lines:\n%s", n, first)
	}

	hosted := dbtest.Mongo(t)
	report, err := db.Import(ctx(t), hosted, strings.NewReader(first), false)
	if err != nil {
		t.Fatal(err)
	}
	if report.Added[db.KindUser] != 12 || report.Added[db.KindSession] != 12 || report.Added[db.KindAudit] != 13 ||
		report.Added[db.KindSigningKey] != 2 || report.Added[db.KindSetup] != 1 || report.Added[db.KindSavedView] != 12 ||
		len(report.Conflicts) != 0 {
		t.Fatalf("import into hosted: %+v", report)
	}
	second := export(t, hosted)
	if body(first) != body(second) {
		t.Fatalf("embedded and hosted exports differ:\n%s\n---\n%s", first, second)
	}

	back := dbtest.SQLite(t)
	if _, err := db.Import(ctx(t), back, strings.NewReader(second), false); err != nil {
		t.Fatal(err)
	}
	if third := export(t, back); third != first {
		t.Fatalf("the round trip changed the data:\n%s\n---\n%s", first, third)
	}
	// And the stores answer the same.
	var views []db.SavedView
	for i, s := range []db.Store{embedded, hosted, back} {
		u, err := s.UserByEmail(ctx(t), "u001@lab.org")
		if err != nil || u.Role != db.RoleReviewer {
			t.Fatalf("%s: %+v %v", s.Mode(), u, err)
		}
		got, err := s.ListSavedViews(ctx(t), u.ID)
		if err != nil || len(got) != 2 || got[0].Name != "Failed runs / p0 <b>" || got[1].Name != "älpha" || got[1].Search != "" {
			t.Fatalf("%s: saved views %+v %v", s.Mode(), got, err)
		}
		if i > 0 && !reflect.DeepEqual(got, views) {
			t.Fatalf("%s: saved views %+v, want %+v", s.Mode(), got, views)
		}
		views = got
		// The names of runs are not exported; the import builds them
		// again from the live runs (p1's are all deleted) and their series.
		for _, p := range []string{"p0", db.AllProjects} {
			wantKeys(t, s, p, "", []string{"f", "i", "model.lr", "nested.l", "whole"}, []string{"inf", "loss", "nan", "val.loss"}, []string{"loss"})
		}
		wantKeys(t, s, "p1", "", nil, nil, nil)
	}
}

func TestImportRefusesNonEmptyUnlessMerging(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		src := dbtest.SQLite(t)
		fill(t, src, 3)
		file := export(t, src)

		if err := s.InsertUser(ctx(t), newUser("u001@lab.org", db.RoleViewer)); err != nil {
			t.Fatal(err)
		}
		before := export(t, s)
		if _, err := db.Import(ctx(t), s, strings.NewReader(file), false); !errors.Is(err, db.ErrNotEmpty) {
			t.Fatalf("import into a non-empty database: got %v, want ErrNotEmpty", err)
		}
		if export(t, s) != before {
			t.Fatal("a refused import changed the database")
		}
		// Merge: u001's address belongs to another id here, so u001, its
		// session, its token and its two saved views are not imported;
		// everything else is.
		report, err := db.Import(ctx(t), s, strings.NewReader(file), true)
		if err != nil {
			t.Fatal(err)
		}
		if report.Added[db.KindUser] != 2 || report.Added[db.KindSession] != 2 || report.Added[db.KindAudit] != 4 ||
			report.Added[db.KindAPIToken] != 1 || report.Added[db.KindSecret] != 1 || len(report.Conflicts) != 5 || !strings.Contains(report.Conflicts[0], "u001@lab.org") ||
			!strings.Contains(report.Conflicts[1], "saved view") || report.Added[db.KindSavedView] != 0 {
			t.Fatalf("merge report %+v", report)
		}
		// Merging again adds nothing and skips what exists.
		again, err := db.Import(ctx(t), s, strings.NewReader(file), true)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Added) != 0 || again.Skipped[db.KindUser] != 2 || again.Skipped[db.KindAudit] != 4 || again.Skipped[db.KindSigningKey] != 2 {
			t.Fatalf("second merge %+v", again)
		}
	})
}

// TestImportedSecretReplacesOnlyAnUnusedOne: the token-hash key of the file
// replaces the database's own while no token depends on it; otherwise the
// database keeps its key and the report says the imported tokens will not
// work.
func TestImportedSecretReplacesOnlyAnUnusedOne(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		src := dbtest.SQLite(t)
		fill(t, src, 3)
		file := export(t, src)
		if _, err := s.SharedSecret(ctx(t), "token_hash_key", []byte("own key of a fresh server")); err != nil {
			t.Fatal(err)
		}
		report, err := db.Import(ctx(t), s, strings.NewReader(file), true)
		if err != nil || report.Added[db.KindSecret] != 1 || len(report.Conflicts) != 0 {
			t.Fatalf("import beside an unused key: %+v %v", report, err)
		}
		if v, _ := s.SharedSecret(ctx(t), "token_hash_key", []byte("unused")); !bytes.Equal(v, bytes.Repeat([]byte{3}, 32)) {
			t.Fatalf("the key is %q, want the imported one", v)
		}

		other := dbtest.SQLite(t)
		if _, err := other.SharedSecret(ctx(t), "token_hash_key", []byte("another key")); err != nil {
			t.Fatal(err)
		}
		report, err = db.Import(ctx(t), s, strings.NewReader(export(t, other)), true)
		if err != nil || len(report.Conflicts) != 1 || !strings.Contains(report.Conflicts[0], "will not work") {
			t.Fatalf("import beside a key in use: %+v %v", report, err)
		}
		if v, _ := s.SharedSecret(ctx(t), "token_hash_key", []byte("unused")); !bytes.Equal(v, bytes.Repeat([]byte{3}, 32)) {
			t.Fatalf("a key in use was replaced by %q", v)
		}
	})
}

// TestDamagedExportsWriteNothing: a file that is truncated, edited or from
// a newer version is refused before anything is written.
func TestDamagedExportsWriteNothing(t *testing.T) {
	src := dbtest.SQLite(t)
	fill(t, src, 3)
	good := export(t, src)
	lines := strings.SplitAfter(good, "\n")
	cases := map[string]string{
		"empty":            "",
		"not an export":    "{\"hello\":1}\n",
		"truncated":        strings.Join(lines[:len(lines)-2], ""),
		"cut mid-line":     good[:len(good)-40],
		"record dropped":   strings.Join(append(append([]string{}, lines[:3]...), lines[4:]...), ""),
		"newer version":    strings.Replace(good, `"version":1`, `"version":2`, 1),
		"unknown kind":     strings.Replace(good, `"kind":"user"`, `"kind":"userz"`, 1),
		"bad user id":      strings.Replace(good, `"kind":"user","data":{"id":"`, `"kind":"user","data":{"id":"zz`, 1),
		"unknown field":    strings.Replace(good, `"kind":"user","data":{`, `"kind":"user","data":{"admin":true,`, 1),
		"after end marker": good + lines[2],
		"invalid UTF-8":    strings.Replace(good, "Firefox", "Fire\xfffox", 1),
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			s := dbtest.SQLite(t)
			_, err := db.Import(ctx(t), s, strings.NewReader(text), false)
			var fe *db.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a FormatError", err)
			}
			if users, _ := s.ListUsers(ctx(t)); len(users) != 0 {
				t.Fatalf("a refused file wrote %d users", len(users))
			}
		})
	}
	if !reflect.DeepEqual(body(good), body(export(t, src))) {
		t.Fatal("exporting twice gave different files")
	}
}
