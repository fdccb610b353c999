package server

import (
	"strings"
	"testing"

	"labreview/db"
	"labreview/db/dbtest"
)

func TestReviewWorkflow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		path := "/api/runs/" + f.runP1 + "/review"

		// Who may give a verdict, and what it needs.
		for _, tc := range []struct {
			name, cred, body string
			status           int
			code             string
		}{
			{"a viewer", f.viewer.access, `{"state":"approved"}`, 403, "forbidden"},
			{"an API token", tok, `{"state":"approved"}`, 403, "api_token_not_allowed"},
			{"an admin's API token", f.tokens["admin"], `{"state":"approved"}`, 403, "api_token_not_allowed"},
			{"rejected without a comment", f.reviewer.access, `{"state":"rejected","comment":"  "}`, 400, "required"},
			{"needs_rerun without a comment", f.reviewer.access, `{"state":"needs_rerun"}`, 400, "required"},
			{"an unknown state", f.reviewer.access, `{"state":"great"}`, 400, "invalid"},
			{"stale is not a verdict", f.reviewer.access, `{"state":"outdated"}`, 400, "invalid"},
		} {
			rec := f.srv.do(jsonReq("POST", path, tc.cred, tc.body))
			if rec.Code != tc.status {
				t.Errorf("%s: %d, want %d: %s", tc.name, rec.Code, tc.status, rec.Body)
				continue
			}
			if e := decodeError(t, rec); e.Error != tc.code {
				t.Errorf("%s: %q, want %q", tc.name, e.Error, tc.code)
			}
		}

		var r runResponse
		rec := f.srv.do(jsonReq("POST", path, f.reviewer.access, `{"state":"approved","comment":"looks right"}`))
		mustJSON(t, rec.Body.Bytes(), &r)
		if rec.Code != 200 || r.Review.State != "approved" || r.Review.By != f.reviewerID || r.Review.Outdated || r.Review.At == nil {
			t.Fatalf("approve: %d %s", rec.Code, rec.Body)
		}
		// The job changes a metric and adds points: the verdict is
		// outdated, with what changed.
		f.srv.do(jsonReq("PATCH", "/api/runs/"+f.runP1, tok, `{"metrics":{"loss":0.2},"params":{"lr":0.5}}`))
		f.srv.do(jsonReq("POST", "/api/runs/"+f.runP1+"/series", tok, `{"loss":[[0,1],[1,0.5]]}`))
		f.srv.do(jsonReq("PATCH", "/api/runs/"+f.runP1, tok, `{"heartbeat":true,"notes":"notes are no data"}`))
		body := f.srv.do(jsonReq("GET", "/api/runs/"+f.runP1, f.viewer.access, "")).Body.String()
		for _, frag := range []string{`"state":"approved"`, `"outdated":true`, `"changes_since_review":{`,
			`"params":[{"name":"lr","before":null,"after":0.5}]`, `"metrics":[{"name":"loss","before":null,"after":0.2}]`,
			`"series":[{"name":"loss","count_before":0,"count_after":2,"last_step_before":0,"last_step_after":1}]`} {
			if !strings.Contains(body, frag) {
				t.Errorf("outdated run lacks %s:\n%s", frag, body)
			}
		}
		var page struct{ Runs []runResponse }
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs?review=outdated", f.viewer.access, "")).Body.Bytes(), &page)
		if len(page.Runs) != 1 || page.Runs[0].ID != f.runP1 {
			t.Fatalf("outdated list: %+v", page.Runs)
		}
		// A new verdict on the new data.
		rec = f.srv.do(jsonReq("POST", path, f.admin.access, `{"state":"needs_rerun","comment":"lr 0.5 diverges"}`))
		mustJSON(t, rec.Body.Bytes(), &r)
		if r.Review.State != "needs_rerun" || r.Review.Outdated {
			t.Fatalf("second verdict: %s", rec.Body)
		}
		if body := f.srv.do(jsonReq("GET", "/api/runs/"+f.runP1, f.viewer.access, "")).Body.String(); strings.Contains(body, "changes_since_review") {
			t.Fatal("a current verdict shows changes")
		}
		// The whole history, newest first, readable by viewers and tokens.
		var hist struct {
			Reviews []struct {
				State, Comment, By string
			}
		}
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs/"+f.runP1+"/reviews", f.tokens["ro"], "")).Body.Bytes(), &hist)
		if len(hist.Reviews) != 2 || hist.Reviews[0].State != "needs_rerun" || hist.Reviews[1].Comment != "looks right" {
			t.Fatalf("history: %+v", hist.Reviews)
		}
		if f.srv.auditCount(t, "run_reviewed") != 2 {
			t.Fatal("verdicts are not audited")
		}
	})
}

func TestBulkReviewAndUndo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		third := f.create(t, tok, `{"project":"p1","external_id":"third"}`, 201)["id"].(string)
		gone := f.create(t, tok, `{"project":"p1","external_id":"gone"}`, 201)["id"].(string)
		f.srv.do(jsonReq("DELETE", "/api/runs/"+gone, f.admin.access, ""))
		// runP1 was approved before the bulk review.
		f.srv.do(jsonReq("POST", "/api/runs/"+f.runP1+"/review", f.reviewer.access, `{"state":"approved","comment":"ok"}`))

		if rec := f.srv.do(jsonReq("POST", "/api/runs/review", f.reviewer.access, `{"ids":[],"state":"rejected","comment":"x"}`)); rec.Code != 400 {
			t.Fatalf("empty bulk: %d", rec.Code)
		}
		if rec := f.srv.do(jsonReq("POST", "/api/runs/review", f.reviewer.access, `{"ids":["`+third+`"],"state":"rejected"}`)); rec.Code != 400 {
			t.Fatalf("bulk reject without a comment: %d", rec.Code)
		}
		rec := f.srv.do(jsonReq("POST", "/api/runs/review", f.reviewer.access,
			`{"ids":["`+f.runP1+`","`+third+`","`+gone+`","`+db.NewID()+`","`+third+`"],"state":"rejected","comment":"wrong mesh"}`))
		var res bulkResponse
		mustJSON(t, rec.Body.Bytes(), &res)
		if rec.Code != 200 || len(res.Reviewed) != 2 || len(res.Skipped) != 2 || res.BatchID == "" {
			t.Fatalf("bulk: %d %s", rec.Code, rec.Body)
		}
		state := func(id string) string {
			var r runResponse
			mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs/"+id, tok, "")).Body.Bytes(), &r)
			return r.Review.State
		}
		if state(f.runP1) != "rejected" || state(third) != "rejected" {
			t.Fatal("the bulk verdict did not land")
		}
		// Only the author (or an admin) undoes a batch.
		undo := `{"batch_id":"` + res.BatchID + `"}`
		if rec := f.srv.do(jsonReq("POST", "/api/runs/review/undo", f.viewer.access, undo)); rec.Code != 403 {
			t.Fatalf("viewer undo: %d", rec.Code)
		}
		f.srv.mustCreateUser(t, "rev2@lab.org", "Rev2", db.RoleReviewer, reviewerPW)
		rev2 := f.srv.login(t, "rev2@lab.org", reviewerPW)
		if rec := f.srv.do(jsonReq("POST", "/api/runs/review/undo", rev2.access, undo)); rec.Code != 404 {
			t.Fatalf("another reviewer's undo: %d %s", rec.Code, rec.Body)
		}
		// third is reviewed again before the undo: the undo leaves it.
		f.srv.do(jsonReq("POST", "/api/runs/"+third+"/review", rev2.access, `{"state":"approved"}`))
		rec = f.srv.do(jsonReq("POST", "/api/runs/review/undo", f.reviewer.access, undo))
		mustJSON(t, rec.Body.Bytes(), &res)
		if rec.Code != 200 || len(res.Reviewed) != 1 || res.Reviewed[0] != f.runP1 || len(res.Skipped) != 1 || res.Skipped[0].Reason != "reviewed_since" {
			t.Fatalf("undo: %d %s", rec.Code, rec.Body)
		}
		if state(f.runP1) != "approved" || state(third) != "approved" {
			t.Fatalf("after the undo: %s, %s", state(f.runP1), state(third))
		}
		// Nothing left the history: approve, reject, approve again (undo).
		var hist struct {
			Reviews []struct {
				State     string
				UndoOf    string `json:"undo_of"`
				BatchSize int64  `json:"batch_size"`
			}
		}
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs/"+f.runP1+"/reviews", tok, "")).Body.Bytes(), &hist)
		if len(hist.Reviews) != 3 || hist.Reviews[0].State != "approved" || hist.Reviews[0].UndoOf == "" || hist.Reviews[1].State != "rejected" {
			t.Fatalf("history after undo: %+v", hist.Reviews)
		}
		// The batch sizes tell the bulk review (two runs) from the single
		// verdict and the undo that reached one run.
		if h := hist.Reviews; h[0].BatchSize != 1 || h[1].BatchSize != 2 || h[2].BatchSize != 1 {
			t.Fatalf("batch sizes: %+v", h)
		}
		// A run names its creator and the API token it was written with.
		var created struct {
			CreatedBy runCreator `json:"created_by"`
		}
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs/"+third, f.viewer.access, "")).Body.Bytes(), &created)
		if c := created.CreatedBy; c.UserID != f.reviewerID || c.UserName != "Rev" || c.TokenID == "" || c.TokenName != "rw" {
			t.Fatalf("creator of a run written with a token: %+v", c)
		}
		created.CreatedBy = runCreator{}
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs/"+f.runP1, f.viewer.access, "")).Body.Bytes(), &created)
		if c := created.CreatedBy; c.UserName != "Rev" || c.TokenID != "" || c.TokenName != "" {
			t.Fatalf("creator of a run written in a session: %+v", c)
		}
		// A queue: the unreviewed runs of p1.
		var page struct{ Runs []runResponse }
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs?project=p1&review=unreviewed", tok, "")).Body.Bytes(), &page)
		for _, r := range page.Runs {
			if r.Review.State != "unreviewed" || r.Project != "p1" {
				t.Fatalf("queue: %+v", r)
			}
		}
		if rec := f.srv.do(jsonReq("GET", "/api/runs?status=running&review=approved", tok, "")); rec.Code != 400 {
			t.Fatalf("status and review together: %d", rec.Code)
		}
	})
}
