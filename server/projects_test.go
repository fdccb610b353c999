package server

import (
	"strings"
	"testing"

	"labreview/db"
	"labreview/db/dbtest"
)

func TestProjectsTotalsAndBaseline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		base := f.create(t, tok, `{"project":"p1","external_id":"base","status":"succeeded","params":{"lr":0.001,"opt":{"beta":0.9}},"metrics":{"loss":0.2,"acc":0.9,"zero":0}}`, 201)["id"].(string)
		cand := f.create(t, tok, `{"project":"p1","external_id":"cand","status":"succeeded","params":{"lr":0.002,"opt":{"beta":0.9}},"metrics":{"loss":0.1,"acc":0.9,"zero":1,"new":"NaN"}}`, 201)["id"].(string)
		f.create(t, tok, `{"project":"p1","external_id":"run","status":"running"}`, 201)

		var projects struct{ Projects []projectResponse }
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/projects", f.viewer.access, "")).Body.Bytes(), &projects)
		if len(projects.Projects) != 2 || projects.Projects[0].Name != "p1" || projects.Projects[0].Runs != 4 ||
			projects.Projects[0].ByStatus["succeeded"] != 2 || projects.Projects[0].ByStatus["running"] != 1 ||
			projects.Projects[0].ByReview["unreviewed"] != 4 || projects.Projects[0].LastActivity == nil {
			t.Fatalf("projects: %+v", projects.Projects)
		}
		// A token limited to p1 sees p1 only.
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/projects", f.tokens["rw-p1"], "")).Body.Bytes(), &projects)
		if len(projects.Projects) != 1 || projects.Projects[0].Name != "p1" {
			t.Fatalf("limited token's projects: %+v", projects.Projects)
		}
		// Totals from the counters.
		for q, want := range map[string]string{
			"project=p1": `"total":4,"total_exact":true`, "status=succeeded": `"total":2,"total_exact":true`,
			"": `"total":5,"total_exact":true`, "status=stale": `"total":1,"total_exact":false`,
			"project=p1&review=unreviewed": `"total":4,"total_exact":true`,
		} {
			if body := f.srv.do(jsonReq("GET", "/api/runs?limit=1&"+q, tok, "")).Body.String(); !strings.Contains(body, want) {
				t.Errorf("%s: %s lacks %s", q, body[max(0, len(body)-120):], want)
			}
		}
		// A baseline must be approved and of the project.
		if rec := f.srv.do(jsonReq("PUT", "/api/projects/p1/baseline", f.reviewer.access, `{"run_id":"`+base+`"}`)); rec.Code != 409 {
			t.Fatalf("unapproved baseline: %d %s", rec.Code, rec.Body)
		}
		f.srv.do(jsonReq("POST", "/api/runs/"+base+"/review", f.reviewer.access, `{"state":"approved"}`))
		if rec := f.srv.do(jsonReq("PUT", "/api/projects/p2/baseline", f.reviewer.access, `{"run_id":"`+base+`"}`)); rec.Code != 409 {
			t.Fatalf("baseline of another project: %d", rec.Code)
		}
		for _, cred := range []string{f.viewer.access, tok} {
			if rec := f.srv.do(jsonReq("PUT", "/api/projects/p1/baseline", cred, `{"run_id":"`+base+`"}`)); rec.Code != 403 {
				t.Fatalf("baseline by a viewer or token: %d", rec.Code)
			}
		}
		if rec := f.srv.do(jsonReq("PUT", "/api/projects/p1/baseline", f.reviewer.access, `{"run_id":"`+base+`"}`)); rec.Code != 204 {
			t.Fatalf("baseline: %d %s", rec.Code, rec.Body)
		}
		body := f.srv.do(jsonReq("GET", "/api/runs/"+cand, f.viewer.access, "")).Body.String()
		for _, frag := range []string{`"baseline":{"run_id":"` + base + `","name":"base","approved":true`,
			`"params":[{"name":"lr","before":0.001,"after":0.002}]`,
			`{"name":"loss","run":0.1,"baseline":0.2,"delta":-0.1,"ratio":0.5}`,
			`{"name":"zero","run":1,"baseline":0,"delta":1,"ratio":null}`,
			`{"name":"new","run":"NaN","baseline":null,"delta":null,"ratio":null}`} {
			if !strings.Contains(body, frag) {
				t.Errorf("candidate lacks %s:\n%s", frag, body)
			}
		}
		if body := f.srv.do(jsonReq("GET", "/api/runs/"+base, f.viewer.access, "")).Body.String(); strings.Contains(body, `"baseline":{`) {
			t.Fatal("the baseline compares with itself")
		}
		if rec := f.srv.do(jsonReq("DELETE", "/api/projects/p1/baseline", f.admin.access, "")); rec.Code != 204 {
			t.Fatalf("clear: %d", rec.Code)
		}
		if body := f.srv.do(jsonReq("GET", "/api/runs/"+cand, f.viewer.access, "")).Body.String(); strings.Contains(body, `"baseline":{`) {
			t.Fatal("a cleared baseline still shows")
		}
		if f.srv.auditCount(t, "baseline_set") != 2 {
			t.Fatal("baseline changes are not audited")
		}
	})
}
