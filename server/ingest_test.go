package server

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// TestSeriesBatchNamesEveryBadPoint: a batch with bad points is refused
// whole, and the answer names each (series, index, reason), up to 20, so
// that a client can drop them and send the rest.
func TestSeriesBatchNamesEveryBadPoint(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	tok, path := f.tokens["rw"], "/api/runs/"+f.runP1+"/series"
	rec := f.srv.do(jsonReq("POST", path, tok, `{"loss":[[0,1],[1,"high"],[2,null],[3,1e999],[1.5,2],[5,1,"now"],[6,1,-5],[7,1,null]],`+
		`"val.loss":[[0,0.5]],"bad\tname":[[0,1],[1,"x"]],"train/loss":[[-1,2],[9007199254740992,1]]}`))
	if rec.Code != 400 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	e := decodeError(t, rec)
	if e.Error != "invalid" || !strings.Contains(e.Message, "9 points of the batch are invalid") {
		t.Fatalf("%+v", e)
	}
	var got []string
	for _, d := range e.Details {
		at := "all"
		if d.Index != nil {
			at = fmt.Sprint(*d.Index)
		}
		if d.Field != "series" || d.Series == nil {
			t.Fatalf("detail %+v", d)
		}
		got = append(got, fmt.Sprintf("%s@%s: %s", *d.Series, at, d.Message))
	}
	want := []string{
		"bad\tname@all: a name holds no control or format characters (tabs, line breaks, zero-width characters)",
		`loss@1: the value "high" is a text; only "NaN", "Infinity" and "-Infinity" are allowed`,
		`loss@2: the value is null: send a number, or "NaN" for a missing one`,
		"loss@3: the value 1e999 is beyond the range of a 64-bit float",
		"loss@4: the step 1.5 is not a whole number",
		`loss@5: the time "now" is not a number of Unix seconds`,
		"loss@6: the time -5 is not Unix seconds from 0 to the year 9999",
		"train/loss@0: the step -1 is not a whole number from 0 to 2^53 − 1",
		"train/loss@1: the step 9007199254740992 is not a whole number from 0 to 2^53 − 1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("details:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sums, _ := f.srv.db.SeriesSummaries(t.Context(), f.runP1); len(sums) != 0 {
		t.Fatalf("a refused batch stored %+v", sums)
	}
	// More than 20: the first 20 are named, the message counts them all.
	var many []string
	for i := range 30 {
		many = append(many, fmt.Sprintf("[%d,null]", i))
	}
	rec = f.srv.do(jsonReq("POST", path, tok, `{"x":[`+strings.Join(many, ",")+`]}`))
	e = decodeError(t, rec)
	if rec.Code != 400 || len(e.Details) != 20 || !strings.Contains(e.Message, "30 points of the batch are invalid (details names the first 20)") ||
		*e.Details[19].Index != 19 {
		t.Fatalf("%d %+v", rec.Code, e)
	}
	// The good points sent again are stored, names with dots and slashes.
	rec = f.srv.do(jsonReq("POST", path, tok, `{"loss":[[0,1],[7,1,null]],"val.loss":[[0,0.5]],"train/loss":[[0,2]]}`))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"received":4`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = f.srv.do(jsonReq("GET", path+"?names=val.loss,train/loss", tok, ""))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"val.loss"`) || !strings.Contains(rec.Body.String(), `"name":"train/loss","count":1`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestFailureReasonsFloatsAndNumbers: a failed run says why (in the run,
// briefly in lists, in queries); a status that is no failure clears it;
// whole floats stay floats; numbers that are not numbers are refused
// naming the field.
func TestFailureReasonsFloatsAndNumbers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		run := f.create(t, tok, `{"project":"fail","external_id":"a","status":"failed","params":{"lr":2.0,"n":2,"e":1e2,"big":12345678901234567890},`+
			`"failure":{"reason":"ZeroDivisionError: division by zero","detail":"Traceback (most recent call last):\n  File \"job.py\", line 3\nZeroDivisionError: division by zero"}}`, 201)
		id := run["id"].(string)
		rec := f.srv.do(jsonReq("GET", "/api/runs/"+id, tok, ""))
		body := rec.Body.String()
		for _, want := range []string{`"params":{"big":12345678901234567000.0,"e":100.0,"lr":2.0,"n":2}`,
			`"failure":{"reason":"ZeroDivisionError: division by zero","detail":"Traceback (most recent call last):\n  File \"job.py\", line 3\nZeroDivisionError: division by zero"}`} {
			if !strings.Contains(body, want) {
				t.Fatalf("run %s lacks %s", body, want)
			}
		}
		f.create(t, tok, `{"project":"fail","external_id":"b","status":"succeeded"}`, 201)
		rec = f.srv.do(jsonReq("GET", "/api/runs?project=fail&q="+url.QueryEscape(`failure.reason ~ "zerodivision"`), tok, ""))
		if body := rec.Body.String(); rec.Code != 200 || strings.Count(body, `"id"`) != 1 ||
			!strings.Contains(body, `"failure":{"reason":"ZeroDivisionError: division by zero"}`) {
			t.Fatalf("query: %d %s", rec.Code, body)
		}
		rec = f.srv.do(jsonReq("GET", "/api/runs?project=fail&q="+url.QueryEscape(`not failure.reason exists`), tok, ""))
		if body := rec.Body.String(); strings.Count(body, `"id"`) != 1 || !strings.Contains(body, `"failure":null`) {
			t.Fatalf("query: %s", body)
		}
		// Cancelled keeps a reason too; running again clears it.
		rec = f.srv.do(jsonReq("PATCH", "/api/runs/"+id, tok, `{"status":"cancelled","failure":{"reason":"KeyboardInterrupt"}}`))
		if !strings.Contains(rec.Body.String(), `"failure":{"reason":"KeyboardInterrupt","detail":""}`) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		rec = f.srv.do(jsonReq("PATCH", "/api/runs/"+id, tok, `{"status":"running"}`))
		if !strings.Contains(rec.Body.String(), `"failure":null`) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		// Numbers that are not numbers name their field.
		for body, field := range map[string]string{
			`{"project":"fail","metrics":{"acc":1,"loss":null}}`: "metrics.loss",
			`{"project":"fail","metrics":{"loss":1e999}}`:        "metrics.loss",
			`{"project":"fail","params":{"grid":[1,2,-1e999]}}`:  "params.grid[2]",
			`{"project":"fail","params":{"opt":{"eps":1e-400}}}`: "",
		} {
			rec := f.srv.do(jsonReq("POST", "/api/runs", tok, body))
			if field == "" { // underflow is a number: 0
				if rec.Code != 201 {
					t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
				}
				continue
			}
			e := decodeError(t, rec)
			if rec.Code != 400 || len(e.Details) != 1 || e.Details[0].Field != field || !strings.Contains(e.Message, field) {
				t.Fatalf("%s: %d %+v", body, rec.Code, e)
			}
		}
	})
}

// TestTokenErrorsSayWhatIsWrong: a mistyped, a revoked and an expired API
// token get different answers (with the date); a missing scope is named;
// a project the token may not use names the ones it may.
func TestTokenErrorsSayWhatIsWrong(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	create := func(body string) (id, token string) {
		rec := f.srv.do(jsonReq("POST", "/api/tokens", f.reviewer.access, body))
		var out struct{ ID, Token string }
		mustJSON(t, rec.Body.Bytes(), &out)
		return out.ID, out.Token
	}
	revokedID, revoked := create(`{"name":"old","scopes":["runs:read","runs:write"]}`)
	if rec := f.srv.do(jsonReq("DELETE", "/api/tokens/"+revokedID, f.reviewer.access, "")); rec.Code != 204 {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	_, short := create(`{"name":"short","scopes":["runs:read"],"expires_in_days":1}`)
	_, twoProjects := create(`{"name":"two","scopes":["runs:write"],"projects":["p1","sweep 2"]}`)
	f.clk.Advance(49 * time.Hour)
	expiry := f.clk.Now().Add(-25 * time.Hour).UTC().Format("2006-01-02")
	for _, tc := range []struct {
		token, method, path, body string
		status                    int
		code, says                string
	}{
		{"lrt_" + strings.Repeat("Q", 43), "GET", "/api/runs", "", 401, "invalid_token", "not known to this server"},
		{"lrt_short", "GET", "/api/runs", "", 401, "invalid_token", "copied whole"},
		{revoked, "GET", "/api/runs", "", 401, "invalid_token", "revoked on " + time.Now().UTC().Format("2006-01-02")},
		{short, "GET", "/api/runs", "", 401, "invalid_token", "expired on " + expiry},
		{f.tokens["w"], "GET", "/api/runs", "", 403, "insufficient_scope", "lacks the runs:read scope"},
		{f.tokens["ro"], "POST", "/api/runs", `{"project":"p1"}`, 403, "insufficient_scope", "lacks the runs:write scope"},
		{twoProjects, "POST", "/api/runs", `{"project":"p3"}`, 403, "project_not_allowed", `limited to "p1" and "sweep 2"`},
	} {
		rec := f.srv.do(jsonReq(tc.method, tc.path, tc.token, tc.body))
		e := decodeError(t, rec)
		if rec.Code != tc.status || e.Error != tc.code || !strings.Contains(e.Message, tc.says) {
			t.Errorf("%.12s… %s %s: %d %s %q, want %d %s %q", tc.token, tc.method, tc.path, rec.Code, e.Error, e.Message, tc.status, tc.code, tc.says)
		}
		if rec.Code == 401 && !strings.Contains(rec.Header().Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("%s: no WWW-Authenticate", tc.says)
		}
	}
}

// TestCloseStaleRunsAndTruncateSeries: reviewers close a run whose job
// died (not one that is alive); a write token truncates a series from a
// step, an admin removes a whole one; both are audited and outdate a
// verdict.
func TestCloseStaleRunsAndTruncateSeries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		id := f.create(t, tok, `{"project":"p1","external_id":"stale","status":"running"}`, 201)["id"].(string)
		alive := f.clk.Now().UTC()
		close := func(cred, body string) (int, errorBody, string) {
			rec := f.srv.do(jsonReq("POST", "/api/runs/"+id+"/close", cred, body))
			if rec.Code == 200 {
				return 200, errorBody{}, rec.Body.String()
			}
			return rec.Code, decodeError(t, rec), ""
		}
		if code, e, _ := close(f.reviewer.access, `{"status":"failed","reason":"node died"}`); code != 409 || e.Error != "run_alive" {
			t.Fatalf("closing a live run: %d %+v", code, e)
		}
		f.clk.Advance(6 * time.Minute)
		// Access tokens last 5 minutes: sign in again.
		f.viewer, f.reviewer = f.srv.login(t, "view@lab.org", viewerPW), f.srv.login(t, "rev@lab.org", reviewerPW)
		f.admin = f.srv.login(t, "admin@lab.org", adminPW)
		for _, tc := range []struct {
			cred, body string
			status     int
			code       string
		}{
			{f.viewer.access, `{"status":"failed","reason":"x"}`, 403, "forbidden"},
			{tok, `{"status":"failed","reason":"x"}`, 403, "api_token_not_allowed"},
			{f.reviewer.access, `{"status":"succeeded","reason":"x"}`, 400, "invalid"},
			{f.reviewer.access, `{"status":"failed"}`, 400, "required"},
		} {
			if code, e, _ := close(tc.cred, tc.body); code != tc.status || e.Error != tc.code {
				t.Errorf("%s: %d %+v", tc.body, code, e)
			}
		}
		code, _, body := close(f.reviewer.access, `{"status":"failed","reason":"the node died (OOM killer)"}`)
		var run runResponse
		mustJSON(t, []byte(body), &run)
		if code != 200 || run.Status != "failed" || run.Failure == nil || run.Failure.Reason != "the node died (OOM killer)" ||
			!strings.Contains(*run.Failure.Detail, "no sign of life after") || run.FinishedAt == nil || !run.FinishedAt.Equal(alive.Truncate(time.Millisecond)) {
			t.Fatalf("closed: %d %s", code, body)
		}
		if code, e, _ := close(f.reviewer.access, `{"status":"cancelled","reason":"again"}`); code != 409 || e.Error != "run_ended" {
			t.Fatalf("closing a closed run: %d %+v", code, e)
		}
		queued := f.create(t, tok, `{"project":"p1","external_id":"never-started"}`, 201)["id"].(string)
		rec := f.srv.do(jsonReq("POST", "/api/runs/"+queued+"/close", f.admin.access, `{"status":"cancelled","reason":"never left the queue"}`))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"cancelled"`) {
			t.Fatalf("closing a queued run: %d %s", rec.Code, rec.Body)
		}

		// Truncate: a write token, from a step, on a run with a verdict.
		sid := f.create(t, tok, `{"project":"p1","external_id":"restarted","status":"running"}`, 201)["id"].(string)
		var pts []string
		for i := range 100 {
			pts = append(pts, fmt.Sprintf("[%d,%d]", i, i))
		}
		if rec := f.srv.do(jsonReq("POST", "/api/runs/"+sid+"/series", tok, `{"train/loss":[`+strings.Join(pts, ",")+`],"acc":[[0,1]]}`)); rec.Code != 200 {
			t.Fatalf("append: %d %s", rec.Code, rec.Body)
		}
		if rec := f.srv.do(jsonReq("POST", "/api/runs/"+sid+"/review", f.reviewer.access, `{"state":"approved"}`)); rec.Code != 200 {
			t.Fatalf("review: %d %s", rec.Code, rec.Body)
		}
		del := func(cred, path string) (int, string) {
			rec := f.srv.do(jsonReq("DELETE", "/api/runs/"+sid+"/series/"+path, cred, ""))
			return rec.Code, rec.Body.String()
		}
		if code, body := del(f.tokens["w"], "train/loss?from_step=50"); code != 200 || body != `{"removed":50}` {
			t.Fatalf("truncate: %d %s", code, body)
		}
		if code, body := del(f.tokens["w"], "train%2Floss?from_step=50"); code != 200 || body != `{"removed":0}` {
			t.Fatalf("truncate again (encoded name): %d %s", code, body)
		}
		rec = f.srv.do(jsonReq("GET", "/api/runs/"+sid, tok, ""))
		if body := rec.Body.String(); !strings.Contains(body, `"name":"train/loss","count":50,"first_step":0,"last_step":49`) ||
			!strings.Contains(body, `"outdated":true`) {
			t.Fatalf("after the truncation: %s", body)
		}
		for _, tc := range []struct {
			cred, path string
			status     int
			says       string
		}{
			{f.tokens["w"], "train/loss", 403, "runs:delete"},
			{f.reviewer.access, "train/loss", 403, "runs:delete"},
			{f.tokens["ro"], "train/loss?from_step=3", 403, "runs:write"},
			{tok, "nope?from_step=3", 404, "no series of this name"},
			{tok, "train/loss?from_step=-1", 400, "from_step"},
			{tok, "train/loss?from_step=x", 400, "from_step"},
		} {
			if code, body := del(tc.cred, tc.path); code != tc.status || !strings.Contains(body, tc.says) {
				t.Errorf("DELETE %s: %d %s", tc.path, code, body)
			}
		}
		if code, body := del(f.admin.access, "train/loss"); code != 200 || body != `{"removed":50}` {
			t.Fatalf("delete: %d %s", code, body)
		}
		rec = f.srv.do(jsonReq("GET", "/api/runs/"+sid, tok, ""))
		if !strings.Contains(rec.Body.String(), `"series":[{"name":"acc","count":1,`) {
			t.Fatalf("a deleted series is listed: %s", rec.Body)
		}
		rec = f.srv.do(jsonReq("GET", "/api/audit?event=series_truncated", f.admin.access, ""))
		if !strings.Contains(rec.Body.String(), `"from_step":50`) || !strings.Contains(rec.Body.String(), `"series":"train/loss"`) {
			t.Fatalf("audit: %s", rec.Body)
		}
		for _, ev := range []string{"series_deleted", "run_closed"} {
			if rec := f.srv.do(jsonReq("GET", "/api/audit?event="+ev, f.admin.access, "")); !strings.Contains(rec.Body.String(), `"`+ev+`"`) {
				t.Fatalf("audit %s: %s", ev, rec.Body)
			}
		}
	})
}
