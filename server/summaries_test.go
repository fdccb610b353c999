package server

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// TestListCarriesSeriesSummaries: GET /api/runs?summaries= gives each run
// of the page the summaries of the named series it has (the table's
// last/min/max columns), sorts by them, and the CSV export takes them as
// columns; a bad or excess name is a 400 naming summaries.
func TestListCarriesSeriesSummaries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		for _, r := range []struct{ ext, series string }{
			{"a", `{"loss":[[0,1],[1,0.25],[2,0.5]],"val/loss":[[0,2],[5,0.75]]}`},
			{"b", `{"loss":[[0,3],[1,0.125]],"acc":[[0,0.5]]}`},
			{"c", ``},
		} {
			f.clk.Advance(time.Second)
			id := f.create(t, tok, `{"project":"p3","external_id":"`+r.ext+`","name":"`+r.ext+`"}`, 201)["id"].(string)
			if r.series != "" {
				if rec := f.srv.do(jsonReq("POST", "/api/runs/"+id+"/series", tok, r.series)); rec.Code != 200 {
					t.Fatalf("series %s: %d %s", r.ext, rec.Code, rec.Body)
				}
			}
		}
		type summary struct {
			Name           string
			Count          int64
			Min, Max, Last *float64
		}
		list := func(query string) (names []string, series map[string][]summary) {
			t.Helper()
			rec := f.srv.do(jsonReq("GET", "/api/runs?project=p3&"+query, tok, ""))
			if rec.Code != 200 {
				t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
			}
			var page struct {
				Runs []struct {
					Name   string
					Series *[]summary
				}
			}
			mustJSON(t, rec.Body.Bytes(), &page)
			series = map[string][]summary{}
			for _, r := range page.Runs {
				names = append(names, r.Name)
				if r.Series != nil {
					series[r.Name] = *r.Series
				}
			}
			return names, series
		}
		p := func(v float64) *float64 { return &v }

		_, got := list("summaries=loss,val/loss&summary=loss")
		want := map[string][]summary{
			"a": {{"loss", 3, p(0.25), p(1), p(0.5)}, {"val/loss", 2, p(0.75), p(2), p(0.75)}},
			"b": {{"loss", 2, p(0.125), p(3), p(0.125)}},
			"c": {},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("summaries:\n got %+v\nwant %+v", got, want)
		}
		// Without summaries=, a list carries no series at all.
		if _, got := list(""); len(got) != 0 {
			t.Errorf("a plain list carries series: %+v", got)
		}
		// A summary column sorts (runs without the series follow).
		if names, _ := list("summaries=loss&sort=" + url.QueryEscape("last(loss)")); !reflect.DeepEqual(names, []string{"b", "a", "c"}) {
			t.Errorf("sorted by last(loss): %v", names)
		}
		if names, _ := list("sort=" + url.QueryEscape(`-max("val/loss")`)); names[0] != "a" {
			t.Errorf(`sorted by -max("val/loss"): %v`, names)
		}

		rows := readCSV(t, f, "/api/runs.csv?project=p3&columns="+url.QueryEscape(`name,last(loss),min(loss),max("val/loss"),count(loss)`), tok)
		wantRows := [][]string{
			{"name", "last(loss)", "min(loss)", `max("val/loss")`, "count(loss)"},
			{"c", "", "", "", ""},
			{"b", "0.125", "0.125", "", "2"},
			{"a", "0.5", "0.25", "2", "3"},
		}
		if !reflect.DeepEqual(rows, wantRows) {
			t.Errorf("export:\n got %q\nwant %q", rows, wantRows)
		}

		many := ""
		for i := range 21 {
			many += "s" + string(rune('a'+i)) + ","
		}
		for _, q := range []string{"summaries=" + url.QueryEscape("bad\x01name"), "summaries=" + many + "x"} {
			rec := f.srv.do(jsonReq("GET", "/api/runs?"+q, tok, ""))
			if e := decodeError(t, rec); rec.Code != 400 || len(e.Details) == 0 || e.Details[0].Field != "summaries" {
				t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
			}
		}
		tooMany := ""
		for i := range 21 {
			tooMany += "last(s" + string(rune('a'+i)) + "),"
		}
		for _, cols := range []string{"median(loss)", tooMany + "name"} {
			rec := f.srv.do(jsonReq("GET", "/api/runs.csv?columns="+url.QueryEscape(cols), tok, ""))
			if e := decodeError(t, rec); rec.Code != 400 || len(e.Details) == 0 || e.Details[0].Field != "columns" {
				t.Errorf("columns=%s: %d %s", cols, rec.Code, rec.Body)
			}
		}
	})
}
