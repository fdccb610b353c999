package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"labreview/auth"
	"labreview/db"
	"labreview/db/dbtest"
)

func jsonReq(method, path, token, body string) request {
	h := map[string]string{"Content-Type": "application/json"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return request{method: method, path: path, headers: h, body: body}
}

func TestAdminUsersAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		admin := srv.mustCreateUser(t, "admin@lab.org", "Admin", db.RoleAdmin, adminPW)
		srv.mustCreateUser(t, "view@lab.org", "Viewer", db.RoleViewer, viewerPW)
		a := srv.login(t, "admin@lab.org", adminPW).access
		v := srv.login(t, "view@lab.org", viewerPW).access

		// Who may call: viewers never reach the admin routes.
		for _, req := range []request{
			jsonReq("GET", "/api/users", v, ""), jsonReq("POST", "/api/users", v, `{}`),
			jsonReq("GET", "/api/audit", v, ""), jsonReq("DELETE", "/api/users/"+admin.ID+"/sessions", v, ""),
		} {
			if rec := srv.do(req); rec.Code != 403 {
				t.Fatalf("viewer %s %s: %d", req.method, req.path, rec.Code)
			}
		}

		// Create.
		rec := srv.do(jsonReq("POST", "/api/users", a, `{"email":" New.Person@Lab.org ","name":"New Person","role":"reviewer","password":"silver-thimble-orchard-8"}`))
		if rec.Code != 201 || rec.Header().Get("Location") == "" {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		var created map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &created)
		if created["email"] != "new.person@lab.org" || created["role"] != "reviewer" || created["disabled"] != false {
			t.Fatalf("created %v", created)
		}
		for _, secret := range []string{"password", "hash", "argon2"} {
			if strings.Contains(rec.Body.String(), secret) {
				t.Fatalf("user response contains %q: %s", secret, rec.Body)
			}
		}
		id := created["id"].(string)
		before, _ := srv.auth.Users(context.Background())

		bad := []struct {
			body, code string
			status     int
		}{
			{`{"email":"NEW.person@lab.org","name":"Dup","role":"viewer","password":"silver-thimble-orchard-8"}`, "email_taken", 409},
			{`{"email":"x@lab.org","name":"X","role":"superuser","password":"silver-thimble-orchard-8"}`, "invalid_role", 400},
			{`{"email":"not-an-email","name":"X","role":"viewer","password":"silver-thimble-orchard-8"}`, "invalid_email", 400},
			{`{"email":"x@lab.org","name":"","role":"viewer","password":"silver-thimble-orchard-8"}`, "invalid_name", 400},
			{`{"email":"x@lab.org","name":"X","role":"viewer","password":"qwertyuiop123"}`, "password_too_common", 400},
			{`{"email":"x@lab.org","name":"X","role":"viewer","password":"silver-thimble-orchard-8","disabled":false}`, "invalid_request", 400},
			{`{"email":{"$gt":""},"name":"X","role":"viewer","password":"silver-thimble-orchard-8"}`, "invalid_request", 400},
		}
		for _, b := range bad {
			rec := srv.do(jsonReq("POST", "/api/users", a, b.body))
			if rec.Code != b.status || decodeError(t, rec).Error != b.code {
				t.Fatalf("%s: %d %s", b.body, rec.Code, rec.Body)
			}
		}
		after, _ := srv.auth.Users(context.Background())
		if len(after) != len(before) {
			t.Fatal("a refused create stored a user")
		}

		// Read, list.
		if rec := srv.do(jsonReq("GET", "/api/users/"+id, a, "")); rec.Code != 200 {
			t.Fatalf("get: %d", rec.Code)
		}
		for _, missing := range []string{db.NewID(), "not-an-id"} {
			if rec := srv.do(jsonReq("GET", "/api/users/"+missing, a, "")); rec.Code != 404 {
				t.Fatalf("get %s: %d", missing, rec.Code)
			}
		}
		rec = srv.do(jsonReq("GET", "/api/users", a, ""))
		var list struct{ Users []map[string]any }
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Users) != 3 || strings.Contains(rec.Body.String(), "argon2") {
			t.Fatalf("list: %s", rec.Body)
		}

		// Patch: known fields apply, others are refused and change nothing.
		rec = srv.do(jsonReq("PATCH", "/api/users/"+id, a, `{"role":"viewer","name":"Renamed"}`))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"role":"viewer"`) || !strings.Contains(rec.Body.String(), `"name":"Renamed"`) {
			t.Fatalf("patch: %d %s", rec.Code, rec.Body)
		}
		for _, body := range []string{`{"password_hash":"x"}`, `{"email":"hijack@lab.org"}`, `{"role":"viewer","is_admin":true}`, `{}`, `{"role":"owner"}`} {
			rec := srv.do(jsonReq("PATCH", "/api/users/"+id, a, body))
			if rec.Code != 400 {
				t.Fatalf("patch %s: %d", body, rec.Code)
			}
		}
		u, _ := srv.auth.User(context.Background(), mustID(t, id))
		if u.Email != "new.person@lab.org" || u.Role != db.RoleViewer || u.Name != "Renamed" {
			t.Fatalf("refused patches changed the user: %+v", u)
		}

		// Admin password reset ends the user's sessions.
		s := srv.login(t, "new.person@lab.org", "silver-thimble-orchard-8")
		if rec := srv.do(jsonReq("POST", "/api/users/"+id+"/password", a, `{"new_password":"copper-lighthouse-meadow-5"}`)); rec.Code != 204 {
			t.Fatalf("reset: %d %s", rec.Code, rec.Body)
		}
		if rec := srv.do(request{path: "/api/me", headers: bearer(s.access)}); rec.Code != 401 {
			t.Fatal("session survived a password reset")
		}
		s = srv.login(t, "new.person@lab.org", "copper-lighthouse-meadow-5")

		// Terminate sessions.
		if rec := srv.do(jsonReq("DELETE", "/api/users/"+id+"/sessions", a, "")); rec.Code != 204 {
			t.Fatalf("terminate: %d", rec.Code)
		}
		if rec := srv.do(request{path: "/api/me", headers: bearer(s.access)}); rec.Code != 401 {
			t.Fatal("terminated session still works")
		}

		// Disable ends sessions too; delete removes the user.
		s = srv.login(t, "new.person@lab.org", "copper-lighthouse-meadow-5")
		if rec := srv.do(jsonReq("PATCH", "/api/users/"+id, a, `{"disabled":true}`)); rec.Code != 200 {
			t.Fatalf("disable: %d", rec.Code)
		}
		if rec := srv.do(request{method: "POST", path: "/api/auth/refresh", headers: withCookie(s.refresh)}); rec.Code != 401 {
			t.Fatal("disabled user can refresh")
		}
		if rec := srv.do(jsonReq("DELETE", "/api/users/"+id, a, "")); rec.Code != 204 {
			t.Fatalf("delete: %d", rec.Code)
		}
		if rec := srv.do(jsonReq("GET", "/api/users/"+id, a, "")); rec.Code != 404 {
			t.Fatalf("get after delete: %d", rec.Code)
		}

		// The audit trail has before/after of role and disabled.
		rec = srv.do(jsonReq("GET", "/api/audit?event=user_changed", a, ""))
		var page struct {
			Events []map[string]any
			Next   *string
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Events) != 2 {
			t.Fatalf("audit user_changed: %s", rec.Body)
		}
		details := page.Events[1]["details"].(map[string]any)
		if details["before"].(map[string]any)["role"] != "reviewer" || details["after"].(map[string]any)["role"] != "viewer" {
			t.Fatalf("audit details %v", details)
		}
	})
}

func mustID(t *testing.T, id string) string {
	t.Helper()
	if !db.ValidID(id) {
		t.Fatalf("%q is not an id", id)
	}
	return id
}

func TestLastAdminRule(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		root := srv.mustCreateUser(t, "root@lab.org", "Root", db.RoleAdmin, adminPW)
		a := srv.login(t, "root@lab.org", adminPW).access
		for _, req := range []request{
			jsonReq("PATCH", "/api/users/"+root.ID, a, `{"role":"reviewer"}`),
			jsonReq("PATCH", "/api/users/"+root.ID, a, `{"disabled":true}`),
			jsonReq("DELETE", "/api/users/"+root.ID, a, ""),
		} {
			rec := srv.do(req)
			if rec.Code != 409 || decodeError(t, rec).Error != "last_admin" {
				t.Fatalf("%s %s: %d %s", req.method, req.path, rec.Code, rec.Body)
			}
		}
		if u, _ := srv.auth.User(context.Background(), root.ID); u.Role != db.RoleAdmin || u.Disabled {
			t.Fatal("the last admin was changed")
		}

		// Two admins demoting each other at the same moment: one must remain.
		second := srv.mustCreateUser(t, "second@lab.org", "Second", db.RoleAdmin, adminPW)
		b := srv.login(t, "second@lab.org", adminPW).access
		for round := range 5 {
			var wg sync.WaitGroup
			results := make([]*httptest.ResponseRecorder, 2)
			wg.Go(func() { results[0] = srv.do(jsonReq("PATCH", "/api/users/"+second.ID, a, `{"role":"viewer"}`)) })
			wg.Go(func() { results[1] = srv.do(jsonReq("PATCH", "/api/users/"+root.ID, b, `{"role":"viewer"}`)) })
			wg.Wait()
			n, err := srv.db.CountActiveAdmins(context.Background(), "")
			if err != nil || n != 1 {
				t.Fatalf("round %d: %d admins left (%d, %d)", round, n, results[0].Code, results[1].Code)
			}
			// Restore both as admins for the next round (through the service:
			// the demoted one's token now says viewer).
			admin := db.RoleAdmin
			for _, id := range []string{root.ID, second.ID} {
				if _, err := srv.auth.UpdateUser(context.Background(), "", id, auth.UserPatch{Role: &admin}, auth.ClientInfo{}); err != nil {
					t.Fatal(err)
				}
			}
			a = srv.login(t, "root@lab.org", adminPW).access
			b = srv.login(t, "second@lab.org", adminPW).access
		}
	})
}

func TestAuditPaging(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		admin := srv.mustCreateUser(t, "root@lab.org", "Root", db.RoleAdmin, adminPW)
		a := srv.login(t, "root@lab.org", adminPW).access
		for range 4 {
			srv.do(formLogin("root@lab.org", "wrong-password-xyz-1"))
		}
		seen := map[string]bool{}
		next := ""
		pages := 0
		for {
			path := "/api/audit?limit=2&event=login_failed"
			if next != "" {
				path += "&before=" + next
			}
			rec := srv.do(jsonReq("GET", path, a, ""))
			var page struct {
				Events []map[string]any
				Next   *string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			pages++
			for _, e := range page.Events {
				if e["event"] != "login_failed" || seen[e["id"].(string)] {
					t.Fatalf("bad or repeated event %v", e)
				}
				seen[e["id"].(string)] = true
				if strings.Contains(rec.Body.String(), "wrong-password") {
					t.Fatal("a password is in the audit log")
				}
			}
			if page.Next == nil {
				break
			}
			next = *page.Next
		}
		if len(seen) != 4 || pages != 2 {
			t.Fatalf("%d events over %d pages, want 4 over 2", len(seen), pages)
		}
		rec := srv.do(jsonReq("GET", "/api/audit?user="+admin.ID+"&event=login_ok", a, ""))
		if !strings.Contains(rec.Body.String(), `"event":"login_ok"`) || strings.Contains(rec.Body.String(), "login_failed") {
			t.Fatalf("filter: %s", rec.Body)
		}
		for _, bad := range []string{"limit=0", "limit=500", "limit=x", "before=zzz"} {
			if rec := srv.do(jsonReq("GET", "/api/audit?"+bad, a, "")); rec.Code != 400 {
				t.Fatalf("%s: %d", bad, rec.Code)
			}
		}
	})
}

func TestFirstRunSetup(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		if rec := srv.do(request{path: "/api/setup"}); rec.Code != 200 || rec.Body.String() != `{"needed":true}` {
			t.Fatalf("setup needed: %d %s", rec.Code, rec.Body)
		}
		link, err := srv.auth.PrepareSetup(context.Background())
		if err != nil || !strings.HasPrefix(link, "http://localhost:8080/setup?token=") {
			t.Fatalf("setup link %q %v", link, err)
		}
		token := strings.TrimPrefix(link, "http://localhost:8080/setup?token=")
		body := func(tok, pw string) string {
			return `{"token":"` + tok + `","email":"first@lab.org","name":"First Admin","password":"` + pw + `"}`
		}
		if rec := srv.do(jsonReq("POST", "/api/setup", "", body("wrong-token", adminPW))); rec.Code != 403 || decodeError(t, rec).Error != "invalid_setup_token" {
			t.Fatalf("wrong token: %d %s", rec.Code, rec.Body)
		}
		if rec := srv.do(jsonReq("POST", "/api/setup", "", body(token, "password1234"))); rec.Code != 400 {
			t.Fatalf("weak password: %d", rec.Code)
		}
		// Concurrent attempts with the right token: exactly one wins.
		var wg sync.WaitGroup
		codes := make([]int, 6)
		var winner *httptest.ResponseRecorder
		var mu sync.Mutex
		for i := range codes {
			wg.Go(func() {
				rec := srv.do(jsonReq("POST", "/api/setup", "", body(token, adminPW)))
				codes[i] = rec.Code
				if rec.Code == 503 {
					t.Logf("503: %s", rec.Body)
				}
				if rec.Code == 200 {
					mu.Lock()
					winner = rec
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, c := range codes {
			switch c {
			case 200:
				ok++
			case 409:
				conflicts++
			}
		}
		if ok != 1 || conflicts != len(codes)-1 {
			t.Fatalf("codes %v: want one 200, the rest 409\n%s", codes, srv.logs)
		}
		if refreshCookieOf(t, winner) == nil || !strings.Contains(winner.Body.String(), `"token_type":"bearer"`) {
			t.Fatal("setup did not sign the admin in")
		}
		users, _ := srv.auth.Users(context.Background())
		if len(users) != 1 || users[0].Role != db.RoleAdmin {
			t.Fatalf("users after setup: %+v", users)
		}
		if rec := srv.do(jsonReq("POST", "/api/setup", "", body(token, adminPW))); rec.Code != 409 {
			t.Fatalf("setup again: %d", rec.Code)
		}
		if rec := srv.do(request{path: "/api/setup"}); rec.Body.String() != `{"needed":false}` {
			t.Fatalf("needed after setup: %s", rec.Body)
		}
		if link, _ := srv.auth.PrepareSetup(context.Background()); link != "" {
			t.Fatal("a setup link is offered although an admin exists")
		}
	})
}
