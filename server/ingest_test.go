package server

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"labreview/db"
	"labreview/db/dbtest"
)

// TestSeriesBatchNamesEveryBadPoint: a batch with bad points is refused
// whole, and the answer names each (series, index, reason), up to 20, so
// that a client can drop them and send the rest.
func TestSeriesBatchNamesEveryBadPoint(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	tok, path := f.tokens["rw"], "/api/runs/"+f.runP1+"/series"
	rec := f.srv.do(jsonReq("POST", path, tok, `{"loss":[[0,1],[1,"high"],[2,null],[3,1e999],[1.5,2],[5,1,"now"],[6,1,-5],[7,1,null]],`+
		`"val.loss":[[0,0.5]],"bad\tname":[[0,1],[1,"x"]],"train/loss":[[-1,2],[9007199254740992,1]]}`))
	if rec.Code != 400 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	e := decodeError(t, rec)
	if e.Error != "invalid" || !strings.Contains(e.Message, "9 points of the batch are invalid") {
		t.Fatalf("%+v", e)
	}
	var got []string
	for _, d := range e.Details {
		at := "all"
		if d.Index != nil {
			at = fmt.Sprint(*d.Index)
		}
		if d.Field != "series" || d.Series == nil {
			t.Fatalf("detail %+v", d)
		}
		got = append(got, fmt.Sprintf("%s@%s: %s", *d.Series, at, d.Message))
	}
	want := []string{
		"bad\tname@all: a name holds no control or format characters (tabs, line breaks, zero-width characters)",
		`loss@1: the value "high" is a text; only "NaN", "Infinity" and "-Infinity" are allowed`,
		`loss@2: the value is null: send a number, or "NaN" for a missing one`,
		"loss@3: the value 1e999 is beyond the range of a 64-bit float",
		"loss@4: the step 1.5 is not a whole number",
		`loss@5: the time "now" is not a number of Unix seconds`,
		"loss@6: the time -5 is not Unix seconds from 0 to the year 9999",
		"train/loss@0: the step -1 is not a whole number from 0 to 2^53 − 1",
		"train/loss@1: the step 9007199254740992 is not a whole number from 0 to 2^53 − 1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("details:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sums, _ := f.srv.db.SeriesSummaries(t.Context(), f.runP1); len(sums) != 0 {
		t.Fatalf("a refused batch stored %+v", sums)
	}
	// More than 20: the first 20 are named, the message counts them all.
	var many []string
	for i := range 30 {
		many = append(many, fmt.Sprintf("[%d,null]", i))
	}
	rec = f.srv.do(jsonReq("POST", path, tok, `{"x":[`+strings.Join(many, ",")+`]}`))
	e = decodeError(t, rec)
	if rec.Code != 400 || len(e.Details) != 20 || !strings.Contains(e.Message, "30 points of the batch are invalid (details names the first 20)") ||
		*e.Details[19].Index != 19 {
		t.Fatalf("%d %+v", rec.Code, e)
	}
	// The good points sent again are stored, names with dots and slashes.
	rec = f.srv.do(jsonReq("POST", path, tok, `{"loss":[[0,1],[7,1,null]],"val.loss":[[0,0.5]],"train/loss":[[0,2]]}`))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"received":4`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = f.srv.do(jsonReq("GET", path+"?names=val.loss,train/loss", tok, ""))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"val.loss"`) || !strings.Contains(rec.Body.String(), `"name":"train/loss","count":1`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestFailureReasonsFloatsAndNumbers: a failed run says why (in the run,
// briefly in lists, in queries); a status that is no failure clears it;
// whole floats stay floats; numbers that are not numbers are refused
// naming the field.
func TestFailureReasonsFloatsAndNumbers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		run := f.create(t, tok, `{"project":"fail","external_id":"a","status":"failed","params":{"lr":2.0,"n":2,"e":1e2,"big":12345678901234567890},`+
			`"failure":{"reason":"ZeroDivisionError: division by zero","detail":"Traceback (most recent call last):\n  File \"job.py\", line 3\nZeroDivisionError: division by zero"}}`, 201)
		id := run["id"].(string)
		rec := f.srv.do(jsonReq("GET", "/api/runs/"+id, tok, ""))
		body := rec.Body.String()
		for _, want := range []string{`"params":{"big":12345678901234567000.0,"e":100.0,"lr":2.0,"n":2}`,
			`"failure":{"reason":"ZeroDivisionError: division by zero","detail":"Traceback (most recent call last):\n  File \"job.py\", line 3\nZeroDivisionError: division by zero"}`} {
			if !strings.Contains(body, want) {
				t.Fatalf("run %s lacks %s", body, want)
			}
		}
		f.create(t, tok, `{"project":"fail","external_id":"b","status":"succeeded"}`, 201)
		rec = f.srv.do(jsonReq("GET", "/api/runs?project=fail&q="+url.QueryEscape(`failure.reason ~ "zerodivision"`), tok, ""))
		if body := rec.Body.String(); rec.Code != 200 || strings.Count(body, `"id"`) != 1 ||
			!strings.Contains(body, `"failure":{"reason":"ZeroDivisionError: division by zero"}`) {
			t.Fatalf("query: %d %s", rec.Code, body)
		}
		rec = f.srv.do(jsonReq("GET", "/api/runs?project=fail&q="+url.QueryEscape(`not failure.reason exists`), tok, ""))
		if body := rec.Body.String(); strings.Count(body, `"id"`) != 1 || !strings.Contains(body, `"failure":null`) {
			t.Fatalf("query: %s", body)
		}
		// Cancelled keeps a reason too; running again clears it.
		rec = f.srv.do(jsonReq("PATCH", "/api/runs/"+id, tok, `{"status":"cancelled","failure":{"reason":"KeyboardInterrupt"}}`))
		if !strings.Contains(rec.Body.String(), `"failure":{"reason":"KeyboardInterrupt","detail":""}`) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		rec = f.srv.do(jsonReq("PATCH", "/api/runs/"+id, tok, `{"status":"running"}`))
		if !strings.Contains(rec.Body.String(), `"failure":null`) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		// Numbers that are not numbers name their field.
		for body, field := range map[string]string{
			`{"project":"fail","metrics":{"acc":1,"loss":null}}`: "metrics.loss",
			`{"project":"fail","metrics":{"loss":1e999}}`:        "metrics.loss",
			`{"project":"fail","params":{"grid":[1,2,-1e999]}}`:  "params.grid[2]",
			`{"project":"fail","params":{"opt":{"eps":1e-400}}}`: "",
		} {
			rec := f.srv.do(jsonReq("POST", "/api/runs", tok, body))
			if field == "" { // underflow is a number: 0
				if rec.Code != 201 {
					t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
				}
				continue
			}
			e := decodeError(t, rec)
			if rec.Code != 400 || len(e.Details) != 1 || e.Details[0].Field != field || !strings.Contains(e.Message, field) {
				t.Fatalf("%s: %d %+v", body, rec.Code, e)
			}
		}
	})
}
