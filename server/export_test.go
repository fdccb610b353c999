package server

import (
	"encoding/csv"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// readCSV parses an export's answer, failing on a status other than 200
// or a media type other than CSV.
func readCSV(t *testing.T, f *runsFixture, path, cred string) [][]string {
	t.Helper()
	rec := f.srv.do(jsonReq("GET", path, cred, ""))
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, rec.Body)
	}
	return rows
}

// TestRunsCSV: GET /api/runs.csv streams every run of the view (across
// pages), in the view's order, with the chosen columns: params by dotted
// path (a float keeps its fraction), metrics in full precision, text that a
// spreadsheet would run as a formula defused, and the view's filters and
// access rules as GET /api/runs applies them.
func TestRunsCSV(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		f.srv.srv.exportPage = 2 // five runs: three pages
		tok := f.tokens["rw"]
		for i, body := range []string{
			`{"project":"p1","external_id":"a","name":"=HYPERLINK(\"http://x\")","params":{"lr":2.0,"opt":{"name":"adam"}},"metrics":{"loss":0.5},"tags":["x","y"]}`,
			`{"project":"p1","external_id":"b","name":"plain","params":{"lr":3,"opt":{"name":"@sgd"}},"metrics":{"loss":-0.25}}`,
			`{"project":"p1","external_id":"c","name":"-1.5","params":{"lr":0.001},"metrics":{"loss":0.125}}`,
			`{"project":"p1","external_id":"d","name":"no loss","params":{"a.b":7}}`,
		} {
			f.clk.Advance(time.Second)
			if out := f.create(t, tok, body, 201); out["id"] == "" {
				t.Fatalf("run %d: no id", i)
			}
		}
		rows := readCSV(t, f, "/api/runs.csv?project=p1&sort=metrics.loss&columns=name,params.lr,params.opt.name,params.a.b,metrics.loss,tags,status", tok)
		want := [][]string{
			{"name", "params.lr", "params.opt.name", "params.a.b", "metrics.loss", "tags", "status"},
			{"plain", "3", "'@sgd", "", "-0.25", "", "queued"},
			{"-1.5", "0.001", "", "", "0.125", "", "queued"},
			{`'=HYPERLINK("http://x")`, "2.0", "adam", "", "0.5", "x,y", "queued"},
		}
		// Runs without the sort metric follow, newest first: "no loss",
		// then the fixture's seed run of p1.
		if len(rows) != 6 || !reflect.DeepEqual(rows[:4], want) || rows[4][0] != "no loss" || rows[4][3] != "7" || rows[5][0] != "seed" {
			t.Fatalf("export:\n got %q\nwant %q + no loss + seed", rows, want)
		}

		// The default columns, and the query language filters as in the list.
		rows = readCSV(t, f, "/api/runs.csv?q="+strings.ReplaceAll("metrics.loss > 0.2", " ", "+"), tok)
		if got := strings.Join(rows[0], ","); got != "id,name,project,status,review,created,duration,tags,failure" {
			t.Errorf("default header: %s", got)
		}
		if len(rows) != 2 || rows[1][1] != `'=HYPERLINK("http://x")` || rows[1][2] != "p1" || rows[1][4] != "unreviewed" {
			t.Errorf("q export: %q", rows)
		}

		// A token limited to p1 never sees p2's runs.
		for _, row := range readCSV(t, f, "/api/runs.csv?columns=project", f.tokens["rw-p1"])[1:] {
			if row[0] != "p1" {
				t.Errorf("a p1 token exported a run of %s", row[0])
			}
		}

		// Bad input names the field; a view over the limit is refused
		// before anything is sent.
		for _, tc := range []struct{ query, field, code string }{
			{"columns=name,nope", "columns", "invalid"},
			{"columns=" + strings.Repeat("name,", maxExportColumns) + "name", "columns", "invalid"},
			{"q=metrics.loss+<", "q", "invalid_query"},
			{"limit=0", "limit", "invalid"},
		} {
			rec := f.srv.do(jsonReq("GET", "/api/runs.csv?"+tc.query, tok, ""))
			e := decodeError(t, rec)
			if rec.Code != 400 || e.Error != tc.code || (len(e.Details) > 0 && e.Details[0].Field != tc.field) {
				t.Errorf("%s: %d %s", tc.query, rec.Code, rec.Body)
			}
		}
		f.srv.srv.exportMax = 3
		rec := f.srv.do(jsonReq("GET", "/api/runs.csv?project=p1", tok, ""))
		if e := decodeError(t, rec); rec.Code != 400 || e.Error != "too_many_rows" || !strings.Contains(e.Message, "holds 5 runs") {
			t.Errorf("over the limit: %d %s", rec.Code, rec.Body)
		}
		if rec := f.srv.do(jsonReq("GET", "/api/runs.csv", "", "")); rec.Code != 401 {
			t.Errorf("anonymous: %d", rec.Code)
		}
	})
}

// TestSeriesCSV: GET /api/runs/{id}/series.csv writes one line per point
// (series, step, value, time), non-finite values by name, the time where
// the run's clock has it; it reads at most max_points in all and says
// when that cut a series down (X-Downsampled).
func TestSeriesCSV(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		run := f.create(t, tok, `{"project":"p1","external_id":"s"}`, 201)["id"].(string)
		var loss []string
		for s := range 100 {
			loss = append(loss, fmt.Sprintf("[%d,%g,%d]", s, 1/float64(s+1), 1_700_000_000+s))
		}
		body := `{"loss":[` + strings.Join(loss, ",") + `],"train/acc":[[0,"NaN"],[1,"Infinity"]]}`
		if rec := f.srv.do(jsonReq("POST", "/api/runs/"+run+"/series", tok, body)); rec.Code != 200 {
			t.Fatalf("series: %d %s", rec.Code, rec.Body)
		}
		path := "/api/runs/" + run + "/series.csv"
		rows := readCSV(t, f, path+"?names=loss,train/acc", tok)
		if len(rows) != 1+100+2 || strings.Join(rows[0], ",") != "series,step,value,time" {
			t.Fatalf("rows: %d, header %q", len(rows), rows[0])
		}
		if got := rows[1]; !reflect.DeepEqual(got, []string{"loss", "0", "1", "2023-11-14T22:13:20Z"}) {
			t.Errorf("first point: %q", got)
		}
		if got := rows[100]; !reflect.DeepEqual(got, []string{"loss", "99", "0.01", "2023-11-14T22:14:59Z"}) {
			t.Errorf("last loss point: %q", got)
		}
		if got := rows[101:]; got[0][0] != "train/acc" || got[0][2] != "NaN" || got[1][2] != "Infinity" {
			t.Errorf("acc: %q", got)
		}
		rec := f.srv.do(jsonReq("GET", path+"?names=loss", tok, ""))
		if rec.Header().Get("X-Downsampled") != "false" {
			t.Errorf("whole read: X-Downsampled %q", rec.Header().Get("X-Downsampled"))
		}
		rec = f.srv.do(jsonReq("GET", path+"?names=loss&max_points=8", tok, ""))
		if n := strings.Count(rec.Body.String(), "\n"); rec.Code != 200 || rec.Header().Get("X-Downsampled") != "true" || n > 1+8 {
			t.Errorf("max_points=8: %d, X-Downsampled %q, %d lines", rec.Code, rec.Header().Get("X-Downsampled"), n)
		}
		rows = readCSV(t, f, path+"?names=loss&from=10&to=12", tok)
		if len(rows) != 4 || rows[1][1] != "10" || rows[3][1] != "12" {
			t.Errorf("window: %q", rows)
		}
		if rec := f.srv.do(jsonReq("GET", path+"?from=x", tok, "")); rec.Code != 400 || decodeError(t, rec).Details[0].Field != "from" {
			t.Errorf("bad from: %d %s", rec.Code, rec.Body)
		}
		if rec := f.srv.do(jsonReq("GET", "/api/runs/"+db.NewID()+"/series.csv", tok, "")); rec.Code != 404 {
			t.Errorf("unknown run: %d %s", rec.Code, rec.Body)
		}
	})
}
