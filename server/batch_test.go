package server

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// TestRunsBatch: GET /api/runs/batch gives the runs asked for, each once
// and in the order asked, with their series summaries; ids that name no
// run, or a run out of the token's projects, are listed as missing; the
// ids are 1 to 100.
func TestRunsBatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		ids := map[string]string{}
		for _, r := range []struct{ ext, project, series string }{
			{"a", "p1", `{"loss":[[0,1],[1,0.5]]}`},
			{"b", "p1", ``},
			{"c", "p2", `{"loss":[[0,2]],"acc":[[0,0.25]]}`},
		} {
			f.clk.Advance(time.Second)
			ids[r.ext] = f.create(t, tok, `{"project":"`+r.project+`","external_id":"`+r.ext+`","name":"`+r.ext+`"}`, 201)["id"].(string)
			if r.series != "" {
				if rec := f.srv.do(jsonReq("POST", "/api/runs/"+ids[r.ext]+"/series", tok, r.series)); rec.Code != 200 {
					t.Fatalf("series %s: %d %s", r.ext, rec.Code, rec.Body)
				}
			}
		}
		type batch struct {
			Runs []struct {
				ID, Name string
				Params   map[string]any
				Series   *[]struct {
					Name  string
					Count int64
				}
			}
			Missing []string
		}
		get := func(tok, query string) (names []string, series map[string]string, missing []string) {
			t.Helper()
			rec := f.srv.do(jsonReq("GET", "/api/runs/batch?"+query, tok, ""))
			if rec.Code != 200 {
				t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
			}
			var b batch
			mustJSON(t, rec.Body.Bytes(), &b)
			series = map[string]string{}
			for _, r := range b.Runs {
				names = append(names, r.Name)
				if r.Series == nil {
					t.Fatalf("run %s carries no series list: %s", r.Name, rec.Body)
				}
				var parts []string
				for _, s := range *r.Series {
					parts = append(parts, fmt.Sprintf("%s:%d", s.Name, s.Count))
				}
				series[r.Name] = strings.Join(parts, ",")
			}
			if b.Missing == nil {
				t.Fatalf("missing is not a list: %s", rec.Body)
			}
			return names, series, b.Missing
		}
		names, series, missing := get(tok, "ids="+ids["c"]+","+ids["a"]+"&id="+ids["c"]+"&id=0123456789abcdef01234567&id="+ids["b"])
		if want := []string{"c", "a", "b"}; !reflect.DeepEqual(names, want) {
			t.Errorf("runs %v, want %v (the order asked, each once)", names, want)
		}
		if want := map[string]string{"a": "loss:2", "b": "", "c": "acc:1,loss:1"}; !reflect.DeepEqual(series, want) {
			t.Errorf("series %v, want %v", series, want)
		}
		if want := []string{"0123456789abcdef01234567"}; !reflect.DeepEqual(missing, want) {
			t.Errorf("missing %v, want %v", missing, want)
		}
		// A token of project p1 does not see c: it is missing, as an unknown id.
		names, _, missing = get(f.tokens["rw-p1"], "ids="+ids["c"]+","+ids["a"])
		if !reflect.DeepEqual(names, []string{"a"}) || !reflect.DeepEqual(missing, []string{ids["c"]}) {
			t.Errorf("p1 token: runs %v, missing %v", names, missing)
		}

		var many []string
		for range 101 {
			many = append(many, db.NewID())
		}
		// At the bound: 100 ids are answered (a, and 99 that name no run).
		bound := append([]string{ids["a"]}, many[:99]...)
		if names, _, missing := get(tok, "ids="+strings.Join(bound, ",")); len(names) != 1 || len(missing) != 99 {
			t.Errorf("100 ids: %d runs, %d missing", len(names), len(missing))
		}
		// A long list is refused at its 101st distinct id, not looked through
		// (each id against every other would be 5·10⁹ comparisons here).
		huge := make([]string, 100_000)
		for i := range huge {
			huge[i] = fmt.Sprintf("r%d", i)
		}
		for _, query := range []string{"", "ids=", "ids=a,,b", "ids=" + strings.Join(many, ","), "ids=" + strings.Join(huge, ",")} {
			rec := f.srv.do(jsonReq("GET", "/api/runs/batch?"+query, tok, ""))
			if e := decodeError(t, rec); rec.Code != 400 || len(e.Details) == 0 || e.Details[0].Field != "ids" {
				t.Errorf("batch?%s: %d %s", query, rec.Code, rec.Body)
			}
		}
		if rec := f.srv.do(jsonReq("GET", "/api/runs/batch?ids="+ids["a"], f.tokens["w"], "")); rec.Code != 403 {
			t.Errorf("a token without runs:read: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestSeriesOfRuns: GET /api/runs/series reads the same series of several
// runs in one answer; each run's part is what its own read gives at the
// same points per series, the runs share the points bound of one read
// (series_read_max_points, 100,000: 3 runs of 2 series get 16,666 points
// a series), and runs out of reach are missing.
func TestSeriesOfRuns(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		var long strings.Builder
		long.WriteString(`{"loss":[`)
		for i := range 20_000 {
			if i > 0 {
				long.WriteByte(',')
			}
			fmt.Fprintf(&long, "[%d,%g]", i, 1/float64(i+1))
		}
		long.WriteString(`],"acc":[[0,0.5],[10,0.75,1700000000]]}`)
		ids := map[string]string{}
		for _, r := range []struct{ ext, project, series string }{
			{"a", "p1", long.String()},
			{"b", "p1", `{"loss":[[0,1],[1,0.5]]}`},
			{"c", "p2", `{"loss":[[0,2]]}`},
		} {
			f.clk.Advance(time.Second)
			ids[r.ext] = f.create(t, tok, `{"project":"`+r.project+`","external_id":"`+r.ext+`","name":"`+r.ext+`"}`, 201)["id"].(string)
			if rec := f.srv.do(jsonReq("POST", "/api/runs/"+ids[r.ext]+"/series", tok, r.series)); rec.Code != 200 {
				t.Fatalf("series %s: %d %s", r.ext, rec.Code, rec.Body)
			}
		}
		type answer struct {
			Runs []struct {
				ID        string          `json:"id"`
				Series    json.RawMessage `json:"series"`
				MaxPoints int             `json:"max_points"`
				Clock     json.RawMessage `json:"clock"`
			}
			Missing []string
		}
		read := func(tok, query string) answer {
			t.Helper()
			rec := f.srv.do(jsonReq("GET", "/api/runs/series?"+query, tok, ""))
			if rec.Code != 200 {
				t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
			}
			var a answer
			mustJSON(t, rec.Body.Bytes(), &a)
			return a
		}
		for _, x := range []string{"step", "time"} {
			got := read(tok, "ids="+ids["a"]+","+ids["b"]+","+ids["c"]+"&names=loss,acc&max_points=100000&x="+x)
			if len(got.Runs) != 3 || len(got.Missing) != 0 {
				t.Fatalf("x=%s: %d runs, missing %v", x, len(got.Runs), got.Missing)
			}
			for i, ext := range []string{"a", "b", "c"} {
				r := got.Runs[i]
				if r.ID != ids[ext] || r.MaxPoints != 100_000/6 {
					t.Errorf("x=%s, run %d: id %s (want %s), max_points %d (want %d)", x, i, r.ID, ids[ext], r.MaxPoints, 100_000/6)
				}
				// The same as the run's own read at those points per series.
				rec := f.srv.do(jsonReq("GET", fmt.Sprintf("/api/runs/%s/series?names=loss,acc&max_points=%d&x=%s", ids[ext], r.MaxPoints, x), tok, ""))
				var own struct {
					Series json.RawMessage `json:"series"`
					Clock  json.RawMessage `json:"clock"`
				}
				mustJSON(t, rec.Body.Bytes(), &own)
				if string(own.Series) != string(r.Series) || string(own.Clock) != string(r.Clock) {
					t.Errorf("x=%s, run %s: differs from its own read", x, ext)
				}
			}
			var first []struct {
				Name        string
				Downsampled bool
				Points      [][]any
			}
			mustJSON(t, got.Runs[0].Series, &first)
			if len(first) != 2 || first[0].Name != "loss" || !first[0].Downsampled || len(first[0].Points) > 100_000/6 || len(first[0].Points) < 1000 {
				t.Errorf("x=%s: run a's loss is not downsampled to its share: %d points", x, len(first[0].Points))
			}
			if x == "time" && len(first[1].Points) == 2 && len(first[1].Points[1]) != 3 {
				t.Errorf("x=time: a point has no time: %v", first[1].Points[1])
			}
		}
		// Out of the token's projects, or unknown: missing, in the order asked.
		got := read(f.tokens["rw-p1"], "ids="+ids["c"]+",0123456789abcdef01234567,"+ids["b"]+"&name=loss")
		if len(got.Runs) != 1 || got.Runs[0].ID != ids["b"] || !reflect.DeepEqual(got.Missing, []string{ids["c"], "0123456789abcdef01234567"}) {
			t.Errorf("p1 token: %+v", got)
		}

		var many []string
		for range 101 {
			many = append(many, db.NewID())
		}
		// At the bound: 100 ids share the one read (a, b and 98 that name no run).
		bound := append([]string{ids["a"], ids["b"]}, many[:98]...)
		if got := read(tok, "ids="+strings.Join(bound, ",")+"&names=loss,acc&max_points=100000"); len(got.Runs) != 2 || len(got.Missing) != 98 || got.Runs[0].MaxPoints != 100_000/4 {
			t.Errorf("100 ids: %+v", got)
		}
		twenty := strings.Repeat("s,", 20) + "t"
		for query, field := range map[string]string{
			"names=loss": "ids",
			"ids=" + strings.Join(many, ",") + "&names=loss": "ids",
			"ids=" + ids["a"]:                              "names",
			"ids=" + ids["a"] + "&names=" + twenty:         "names",
			"ids=" + ids["a"] + "&names=loss&max_points=2": "max_points",
			"ids=" + ids["a"] + "&names=loss&x=wall":       "x",
		} {
			rec := f.srv.do(jsonReq("GET", "/api/runs/series?"+query, tok, ""))
			if e := decodeError(t, rec); rec.Code != 400 || len(e.Details) == 0 || e.Details[0].Field != field {
				t.Errorf("series?%s: %d %s (want 400 naming %s)", query, rec.Code, rec.Body, field)
			}
		}
	})
}
