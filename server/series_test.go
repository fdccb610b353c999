package server

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// pointsJSON writes a series batch body.
func pointsJSON(series map[string][][2]string) string {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for name, pts := range series {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "%q:[", name)
		for i, p := range pts {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "[%s,%s]", p[0], p[1])
		}
		b.WriteString("]")
	}
	b.WriteString("}")
	return b.String()
}

func wave(from, to int) [][2]string {
	out := make([][2]string, 0, to-from)
	for s := from; s < to; s++ {
		out = append(out, [2]string{fmt.Sprint(s), fmt.Sprint(math.Sin(float64(s) / 300))})
	}
	return out
}

type seriesPage struct {
	Series []struct {
		Name        string
		Count       int64
		FirstStep   *int64 `json:"first_step"`
		LastStep    *int64 `json:"last_step"`
		WindowCount int64  `json:"window_count"`
		Downsampled bool
		Points      [][2]any
	}
}

func TestSeriesIngestAndDownsampledRead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		run := f.create(t, tok, `{"project":"p1","external_id":"long"}`, 201)["id"].(string)
		path := "/api/runs/" + run + "/series"

		// 60,000 points in two batches, with a spike each way and the
		// three non-finite values.
		loss := wave(0, 60_000)
		loss[12_345][1] = "1e9"
		loss[54_321][1] = "-1e9"
		loss[7][1], loss[8][1], loss[9][1] = `"NaN"`, `"Infinity"`, `"-Infinity"`
		for i := 0; i < len(loss); i += 30_000 {
			rec := f.srv.do(jsonReq("POST", path, tok, pointsJSON(map[string][][2]string{"loss": loss[i : i+30_000]})))
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"added":30000`) {
				t.Fatalf("batch at %d: %d %s", i, rec.Code, rec.Body)
			}
		}
		// A retried batch adds nothing.
		rec := f.srv.do(jsonReq("POST", path, tok, pointsJSON(map[string][][2]string{"loss": loss[:1000], "acc": wave(0, 10)})))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"received":1010,"added":10`) {
			t.Fatalf("retried batch: %d %s", rec.Code, rec.Body)
		}

		// Downsampled: at most max_points, first and last kept, spikes kept.
		var page seriesPage
		rec = f.srv.do(jsonReq("GET", path+"?names=loss&max_points=2000", tok, ""))
		mustJSON(t, rec.Body.Bytes(), &page)
		s := page.Series[0]
		if rec.Code != 200 || s.Count != 60_000 || s.WindowCount != 60_000 || !s.Downsampled || len(s.Points) > 2000 || len(s.Points) < 1000 {
			t.Fatalf("downsampled read: %d, count %d window %d, %d points", rec.Code, s.Count, s.WindowCount, len(s.Points))
		}
		has := func(points [][2]any, step float64, value any) bool {
			for _, p := range points {
				if p[0] == step && p[1] == value {
					return true
				}
			}
			return false
		}
		for _, want := range []struct {
			step  float64
			value any
		}{{0, 0.0}, {59_999, math.Sin(59_999.0 / 300)}, {12_345, 1e9}, {54_321, -1e9}, {8, "Infinity"}, {9, "-Infinity"}} {
			if !has(s.Points, want.step, want.value) {
				t.Errorf("the downsampled series lost step %v = %v", want.step, want.value)
			}
		}
		// A zoomed window that fits comes at full resolution.
		rec = f.srv.do(jsonReq("GET", path+"?names=loss&max_points=2000&from=5&to=1504", tok, ""))
		mustJSON(t, rec.Body.Bytes(), &page)
		s = page.Series[0]
		if s.Downsampled || len(s.Points) != 1500 || s.WindowCount != 1500 || s.Points[0][0] != 5.0 || s.Points[2][1] != "NaN" {
			t.Fatalf("zoomed window: downsampled %v, %d points, first %v", s.Downsampled, len(s.Points), s.Points[:3])
		}
		// Every series when no names are given; an unknown one is empty.
		rec = f.srv.do(jsonReq("GET", path+"?names=loss,acc,nope&max_points=100", f.viewer.access, ""))
		mustJSON(t, rec.Body.Bytes(), &page)
		if len(page.Series) != 3 || page.Series[1].Count != 10 || len(page.Series[1].Points) != 10 || page.Series[2].Count != 0 ||
			page.Series[2].FirstStep != nil || len(page.Series[0].Points) > 100 {
			t.Fatalf("several series: %s", rec.Body.String()[:min(400, rec.Body.Len())])
		}
		// `name` names one series exactly, a comma and all.
		rec = f.srv.do(jsonReq("POST", path, tok, `{"a,b":[[0,1],[1,2]]}`))
		if rec.Code != 200 {
			t.Fatalf("series with a comma: %d %s", rec.Code, rec.Body)
		}
		rec = f.srv.do(jsonReq("GET", path+"?name=a%2Cb&name=acc&max_points=100", tok, ""))
		mustJSON(t, rec.Body.Bytes(), &page)
		if len(page.Series) != 2 || page.Series[0].Name != "a,b" || page.Series[0].Count != 2 || page.Series[1].Count != 10 {
			t.Fatalf("exact names: %s", rec.Body)
		}
		// The run's page lists its series.
		body := f.srv.do(jsonReq("GET", "/api/runs/"+run, tok, "")).Body.String()
		if !strings.Contains(body, `"series":[{"name":"a,b","count":2,`) || !strings.Contains(body, `{"name":"acc","count":10,`) || !strings.Contains(body, `{"name":"loss","count":60000,"first_step":0,"last_step":59999,"min":"-Infinity","max":"Infinity"`) {
			t.Fatalf("run series summaries: %s", body[strings.Index(body, `"series"`):])
		}
	})
}

func TestSeriesInputAndAccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		path1, path2 := "/api/runs/"+f.runP1+"/series", "/api/runs/"+f.runP2+"/series"
		tok := f.tokens["rw"]
		many := `{"x":[` + strings.TrimSuffix(strings.Repeat("[1,1],", 100_001), ",") + `]}`
		huge := `{"x":[` + strings.TrimSuffix(strings.Repeat("[1000000,1.2345678901234567],", 700_000), ",") + `]}`
		cases := []struct {
			name, cred, path, body string
			status                 int
			code                   string
		}{
			{"not an object", tok, path1, `[1,2]`, 400, "invalid"},
			{"empty", tok, path1, `{}`, 400, "invalid"},
			{"a point of four", tok, path1, `{"x":[[1,2,1700000000,4]]}`, 400, "invalid"},
			{"a time that is no number", tok, path1, `{"x":[[1,2,"now"]]}`, 400, "invalid"},
			{"a fractional step", tok, path1, `{"x":[[1.5,2]]}`, 400, "invalid"},
			{"a negative step", tok, path1, `{"x":[[-1,2]]}`, 400, "invalid"},
			{"a step past 2^53", tok, path1, `{"x":[[9007199254740992,2]]}`, 400, "invalid"},
			{"a text value", tok, path1, `{"x":[[1,"high"]]}`, 400, "invalid"},
			{"a null value", tok, path1, `{"x":[[1,null]]}`, 400, "invalid"},
			{"a name with a line break", tok, path1, `{"a\nb":[[1,2]]}`, 400, "invalid"},
			{"a name starting with $", tok, path1, `{"$time":[[1,2]]}`, 400, "invalid"},
			{"a value beyond float64", tok, path1, `{"x":[[1,1e309]]}`, 400, "invalid"},
			{"a repeated name", tok, path1, `{"x":[[1,2]],"x":[[2,2]]}`, 400, "invalid_request"},
			{"broken JSON", tok, path1, `{"x":[[1,2]`, 400, "invalid_request"},
			{"trailing data", tok, path1, `{"x":[[1,2]]} {}`, 400, "invalid_request"},
			{"over 100,000 points", tok, path1, many, 400, "too_large"},
			{"over the body limit", tok, path1, huge, 413, "payload_too_large"},
			{"a viewer", f.viewer.access, path1, `{"x":[[1,2]]}`, 403, "forbidden"},
			{"a read token", f.tokens["ro"], path1, `{"x":[[1,2]]}`, 403, "insufficient_scope"},
			{"a token of another project", f.tokens["rw-p1"], path2, `{"x":[[1,2]]}`, 404, "not_found"},
			{"an unknown run", tok, "/api/runs/" + db.NewID() + "/series", `{"x":[[1,2]]}`, 404, "not_found"},
		}
		for _, tc := range cases {
			rec := f.srv.do(jsonReq("POST", tc.path, tc.cred, tc.body))
			if rec.Code != tc.status {
				t.Errorf("%s: status %d, want %d; %.300s", tc.name, rec.Code, tc.status, rec.Body)
				continue
			}
			if e := decodeError(t, rec); e.Error != tc.code {
				t.Errorf("%s: code %q, want %q (%s)", tc.name, e.Error, tc.code, e.Message)
			}
		}
		// Nothing of the refused batches was stored.
		if sums, err := store.SeriesSummaries(t.Context(), f.runP1); err != nil || len(sums) != 0 {
			t.Fatalf("refused batches stored series: %+v %v", sums, err)
		}
		// Reads: bad parameters, and a token of another project.
		for _, q := range []string{"?max_points=2", "?max_points=x", "?from=9&to=3", "?from=x"} {
			if rec := f.srv.do(jsonReq("GET", path1+q, tok, "")); rec.Code != 400 {
				t.Errorf("GET %s: %d", q, rec.Code)
			}
		}
		if rec := f.srv.do(jsonReq("GET", path2, f.tokens["rw-p1"], "")); rec.Code != 404 {
			t.Errorf("read of another project's series: %d", rec.Code)
		}
		// A deleted run takes no points.
		f.srv.do(jsonReq("DELETE", "/api/runs/"+f.runP1, f.admin.access, ""))
		if rec := f.srv.do(jsonReq("POST", path1, tok, `{"x":[[1,2]]}`)); rec.Code != 409 {
			t.Errorf("points for a deleted run: %d", rec.Code)
		}
	})
}

// TestSeriesLeaseHeldIsBusy: a series write that waited out the lease
// (other writers to the same run kept it) is answered as a retryable 503,
// which the job clients retry, never as an internal error.
func TestSeriesLeaseHeldIsBusy(t *testing.T) {
	e, known := toError(fmt.Errorf("db: write series: %w", db.ErrLeaseHeld))
	if !known || e.Status != 503 || e.Code != "busy" || e.RetryAfter == 0 {
		t.Fatalf("lease held answered %+v (known %v)", e, known)
	}
	if e != errLeaseBusy {
		t.Fatal("lease held must not read as a saturated password pool or an outage in the log")
	}
}

// TestCancelledRequestIsNoServerError: a browser cancelling a superseded
// read (the plot asked for a new window) reaches the handlers as a
// cancelled context. That is answered 499 for the access log, never 500,
// and no ERROR line is written.
func TestCancelledRequestIsNoServerError(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	req := httptest.NewRequest("GET", "/api/runs/"+f.runP1+"/series?max_points=100", nil)
	req.Header.Set("Authorization", "Bearer "+f.reviewer.access)
	ctx, cancel := context.WithCancel(req.Context())
	cancel()
	rec := httptest.NewRecorder()
	f.srv.handler.ServeHTTP(rec, req.WithContext(ctx))
	if rec.Code != 499 {
		t.Fatalf("cancelled request answered %d: %s", rec.Code, rec.Body)
	}
	if logs := f.srv.logs.String(); strings.Contains(logs, "level=ERROR") || strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("a cancelled request logged an error:\n%s", logs)
	}
}

// The time axis: each step's wall time, sent by the job or stamped on
// receipt, kept once a step for all the run's series.
func TestSeriesTimeAxis(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		run := f.create(t, tok, `{"project":"p1","external_id":"timed"}`, 201)["id"].(string)
		path := "/api/runs/" + run + "/series"
		type timedPage struct {
			Series []struct {
				Name        string
				Count       int64
				Downsampled bool
				Points      [][3]any
			}
			Clock *struct{ First, Last float64 }
		}
		get := func(query string) timedPage {
			t.Helper()
			var page timedPage
			rec := f.srv.do(jsonReq("GET", path+query, tok, ""))
			if rec.Code != 200 {
				t.Fatalf("GET %s: %d %s", query, rec.Code, rec.Body)
			}
			mustJSON(t, rec.Body.Bytes(), &page)
			return page
		}

		// Steps 0–9 carry times (steps 2 and 3 disagree between series:
		// the earlier one counts); steps 10–11 are stamped on receipt.
		var loss, acc []string
		for s := 0; s < 10; s++ {
			loss = append(loss, fmt.Sprintf("[%d,%d,%d.25]", s, s, 1_700_000_000+10*s))
		}
		acc = append(acc, "[2,0.5,1700000099]", "[3,0.6,1699999999]")
		rec := f.srv.do(jsonReq("POST", path, tok, `{"loss":[`+strings.Join(loss, ",")+`],"acc":[`+strings.Join(acc, ",")+`]}`))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"received":12,"added":12`) {
			t.Fatalf("timed batch: %d %s", rec.Code, rec.Body)
		}
		received := float64(f.clk.Now().UnixMilli()) / 1000
		rec = f.srv.do(jsonReq("POST", path, tok, `{"loss":[[10,10],[11,11]]}`))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"added":2`) {
			t.Fatalf("untimed batch: %d %s", rec.Code, rec.Body)
		}

		// Written again later (a retry, or another series at those
		// steps), the steps keep their first time.
		f.clk.Advance(time.Hour)
		if rec := f.srv.do(jsonReq("POST", path, tok, `{"acc":[[10,1],[11,1,1800000000],[1,1]]}`)); rec.Code != 200 {
			t.Fatalf("later batch: %d %s", rec.Code, rec.Body)
		}

		page := get("?names=loss,acc&x=time")
		want := map[float64]float64{0: 1_700_000_000.25, 1: 1_700_000_010.25, 2: 1_700_000_020.25, 3: 1_699_999_999, 9: 1_700_000_090.25, 10: received, 11: received}
		for step, tm := range want {
			found := false
			for _, s := range page.Series {
				for _, p := range s.Points {
					if p[0] == step {
						found = true
						if p[2] != tm {
							t.Errorf("%s step %v: time %v, want %v", s.Name, step, p[2], tm)
						}
					}
				}
			}
			if !found {
				t.Errorf("step %v missing", step)
			}
		}
		if page.Clock == nil || page.Clock.First != 1_699_999_999 || page.Clock.Last != received {
			t.Fatalf("clock span: %+v, want 1699999999 to %v", page.Clock, received)
		}
		// Without x=time the points are pairs, and the clock is no series.
		rec = f.srv.do(jsonReq("GET", path, tok, ""))
		if body := rec.Body.String(); strings.Contains(body, "$time") || !strings.Contains(body, `"points":[[1,1],[2,0.5],[3,0.6],[10,1],[11,1]]`) {
			t.Fatalf("series without times: %s", body)
		}
		if body := f.srv.do(jsonReq("GET", "/api/runs/"+run, tok, "")).Body.String(); strings.Contains(body, "$time") {
			t.Fatalf("the run lists its clock: %s", body)
		}
		// Nobody writes or reads the clock as a series.
		rec = f.srv.do(jsonReq("POST", path, tok, `{"$time":[[0,1]]}`))
		if rec.Code != 400 {
			t.Fatalf("writing the clock: %d %s", rec.Code, rec.Body)
		}
		if p := get("?name=%24time&x=time"); p.Series[0].Count != 0 || len(p.Series[0].Points) != 0 {
			t.Fatalf("reading the clock by name: %+v", p.Series[0])
		}

		// A long series read downsampled (another run): the times are
		// interpolated between the points the clock's chunk summaries
		// name, within one chunk's time of the exact time.
		long := f.create(t, tok, `{"project":"p1","external_id":"timed-long"}`, 201)["id"].(string)
		var b strings.Builder
		b.WriteString(`{"v":[`)
		for s := 0; s < 50_000; s++ {
			if s > 0 {
				b.WriteString(",")
			}
			// 0.1 s a step for the first half, 1 s a step after.
			tm := 1_700_000_000 + 0.1*float64(min(s, 25_000)) + float64(max(s-25_000, 0))
			fmt.Fprintf(&b, "[%d,%d,%.3f]", 100+s, s%7, tm)
		}
		b.WriteString("]}")
		if rec := f.srv.do(jsonReq("POST", "/api/runs/"+long+"/series", tok, b.String())); rec.Code != 200 {
			t.Fatalf("long timed batch: %d %s", rec.Code, rec.Body)
		}
		path = "/api/runs/" + long + "/series"
		page = get("?names=v&x=time&max_points=400")
		s := page.Series[0]
		if !s.Downsampled || len(s.Points) > 400 {
			t.Fatalf("long read: downsampled %v, %d points", s.Downsampled, len(s.Points))
		}
		chunk := float64(db.ChunkPoints) // the time one chunk spans at most (1 s a step)
		prev := 0.0
		for _, p := range s.Points {
			st := p[0].(float64) - 100
			exact := 1_700_000_000 + 0.1*min(st, 25_000) + max(st-25_000, 0)
			got, ok := p[2].(float64)
			if !ok || math.Abs(got-exact) > chunk || got < prev {
				t.Fatalf("step %v: time %v, exact %v (off by at most %v, ascending)", st, p[2], exact, chunk)
			}
			prev = got
		}
		// A window that fits is exact.
		page = get("?names=v&x=time&from=25090&to=25110")
		for _, p := range page.Series[0].Points {
			st := p[0].(float64) - 100
			exact := math.Round((1_700_000_000+0.1*min(st, 25_000)+max(st-25_000, 0))*1000) / 1000
			if p[2] != exact {
				t.Fatalf("zoomed step %v: time %v, want %v", st, p[2], exact)
			}
		}

		// Points written before the clock existed have a null time, and a
		// bad time or x is refused.
		if _, err := store.WriteSeries(context.Background(), f.runP1, map[string][]db.Point{"old": {{Step: 1, Value: 2}}}, f.clk.Now()); err != nil {
			t.Fatal(err)
		}
		rec = f.srv.do(jsonReq("GET", "/api/runs/"+f.runP1+"/series?x=time", tok, ""))
		if !strings.Contains(rec.Body.String(), `"points":[[1,2,null]]`) || !strings.Contains(rec.Body.String(), `"clock":null`) {
			t.Fatalf("untimed points: %s", rec.Body)
		}
		for _, tc := range []struct{ method, path, body, field string }{
			{"POST", path, `{"loss":[[20,1,-5]]}`, "series"},
			{"POST", path, `{"loss":[[20,1,1e300]]}`, "series"},
			{"POST", path, `{"loss":[[20,1,"2024-01-01"]]}`, "series"},
			{"POST", path, `{"loss":[[20,1,1700000000,4]]}`, "series"},
			{"GET", path + "?x=wall", "", "x"},
		} {
			rec := f.srv.do(jsonReq(tc.method, tc.path, tok, tc.body))
			if e := decodeError(t, rec); rec.Code != 400 || len(e.Details) != 1 || e.Details[0].Field != tc.field {
				t.Errorf("%s %s: %d %s", tc.method, tc.body, rec.Code, rec.Body)
			}
		}
	})
}
