package server

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"labreview/db"
	"labreview/db/dbtest"
)

// TestQueryThroughTheAPI: q filters lists and bulk reviews on both
// adapters; syntax errors say where; injection attempts stay inert.
func TestQueryThroughTheAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		for i, body := range []string{
			`{"project":"sweep","external_id":"a","status":"succeeded","params":{"lr":0.1,"opt":{"name":"adam"}},"metrics":{"loss":0.5},"tags":["gpu"]}`,
			`{"project":"sweep","external_id":"b","status":"failed","params":{"lr":0.01,"opt":{"name":"sgd"}},"metrics":{"loss":"NaN"}}`,
			`{"project":"sweep","external_id":"c","status":"succeeded","params":{"lr":0.001},"metrics":{"loss":0.05},"tags":["gpu","final"]}`,
			`{"project":"x'; DROP TABLE runs; --","external_id":"d","name":"{\"$ne\": null}"}`,
		} {
			if rec := f.srv.do(jsonReq("POST", "/api/runs", tok, body)); rec.Code != 201 {
				t.Fatalf("run %d: %d %s", i, rec.Code, rec.Body)
			}
		}
		f.srv.do(jsonReq("POST", "/api/runs/"+f.runP1+"/series", tok, `{"loss":[[0,3],[1,0.2]]}`))
		ext := func(q string) []string {
			t.Helper()
			rec := f.srv.do(jsonReq("GET", "/api/runs?limit=2&q="+url.QueryEscape(q), f.viewer.access, ""))
			if rec.Code != 200 {
				t.Fatalf("%q: %d %s", q, rec.Code, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), `"total_exact":false`) {
				t.Fatalf("%q: a query's total is not marked as an estimate: %s", q, rec.Body)
			}
			var out []string
			var page struct {
				Runs []runResponse
				Next *string
			}
			mustJSON(t, rec.Body.Bytes(), &page)
			for {
				for _, r := range page.Runs {
					out = append(out, r.ExternalID)
				}
				if page.Next == nil {
					return out
				}
				rec = f.srv.do(jsonReq("GET", "/api/runs?limit=2&cursor="+*page.Next+"&q="+url.QueryEscape(q), f.viewer.access, ""))
				page.Next = nil
				mustJSON(t, rec.Body.Bytes(), &page)
			}
		}
		for q, want := range map[string]string{
			`project = sweep and metrics.loss < 0.1`:                  "c",
			`params.opt.name = adam or metrics.loss = NaN`:            "b a",
			`tag = gpu and not tag = final`:                           "a",
			`project = sweep and not params.opt.name = adam`:          "c b",
			`min(loss) < 1 and count(loss) = 2`:                       "seed",
			`project = "x'; DROP TABLE runs; --"`:                     "d",
			`name = "{\"$ne\": null}"`:                                "d",
			`project = sweep and status in (failed) or params.lr > 1`: "b",
		} {
			if got := strings.Join(ext(q), " "); got != want {
				t.Errorf("%q: %q, want %q", q, got, want)
			}
		}
		// Syntax errors say where and what was expected.
		rec := f.srv.do(jsonReq("GET", "/api/runs?q="+url.QueryEscape(`project = sweep and metrics.loss <`), tok, ""))
		e := decodeError(t, rec)
		if rec.Code != 400 || e.Error != "invalid_query" || e.Position == nil || e.Position.Column != 35 || !strings.Contains(e.Message, "expected a value") {
			t.Fatalf("syntax error: %d %+v", rec.Code, e)
		}
		for _, bad := range []string{`$where = 1`, `params.$gt = 1`, `project = x) or (1=1`, `{"project":{"$ne":null}}`} {
			if rec := f.srv.do(jsonReq("GET", "/api/runs?q="+url.QueryEscape(bad), tok, "")); rec.Code != 400 {
				t.Errorf("%q: %d", bad, rec.Code)
			}
		}
		// The runs table survived the injection attempt above.
		if got := ext(`project = sweep`); len(got) != 3 {
			t.Fatalf("after the attempts: %v", got)
		}
		// A bulk review by query.
		rec = f.srv.do(jsonReq("POST", "/api/runs/review", f.reviewer.access, `{"q":"project = sweep and status = succeeded","state":"approved"}`))
		var res bulkResponse
		mustJSON(t, rec.Body.Bytes(), &res)
		if rec.Code != 200 || len(res.Reviewed) != 2 {
			t.Fatalf("bulk by query: %d %s", rec.Code, rec.Body)
		}
		if got := strings.Join(ext(`review = approved`), " "); got != "c a" {
			t.Fatalf("approved after the bulk review: %q", got)
		}
		if rec := f.srv.do(jsonReq("POST", "/api/runs/review", f.reviewer.access, `{"q":"project = sweep","ids":["`+f.runP1+`"],"state":"approved"}`)); rec.Code != 400 {
			t.Fatalf("ids and q together: %d", rec.Code)
		}
	})
}

func TestSortedRunLists(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		for i, loss := range []string{"0.3", "0.1", `"NaN"`, "0.2", "0.1", `"Infinity"`} {
			f.create(t, tok, fmt.Sprintf(`{"project":"sort","external_id":"r%d","metrics":{"loss":%s},"params":{"seed":%d}}`, i, loss, 10-i), 201)
		}
		f.create(t, tok, `{"project":"sort","external_id":"none"}`, 201)
		walk := func(cred, q string) []string {
			t.Helper()
			var out []string
			cursor := ""
			for {
				rec := f.srv.do(jsonReq("GET", "/api/runs?limit=2&"+q+"&cursor="+url.QueryEscape(cursor), cred, ""))
				if rec.Code != 200 {
					t.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
				}
				var page struct {
					Runs []runResponse
					Next *string
				}
				mustJSON(t, rec.Body.Bytes(), &page)
				for _, r := range page.Runs {
					out = append(out, r.ExternalID)
				}
				if page.Next == nil {
					return out
				}
				cursor = *page.Next
			}
		}
		// Finite values first (ties by id in the same direction), then the
		// runs without one (NaN, Infinity, none), newest first.
		for q, want := range map[string]string{
			"project=sort&sort=metrics.loss":                                           "r1 r4 r3 r0 none r5 r2",
			"project=sort&sort=-metrics.loss":                                          "r0 r3 r4 r1 none r5 r2",
			"project=sort&sort=params.seed":                                            "r5 r4 r3 r2 r1 r0 none",
			"project=sort&sort=-created":                                               "none r5 r4 r3 r2 r1 r0",
			"project=sort&sort=created":                                                "r0 r1 r2 r3 r4 r5 none",
			"sort=name&q=" + url.QueryEscape("project = sort and metrics.loss < 0.25"): "r1 r3 r4",
		} {
			if got := strings.Join(walk(tok, q), " "); got != want {
				t.Errorf("%s: %s, want %s", q, got, want)
			}
		}
		// A token of two projects gets one sorted walk over both.
		rec := f.srv.do(jsonReq("POST", "/api/tokens", f.reviewer.access, `{"name":"two","scopes":["runs:read"],"projects":["sort","p1"]}`))
		var two struct{ Token string }
		mustJSON(t, rec.Body.Bytes(), &two)
		if got := strings.Join(walk(two.Token, "sort=-metrics.loss"), " "); got != "r0 r3 r4 r1 none r5 r2 seed" {
			t.Errorf("two projects, sorted: %s", got)
		}
		for _, q := range []string{"sort=colour", "sort=metrics.$a", "sort=metrics.loss&cursor=" + f.runP1, "sort=metrics.loss&cursor=s.eyJrIjoibTpvdGhlciJ9"} {
			if rec := f.srv.do(jsonReq("GET", "/api/runs?"+q, tok, "")); rec.Code != 400 {
				t.Errorf("%s: %d", q, rec.Code)
			}
		}
	})
}
