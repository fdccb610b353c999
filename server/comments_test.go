package server

import (
	"strings"
	"testing"

	"labreview/db"
	"labreview/db/dbtest"
)

func TestCommentThread(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		path := "/api/runs/" + f.runP1 + "/comments"
		for _, tc := range []struct {
			name, cred, body string
			status           int
		}{
			{"an API token", f.tokens["rw"], `{"body":"hi"}`, 403},
			{"empty", f.viewer.access, `{"body":"   "}`, 400},
			{"too long", f.viewer.access, `{"body":"` + strings.Repeat("x", 8193) + `"}`, 400},
			{"param and series", f.viewer.access, `{"body":"x","anchor":{"param":"lr","series":"loss"}}`, 400},
			{"a series without steps", f.viewer.access, `{"body":"x","anchor":{"series":"loss"}}`, 400},
			{"a reversed range", f.viewer.access, `{"body":"x","anchor":{"series":"loss","from":9,"to":3}}`, 400},
			{"a bad param path", f.viewer.access, `{"body":"x","anchor":{"param":"a..b"}}`, 400},
		} {
			if rec := f.srv.do(jsonReq("POST", path, tc.cred, tc.body)); rec.Code != tc.status {
				t.Errorf("%s: %d, want %d: %s", tc.name, rec.Code, tc.status, rec.Body)
			}
		}
		// A viewer comments, pointing at a step range; a reviewer at a param.
		var c1, c2 commentResponse
		rec := f.srv.do(jsonReq("POST", path, f.viewer.access, `{"body":"<img src=x onerror=alert(1)> spike here","anchor":{"series":"loss","from":100,"to":140}}`))
		mustJSON(t, rec.Body.Bytes(), &c1)
		if rec.Code != 201 || c1.AuthorName != "View" || c1.Anchor == nil || *c1.Anchor.From != 100 || c1.Body != "<img src=x onerror=alert(1)> spike here" {
			t.Fatalf("comment: %d %s", rec.Code, rec.Body)
		}
		mustJSON(t, f.srv.do(jsonReq("POST", path, f.reviewer.access, `{"body":"lr too high","anchor":{"param":"model.lr"}}`)).Body.Bytes(), &c2)
		// Only the author edits; the edit history is kept.
		if rec := f.srv.do(jsonReq("PATCH", path+"/"+c1.ID, f.reviewer.access, `{"body":"mine now"}`)); rec.Code != 403 {
			t.Fatalf("someone else's edit: %d", rec.Code)
		}
		if rec := f.srv.do(jsonReq("PATCH", path+"/"+c1.ID, f.admin.access, `{"body":"mine now"}`)); rec.Code != 403 {
			t.Fatalf("an admin's edit of another's comment: %d", rec.Code)
		}
		rec = f.srv.do(jsonReq("PATCH", path+"/"+c1.ID, f.viewer.access, `{"body":"spike at 120"}`))
		mustJSON(t, rec.Body.Bytes(), &c1)
		if rec.Code != 200 || c1.Body != "spike at 120" || c1.EditedAt == nil || len(c1.History) != 1 || !strings.Contains(c1.History[0].Body, "spike here") {
			t.Fatalf("edit: %d %s", rec.Code, rec.Body)
		}
		// The author deletes theirs; an admin may delete any; others may not.
		if rec := f.srv.do(jsonReq("DELETE", path+"/"+c2.ID, f.viewer.access, "")); rec.Code != 403 {
			t.Fatalf("a viewer deleting another's comment: %d", rec.Code)
		}
		if rec := f.srv.do(jsonReq("DELETE", path+"/"+c2.ID, f.admin.access, "")); rec.Code != 204 {
			t.Fatalf("admin delete: %d", rec.Code)
		}
		if rec := f.srv.do(jsonReq("DELETE", path+"/"+c2.ID, f.admin.access, "")); rec.Code != 404 {
			t.Fatalf("delete twice: %d", rec.Code)
		}
		// The thread, oldest first, readable by viewers and read tokens;
		// the deleted comment keeps its place without its text.
		var thread struct{ Comments []commentResponse }
		mustJSON(t, f.srv.do(jsonReq("GET", path, f.tokens["ro"], "")).Body.Bytes(), &thread)
		if len(thread.Comments) != 2 || thread.Comments[0].ID != c1.ID || !thread.Comments[1].Deleted || thread.Comments[1].Body != "" ||
			len(thread.Comments[1].History) != 0 || thread.Comments[1].Anchor.Param != "model.lr" {
			t.Fatalf("thread: %+v", thread.Comments)
		}
		// A comment id of another run is not found through this run.
		if rec := f.srv.do(jsonReq("PATCH", "/api/runs/"+f.runP2+"/comments/"+c1.ID, f.viewer.access, `{"body":"x"}`)); rec.Code != 404 {
			t.Fatalf("comment through another run: %d", rec.Code)
		}
		if f.srv.auditCount(t, "comment_added") != 2 || f.srv.auditCount(t, "comment_edited") != 1 || f.srv.auditCount(t, "comment_deleted") != 1 {
			t.Fatal("comments are not audited")
		}
		// Verdicts carry the reviewer's name.
		f.srv.do(jsonReq("POST", "/api/runs/"+f.runP1+"/review", f.reviewer.access, `{"state":"approved"}`))
		if body := f.srv.do(jsonReq("GET", "/api/runs?project=p1", f.viewer.access, "")).Body.String(); !strings.Contains(body, `"by_name":"Rev"`) {
			t.Fatalf("list without the reviewer's name: %s", body)
		}
	})
}
