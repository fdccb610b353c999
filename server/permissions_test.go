package server

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"labreview/auth/policy"
	"labreview/db"
)

// wantPermissions is the route table as docs/api.md states it: every route
// of the server and the permission it needs. A new route must be added
// here, with its permission, or TestEveryRouteHasItsPermission fails.
var wantPermissions = map[string]policy.Permission{
	"GET /healthz":               policy.Public,
	"HEAD /healthz":              policy.Public,
	"GET /readyz":                policy.Public,
	"HEAD /readyz":               policy.Public,
	"GET /.well-known/jwks.json": policy.Public,
	"GET /api/health":            policy.Public,
	"GET /api/openapi.json":      policy.Public,
	"GET /api/auth/jwks":         policy.Public,
	"GET /api/setup":             policy.Public,
	"POST /api/setup":            policy.Public,
	"POST /api/auth/login":       policy.Public,
	"POST /api/auth/refresh":     policy.Public,
	"POST /api/auth/logout":      policy.Public,

	"GET /clients/python/:file":              policy.Public,
	"HEAD /clients/python/:file":             policy.Public,
	"GET /clients/python/simple/":            policy.Public,
	"HEAD /clients/python/simple/":           policy.Public,
	"GET /clients/python/simple/labreview/":  policy.Public,
	"HEAD /clients/python/simple/labreview/": policy.Public,

	"POST /api/auth/logout-all":           policy.Account,
	"GET /api/auth/sessions":              policy.Account,
	"DELETE /api/auth/sessions/:id":       policy.Account,
	"GET /api/me":                         policy.Account,
	"POST /api/me/password":               policy.Account,
	"GET /api/me/views":                   policy.Account,
	"PUT /api/me/views/*name":             policy.Account,
	"DELETE /api/me/views/*name":          policy.Account,
	"POST /api/tokens":                    policy.Account,
	"GET /api/tokens":                     policy.Account,
	"DELETE /api/tokens/:id":              policy.Account,
	"GET /api/runs":                       policy.RunsRead,
	"GET /api/runs/keys":                  policy.RunsRead,
	"GET /api/runs/batch":                 policy.RunsRead,
	"GET /api/runs/series":                policy.RunsRead,
	"GET /api/runs.csv":                   policy.RunsRead,
	"GET /api/runs/:id/series.csv":        policy.RunsRead,
	"GET /api/runs/:id":                   policy.RunsRead,
	"GET /api/runs/:id/series":            policy.RunsRead,
	"GET /api/runs/:id/reviews":           policy.RunsRead,
	"GET /api/runs/:id/comments":          policy.RunsRead,
	"GET /api/projects":                   policy.RunsRead,
	"GET /api/runs/:id/files":             policy.RunsRead,
	"GET /api/runs/:id/files/*path":       policy.RunsRead,
	"PUT /api/runs/:id/files/*path":       policy.RunsWrite,
	"DELETE /api/runs/:id/files/*path":    policy.RunsDelete,
	"POST /api/runs":                      policy.RunsWrite,
	"PATCH /api/runs/:id":                 policy.RunsWrite,
	"POST /api/runs/:id/series":           policy.RunsWrite,
	"DELETE /api/runs/:id/series/*name":   policy.RunsWrite,
	"POST /api/runs/:id/close":            policy.RunsReview,
	"POST /api/runs/:id/comments":         policy.RunsComment,
	"PATCH /api/runs/:id/comments/:cid":   policy.RunsComment,
	"DELETE /api/runs/:id/comments/:cid":  policy.RunsComment,
	"POST /api/runs/:id/review":           policy.RunsReview,
	"POST /api/runs/review":               policy.RunsReview,
	"POST /api/runs/review/undo":          policy.RunsReview,
	"PUT /api/projects/:name/baseline":    policy.RunsReview,
	"DELETE /api/projects/:name/baseline": policy.RunsReview,
	"DELETE /api/runs/:id":                policy.RunsDelete,
	"POST /api/runs/:id/restore":          policy.RunsDelete,
	"GET /api/users":                      policy.UsersManage,
	"POST /api/users":                     policy.UsersManage,
	"GET /api/users/:id":                  policy.UsersManage,
	"PATCH /api/users/:id":                policy.UsersManage,
	"DELETE /api/users/:id":               policy.UsersManage,
	"POST /api/users/:id/password":        policy.UsersManage,
	"DELETE /api/users/:id/sessions":      policy.UsersManage,
	"GET /api/audit":                      policy.AuditRead,
}

// TestEveryRouteHasItsPermission walks every route of the engine: each one
// was declared with a permission (routes.go), and that permission is the
// one the table above states. A route without one, or with another, fails.
func TestEveryRouteHasItsPermission(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, nil)
	declared := srv.srv.routePermissions()
	seen := map[string]bool{}
	for _, r := range srv.engine.Routes() {
		key := r.Method + " " + r.Path
		seen[key] = true
		perm, ok := declared[key]
		if !ok {
			t.Errorf("%s was registered without a permission", key)
			continue
		}
		want, ok := wantPermissions[key]
		switch {
		case !ok:
			t.Errorf("%s needs %q but is not in the route table of this test (and docs/api.md)", key, perm)
		case perm != want:
			t.Errorf("%s needs %q, the table says %q", key, perm, want)
		}
		if perm != policy.Public && !slices.Contains(policy.All, perm) {
			t.Errorf("%s needs %q, which is not a permission of the table", key, perm)
		}
	}
	for key := range wantPermissions {
		if !seen[key] {
			t.Errorf("the table lists %s, which is no route", key)
		}
	}
}

// TestRoutesEnforceTheTable calls every authenticated route as every kind
// of caller: no credential gets 401; a caller the table refuses gets 403
// (with a code that says why); a caller it allows never gets a permission
// refusal. Handlers may still answer 400 or 404 to the bare requests.
func TestRoutesEnforceTheTable(t *testing.T) {
	f := newRunsFixture(t, nil)
	type caller struct {
		name    string
		cred    string
		subject policy.Subject
	}
	callers := []caller{
		{"viewer", f.viewer.access, policy.Subject{Role: db.RoleViewer}},
		{"read token", f.tokens["ro"], policy.Subject{Role: db.RoleReviewer, Token: true, Scopes: []policy.Permission{policy.RunsRead}}},
		{"write-only token", f.tokens["w"], policy.Subject{Role: db.RoleReviewer, Token: true, Scopes: []policy.Permission{policy.RunsWrite}}},
		{"admin's token", f.tokens["admin"], policy.Subject{Role: db.RoleAdmin, Token: true, Scopes: policy.TokenScopes}},
		{"reviewer", f.reviewer.access, policy.Subject{Role: db.RoleReviewer}},
		{"admin", f.admin.access, policy.Subject{Role: db.RoleAdmin}},
	}
	var keys []string
	for key, perm := range f.srv.srv.routePermissions() {
		if perm != policy.Public {
			keys = append(keys, key)
		}
	}
	// Signing out of everything goes last: it ends the caller's session.
	slices.SortFunc(keys, func(a, b string) int {
		la, lb := strings.HasSuffix(a, "/logout-all"), strings.HasSuffix(b, "/logout-all")
		if la != lb {
			if la {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	fill := strings.NewReplacer(":id", f.runP1, ":cid", db.NewID(), ":name", "p1", "*name", "some-view")
	// MLflow's routes refuse in MLflow's shape (error_code).
	refusals := []string{"unauthorized", "forbidden", "insufficient_scope", "api_token_not_allowed", "UNAUTHENTICATED", "PERMISSION_DENIED"}
	checked := 0
	for _, key := range keys {
		method, path, _ := strings.Cut(key, " ")
		path = fill.Replace(path)
		perm := f.srv.srv.routePermissions()[key]
		if rec := f.srv.do(jsonReq(method, path, "", "{}")); rec.Code != 401 {
			t.Errorf("%s without a credential: %d %s", key, rec.Code, rec.Body)
		}
		for _, c := range callers {
			rec := f.srv.do(jsonReq(method, path, c.cred, "{}"))
			var body struct {
				Error     string
				ErrorCode string `json:"error_code"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if body.Error == "" {
				body.Error = body.ErrorCode
			}
			allowed := c.subject.Can(perm, policy.Resource{})
			switch {
			case allowed && slices.Contains(refusals, body.Error):
				t.Errorf("%s as %s: refused (%d %s) though the table grants %s", key, c.name, rec.Code, body.Error, perm)
			case !allowed && (rec.Code != 403 || !slices.Contains(refusals, body.Error)):
				t.Errorf("%s as %s: %d %s, want 403: the table does not grant %s", key, c.name, rec.Code, rec.Body, perm)
			}
			checked++
		}
	}
	if len(keys) < 30 || checked != len(keys)*len(callers) {
		t.Fatalf("checked %d calls on %d routes", checked, len(keys))
	}
}

// TestMeListsPermissions: /api/me says what the caller may do, from the
// table; the UI shows its controls from it.
func TestMeListsPermissions(t *testing.T) {
	f := newRunsFixture(t, nil)
	for _, c := range []struct {
		cred string
		role string
	}{{f.viewer.access, db.RoleViewer}, {f.reviewer.access, db.RoleReviewer}, {f.admin.access, db.RoleAdmin}} {
		rec := f.srv.do(jsonReq("GET", "/api/me", c.cred, ""))
		var me struct {
			Role        string
			Permissions []policy.Permission
		}
		mustJSON(t, rec.Body.Bytes(), &me)
		if want := (policy.Subject{Role: c.role}).Permissions(); me.Role != c.role || !slices.Equal(me.Permissions, want) {
			t.Errorf("%s: /api/me says %+v, want permissions %v", c.role, me, want)
		}
	}
}
