package server

// Tests of the second hardening issue (issue 16, an adversarial probe of
// commit 5004d06): each fails on that commit.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// TestRefusedSignInsWriteNothing: once a counter is closed, refused
// sign-ins (and setup guesses) cost no database write: the counters stay
// where the first refusal left them, and each closed counter has written
// one audit event. When the window ends, attempts are evaluated again.
func TestRefusedSignInsWriteNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		clk := newClock()
		cfg := testAuthConfig()
		cfg.Throttle.AccountLimit, cfg.Throttle.IPLimit = 3, 6
		srv := newTestServerWith(t, Options{}, store, nil, cfg, clk)
		srv.mustCreateUser(t, "rae@lab.org", "Rae", db.RoleViewer, viewerPW)
		counter := func(key string) int {
			t.Helper()
			c, err := store.CounterState(t.Context(), key, clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			return c.Failures
		}
		for i := range 3 {
			if rec := srv.do(formLogin("rae@lab.org", "not-the-password-"+string(rune('a'+i)))); rec.Code != 401 {
				t.Fatalf("failure %d: %d", i, rec.Code)
			}
		}
		for i := range 50 {
			if rec := srv.do(formLogin("rae@lab.org", viewerPW)); rec.Code != 429 {
				t.Fatalf("refusal %d: %d", i, rec.Code)
			}
		}
		if n := counter("acct:rae@lab.org"); n != 4 {
			t.Fatalf("the account's counter is %d after 3 failures and 50 refusals, want 4 (only the first refusal written)", n)
		}
		// The address: 3 more evaluated failures close it (3 + 3 = 6), then
		// refusals for any address, known or not, write nothing, not even
		// the account counters they would have counted on first.
		for i := range 3 {
			if rec := srv.do(formLogin("guess"+string(rune('a'+i))+"@lab.org", "whatever-password-1")); rec.Code != 401 {
				t.Fatalf("ip failure %d: %d", i, rec.Code)
			}
		}
		for i := range 50 {
			if rec := srv.do(formLogin("other"+string(rune('a'+i%26))+"@lab.org", "whatever-password-1")); rec.Code != 429 {
				t.Fatalf("ip refusal %d: %d", i, rec.Code)
			}
		}
		if n := counter("ip:192.0.2.1"); n != 7 {
			t.Fatalf("the address's counter is %d, want 7", n)
		}
		for _, key := range []string{"acct:othera@lab.org", "acct:otherb@lab.org"} {
			if n := counter(key); n != 0 {
				t.Fatalf("%s counts %d after refusals only", key, n)
			}
		}
		if n := srv.auditCount(t, "login_throttled"); n != 2 {
			t.Fatalf("%d login_throttled events, want 2 (one per closed counter)", n)
		}
		clk.Advance(cfg.Throttle.Window + time.Second)
		srv.login(t, "rae@lab.org", viewerPW)
	})
}

// TestRefusedSetupGuessesWriteNothing: the same for wrong setup tokens.
func TestRefusedSetupGuessesWriteNothing(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, nil)
	if _, err := srv.auth.PrepareSetup(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		rec := srv.do(request{method: "POST", path: "/api/setup", headers: map[string]string{"Content-Type": "application/json"},
			body: `{"token":"guess-` + strconv.Itoa(i) + `","email":"root@lab.org","name":"Root","password":"` + adminPW + `"}`})
		if want := map[bool]int{true: 403, false: 429}[i < 10]; rec.Code != want {
			t.Fatalf("guess %d: %d, want %d", i, rec.Code, want)
		}
	}
	c, err := srv.db.CounterState(t.Context(), "setup:192.0.2.1", time.Now())
	if err != nil || c.Failures != 11 {
		t.Fatalf("the setup counter is %d after 10 guesses and 30 refusals, want 11 (%v)", c.Failures, err)
	}
}

// seriesFixture is a run of the runs fixture (on SQLite) with two series
// of 100,000 points each, loss and acc.
func seriesFixture(t *testing.T, store db.Store) (*runsFixture, string) {
	t.Helper()
	f := newRunsFixture(t, store)
	tok := f.tokens["rw"]
	run := f.create(t, tok, `{"project":"p1","external_id":"long"}`, 201)["id"].(string)
	for _, name := range []string{"loss", "acc"} {
		rec := f.srv.do(jsonReq("POST", "/api/runs/"+run+"/series", tok, pointsJSON(map[string][][2]string{name: wave(0, 100_000)})))
		if rec.Code != 200 {
			t.Fatalf("series %s: %d %s", name, rec.Code, rec.Body)
		}
	}
	return f, run
}

// TestSeriesReadCostIsBounded: one series named 20 times is read once, and
// the points of one answer are capped in total (100,000 by default), not
// per series: two series at max_points=100000 get 50,000 each.
func TestSeriesReadCostIsBounded(t *testing.T) {
	f, run := seriesFixture(t, dbtest.SQLite(t))
	get := func(query string) (page struct {
		seriesPage
		MaxPoints int `json:"max_points"`
	}) {
		t.Helper()
		rec := f.srv.do(request{path: "/api/runs/" + run + "/series?" + query, headers: bearer(f.viewer.access)})
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("%s: %d %q %.300s", query, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		mustJSON(t, rec.Body.Bytes(), &page)
		return page
	}
	repeated := "max_points=100000" + strings.Repeat("&name=loss", 20)
	page := get(repeated)
	if len(page.Series) != 1 || len(page.Series[0].Points) != 100_000 || page.Series[0].Downsampled || page.MaxPoints != 100_000 {
		t.Fatalf("loss named 20 times: %d series, max_points %d", len(page.Series), page.MaxPoints)
	}
	page = get("max_points=100000&names=loss,acc,loss&name=acc")
	total := 0
	for _, s := range page.Series {
		total += len(s.Points)
		if !s.Downsampled || s.WindowCount != 100_000 || len(s.Points) > 50_000 {
			t.Fatalf("%s: %d points of %d, downsampled %v", s.Name, len(s.Points), s.WindowCount, s.Downsampled)
		}
	}
	if len(page.Series) != 2 || total > 100_000 || page.MaxPoints != 50_000 {
		t.Fatalf("two series at max_points=100000: %d series, %d points in all, max_points %d", len(page.Series), total, page.MaxPoints)
	}
	// A small read keeps its max_points, and the points are exact.
	page = get("max_points=2000&name=loss&from=10&to=19")
	if len(page.Series) != 1 || len(page.Series[0].Points) != 10 || page.MaxPoints != 2000 ||
		page.Series[0].Points[0][0] != float64(10) || page.Series[0].Points[0][1] != math.Sin(10.0/300) {
		t.Fatalf("a small window: %+v", page)
	}
}

// blockingChunks holds every chunk read until gate closes, counting the
// reads that got that far.
type blockingChunks struct {
	db.Store
	gate    chan struct{}
	entered atomic.Int32
}

func (b *blockingChunks) Chunks(ctx context.Context, runID, name string, firstSteps []int64) ([]db.Chunk, error) {
	b.entered.Add(1)
	<-b.gate
	return b.Store.Chunks(ctx, runID, name, firstSteps)
}

// TestSeriesReadsAreBoundedTogether: reads answer at most 400,000 points
// at once (runs.series_read_points_in_flight): of eight reads of 100,000
// points each, four read chunks while the others wait their turn, and all
// are answered once the first ones finish.
func TestSeriesReadsAreBoundedTogether(t *testing.T) {
	store := &blockingChunks{Store: dbtest.SQLite(t), gate: make(chan struct{})}
	close(store.gate)
	f, run := seriesFixture(t, store)
	store.gate = make(chan struct{})
	store.entered.Store(0)
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() {
			codes[i] = f.srv.do(request{path: "/api/runs/" + run + "/series?max_points=100000&name=loss", headers: bearer(f.viewer.access)}).Code
		})
	}
	time.Sleep(time.Second)
	if n := store.entered.Load(); n != 4 {
		close(store.gate)
		wg.Wait()
		t.Fatalf("%d of 8 full-resolution reads ran at once, want 4", n)
	}
	close(store.gate)
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("read %d: %d", i, c)
		}
	}
}

// TestSlowSeriesBodyHoldsNoSlot: batches whose bodies trickle in (more of
// them than the server has ingest slots) do not keep another job's batch
// waiting: bodies are received before they take a slot. The slow ones are
// stored too once their bodies are complete.
func TestSlowSeriesBodyHoldsNoSlot(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	tok := f.tokens["rw"]
	run := f.create(t, tok, `{"project":"p1","external_id":"slow"}`, 201)["id"].(string)
	path := "/api/runs/" + run + "/series"
	slow := max(1, runtime.GOMAXPROCS(0)/2) + 1
	var wg sync.WaitGroup
	writers := make([]*io.PipeWriter, slow)
	codes := make([]int, slow)
	for i := range slow {
		pr, pw := io.Pipe()
		writers[i] = pw
		req := httptest.NewRequest("POST", path, pr)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		wg.Go(func() {
			rec := httptest.NewRecorder()
			f.srv.handler.ServeHTTP(rec, req)
			_ = pr.Close() // a handler that gave up leaves no writer waiting
			codes[i] = rec.Code
		})
		go func() { _, _ = fmt.Fprintf(pw, `{"slow%d":[[0,1],[1,`, i) }()
	}
	time.Sleep(200 * time.Millisecond)
	fast := make(chan int, 1)
	go func() { fast <- f.srv.do(jsonReq("POST", path, tok, `{"fast":[[0,1],[1,2]]}`)).Code }()
	select {
	case code := <-fast:
		if code != 200 {
			t.Errorf("the fast batch: %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Error("the fast batch waited 5 s behind batches still being sent")
		defer func() { <-fast }()
	}
	for _, pw := range writers {
		go func() {
			_, _ = io.WriteString(pw, "2]]}")
			_ = pw.Close()
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("slow batch %d: %d", i, c)
		}
	}
}

// TestCommentHistoryIsCapped: a comment keeps its last 20 earlier texts,
// and at most 64 KiB of them; 300 edits no longer make a 2.4 MB thread.
func TestCommentHistoryIsCapped(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	path := "/api/runs/" + f.runP1 + "/comments"
	var c commentResponse
	mustJSON(t, f.srv.do(jsonReq("POST", path, f.viewer.access, `{"body":"first"}`)).Body.Bytes(), &c)
	for i := range 30 {
		if rec := f.srv.do(jsonReq("PATCH", path+"/"+c.ID, f.viewer.access, `{"body":"edit `+strconv.Itoa(i)+`"}`)); rec.Code != 200 {
			t.Fatalf("edit %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	thread := func() commentResponse {
		t.Helper()
		var out struct{ Comments []commentResponse }
		mustJSON(t, f.srv.do(request{path: path, headers: bearer(f.viewer.access)}).Body.Bytes(), &out)
		return out.Comments[0]
	}
	h := thread().History
	if len(h) != 20 || h[0].Body != "edit 9" || h[19].Body != "edit 28" {
		t.Fatalf("after 30 edits: %d versions kept, oldest %q, newest %q; want 20, edit 9 to edit 28", len(h), h[0].Body, h[len(h)-1].Body)
	}
	big := strings.Repeat("x", 8000)
	for i := range 12 {
		if rec := f.srv.do(jsonReq("PATCH", path+"/"+c.ID, f.viewer.access, `{"body":"`+strconv.Itoa(i)+big+`"}`)); rec.Code != 200 {
			t.Fatalf("long edit %d: %d", i, rec.Code)
		}
	}
	size := 0
	for _, v := range thread().History {
		size += len(v.Body)
	}
	if size > 64<<10 || size < 56<<10 {
		t.Fatalf("history of long texts: %d bytes, want at most 64 KiB (and close to it)", size)
	}
}

// TestSeriesPerRunAreCapped: a run holds at most 1,000 series
// (runs.max_series_per_run); a batch adding more is refused with 409, and
// its existing series still take points.
func TestSeriesPerRunAreCapped(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	tok := f.tokens["rw"]
	path := "/api/runs/" + f.runP1 + "/series"
	batch := func(from, to int) string {
		series := map[string][][2]string{}
		for i := from; i < to; i++ {
			series[fmt.Sprintf("s%04d", i)] = [][2]string{{"0", "1"}}
		}
		return pointsJSON(series)
	}
	for i := 0; i < 1000; i += 100 {
		if rec := f.srv.do(jsonReq("POST", path, tok, batch(i, i+100))); rec.Code != 200 {
			t.Fatalf("batch %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := f.srv.do(jsonReq("POST", path, tok, batch(990, 1001)))
	if rec.Code != 409 || decodeError(t, rec).Error != "too_many_series" {
		t.Fatalf("the 1,001st series: %d %s", rec.Code, rec.Body)
	}
	if rec := f.srv.do(jsonReq("POST", path, tok, batch(900, 1000))); rec.Code != 200 {
		t.Fatalf("points for existing series: %d %s", rec.Code, rec.Body)
	}
	var run struct{ Series []seriesResponse }
	mustJSON(t, f.srv.do(request{path: "/api/runs/" + f.runP1, headers: bearer(f.viewer.access)}).Body.Bytes(), &run)
	if len(run.Series) != 1000 {
		t.Fatalf("the run lists %d series", len(run.Series))
	}
}

// TestAuditCapsParamValues: the audit log keeps each changed param, notes
// and comment text at 1 KiB at most, with the whole value's size and
// SHA-256; small values stay as they are.
func TestAuditCapsParamValues(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	tok := f.tokens["rw"]
	big := strings.Repeat("é", 30_000) // 60,000 bytes
	run := f.create(t, tok, `{"project":"p1","external_id":"a","params":{"big":"`+big+`","lr":0.1}}`, 201)["id"].(string)
	if rec := f.srv.do(jsonReq("PATCH", "/api/runs/"+run, tok,
		`{"params":{"big":"`+big+`!","lr":0.2,"tree":{"leaf":"`+strings.Repeat("y", 5000)+`"}},"notes":"`+strings.Repeat("n", 4000)+`"}`)); rec.Code != 200 {
		t.Fatalf("patch: %d %s", rec.Code, rec.Body)
	}
	events, _, err := f.srv.db.ListAudit(t.Context(), db.AuditFilter{Event: "run_changed"}, 10)
	if err != nil || len(events) != 1 {
		t.Fatalf("%d run_changed events: %v", len(events), err)
	}
	encoded, _ := json.Marshal(events[0].Details)
	if len(encoded) > 8<<10 {
		t.Fatalf("the audit event holds %d bytes of details, want at most 8 KiB", len(encoded))
	}
	d := events[0].Details
	before := d["before"].(map[string]any)["params"].(map[string]any)
	after := d["after"].(map[string]any)["params"].(map[string]any)
	capped := after["big"].(map[string]any)
	sum := sha256.Sum256([]byte(big + "!"))
	if text := capped["truncated"].(string); len(text) > 1024 || !strings.HasPrefix(big, text) || capped["bytes"] != float64(len(big)+1) ||
		capped["sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("the capped param: %d bytes kept, %v, %v", len(text), capped["bytes"], capped["sha256"])
	}
	if before["lr"] != 0.1 || after["lr"] != 0.2 || before["tree"] != nil {
		t.Fatalf("small params: %v %v %v", before["lr"], after["lr"], before["tree"])
	}
	if tree := after["tree"].(map[string]any); tree["bytes"] != float64(len(`{"leaf":"`)+5000+2) || !strings.HasPrefix(tree["truncated"].(string), `{"leaf":"yyy`) {
		t.Fatalf("a capped object: %v", tree["bytes"])
	}
	if notes := d["after"].(map[string]any)["notes"].(map[string]any); notes["bytes"] != float64(4000) {
		t.Fatalf("capped notes: %v", notes)
	}
}

// TestJSONInAnotherCharsetIsRefused: a body declared as UTF-16 (or any
// charset but UTF-8) is refused with 415, not read as UTF-8.
func TestJSONInAnotherCharsetIsRefused(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	tok := f.tokens["rw"]
	for _, ct := range []string{"application/json; charset=utf-16", "application/json; charset=UTF-16LE", "application/json;charset=latin1"} {
		for _, r := range []request{
			{method: "POST", path: "/api/runs", headers: map[string]string{"Content-Type": ct, "Authorization": "Bearer " + tok}, body: `{"project":"p1","external_id":"cs"}`},
			{method: "POST", path: "/api/runs/" + f.runP1 + "/series", headers: map[string]string{"Content-Type": ct, "Authorization": "Bearer " + tok}, body: `{"a":[[0,1]]}`},
			{method: "POST", path: "/api/auth/login", headers: map[string]string{"Content-Type": ct}, body: `{"username":"admin@lab.org","password":"` + adminPW + `"}`},
		} {
			if rec := f.srv.do(r); rec.Code != 415 || decodeError(t, rec).Error != "unsupported_media_type" {
				t.Errorf("%s %s with %q: %d %s", r.method, r.path, ct, rec.Code, rec.Body)
			}
		}
	}
	for _, ct := range []string{"application/json; charset=utf-8", "application/json; charset=UTF-8", "application/json"} {
		r := jsonReq("POST", "/api/runs", tok, `{"project":"p1","external_id":"`+ct+`"}`)
		r.headers["Content-Type"] = ct
		if rec := f.srv.do(r); rec.Code != 201 {
			t.Errorf("%q: %d %s", ct, rec.Code, rec.Body)
		}
	}
}

// TestActiveTokensPerUserAreCapped: a user holds at most 100 active API
// tokens (auth.max_tokens_per_user); revoking one makes room.
func TestActiveTokensPerUserAreCapped(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, nil)
	srv.mustCreateUser(t, "v@lab.org", "Vee", db.RoleViewer, viewerPW)
	a := srv.login(t, "v@lab.org", viewerPW).access
	create := func(i int) *httptest.ResponseRecorder {
		return srv.do(jsonReq("POST", "/api/tokens", a, `{"name":"job `+strconv.Itoa(i)+`","scopes":["runs:read"]}`))
	}
	var first struct{ ID string }
	for i := range 100 {
		rec := create(i)
		if rec.Code != 201 {
			t.Fatalf("token %d: %d %s", i, rec.Code, rec.Body)
		}
		if i == 0 {
			mustJSON(t, rec.Body.Bytes(), &first)
		}
	}
	if rec := create(100); rec.Code != 409 || decodeError(t, rec).Error != "too_many_tokens" {
		t.Fatalf("the 101st token: %d %s", rec.Code, rec.Body)
	}
	if rec := srv.do(jsonReq("DELETE", "/api/tokens/"+first.ID, a, "")); rec.Code != 204 {
		t.Fatalf("revoke: %d", rec.Code)
	}
	if rec := create(101); rec.Code != 201 {
		t.Fatalf("a token after a revocation: %d %s", rec.Code, rec.Body)
	}
}

// TestProjectNamesFollowTheLookAlikeRules: project names get the rules of
// email addresses: a new name that looks like an existing project's is
// refused (409 project_confusable), and so are names in a compatibility
// form or with characters that do not show (400).
func TestProjectNamesFollowTheLookAlikeRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store) // has projects p1 and p2
		tok := f.tokens["rw"]
		f.create(t, tok, `{"project":"sweep-12","external_id":"a"}`, 201)
		for label, c := range map[string]struct {
			project string
			status  int
			code    string
		}{
			"Cyrillic ѕ":         {"\u0455weep-12", 409, "project_confusable"},
			"Cyrillic р":         {"\u0440\u0031", 409, "project_confusable"},
			"fullwidth ｓ":        {"\uff53weep-13", 400, "invalid"},
			"variation selector": {"sweep-14\ufe0f", 400, "invalid"},
			"zero-width space":   {"sweep\u200b-15", 400, "invalid"},
			"lone combining":     {"\u0301sweep-16", 400, "invalid"},
		} {
			body, _ := json.Marshal(map[string]string{"project": c.project, "external_id": "b"})
			rec := f.srv.do(jsonReq("POST", "/api/runs", tok, string(body)))
			if rec.Code != c.status || decodeError(t, rec).Error != c.code {
				t.Errorf("%s: %d %s, want %d %s", label, rec.Code, rec.Body, c.status, c.code)
			}
		}
		// Existing projects, and plainly different or accented names, work.
		for _, p := range []string{"sweep-12", "p1", "sweep-13", "café", "प्रयोग"} {
			body, _ := json.Marshal(map[string]string{"project": p, "external_id": "c"})
			if rec := f.srv.do(jsonReq("POST", "/api/runs", tok, string(body))); rec.Code != 201 {
				t.Errorf("%s: %d %s", p, rec.Code, rec.Body)
			}
		}
	})
}

// TestTokensAreRevokedNotSuspended: disabling a user revokes their API
// tokens, a demotion revokes those whose scopes the new role does not
// grant, and a password reset revokes them all unless the admin keeps
// them ("revoke_tokens": false); re-enabling or re-promoting brings none
// back. Each revocation is audited with its reason.
func TestTokensAreRevokedNotSuspended(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		admin, rev := f.admin.access, f.reviewerID
		works := func(token string) bool {
			t.Helper()
			return f.srv.do(request{path: "/api/runs?limit=1", headers: bearer(token)}).Code == 200
		}
		newToken := func(body string) string {
			t.Helper()
			s := f.srv.login(t, "rev@lab.org", reviewerPW)
			rec := f.srv.do(jsonReq("POST", "/api/tokens", s.access, body))
			if rec.Code != 201 {
				t.Fatalf("token: %d %s", rec.Code, rec.Body)
			}
			var out struct{ Token string }
			mustJSON(t, rec.Body.Bytes(), &out)
			return out.Token
		}
		patch := func(body string) {
			t.Helper()
			if rec := f.srv.do(jsonReq("PATCH", "/api/users/"+rev, admin, body)); rec.Code != 200 {
				t.Fatalf("patch %s: %d %s", body, rec.Code, rec.Body)
			}
		}
		rw, ro := f.tokens["rw"], f.tokens["ro"]
		patch(`{"role":"viewer"}`)
		patch(`{"role":"reviewer"}`)
		if works(rw) || !works(ro) {
			t.Fatalf("after a demotion and a promotion: read-write token works %v, read token works %v; want false, true", works(rw), works(ro))
		}
		patch(`{"disabled":true}`)
		patch(`{"disabled":false}`)
		if works(ro) {
			t.Fatal("a token of a user disabled and enabled again works again")
		}
		reset := func(body string) {
			t.Helper()
			if rec := f.srv.do(jsonReq("POST", "/api/users/"+rev+"/password", admin, body)); rec.Code != 204 {
				t.Fatalf("reset %s: %d %s", body, rec.Code, rec.Body)
			}
		}
		after := newToken(`{"name":"after","scopes":["runs:read"]}`)
		reset(`{"new_password":"` + reviewerPW + `-x1"}`)
		if works(after) {
			t.Fatal("a token survived a password reset")
		}
		kept := newTokenAs(t, f, reviewerPW+"-x1")
		reset(`{"new_password":"` + reviewerPW + `-x2","revoke_tokens":false}`)
		if !works(kept) {
			t.Fatal("a token kept at a reset (revoke_tokens false) was revoked")
		}
		events, _, err := store.ListAudit(t.Context(), db.AuditFilter{Event: "token_revoked"}, 100)
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]int{}
		for _, e := range events {
			if e.ActorID == "" || e.UserID != rev {
				t.Fatalf("token_revoked without its actor or owner: %+v", e)
			}
			reasons[e.Details["reason"].(string)]++
		}
		// The reviewer's tokens rw, rw-p1 and w at the demotion (they hold
		// runs:write), ro at the disabling, one at the first reset.
		if reasons["role_changed"] != 3 || reasons["user_disabled"] != 1 || reasons["password_reset"] != 1 {
			t.Fatalf("token_revoked reasons: %v", reasons)
		}
	})
}

// newTokenAs signs the reviewer in with password and makes a read token.
func newTokenAs(t *testing.T, f *runsFixture, password string) string {
	t.Helper()
	s := f.srv.login(t, "rev@lab.org", password)
	rec := f.srv.do(jsonReq("POST", "/api/tokens", s.access, `{"name":"kept","scopes":["runs:read"]}`))
	if rec.Code != 201 {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	var out struct{ Token string }
	mustJSON(t, rec.Body.Bytes(), &out)
	return out.Token
}

// TestWriteOnlyTokenReadsNothingBack: a token with runs:write but not
// runs:read learns from a create (new or idempotent) or a change only the
// run's id, version and status; a token that may read gets the run.
func TestWriteOnlyTokenReadsNothingBack(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	secret := `{"project":"p1","external_id":"secret","params":{"key":"hidden"},"notes":"private"}`
	f.create(t, f.tokens["rw"], secret, 201)
	keysOf := func(rec *httptest.ResponseRecorder) []string {
		t.Helper()
		var m map[string]any
		mustJSON(t, rec.Body.Bytes(), &m)
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	w := f.tokens["w"]
	for label, rec := range map[string]*httptest.ResponseRecorder{
		"idempotent create": f.srv.do(jsonReq("POST", "/api/runs", w, secret)),
		"new run":           f.srv.do(jsonReq("POST", "/api/runs", w, `{"project":"p1","external_id":"w-new"}`)),
		"empty patch":       f.srv.do(jsonReq("PATCH", "/api/runs/"+f.runP1, w, `{}`)),
		"heartbeat":         f.srv.do(jsonReq("PATCH", "/api/runs/"+f.runP1, w, `{"heartbeat":true}`)),
	} {
		if rec.Code/100 != 2 || !slices.Equal(keysOf(rec), []string{"id", "status", "version"}) || strings.Contains(rec.Body.String(), "hidden") {
			t.Errorf("%s with a write-only token: %d %s", label, rec.Code, rec.Body)
		}
	}
	if rec := f.srv.do(jsonReq("PATCH", "/api/runs/"+f.runP1, f.tokens["rw"], `{}`)); !slices.Contains(keysOf(rec), "params") {
		t.Errorf("a read-write token's patch: %s", rec.Body)
	}
}
