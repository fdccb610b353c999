package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
	"labreview/runs"
)

func viewPath(name string) string { return viewsPath + "/" + url.PathEscape(name) }

// putView is the body of a PUT of search.
func putView(search string) string {
	b, _ := json.Marshal(map[string]string{"search": search})
	return string(b)
}

// listViews returns the caller's views as GET /api/me/views shows them.
func (f *runsFixture) listViews(t *testing.T, cred string) []viewResponse {
	t.Helper()
	rec := f.srv.do(jsonReq("GET", viewsPath, cred, ""))
	if rec.Code != 200 {
		t.Fatalf("list views: %d %s", rec.Code, rec.Body)
	}
	var out struct{ Views []viewResponse }
	mustJSON(t, rec.Body.Bytes(), &out)
	if out.Views == nil {
		t.Fatalf("list views: no views array: %s", rec.Body)
	}
	return out.Views
}

func names(views []viewResponse) []string {
	out := []string{}
	for _, v := range views {
		out = append(out, v.Name)
	}
	return out
}

// TestSavedViewsAccess: every signed-in role has views; API tokens and
// anonymous callers are refused on all three endpoints.
func TestSavedViewsAccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		reqs := map[string]func(cred string) request{
			"list":   func(c string) request { return jsonReq("GET", viewsPath, c, "") },
			"put":    func(c string) request { return jsonReq("PUT", viewPath("mine"), c, putView("q=x")) },
			"delete": func(c string) request { return jsonReq("DELETE", viewPath("mine"), c, "") },
		}
		for _, tok := range []string{"rw", "ro", "admin", "v-ro"} {
			for what, req := range reqs {
				rec := f.srv.do(req(f.tokens[tok]))
				if rec.Code != 403 || decodeError(t, rec).Error != "api_token_not_allowed" {
					t.Errorf("token %s, %s: %d %s", tok, what, rec.Code, rec.Body)
				}
			}
		}
		for what, req := range reqs {
			rec := f.srv.do(req(""))
			if rec.Code != 401 || decodeError(t, rec).Error != "unauthorized" || rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("anonymous %s: %d %s", what, rec.Code, rec.Body)
			}
			if rec := f.srv.do(req("not-a-token")); rec.Code != 401 || decodeError(t, rec).Error != "invalid_token" {
				t.Errorf("bad token, %s: %d %s", what, rec.Code, rec.Body)
			}
		}
		for role, s := range map[string]session{"viewer": f.viewer, "reviewer": f.reviewer, "admin": f.admin} {
			for _, what := range []string{"list", "put", "list", "delete"} {
				want := map[string]int{"list": 200, "put": 200, "delete": 204}[what]
				if rec := f.srv.do(reqs[what](s.access)); rec.Code != want {
					t.Errorf("%s, %s: %d, want %d: %s", role, what, rec.Code, want, rec.Body)
				}
			}
		}
		// Known path, wrong method.
		rec := f.srv.do(jsonReq("POST", viewPath("mine"), f.viewer.access, putView("")))
		if rec.Code != 405 || decodeError(t, rec).Error != "method_not_allowed" || !strings.Contains(rec.Header().Get("Allow"), "PUT") {
			t.Fatalf("POST a view: %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
	})
}

// TestSavedViewsAPI: create, replace, list order, names as sent, per-user
// isolation, deletion, and no audit events.
func TestSavedViewsAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		events := func() int {
			list, _, err := store.ListAudit(context.Background(), db.AuditFilter{}, 1000)
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		auditBefore := events()

		if got := f.listViews(t, f.viewer.access); len(got) != 0 {
			t.Fatalf("a new user has views: %+v", got)
		}
		// PUT creates and answers the view.
		search := "q=metrics.loss%20%3C%200.1&sort=-created&cols=name,loss,status"
		rec := f.srv.do(jsonReq("PUT", viewPath("Low loss"), f.viewer.access, putView(search)))
		var v viewResponse
		mustJSON(t, rec.Body.Bytes(), &v)
		if rec.Code != 200 || v.Name != "Low loss" || v.Search != search || v.UpdatedAt.IsZero() {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		var raw map[string]any
		mustJSON(t, rec.Body.Bytes(), &raw)
		if len(raw) != 3 {
			t.Fatalf("the view shape has other fields: %s", rec.Body)
		}
		if _, err := time.Parse(time.RFC3339, raw["updated_at"].(string)); err != nil {
			t.Fatalf("updated_at is not RFC 3339: %v", err)
		}
		// The same PUT again is harmless: one view, same search.
		for range 2 {
			if rec := f.srv.do(jsonReq("PUT", viewPath("Low loss"), f.viewer.access, putView(search))); rec.Code != 200 {
				t.Fatalf("repeat: %d %s", rec.Code, rec.Body)
			}
		}
		// A PUT of another search replaces it.
		f.clk.Advance(time.Minute)
		rec = f.srv.do(jsonReq("PUT", viewPath("Low loss"), f.viewer.access, putView("q=status%3Dfailed")))
		var replaced viewResponse
		mustJSON(t, rec.Body.Bytes(), &replaced)
		if rec.Code != 200 || replaced.Search != "q=status%3Dfailed" || !replaced.UpdatedAt.After(v.UpdatedAt) {
			t.Fatalf("replace: %d %s", rec.Code, rec.Body)
		}
		got := f.listViews(t, f.viewer.access)
		if len(got) != 1 || !reflect.DeepEqual(got[0], replaced) {
			t.Fatalf("after replace: %+v, want %+v", got, replaced)
		}
		// Names: trimmed of spaces; otherwise exactly as sent, slashes
		// included; listed case-insensitively, then exactly.
		for _, name := range []string{"beta", "Beta", "alpha", "  Zeta  ", "a/b", "x//y.", "ünïcode ✓", "100% <done>?#"} {
			if rec := f.srv.do(jsonReq("PUT", viewPath(name), f.viewer.access, putView("q="+name))); rec.Code != 200 {
				t.Fatalf("put %q: %d %s", name, rec.Code, rec.Body)
			}
		}
		want := []string{"100% <done>?#", "a/b", "alpha", "Beta", "beta", "Low loss", "x//y.", "Zeta", "ünïcode ✓"}
		if got := names(f.listViews(t, f.viewer.access)); !reflect.DeepEqual(got, want) {
			t.Fatalf("order %q, want %q", got, want)
		}
		// Per user: the reviewer sees none of them, cannot delete them, and
		// has a view of the same name of their own.
		if got := f.listViews(t, f.reviewer.access); len(got) != 0 {
			t.Fatalf("another user's views are visible: %+v", got)
		}
		rec = f.srv.do(jsonReq("DELETE", viewPath("alpha"), f.reviewer.access, ""))
		if rec.Code != 404 || decodeError(t, rec).Error != "not_found" {
			t.Fatalf("deleting another user's view: %d %s", rec.Code, rec.Body)
		}
		if rec := f.srv.do(jsonReq("PUT", viewPath("alpha"), f.reviewer.access, putView("q=mine"))); rec.Code != 200 {
			t.Fatalf("same name, other user: %d %s", rec.Code, rec.Body)
		}
		if got := f.listViews(t, f.reviewer.access); len(got) != 1 || got[0].Search != "q=mine" {
			t.Fatalf("reviewer's views: %+v", got)
		}
		if got := f.listViews(t, f.viewer.access); len(got) != len(want) || got[2].Search != "q=alpha" {
			t.Fatalf("the reviewer's write touched the viewer's views: %+v", got)
		}
		// Deletion, by the name as listed (and as sent, trimmed).
		for _, name := range []string{"alpha", "a/b", "x//y.", "  Zeta"} {
			if rec := f.srv.do(jsonReq("DELETE", viewPath(name), f.viewer.access, "")); rec.Code != 204 || rec.Body.Len() != 0 {
				t.Fatalf("delete %q: %d %s", name, rec.Code, rec.Body)
			}
		}
		rec = f.srv.do(jsonReq("DELETE", viewPath("alpha"), f.viewer.access, ""))
		if rec.Code != 404 || decodeError(t, rec).Error != "not_found" {
			t.Fatalf("delete twice: %d %s", rec.Code, rec.Body)
		}
		// A path with a doubled slash before the name still reaches the
		// view, and the name keeps its own doubled slash.
		rec = f.srv.do(jsonReq("PUT", "/api/me//views/"+url.PathEscape("p//q"), f.viewer.access, putView("")))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"p//q"`) {
			t.Fatalf("put through /api/me//views: %d %s", rec.Code, rec.Body)
		}
		if rec := f.srv.do(jsonReq("DELETE", viewPath("p//q"), f.viewer.access, "")); rec.Code != 204 {
			t.Fatalf("delete p//q: %d %s", rec.Code, rec.Body)
		}
		if got := names(f.listViews(t, f.viewer.access)); !reflect.DeepEqual(got, []string{"100% <done>?#", "Beta", "beta", "Low loss", "ünïcode ✓"}) {
			t.Fatalf("after deletes: %q", got)
		}
		if n := events(); n != auditBefore {
			t.Fatalf("saved views wrote %d audit events", n-auditBefore)
		}
	})
}

// TestSavedViewsValidation: the error shape, code and field of each
// refused input; nothing is stored.
func TestSavedViewsValidation(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	long := strings.Repeat("é", runs.MaxViewNameLength+1)
	for _, tc := range []struct {
		name, path, body, contentType string
		status                        int
		code, field                   string
	}{
		{"blank name", viewsPath + "/%20%20", putView(""), "", 400, "required", "name"},
		{"no name", viewsPath + "/", putView(""), "", 400, "required", "name"},
		{"name too long", viewPath(long), putView(""), "", 400, "invalid", "name"},
		{"control character in the name", viewsPath + "/a%07b", putView(""), "", 400, "invalid", "name"},
		{"newline in the name", viewsPath + "/a%0Ab", putView(""), "", 400, "invalid", "name"},
		{"non-printable space in the name", viewsPath + "/a%E2%80%A8b", putView(""), "", 400, "invalid", "name"},
		{"dot segment in the name", viewPath("a/../b"), putView(""), "", 400, "invalid", "name"},
		{"dot segment at the end of the name", viewPath("a/."), putView(""), "", 400, "invalid", "name"},
		{"search too long", viewPath("v"), putView(strings.Repeat("q", runs.MaxViewSearchBytes+1)), "", 400, "too_large", "search"},
		{"newline in the search", viewPath("v"), `{"search":"q=a\nb"}`, "", 400, "invalid", "search"},
		{"NUL in the search", viewPath("v"), `{"search":"q=a\u0000b"}`, "", 400, "invalid", "search"},
		{"DEL in the search", viewPath("v"), `{"search":"q=a` + "\x7f" + `b"}`, "", 400, "invalid", "search"},
		{"no search", viewPath("v"), `{}`, "", 400, "required", "search"},
		{"search not a string", viewPath("v"), `{"search":1}`, "", 400, "invalid_request", "search"},
		{"unknown field", viewPath("v"), `{"search":"","name":"v"}`, "", 400, "invalid_request", "name"},
		{"field in another case", viewPath("v"), `{"Search":""}`, "", 400, "invalid_request", "Search"},
		{"repeated field", viewPath("v"), `{"search":"a","search":"b"}`, "", 400, "invalid_request", "search"},
		{"not an object", viewPath("v"), `"q=x"`, "", 400, "invalid_request", ""},
		{"not JSON", viewPath("v"), `search=x`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := jsonReq("PUT", tc.path, f.viewer.access, tc.body)
			if tc.contentType != "" {
				req.headers["Content-Type"] = tc.contentType
			}
			rec := f.srv.do(req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			e := decodeError(t, rec)
			if e.Error != tc.code {
				t.Fatalf("error %q, want %q: %+v", e.Error, tc.code, e)
			}
			if tc.field != "" && (len(e.Details) != 1 || e.Details[0].Field != tc.field) {
				t.Fatalf("details %+v, want field %q", e.Details, tc.field)
			}
		})
	}
	// The longest name and search are accepted.
	name, search := strings.Repeat("é", runs.MaxViewNameLength), strings.Repeat("q", runs.MaxViewSearchBytes)
	if rec := f.srv.do(jsonReq("PUT", viewPath(name), f.viewer.access, putView(search))); rec.Code != 200 {
		t.Fatalf("the longest view: %d %s", rec.Code, rec.Body)
	}
	if got := f.listViews(t, f.viewer.access); len(got) != 1 || got[0].Name != name {
		t.Fatalf("stored views: %d", len(got))
	}
}

// TestSavedViewsLimit: the 101st view is refused with 409 too_many_views;
// replacing one at the limit still works; a deletion makes room.
func TestSavedViewsLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		for i := range runs.MaxViewsPerUser {
			if rec := f.srv.do(jsonReq("PUT", viewPath(fmt.Sprintf("v%03d", i)), f.viewer.access, putView("q=x"))); rec.Code != 200 {
				t.Fatalf("view %d: %d %s", i, rec.Code, rec.Body)
			}
		}
		rec := f.srv.do(jsonReq("PUT", viewPath("one more"), f.viewer.access, putView("q=x")))
		if rec.Code != 409 || decodeError(t, rec).Error != "too_many_views" {
			t.Fatalf("view 101: %d %s", rec.Code, rec.Body)
		}
		if rec := f.srv.do(jsonReq("PUT", viewPath("v007"), f.viewer.access, putView("q=y"))); rec.Code != 200 {
			t.Fatalf("replace at the limit: %d %s", rec.Code, rec.Body)
		}
		if got := f.listViews(t, f.viewer.access); len(got) != runs.MaxViewsPerUser || got[7].Search != "q=y" {
			t.Fatalf("%d views after the refusal", len(got))
		}
		// The limit is per user.
		if rec := f.srv.do(jsonReq("PUT", viewPath("one more"), f.reviewer.access, putView("q=x"))); rec.Code != 200 {
			t.Fatalf("another user at 0: %d %s", rec.Code, rec.Body)
		}
		if rec := f.srv.do(jsonReq("DELETE", viewPath("v000"), f.viewer.access, "")); rec.Code != 204 {
			t.Fatalf("delete: %d", rec.Code)
		}
		if rec := f.srv.do(jsonReq("PUT", viewPath("one more"), f.viewer.access, putView("q=x"))); rec.Code != 200 {
			t.Fatalf("after a deletion: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestDeletedUsersViewsGo: an admin deleting a user removes the user's
// views from the database; the others keep theirs.
func TestDeletedUsersViewsGo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		for _, s := range []session{f.viewer, f.reviewer} {
			for _, name := range []string{"a", "b"} {
				if rec := f.srv.do(jsonReq("PUT", viewPath(name), s.access, putView("q=x"))); rec.Code != 200 {
					t.Fatalf("put: %d %s", rec.Code, rec.Body)
				}
			}
		}
		viewer, err := store.UserByEmail(context.Background(), "view@lab.org")
		if err != nil {
			t.Fatal(err)
		}
		if rec := f.srv.do(jsonReq("DELETE", "/api/users/"+viewer.ID, f.admin.access, "")); rec.Code != 204 {
			t.Fatalf("delete user: %d %s", rec.Code, rec.Body)
		}
		if left, err := store.ListSavedViews(context.Background(), viewer.ID); err != nil || len(left) != 0 {
			t.Fatalf("a deleted user's views: %+v %v", left, err)
		}
		if got := f.listViews(t, f.reviewer.access); len(got) != 2 {
			t.Fatalf("the reviewer's views: %+v", got)
		}
	})
}
