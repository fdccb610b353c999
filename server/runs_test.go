package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

const reviewerPW = "copper-willow-sunrise-77"

// runsFixture is a server with an admin, a reviewer and a viewer signed
// in, API tokens of several kinds, and one run in each of two projects.
type runsFixture struct {
	srv                     *testServer
	clk                     *clock
	admin, reviewer, viewer session
	reviewerID              string
	tokens                  map[string]string // name → secret
	runP1, runP2            string
}

func newRunsFixture(t *testing.T, store db.Store) *runsFixture {
	t.Helper()
	clk := newClock()
	srv := newTestServerWith(t, Options{}, store, nil, testAuthConfig(), clk)
	srv.mustCreateUser(t, "admin@lab.org", "Admin", db.RoleAdmin, adminPW)
	rev := srv.mustCreateUser(t, "rev@lab.org", "Rev", db.RoleReviewer, reviewerPW)
	srv.mustCreateUser(t, "view@lab.org", "View", db.RoleViewer, viewerPW)
	f := &runsFixture{srv: srv, clk: clk, admin: srv.login(t, "admin@lab.org", adminPW),
		reviewer: srv.login(t, "rev@lab.org", reviewerPW), viewer: srv.login(t, "view@lab.org", viewerPW),
		reviewerID: rev.ID, tokens: map[string]string{}}
	for name, spec := range map[string]struct {
		who  session
		body string
	}{
		"rw":    {f.reviewer, `{"name":"rw","scopes":["runs:read","runs:write"]}`},
		"rw-p1": {f.reviewer, `{"name":"rw-p1","scopes":["runs:read","runs:write"],"projects":["p1"]}`},
		"ro":    {f.reviewer, `{"name":"ro","scopes":["runs:read"]}`},
		"w":     {f.reviewer, `{"name":"w","scopes":["runs:write"]}`},
		"v-ro":  {f.viewer, `{"name":"v-ro","scopes":["runs:read"]}`},
		"admin": {f.admin, `{"name":"admin","scopes":["runs:read","runs:write"]}`},
	} {
		rec := srv.do(jsonReq("POST", "/api/tokens", spec.who.access, spec.body))
		if rec.Code != 201 {
			t.Fatalf("token %s: %d %s", name, rec.Code, rec.Body)
		}
		var out struct{ Token string }
		mustJSON(t, rec.Body.Bytes(), &out)
		f.tokens[name] = out.Token
	}
	f.runP1 = f.create(t, f.reviewer.access, `{"project":"p1","external_id":"seed"}`, 201)["id"].(string)
	f.runP2 = f.create(t, f.reviewer.access, `{"project":"p2","external_id":"seed"}`, 201)["id"].(string)
	return f
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

func (f *runsFixture) create(t *testing.T, cred, body string, want int) map[string]any {
	t.Helper()
	rec := f.srv.do(jsonReq("POST", "/api/runs", cred, body))
	if rec.Code != want {
		t.Fatalf("create %s: %d %s", body, rec.Code, rec.Body)
	}
	var out map[string]any
	mustJSON(t, rec.Body.Bytes(), &out)
	return out
}

// TestRunsAccessMatrix: who may do what on the run endpoints, by role,
// token scope and token project; and tokens elsewhere.
func TestRunsAccessMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		creds := map[string]string{"admin": f.admin.access, "reviewer": f.reviewer.access, "viewer": f.viewer.access}
		for k, v := range f.tokens {
			creds["token "+k] = v
		}
		creds["unknown token"] = "lrt_" + strings.Repeat("Q", 43)
		n := 0
		newExternal := func() string { n++; return fmt.Sprintf("m%d", n) }
		type action struct {
			name string
			req  func(cred string) request
		}
		actions := map[string]action{
			"list":   {"list", func(c string) request { return jsonReq("GET", "/api/runs", c, "") }},
			"get p1": {"get p1", func(c string) request { return jsonReq("GET", "/api/runs/"+f.runP1, c, "") }},
			"get p2": {"get p2", func(c string) request { return jsonReq("GET", "/api/runs/"+f.runP2, c, "") }},
			"create p1": {"create p1", func(c string) request {
				return jsonReq("POST", "/api/runs", c, `{"project":"p1","external_id":"`+newExternal()+`"}`)
			}},
			"create p2": {"create p2", func(c string) request {
				return jsonReq("POST", "/api/runs", c, `{"project":"p2","external_id":"`+newExternal()+`"}`)
			}},
			"patch p2": {"patch p2", func(c string) request { return jsonReq("PATCH", "/api/runs/"+f.runP2, c, `{"heartbeat":true}`) }},
			"deleted":  {"deleted", func(c string) request { return jsonReq("GET", "/api/runs?deleted=true", c, "") }},
			"delete":   {"delete", func(c string) request { return jsonReq("DELETE", "/api/runs/"+db.NewID(), c, "") }},
			"me":       {"me", func(c string) request { return jsonReq("GET", "/api/me", c, "") }},
			"tokens":   {"tokens", func(c string) request { return jsonReq("GET", "/api/tokens", c, "") }},
			"users":    {"users", func(c string) request { return jsonReq("GET", "/api/users", c, "") }},
			"sessions": {"sessions", func(c string) request { return jsonReq("GET", "/api/auth/sessions", c, "") }},
		}
		// Expected status (and error code) per caller and action.
		type want struct {
			status int
			code   string
		}
		ok, created, gone := want{200, ""}, want{201, ""}, want{404, "not_found"}
		forbidden, scope := want{403, "forbidden"}, want{403, "insufficient_scope"}
		notHere, project, invalid := want{403, "api_token_not_allowed"}, want{403, "project_not_allowed"}, want{401, "invalid_token"}
		matrix := map[string]map[string]want{
			"admin": {"list": ok, "get p1": ok, "get p2": ok, "create p1": created, "create p2": created, "patch p2": ok,
				"deleted": ok, "delete": gone, "me": ok, "tokens": ok, "users": ok, "sessions": ok},
			"reviewer": {"list": ok, "get p1": ok, "get p2": ok, "create p1": created, "create p2": created, "patch p2": ok,
				"deleted": forbidden, "delete": forbidden, "me": ok, "tokens": ok, "users": forbidden, "sessions": ok},
			"viewer": {"list": ok, "get p1": ok, "get p2": ok, "create p1": forbidden, "create p2": forbidden, "patch p2": forbidden,
				"deleted": forbidden, "delete": forbidden, "me": ok, "tokens": ok, "users": forbidden, "sessions": ok},
			"token rw": {"list": ok, "get p1": ok, "get p2": ok, "create p1": created, "create p2": created, "patch p2": ok,
				"deleted": forbidden, "delete": notHere, "me": notHere, "tokens": notHere, "users": notHere, "sessions": notHere},
			"token rw-p1": {"list": ok, "get p1": ok, "get p2": gone, "create p1": created, "create p2": project, "patch p2": gone,
				"deleted": forbidden, "delete": notHere, "me": notHere, "tokens": notHere, "users": notHere, "sessions": notHere},
			"token ro": {"list": ok, "get p1": ok, "get p2": ok, "create p1": scope, "create p2": scope, "patch p2": scope,
				"deleted": forbidden, "delete": notHere, "me": notHere, "tokens": notHere, "users": notHere, "sessions": notHere},
			"token w": {"list": scope, "get p1": scope, "get p2": scope, "create p1": created, "create p2": created, "patch p2": ok,
				"deleted": scope, "delete": notHere, "me": notHere, "tokens": notHere, "users": notHere, "sessions": notHere},
			"token v-ro": {"list": ok, "get p1": ok, "get p2": ok, "create p1": scope, "create p2": scope, "patch p2": scope,
				"deleted": forbidden, "delete": notHere, "me": notHere, "tokens": notHere, "users": notHere, "sessions": notHere},
			"token admin": {"list": ok, "get p1": ok, "get p2": ok, "create p1": created, "create p2": created, "patch p2": ok,
				"deleted": forbidden, "delete": notHere, "me": notHere, "tokens": notHere, "users": notHere, "sessions": notHere},
			"unknown token": {"list": invalid, "get p1": invalid, "create p1": invalid, "patch p2": invalid, "delete": invalid,
				"me": invalid, "tokens": invalid},
		}
		for caller, row := range matrix {
			for act, w := range row {
				rec := f.srv.do(actions[act].req(creds[caller]))
				if rec.Code != w.status {
					t.Errorf("%s, %s: status %d, want %d; %s", caller, act, rec.Code, w.status, rec.Body)
					continue
				}
				if w.code != "" {
					if e := decodeError(t, rec); e.Error != w.code {
						t.Errorf("%s, %s: error %q, want %q", caller, act, e.Error, w.code)
					}
				}
			}
		}
		// A token limited to p1 lists only p1's runs.
		rec := f.srv.do(jsonReq("GET", "/api/runs?limit=500", f.tokens["rw-p1"], ""))
		var page struct{ Runs []runResponse }
		mustJSON(t, rec.Body.Bytes(), &page)
		for _, r := range page.Runs {
			if r.Project != "p1" {
				t.Fatalf("a token limited to p1 listed a run of %s", r.Project)
			}
		}
		if len(page.Runs) == 0 {
			t.Fatal("the p1 token listed nothing")
		}
		// The same token asking for p2 gets an empty page, not an error.
		rec = f.srv.do(jsonReq("GET", "/api/runs?project=p2", f.tokens["rw-p1"], ""))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"runs":[]`) {
			t.Fatalf("p1 token listing p2: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestTokenEndpoints: creation shows the secret once; lists never show
// it or its hash; admins see every token with its owner; revocation stops
// the token at once; a demoted owner's write token stops.
func TestTokenEndpoints(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		rec := f.srv.do(jsonReq("POST", "/api/tokens", f.viewer.access, `{"name":"x","scopes":["runs:write"]}`))
		if rec.Code != 403 {
			t.Fatalf("viewer's write token: %d %s", rec.Code, rec.Body)
		}
		for _, body := range []string{`{"name":"","scopes":["runs:read"]}`, `{"name":"x","scopes":["root"]}`,
			`{"name":"x","scopes":["runs:read"],"expires_in_days":400}`, `{"name":"x","scopes":["runs:read"],"hash":"h"}`} {
			if rec := f.srv.do(jsonReq("POST", "/api/tokens", f.reviewer.access, body)); rec.Code != 400 {
				t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
			}
		}
		rec = f.srv.do(jsonReq("GET", "/api/tokens", f.reviewer.access, ""))
		body := rec.Body.String()
		for _, secret := range f.tokens {
			if strings.Contains(body, secret) || strings.Contains(body, secret[4:20]) {
				t.Fatal("a token list shows a secret")
			}
		}
		if strings.Contains(body, `"hash"`) || strings.Contains(body, `"owner"`) {
			t.Fatalf("the reviewer's list: %s", body)
		}
		var mine struct{ Tokens []apiTokenResponse }
		mustJSON(t, rec.Body.Bytes(), &mine)
		if len(mine.Tokens) != 4 {
			t.Fatalf("the reviewer has %d tokens, want 4", len(mine.Tokens))
		}
		var all struct{ Tokens []apiTokenResponse }
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/tokens", f.admin.access, "")).Body.Bytes(), &all)
		if len(all.Tokens) != 6 || all.Tokens[0].Owner == nil || all.Tokens[0].Owner.Email == "" {
			t.Fatalf("the admin's list: %+v", all.Tokens)
		}
		// last_used_at appears after a use.
		f.srv.do(jsonReq("GET", "/api/runs", f.tokens["ro"], ""))
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/tokens", f.reviewer.access, "")).Body.Bytes(), &mine)
		var roID string
		for _, tok := range mine.Tokens {
			if tok.Name == "ro" {
				roID = tok.ID
				if tok.LastUsedAt == nil || tok.Status != "active" {
					t.Fatalf("used token: %+v", tok)
				}
			}
		}
		// Someone else's token cannot be revoked (it looks absent); the
		// owner's revocation works at once.
		if rec := f.srv.do(jsonReq("DELETE", "/api/tokens/"+roID, f.viewer.access, "")); rec.Code != 404 {
			t.Fatalf("viewer revoking the reviewer's token: %d", rec.Code)
		}
		if rec := f.srv.do(jsonReq("DELETE", "/api/tokens/"+roID, f.reviewer.access, "")); rec.Code != 204 {
			t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
		}
		if rec := f.srv.do(jsonReq("GET", "/api/runs", f.tokens["ro"], "")); rec.Code != 401 {
			t.Fatalf("revoked token: %d", rec.Code)
		}
		if f.srv.auditCount(t, "token_created") != 6 || f.srv.auditCount(t, "token_revoked") != 1 {
			t.Fatal("token events are not audited")
		}
		// Demoting the owner stops the write token at once.
		rec = f.srv.do(jsonReq("PATCH", "/api/users/"+f.reviewerID, f.admin.access, `{"role":"viewer"}`))
		if rec.Code != 200 {
			t.Fatalf("demote: %d %s", rec.Code, rec.Body)
		}
		if rec := f.srv.do(jsonReq("POST", "/api/runs", f.tokens["rw"], `{"project":"p1"}`)); rec.Code != 401 {
			t.Fatalf("write token of a demoted owner: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestRunCreateIsIdempotentUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes, ids := map[int]int{}, map[string]bool{}
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec := f.srv.do(jsonReq("POST", "/api/runs", f.tokens["rw"], `{"project":"sweep","external_id":"job-7","params":{"lr":0.1}}`))
				var r runResponse
				_ = json.Unmarshal(rec.Body.Bytes(), &r)
				mu.Lock()
				codes[rec.Code]++
				ids[r.ID] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[201] != 1 || codes[200] != 19 || len(ids) != 1 {
			t.Fatalf("20 identical creates: statuses %v, ids %v", codes, ids)
		}
	})
}

func TestRunInputAndLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		big := `{"project":"p","params":{"blob":"` + strings.Repeat("x", 70<<10) + `"}}`
		deep := `{"project":"p","params":` + strings.Repeat(`{"a":`, 25) + "1" + strings.Repeat("}", 25) + `}`
		cases := []struct {
			name, method, path, body string
			status                   int
			code                     string
		}{
			{"no project", "POST", "/api/runs", `{}`, 400, "required"},
			{"bad status", "POST", "/api/runs", `{"project":"p","status":"done"}`, 400, "invalid"},
			{"stale is not settable", "POST", "/api/runs", `{"project":"p","status":"stale"}`, 400, "invalid"},
			{"params not an object", "POST", "/api/runs", `{"project":"p","params":[1]}`, 400, "invalid"},
			{"params over 64 KiB", "POST", "/api/runs", big, 400, "too_large"},
			{"params too deep", "POST", "/api/runs", deep, 400, "invalid"},
			{"dotted param name", "POST", "/api/runs", `{"project":"p","params":{"a.b":1}}`, 400, "invalid"},
			{"dollar param name", "POST", "/api/runs", `{"project":"p","params":{"$where":"1"}}`, 400, "invalid"},
			{"dotted metric", "POST", "/api/runs", `{"project":"p","metrics":{"a.b":1}}`, 400, "invalid"},
			{"metric text", "POST", "/api/runs", `{"project":"p","metrics":{"a":"high"}}`, 400, "invalid_request"},
			{"project with newline", "POST", "/api/runs", `{"project":"p\n"}`, 400, "invalid"},
			{"long tag", "POST", "/api/runs", `{"project":"p","tags":["` + strings.Repeat("t", 101) + `"]}`, 400, "invalid"},
			{"server-owned field", "POST", "/api/runs", `{"project":"p","created_by":"me"}`, 400, "read_only_field"},
			{"unknown field", "POST", "/api/runs", `{"project":"p","colour":"red"}`, 400, "invalid_request"},
			{"patch the project", "PATCH", "/api/runs/" + f.runP1, `{"project":"other"}`, 400, "read_only_field"},
			{"patch the version", "PATCH", "/api/runs/" + f.runP1, `{"version":9}`, 400, "read_only_field"},
			{"patch a future finish", "PATCH", "/api/runs/" + f.runP1, `{"status":"failed","finished_at":"2999-01-01T00:00:00Z"}`, 400, "invalid"},
			{"patch an unknown run", "PATCH", "/api/runs/" + db.NewID(), `{"heartbeat":true}`, 404, "not_found"},
			{"get a malformed id", "GET", "/api/runs/x'%3BDROP%20TABLE%20runs%3B--", "", 404, "not_found"},
			{"bad page size", "GET", "/api/runs?limit=0", "", 400, "invalid"},
			{"bad cursor", "GET", "/api/runs?cursor=zzz", "", 400, "invalid"},
			{"bad status filter", "GET", "/api/runs?status=nope", "", 400, "invalid"},
			{"body over the server limit", "POST", "/api/runs", `{"project":"p","notes":"` + strings.Repeat("n", 2<<20) + `"}`, 413, "payload_too_large"},
		}
		for _, tc := range cases {
			rec := f.srv.do(jsonReq(tc.method, tc.path, tok, tc.body))
			if rec.Code != tc.status {
				t.Errorf("%s: status %d, want %d; %.300s", tc.name, rec.Code, tc.status, rec.Body)
				continue
			}
			if e := decodeError(t, rec); e.Error != tc.code {
				t.Errorf("%s: code %q, want %q (%s)", tc.name, e.Error, tc.code, e.Message)
			}
		}
		// Nothing of the refused requests was stored: only the fixture's runs.
		rec := f.srv.do(jsonReq("GET", "/api/runs", tok, ""))
		var page struct{ Runs []runResponse }
		mustJSON(t, rec.Body.Bytes(), &page)
		if len(page.Runs) != 2 {
			t.Fatalf("refused requests stored runs: %d runs", len(page.Runs))
		}
	})
}

// TestRunLifecycle: values round-trip (NaN and infinities as strings),
// status changes stamp the times, stale detection follows the clock,
// changes are audited with before and after, delete and restore.
func TestRunLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		created := f.create(t, tok, `{"project":"sweep","external_id":"j1","name":"lr scan","host":"node-3","job_id":"991",
			"params":{"lr":0.001,"seed":9007199254740993,"model":{"layers":[64,64],"act":"relu"}},
			"metrics":{"loss":0.5,"nan":"NaN","up":"Infinity","down":"-Infinity"},"tags":["a","a","b"],"notes":"<img src=x onerror=alert(1)>"}`, 201)
		id := created["id"].(string)
		raw := f.srv.do(jsonReq("GET", "/api/runs/"+id, tok, "")).Body.String()
		for _, frag := range []string{`"seed":9007199254740993`, `"nan":"NaN"`, `"up":"Infinity"`, `"down":"-Infinity"`,
			`"tags":["a","b"]`, `"status":"queued"`, `"version":1`, `"token_id":"`, `\u003cimg src=x onerror=alert(1)\u003e`} {
			if !strings.Contains(raw, frag) {
				t.Errorf("run JSON lacks %s: %s", frag, raw)
			}
		}

		rec := f.srv.do(jsonReq("PATCH", "/api/runs/"+id, tok, `{"status":"running","metrics":{"loss":0.25,"acc":0.9}}`))
		var r runResponse
		mustJSON(t, rec.Body.Bytes(), &r)
		if rec.Code != 200 || r.Status != "running" || r.StartedAt == nil || r.HeartbeatAt == nil || r.Metrics["loss"] != 0.25 ||
			r.Metrics["acc"] != 0.9 || len(r.Metrics) != 5 || r.Version != 2 {
			t.Fatalf("start: %d %s", rec.Code, rec.Body)
		}
		// No heartbeat for longer than stale_after (5 min): stale, in the
		// run and in the stale filter; a heartbeat brings it back.
		f.clk.Advance(6 * time.Minute)
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs/"+id, tok, "")).Body.Bytes(), &r)
		if r.Status != "stale" {
			t.Fatalf("after 6 quiet minutes: %s", r.Status)
		}
		var page struct{ Runs []runResponse }
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs?status=stale", tok, "")).Body.Bytes(), &page)
		if len(page.Runs) != 1 || page.Runs[0].ID != id {
			t.Fatalf("stale filter: %+v", page.Runs)
		}
		f.srv.do(jsonReq("PATCH", "/api/runs/"+id, tok, `{"heartbeat":true}`))
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs?status=stale", tok, "")).Body.Bytes(), &page)
		if len(page.Runs) != 0 {
			t.Fatalf("stale after a heartbeat: %+v", page.Runs)
		}
		rec = f.srv.do(jsonReq("PATCH", "/api/runs/"+id, tok, `{"status":"succeeded","notes":"done","tags":["final"]}`))
		mustJSON(t, rec.Body.Bytes(), &r)
		if r.FinishedAt == nil || r.DurationSeconds == nil || *r.DurationSeconds < 360 {
			t.Fatalf("finish: %s", rec.Body)
		}

		// The audit log has the creation and each change with before and
		// after, made by the token; heartbeats alone are not audited.
		events, _, err := store.ListAudit(t.Context(), db.AuditFilter{Event: "run_changed"}, 50)
		if err != nil || len(events) != 2 {
			t.Fatalf("run_changed events: %d %v", len(events), err)
		}
		last := events[0].Details
		after, _ := last["after"].(map[string]any)
		before, _ := last["before"].(map[string]any)
		if last["token_id"] == nil || last["run_id"] != id || after["status"] != "succeeded" || before["status"] != "running" ||
			after["notes"] != "done" || events[0].ActorID != f.reviewerID {
			t.Fatalf("audit details: %+v", events[0])
		}
		if f.srv.auditCount(t, "run_created") != 3 {
			t.Fatal("run creation is not audited")
		}

		// Delete (admin, signed in; the access token of the fixture has
		// expired with the clock): gone from lists, visible in the
		// deleted list, unchangeable, restorable.
		f.admin = f.srv.login(t, "admin@lab.org", adminPW)
		if rec := f.srv.do(jsonReq("DELETE", "/api/runs/"+id, f.admin.access, "")); rec.Code != 204 {
			t.Fatalf("delete: %d %s", rec.Code, rec.Body)
		}
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs?project=sweep", tok, "")).Body.Bytes(), &page)
		if len(page.Runs) != 0 {
			t.Fatal("a deleted run is still listed")
		}
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs?deleted=true", f.admin.access, "")).Body.Bytes(), &page)
		if len(page.Runs) != 1 || page.Runs[0].DeletedAt == nil {
			t.Fatalf("deleted list: %+v", page.Runs)
		}
		if rec := f.srv.do(jsonReq("PATCH", "/api/runs/"+id, tok, `{"notes":"x"}`)); rec.Code != 409 {
			t.Fatalf("patch a deleted run: %d", rec.Code)
		}
		if rec := f.srv.do(jsonReq("DELETE", "/api/runs/"+id, f.admin.access, "")); rec.Code != 409 {
			t.Fatalf("delete twice: %d", rec.Code)
		}
		// A retried create of a deleted run returns it, marked deleted.
		again := f.create(t, tok, `{"project":"sweep","external_id":"j1"}`, 200)
		if again["id"] != id || again["deleted_at"] == nil {
			t.Fatalf("create of a deleted run's external id: %v", again)
		}
		if rec := f.srv.do(jsonReq("POST", "/api/runs/"+id+"/restore", f.admin.access, "")); rec.Code != 200 {
			t.Fatalf("restore: %d %s", rec.Code, rec.Body)
		}
		mustJSON(t, f.srv.do(jsonReq("GET", "/api/runs?project=sweep", tok, "")).Body.Bytes(), &page)
		if len(page.Runs) != 1 {
			t.Fatal("a restored run is not listed")
		}
	})
}

// TestRunsListPages walks keyset pages with filters.
func TestRunsListPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		for i := range 25 {
			f.create(t, tok, fmt.Sprintf(`{"project":"sweep","external_id":"j%02d","status":"%s"}`, i, []string{"running", "failed"}[i%2]), 201)
		}
		seen := map[string]bool{}
		next, pages := "", 0
		for {
			path := "/api/runs?project=sweep&status=running&limit=4"
			if next != "" {
				path += "&cursor=" + next
			}
			var page struct {
				Runs []runResponse
				Next *string
			}
			mustJSON(t, f.srv.do(jsonReq("GET", path, tok, "")).Body.Bytes(), &page)
			pages++
			for i, r := range page.Runs {
				if r.Project != "sweep" || r.Status != "running" || seen[r.ID] {
					t.Fatalf("page %d: %+v", pages, r)
				}
				if i > 0 && r.ID > page.Runs[i-1].ID {
					t.Fatal("runs are not newest first")
				}
				seen[r.ID] = true
			}
			if page.Next == nil {
				break
			}
			next = *page.Next
		}
		if len(seen) != 13 || pages != 4 {
			t.Fatalf("walked %d runs in %d pages, want 13 in 4", len(seen), pages)
		}

		// A token limited to two projects pages through both, merged
		// newest first, and never sees a third.
		rec := f.srv.do(jsonReq("POST", "/api/tokens", f.reviewer.access, `{"name":"two","scopes":["runs:read"],"projects":["sweep","p1"]}`))
		var tok2 struct{ Token string }
		mustJSON(t, rec.Body.Bytes(), &tok2)
		seen, next = map[string]bool{}, ""
		prev := "~"
		for {
			path := "/api/runs?limit=3"
			if next != "" {
				path += "&cursor=" + next
			}
			var page struct {
				Runs []runResponse
				Next *string
			}
			rec := f.srv.do(jsonReq("GET", path, tok2.Token, ""))
			if rec.Code != http.StatusOK {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			mustJSON(t, rec.Body.Bytes(), &page)
			for _, r := range page.Runs {
				if r.Project == "p2" || seen[r.ID] || r.ID >= prev {
					t.Fatalf("merged pages: %+v after %s", r, prev)
				}
				seen[r.ID], prev = true, r.ID
			}
			if page.Next == nil {
				break
			}
			next = *page.Next
		}
		if len(seen) != 26 {
			t.Fatalf("the two-project token saw %d runs, want 26", len(seen))
		}
	})
}
