package server

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	"labreview/db"
	"labreview/db/dbtest"
)

// TestRunKeys: GET /api/runs/keys lists the names of live runs, by
// project and prefix, to whoever may read runs, and a token limited to
// projects sees only theirs.
func TestRunKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		a := f.create(t, f.reviewer.access, `{"project":"p1","external_id":"a","params":{"lr":0.1,"opt":{"name":"adam"}},"metrics":{"loss":1}}`, 201)["id"].(string)
		b := f.create(t, f.reviewer.access, `{"project":"p2","external_id":"b","params":{"seed":1},"metrics":{"acc":1}}`, 201)["id"].(string)
		if rec := f.srv.do(jsonReq("POST", "/api/runs/"+a+"/series", f.reviewer.access, `{"val loss":[[0,1]]}`)); rec.Code != 200 {
			t.Fatalf("series: %d %s", rec.Code, rec.Body)
		}
		type keys struct {
			Params    []string `json:"params"`
			Metrics   []string `json:"metrics"`
			Series    []string `json:"series"`
			Truncated bool     `json:"truncated"`
		}
		get := func(cred, query string, want keys) {
			t.Helper()
			rec := f.srv.do(jsonReq("GET", "/api/runs/keys"+query, cred, ""))
			if rec.Code != 200 {
				t.Fatalf("keys%s: %d %s", query, rec.Code, rec.Body)
			}
			var got keys
			dec := json.NewDecoder(rec.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatal(err)
			}
			for _, l := range []*[]string{&want.Params, &want.Metrics, &want.Series} {
				if *l == nil {
					*l = []string{} // the lists are never null
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("keys%s: %+v, want %+v", query, got, want)
			}
		}
		all := keys{Params: []string{"lr", "opt.name", "seed"}, Metrics: []string{"acc", "loss"}, Series: []string{"val loss"}}
		p1 := keys{Params: []string{"lr", "opt.name"}, Metrics: []string{"loss"}, Series: []string{"val loss"}}
		get(f.viewer.access, "", all)
		get(f.tokens["ro"], "", all)
		get(f.viewer.access, "?project=p1", p1)
		get(f.viewer.access, "?project=p3", keys{})
		get(f.viewer.access, "?prefix=o", keys{Params: []string{"opt.name"}})
		get(f.viewer.access, "?project=p1&prefix="+url.QueryEscape("val "), keys{Series: []string{"val loss"}})
		// A token limited to p1 sees p1's names only, asked for all or for p2.
		get(f.tokens["rw-p1"], "", p1)
		get(f.tokens["rw-p1"], "?project=p2", keys{})
		// A deleted run's names go.
		if rec := f.srv.do(jsonReq("DELETE", "/api/runs/"+b, f.admin.access, "")); rec.Code != 204 {
			t.Fatalf("delete: %d %s", rec.Code, rec.Body)
		}
		get(f.viewer.access, "", p1)

		for _, tc := range []struct {
			name, cred, query string
			status            int
			code              string
		}{
			{"no credentials", "", "", 401, "unauthorized"},
			{"a token without runs:read", f.tokens["w"], "", 403, "insufficient_scope"},
			{"a project name no run can have", f.viewer.access, "?project=%20p1", 400, "invalid"},
			{"a prefix that is no text", f.viewer.access, "?prefix=%ff", 400, "invalid"},
		} {
			rec := f.srv.do(jsonReq("GET", "/api/runs/keys"+tc.query, tc.cred, ""))
			if rec.Code != tc.status {
				t.Fatalf("%s: %d %s", tc.name, rec.Code, rec.Body)
			}
			if e := decodeError(t, rec); e.Error != tc.code {
				t.Fatalf("%s: error %q, want %q", tc.name, e.Error, tc.code)
			}
		}
	})
}
