package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/query"
)

// growingTables grow with use; a full scan of one of them makes a query's
// cost grow with the data. The other tables hold a handful of rows
// (signing keys, the setup claim, leases, meta).
var growingTables = map[string]bool{"users": true, "sessions": true, "audit": true, "login_throttle": true, "api_tokens": true, "runs": true,
	"series_chunks": true, "series": true, "reviews": true, "comments": true, "saved_views": true, "artifacts": true}

// wholeTableReads are the queries whose purpose is to read a whole table;
// every other query must be served by an index.
var wholeTableReads = map[string]string{
	"list users":  "ListUsers returns every account by contract (the admin page lists them all)",
	"list tokens": "ListAPITokens of everyone returns every token by contract (the admin's tokens page lists them all)",
	"export":      "an export reads every record",
	"emptiness":   "EXISTS stops at the first row",
	"index load":  "the query index reads every run and series summary once, when the server starts (runindex.go)",
}

func wholeTableRead(query string) (string, bool) {
	switch {
	case strings.HasPrefix(query, "SELECT "+userColumns+" FROM users ORDER BY email"):
		return wholeTableReads["list users"], true
	case query == "SELECT "+tokenColumns+" FROM api_tokens ORDER BY id DESC":
		return wholeTableReads["list tokens"], true
	case strings.Contains(query, "ORDER BY id") && !strings.Contains(query, "WHERE") && !strings.Contains(query, "LIMIT"),
		query == "SELECT user_id, at FROM setup",
		query == "SELECT run_id, series, points FROM series_chunks ORDER BY run_id, series, first_step",
		query == "SELECT "+viewColumns+" FROM saved_views ORDER BY user_id, name",
		query == "SELECT "+artifactColumns+" FROM artifacts ORDER BY run_id, path":
		return wholeTableReads["export"], true
	case query == "SELECT "+indexRunColumns+" FROM runs ORDER BY id",
		query == "SELECT run_id, "+seriesColumns+" FROM series ORDER BY run_id, name":
		return wholeTableReads["index load"], true
	case strings.HasPrefix(query, "SELECT EXISTS (SELECT 1 FROM users)"):
		return wholeTableReads["emptiness"], true
	}
	return "", false
}

// TestEveryQueryUsesAnIndex runs every method of the store on a database
// with realistic statistics (PRAGMA optimize, as Close runs it), records the
// text of every statement, and checks each one's EXPLAIN QUERY PLAN: no
// full scan of a growing table.
func TestEveryQueryUsesAnIndex(t *testing.T) {
	s, err := Open(context.Background(), Options{DataDir: t.TempDir(), Server: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	seed(t, s, 3000)

	var mu sync.Mutex
	seen := map[string]bool{}
	tracer := func(q string) {
		mu.Lock()
		seen[q] = true
		mu.Unlock()
	}
	queryTracer.Store(&tracer)
	defer queryTracer.Store(nil)
	exerciseEveryMethod(t, s)
	queryTracer.Store(nil)

	// The writer may still trace statements it prepares between batches.
	mu.Lock()
	queries := make([]string, 0, len(seen))
	for q := range seen {
		queries = append(queries, q)
	}
	mu.Unlock()
	sort.Strings(queries)
	if len(queries) < 30 {
		t.Fatalf("only %d distinct statements recorded; the exercise misses methods", len(queries))
	}
	conn, err := sql.Open("sqlite", fileURI(s.path)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range queries {
		plan := explain(t, conn, q)
		if testing.Verbose() {
			t.Logf("%s\n    => %s", oneLine(q), strings.Join(plan, " | "))
		}
		for _, step := range plan {
			table, full := fullScan(step)
			if !full || !growingTables[table] {
				continue
			}
			if why, ok := wholeTableRead(q); ok {
				t.Logf("whole-table read allowed (%s): %s", why, oneLine(q))
				break
			}
			if orderedPage(q, plan) {
				continue
			}
			t.Errorf("full scan of %s:\n  query: %s\n  plan:  %s", table, oneLine(q), strings.Join(plan, " | "))
		}
	}
}

// orderedPage reports a query without a filter that walks a table in the
// order of its key and stops after LIMIT rows (the newest page of the
// audit log): it reads one page whatever the table's size.
func orderedPage(query string, plan []string) bool {
	if strings.Contains(query, " WHERE ") || !strings.Contains(query, " LIMIT ") {
		return false
	}
	for _, step := range plan {
		if strings.Contains(step, "TEMP B-TREE") {
			return false
		}
	}
	return true
}

// fullScan reports whether a plan step reads a whole table (or a whole
// index of it, which costs the same).
func fullScan(step string) (table string, full bool) {
	rest, ok := strings.CutPrefix(step, "SCAN ")
	if !ok {
		return "", false
	}
	table, _, _ = strings.Cut(rest, " ")
	return table, true
}

func explain(t *testing.T, conn *sql.DB, query string) []string {
	t.Helper()
	// NULL for every parameter: the plan does not depend on the values.
	rows, err := conn.Query("EXPLAIN QUERY PLAN "+query, make([]any, paramCount(query))...)
	if err != nil {
		t.Fatalf("explain %s: %v", oneLine(query), err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// paramCount counts a statement's parameters: plain ? or numbered ?N.
func paramCount(query string) int {
	plain, numbered := 0, 0
	for _, m := range regexp.MustCompile(`\?(\d*)`).FindAllStringSubmatch(query, -1) {
		if m[1] == "" {
			plain++
		} else if n, _ := strconv.Atoi(m[1]); n > numbered {
			numbered = n
		}
	}
	return plain + numbered
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// seed fills the growing tables through raw SQL, then lets SQLite gather
// statistics the way Close does, so the planner sees skewed data (few
// admins, many viewers) as in production.
func seed(t *testing.T, s *Store, users int) {
	t.Helper()
	t0 := time.Now()
	err := s.exclusiveTx(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		for i := range users {
			role := db.RoleViewer
			if i%100 == 0 {
				role = db.RoleAdmin
			}
			u := &db.User{ID: db.NewID(), Email: fmt.Sprintf("seed%05d@lab.org", i), Name: "S", Role: role, PasswordHash: "h",
				CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0}
			if _, err := tx.Exec(insertUserSQL, userArgs(u)...); err != nil {
				return err
			}
			for j := range 3 {
				sess := &db.Session{ID: fmt.Sprintf("seed-%d-%d", i, j), UserID: u.ID, SecretHash: "h", CreatedAt: t0,
					LastUsedAt: t0, IdleExpiresAt: t0.Add(time.Hour), ExpiresAt: t0.Add(time.Hour)}
				if _, err := tx.Exec(insertSessionSQL, sessionArgs(sess)...); err != nil {
					return err
				}
				args, _ := auditArgs(&db.AuditEvent{ID: db.NewID(), At: t0, Event: "login_ok", UserID: u.ID, ActorID: u.ID})
				if _, err := tx.Exec(insertAuditSQL, args...); err != nil {
					return err
				}
			}
			run := &db.Run{ID: db.NewID(), Project: fmt.Sprintf("p%d", i%20), ExternalID: u.ID, Status: []string{db.StatusRunning, db.StatusSucceeded, db.StatusFailed}[i%3],
				CreatedBy: u.ID, CreatedAt: t0, UpdatedAt: t0, Version: 1}
			runArgs, err := runArgs(run)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(insertRunSQL, runArgs...); err != nil {
				return err
			}
			tok := &db.APIToken{ID: db.NewID(), UserID: u.ID, Hash: "seed-" + u.ID, Scopes: []string{"runs:read"}, CreatedAt: t0, ExpiresAt: t0}
			if _, err := tx.Exec(insertTokenSQL, tokenArgs(tok)...); err != nil {
				return err
			}
			if _, err := tx.Exec("INSERT INTO login_throttle (key, failures, window_ends) VALUES (?, 1, ?)", "ip:"+u.ID, ms(t0)); err != nil {
				return err
			}
			for j := range i % 4 {
				v := &db.SavedView{UserID: u.ID, Name: fmt.Sprintf("view %d", j), Search: "q=x", UpdatedAt: t0}
				if _, err := tx.Exec(insertViewSQL, viewArgs(v)...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("PRAGMA analysis_limit = 1000; ANALYZE"); err != nil {
		t.Fatal(err)
	}
}

// exerciseEveryMethod calls every method of db.Store at least once, with
// every filter combination ListAudit has.
func exerciseEveryMethod(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	u := &db.User{ID: db.NewID(), Email: "x@lab.org", Name: "X", Role: db.RoleAdmin, PasswordHash: "h", CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}
	check(s.InsertUser(ctx, u))
	_, err := s.UserByID(ctx, u.ID)
	check(err)
	_, err = s.UserByEmail(ctx, u.Email)
	check(err)
	check(s.SetEmailSkeleton(ctx, u.ID, "x@lab.org"))
	_, err = s.UserBySkeleton(ctx, "x@lab.org")
	check(err)
	_, err = s.UsersWithoutSkeleton(ctx, 10)
	check(err)
	_, err = s.ListUsers(ctx)
	check(err)
	_, err = s.CountActiveAdmins(ctx, u.ID)
	check(err)
	name := "Y"
	_, _, err = s.UpdateUser(ctx, u.ID, db.UserChange{Name: &name, PasswordHash: &name}, now)
	check(err)
	_, err = s.ReplacePasswordHash(ctx, u.ID, "Y", "Z")
	check(err)

	sess := &db.Session{ID: "exercise", UserID: u.ID, SecretHash: "h0", CreatedAt: now, LastUsedAt: now,
		IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	check(s.InsertSession(ctx, sess))
	_, err = s.SessionByID(ctx, sess.ID)
	check(err)
	_, err = s.RotateSession(ctx, sess.ID, "h0", "h1", now, time.Hour, 16)
	check(err)
	check(s.TouchSession(ctx, sess.ID, now))
	_, err = s.LiveSessions(ctx, u.ID, now)
	check(err)
	_, err = s.RevokeUserSessions(ctx, u.ID, "keep", "test", now)
	check(err)
	_, err = s.RevokeSession(ctx, sess.ID, "test", now)
	check(err)
	_, err = s.SweepSessions(ctx, now.Add(-24*time.Hour))
	check(err)

	_, err = s.CountFailure(ctx, "acct:x", time.Minute, now)
	check(err)
	_, err = s.CounterState(ctx, "acct:x", now)
	check(err)
	check(s.ReleaseAttempt(ctx, "acct:x"))
	check(s.ResetCounter(ctx, "acct:x"))
	check(s.SweepCounters(ctx, now.Add(-time.Hour)))

	check(s.InsertAudit(ctx, &db.AuditEvent{Event: "e", UserID: u.ID}))
	for _, f := range []db.AuditFilter{
		{}, {Event: "e"}, {Before: db.NewID()}, {Event: "e", Before: db.NewID()},
		{UserID: u.ID}, {UserID: u.ID, Event: "e"}, {UserID: u.ID, Before: db.NewID()}, {UserID: u.ID, Event: "e", Before: db.NewID()},
	} {
		_, _, err = s.ListAudit(ctx, f, 50)
		check(err)
	}

	_, err = s.DeleteAuditBefore(ctx, now.Add(-400*24*time.Hour))
	check(err)
	check(s.InsertSigningKey(ctx, &db.SigningKey{ID: "k", Algorithm: "EdDSA", PrivateKey: []byte{1}, CreatedAt: now}))
	_, err = s.SigningKeys(ctx)
	check(err)
	check(s.RetireSigningKeys(ctx, "k2", now))
	_, err = s.DeleteSigningKeysRetiredBefore(ctx, now.Add(-time.Hour))
	check(err)

	tok := &db.APIToken{ID: db.NewID(), UserID: u.ID, Hash: "th", Scopes: []string{"runs:read"}, CreatedAt: now, ExpiresAt: now}
	check(s.InsertAPIToken(ctx, tok))
	_, err = s.APITokenByHash(ctx, "th")
	check(err)
	_, err = s.APITokenByID(ctx, tok.ID)
	check(err)
	_, err = s.ListAPITokens(ctx, u.ID)
	check(err)
	_, err = s.ListAPITokens(ctx, "")
	check(err)
	check(s.TouchAPIToken(ctx, tok.ID, now))
	_, err = s.RevokeAPIToken(ctx, tok.ID, now)
	check(err)
	_, err = s.SharedSecret(ctx, "k", []byte("v"))
	check(err)

	run, _, err := s.CreateRun(ctx, &db.Run{ID: db.NewID(), Project: "p1", ExternalID: "x", Status: db.StatusQueued, CreatedAt: now, UpdatedAt: now, Version: 1,
		Params: map[string]any{"lr": 0.1}, Metrics: db.Metrics{"loss": 1}})
	check(err)
	_, err = s.RunByID(ctx, run.ID)
	check(err)
	_, _, err = s.UpdateRun(ctx, run.ID, now, func(r *db.Run) error { r.Status = db.StatusRunning; return nil })
	check(err)
	points := make([]db.Point, 1500)
	for i := range points {
		points[i] = db.Point{Step: int64(i), Value: float64(i)}
	}
	_, err = s.WriteSeries(ctx, run.ID, map[string][]db.Point{"loss": points}, time.Now())
	check(err)
	_, err = s.WriteSeries(ctx, run.ID, map[string][]db.Point{"loss": points[10:20]}, time.Now()) // overwrites: full summary
	check(err)
	_, err = s.SeriesSummaries(ctx, run.ID)
	check(err)
	_, err = s.SummariesOf(ctx, []string{run.ID, db.NewID()}, []string{"loss", "acc"})
	check(err)
	sums, err := s.ChunkSummaries(ctx, run.ID, "loss", 100, 1200)
	check(err)
	_, err = s.Chunks(ctx, run.ID, "loss", []int64{sums[0].FirstStep})
	check(err)
	// A truncation inside a chunk, and a whole series removed.
	_, err = s.DeleteSeries(ctx, run.ID, "loss", 700, now)
	check(err)
	_, err = s.WriteSeries(ctx, run.ID, map[string][]db.Point{"gone": points[:3]}, time.Now())
	check(err)
	_, err = s.DeleteSeries(ctx, run.ID, "gone", 0, now)
	check(err)
	// Deleting and restoring a run moves its names, its series' too.
	_, _, err = s.UpdateRun(ctx, run.ID, now, func(r *db.Run) error { r.DeletedAt = &now; return nil })
	check(err)
	_, _, err = s.UpdateRun(ctx, run.ID, now, func(r *db.Run) error { r.DeletedAt = nil; return nil })
	check(err)
	entry := &db.ReviewEntry{ID: db.NewID(), RunID: run.ID, State: db.ReviewApproved, At: now, BatchID: "b", DataVersion: 1, Snapshot: []byte("{}")}
	_, _, err = s.ReviewRun(ctx, entry, now, func(*db.Run) error { return nil })
	check(err)
	_, err = s.ListProjects(ctx)
	check(err)
	for _, p := range []string{"p1", db.AllProjects} {
		_, err = s.ListRunKeys(ctx, p, "", db.RunKeysLimit)
		check(err)
		_, err = s.ListRunKeys(ctx, p, "l", db.RunKeysLimit)
		check(err)
	}
	_, err = s.ProjectByName(ctx, "p1")
	check(err)
	check(s.SetBaseline(ctx, "p1", run.ID))
	_, err = s.CreateProject(ctx, "empty", now)
	check(err)
	limits := db.ArtifactLimits{MaxFileBytes: 1 << 20, MaxProjectBytes: 1 << 30, MaxRunFiles: 100}
	for _, body := range []string{"one", "two"} {
		check(s.PutArtifact(ctx, &db.Artifact{RunID: run.ID, Path: "dir/f.txt", Project: "p1", CreatedAt: now}, strings.NewReader(body), limits))
	}
	art, err := s.ArtifactByPath(ctx, run.ID, "dir/f.txt")
	check(err)
	_, _, err = s.ListArtifacts(ctx, run.ID, "dir/", "", 10)
	check(err)
	_, _, err = s.ListArtifacts(ctx, run.ID, "", "dir/a", 10)
	check(err)
	rc, err := s.OpenArtifact(ctx, art)
	check(err)
	check(rc.Close())
	_, err = s.ProjectArtifactBytes(ctx, "p1")
	check(err)
	_, err = s.DeleteArtifact(ctx, run.ID, "dir/f.txt")
	check(err)
	cm := &db.Comment{ID: db.NewID(), RunID: run.ID, At: now, Body: "b"}
	check(s.InsertComment(ctx, cm))
	_, err = s.CommentByID(ctx, cm.ID)
	check(err)
	_, err = s.ListComments(ctx, run.ID)
	check(err)
	_, err = s.UpdateComment(ctx, cm.ID, func(c *db.Comment) error { c.Body = "c"; return nil })
	check(err)
	_, err = s.ReviewHistory(ctx, run.ID)
	check(err)
	check(s.PutSavedView(ctx, &db.SavedView{UserID: u.ID, Name: "v", Search: "q=x", UpdatedAt: now}, 100))
	check(s.PutSavedView(ctx, &db.SavedView{UserID: u.ID, Name: "v", Search: "q=y", UpdatedAt: now}, 100))
	_, err = s.ListSavedViews(ctx, u.ID)
	check(err)
	check(s.DeleteSavedView(ctx, u.ID, "v"))
	check(s.PutSavedView(ctx, &db.SavedView{UserID: u.ID, Name: "w", Search: "", UpdatedAt: now}, 100))
	_, err = s.ReviewBatch(ctx, "b")
	check(err)
	_, err = s.ReviewBatchSizes(ctx, []string{"b", "c"})
	check(err)
	_, err = s.ReviewByID(ctx, entry.ID)
	check(err)
	// The query matrix of issue 18 (server/bench_query_test.go), as chips
	// and as text: its statements are the plain pages' index walks, the
	// query index's check of run_changes and the page's runs read by id.
	for _, c := range []struct {
		src  string
		f    db.RunFilter
		sort string
	}{
		{`metrics.loss < 0.5`, db.RunFilter{}, ""},
		{`params.lr = 0.1 and project = p1`, db.RunFilter{}, ""},
		{`tag = gpu or name ~ x`, db.RunFilter{}, ""},
		{`not params.opt.name = adam`, db.RunFilter{}, ""},
		{`min(loss) < 1 and status = stale`, db.RunFilter{}, db.SeriesKey("min", "loss")},
		{`duration > 1h`, db.RunFilter{}, ""},
		{`review = outdated and reviewer = x`, db.RunFilter{}, ""},
		{`project = "p3" and status = "succeeded" and params.p1 > 0.5`, db.RunFilter{}, db.KeyMetric + "loss"},
		{`params.p1 > 0.5`, db.RunFilter{Project: "p3", Status: db.StatusSucceeded}, db.KeyMetric + "loss"},
		{`params.p1 > 0.5 and params.p1 < 0.51`, db.RunFilter{}, ""},
		{`params.opt = "adam" and metrics.acc > 0.9`, db.RunFilter{}, ""},
		{`project in ("p1", "p2") and metrics.acc > 0.95`, db.RunFilter{}, db.KeyMetric + "acc"},
		{`tag = gpu and metrics.loss < 0.05`, db.RunFilter{Review: db.ReviewUnreviewed}, ""},
		{`status in (failed, cancelled)`, db.RunFilter{}, db.KeyParam + "lr"},
		{`created > -30d`, db.RunFilter{Status: db.StatusRunning}, db.KeyCreated},
		{`notes ~ "diverged"`, db.RunFilter{}, ""},
	} {
		n, err := query.Parse(c.src, now)
		check(err)
		f := c.f
		f.Query, f.QueryNow, f.QueryStaleBefore, f.SortKey = n, now, now, c.sort
		_, _, err = s.ListRuns(ctx, f, 50)
		check(err)
		_, err = s.CountRuns(ctx, f)
		check(err)
	}
	_, _, err = s.ListRuns(ctx, db.RunFilter{Project: "p3", Status: db.StatusSucceeded}, 50)
	check(err)
	for _, f := range []db.RunFilter{
		{Review: db.ReviewApproved}, {Project: "p1", Review: db.ReviewApproved}, {Review: db.ReviewOutdated},
		{Review: db.ReviewApproved, Before: run.ID}, {Project: "p1", Review: db.ReviewUnreviewed, Before: run.ID},
		{Review: db.ReviewOutdated, Before: run.ID},
		{}, {Project: "p1"}, {Status: db.StatusRunning}, {Project: "p1", Status: db.StatusRunning},
		{Status: db.StatusRunning, StaleBefore: now}, {Project: "p1", Status: db.StatusRunning, StaleBefore: now},
		{Deleted: true}, {Before: run.ID}, {Project: "p1", Before: run.ID}, {Status: db.StatusFailed, Before: run.ID},
		{Project: "p1", Status: db.StatusFailed, Before: run.ID},
	} {
		_, _, err = s.ListRuns(ctx, f, 50)
		check(err)
	}

	check(s.ClaimSetup(ctx, u.ID, now))
	check(s.ReleaseSetup(ctx, u.ID))
	check(s.WithLease(ctx, "l", time.Second, time.Second, func() error { return nil }))

	var records []db.Record
	check(s.ExportRecords(ctx, func(r db.Record) error {
		if len(records) < 50 {
			records = append(records, r)
		}
		return nil
	}))
	records = append(records, db.Record{Kind: db.KindSession, Session: &db.Session{ID: "imp", UserID: u.ID, SecretHash: "h",
		IdleExpiresAt: now, ExpiresAt: now}},
		db.Record{Kind: db.KindSavedView, View: &db.SavedView{UserID: u.ID, Name: "imported", UpdatedAt: now}})
	i := 0
	_, err = s.ImportRecords(ctx, func() (db.Record, error) {
		if i == len(records) {
			return db.Record{}, io.EOF
		}
		i++
		return records[i-1], nil
	}, true)
	check(err)
	_, err = s.ImportRecords(ctx, func() (db.Record, error) { return db.Record{}, io.EOF }, false)
	if err == nil {
		t.Fatal("import into a full database without merge succeeded")
	}
	_, err = s.DeleteUser(ctx, u.ID)
	check(err)
}
