package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogReadsManyPointsFromStdin: 50,000 "step value" lines go in a few
// large batches (one request per point took 49.7 s for 5,001 points), as
// the server's access log counts them; JSON Lines with several series,
// names with dots and slashes, which then answer queries. The time is
// logged, not asserted: it is a figure for docs/benchmarks.md, and a
// timed unit test fails on a busy machine.
func TestLogReadsManyPointsFromStdin(t *testing.T) {
	in, token := jobServer(t)
	out, _, err := job(t, in.base, token, `{"project":"stdin","external_id":"a","status":"running"}`, "push")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	var b strings.Builder
	b.WriteString("# step loss\n\n")
	for i := range 50_000 {
		fmt.Fprintf(&b, "%d %g\n", i, 1/float64(i+1))
	}
	start := time.Now()
	if _, stderr, err := job(t, in.base, token, b.String(), "log", "--run", id, "--series", "train/loss"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	batches := strings.Count(in.logs.String(), `"method":"POST","path":"/api/runs/`+id+`/series"`)
	t.Logf("50,000 points from standard input in %s, %d requests", time.Since(start).Round(time.Millisecond), batches)
	// Batches of up to 20,000 points, and one at least every 2 s while
	// the input trickles: 3 here, a few more on a slow machine.
	if batches < 3 || batches > 10 {
		t.Fatalf("50,000 points went in %d requests, want 3 to 10 batches", batches)
	}
	var run struct {
		Series []struct {
			Name     string
			Count    int
			LastStep int64 `json:"last_step"`
		}
	}
	apiGet(t, in.base, token, "/api/runs/"+id, &run)
	if len(run.Series) != 1 || run.Series[0].Name != "train/loss" || run.Series[0].Count != 50_000 || run.Series[0].LastStep != 49_999 {
		t.Fatalf("series %+v", run.Series)
	}
	// JSON Lines: several series a line, times given or not.
	jsonl := `{"step": 0, "val.loss": 0.5, "acc@1": 0.1, "time": 1700000000}
{"step": 1, "val.loss": "NaN", "acc@1": 0.2}
{"step": 2, "val.loss": 0.25, "acc@1": "Infinity", "time": 1700000002.5}
`
	if _, stderr, err := job(t, in.base, token, jsonl, "log", "--run", id, "-"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var series struct {
		Series []struct {
			Name   string
			Points [][3]any
		}
	}
	apiGet(t, in.base, token, "/api/runs/"+id+"/series?names=val.loss,acc@1&x=time", &series)
	if got := fmt.Sprint(series.Series[0].Points); series.Series[0].Name != "val.loss" || !strings.HasPrefix(got, "[[0 0.5 1.7e+09] [1 NaN ") ||
		!strings.HasSuffix(got, "[2 0.25 1.7000000025e+09]]") {
		t.Fatalf("val.loss: %s", got)
	}
	var page struct{ Runs []struct{ ID string } }
	apiGet(t, in.base, token, "/api/runs?q="+url.QueryEscape(`count("train/loss") = 50000 and min(val.loss) = 0.25 and last("acc@1") > 1`), &page)
	if len(page.Runs) != 1 || page.Runs[0].ID != id {
		t.Fatalf("query by names with dots and slashes: %+v", page.Runs)
	}
	// A bad line stops the command, naming it, after the lines before it
	// are sent; the server's refusal of a bad name drops only that series.
	_, _, err = job(t, in.base, token, "3 0.5\n4 0.4\nfive 0.3\n", "log", "--run", id, "--series", "s")
	if err == nil || !strings.Contains(err.Error(), "line 3: the step five is not a whole number") {
		t.Fatalf("a bad line: %v", err)
	}
	_, stderr, err := job(t, in.base, token, "{\"step\": 7, \"ok\": 1, \"bad\\tname\": 2}\n", "log", "--run", id)
	if err != nil || !strings.Contains(stderr, `refused series "bad\tname"`) {
		t.Fatalf("a bad name: %v\n%s", err, stderr)
	}
	apiGet(t, in.base, token, "/api/runs/"+id, &run)
	names := []string{}
	for _, s := range run.Series {
		names = append(names, fmt.Sprintf("%s:%d", s.Name, s.Count))
	}
	if got := strings.Join(names, " "); got != "acc@1:3 ok:1 s:2 train/loss:50000 val.loss:3" {
		t.Fatalf("series after the refusals: %s", got)
	}
	// The spool folder is empty: everything arrived.
	if _, _, err := job(t, in.base, token, "", "log", "--run", id, "--step", "8", "ok=2", "--series", "x"); err == nil {
		t.Fatal("--series with name=value was accepted")
	}
}

// TestBestEffortSpoolAndSync: with the server unreachable, push and log
// keep what they would send in the spool and (with --best-effort) exit 0,
// naming the file; sync sends it later, once, and removes it.
func TestBestEffortSpoolAndSync(t *testing.T) {
	in, token := jobServer(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	spool := t.TempDir()
	env := map[string]string{"LABREVIEW_URL": dead.URL, "LABREVIEW_TOKEN": token, "LABREVIEW_SPOOL": spool, "SLURM_JOB_ID": "4711"}

	_, stderr, err := jobEnv(t, env, `{"project":"offline","external_id":"job-4711","status":"running","params":{"lr":2.0}}`,
		"push", "--retry-for", "300ms", "--best-effort")
	if err != nil || !strings.Contains(stderr, "kept in "+spool) || !strings.Contains(stderr, "labreview sync "+spool) {
		t.Fatalf("push, best effort: %v\n%s", err, stderr)
	}
	// Without --best-effort the same failure ends the job script.
	if _, _, err := jobEnv(t, env, `{"project":"offline","external_id":"job-4711","status":"succeeded"}`, "push", "--retry-for", "300ms"); err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("push: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(spool, "*.jsonl"))
	if len(files) != 2 {
		t.Fatalf("spool files: %v", files)
	}
	// log, with points from standard input, to a run the server never saw.
	_, stderr, err = jobEnv(t, env, "0 1.5\n1 0.5\n", "log", "--run", "6b0a00000000000000000099", "--series", "loss", "--retry-for", "300ms", "--best-effort")
	if err != nil || !strings.Contains(stderr, "0 points sent, 2 kept in the spool") {
		t.Fatalf("log, best effort: %v\n%s", err, stderr)
	}
	for _, f := range files {
		if info, err := os.Stat(f); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, info.Mode(), err)
		}
		if b, _ := os.ReadFile(f); strings.Contains(string(b), token) {
			t.Fatalf("the token is in the spool %s", f)
		}
	}

	// sync, to the server that is up: the runs are created once, with
	// the job id, and the last push wins; the log to an unknown run is
	// refused and kept.
	sync := func() (string, string, error) {
		return jobEnv(t, map[string]string{"LABREVIEW_TOKEN": token, "LABREVIEW_SPOOL": spool}, "", "sync", "--url", in.base)
	}
	out, stderr, err := sync()
	if err == nil || !strings.Contains(err.Error(), "1 of 3 spool files were not sent") || strings.Count(out, "; removed") != 2 ||
		!strings.Contains(stderr, "404 not_found") {
		t.Fatalf("sync: %v\n%s\n%s", err, out, stderr)
	}
	var page struct {
		Runs []struct {
			ID, Status, Host string
			JobID            string `json:"job_id"`
			Params           map[string]any
		}
	}
	apiGet(t, in.base, token, "/api/runs?project=offline", &page)
	host, _ := os.Hostname()
	if len(page.Runs) != 1 || page.Runs[0].Status != "succeeded" || page.Runs[0].JobID != "4711" || page.Runs[0].Host != host {
		t.Fatalf("runs after sync: %+v", page.Runs)
	}
	// A second sync sends nothing twice.
	out, _, _ = sync()
	if strings.Contains(out, "removed") {
		t.Fatalf("a second sync sent again: %s", out)
	}
	if files, _ := filepath.Glob(filepath.Join(spool, "*.jsonl")); len(files) != 1 {
		t.Fatalf("spool files left: %v", files)
	}
}

// TestJobCommandsNeverSendTheTokenElsewhere: a redirect to another host is
// refused, and the other host never sees the token.
func TestJobCommandsNeverSendTheTokenElsewhere(t *testing.T) {
	_, token := jobServer(t)
	var sawAuth []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = append(sawAuth, r.Header.Get("Authorization"))
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"id":"6b0a00000000000000000001"}`))
	}))
	defer other.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	_, _, err := job(t, redirect.URL, token, `{"project":"p","external_id":"x"}`, "push")
	if err == nil || !strings.Contains(err.Error(), "the token is only sent to") || len(sawAuth) != 0 {
		t.Fatalf("redirect: %v, the other host saw %q", err, sawAuth)
	}
}

// TestCloseAStaleRunThroughTheAPI: a job pushes a running run and dies;
// once the run is stale a reviewer closes it as failed, with a reason,
// and its duration stops at its last sign of life.
func TestCloseAStaleRunThroughTheAPI(t *testing.T) {
	in, token := jobServerWith(t, map[string]string{"LABREVIEW_RUNS_STALE_AFTER": "10s"})
	out, _, err := job(t, in.base, token, `{"project":"cleanup","external_id":"died","status":"running"}`, "push")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	resp, err := http.PostForm(in.base+"/api/auth/login", url.Values{"username": {"job@lab.org"}, "password": {"saffron-glacier-violin-7"}})
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	closeRun := func() (int, string) {
		req, _ := http.NewRequest("POST", in.base+"/api/runs/"+id+"/close", strings.NewReader(`{"status":"failed","reason":"the node was lost"}`))
		req.Header.Set("Authorization", "Bearer "+login.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := closeRun(); code != 409 || !strings.Contains(body, "run_alive") {
		t.Fatalf("closing a live run: %d %s", code, body)
	}
	var run struct {
		Status     string
		StartedAt  time.Time  `json:"started_at"`
		FinishedAt *time.Time `json:"finished_at"`
		Failure    *struct{ Reason, Detail string }
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		apiGet(t, in.base, token, "/api/runs/"+id, &run)
		if run.Status == "stale" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never went stale: %+v", run)
		}
	}
	if code, body := closeRun(); code != 200 {
		t.Fatalf("closing a stale run: %d %s", code, body)
	}
	apiGet(t, in.base, token, "/api/runs/"+id, &run)
	if run.Status != "failed" || run.Failure == nil || run.Failure.Reason != "the node was lost" || run.FinishedAt == nil ||
		!run.FinishedAt.Equal(run.StartedAt) {
		t.Fatalf("closed: %+v", run)
	}
	var page struct{ Runs []struct{ ID string } }
	apiGet(t, in.base, token, "/api/runs?q="+url.QueryEscape(`failure.reason ~ "node was lost"`), &page)
	if len(page.Runs) != 1 || page.Runs[0].ID != id {
		t.Fatalf("query: %+v", page.Runs)
	}
}

// TestLogBinaryReadsFiftyThousandPoints is the job's view of the same
// command: `labreview log` as built for use, reading 50,000 "step value"
// lines from a pipe into labreview serve as built for use, in at most
// 5 s (the bound; about 0.2 s here, so a busy machine does not
// make it fail). Both are the plain binary: under -race this test's own
// binary is several times slower, which is not what a job runs.
func TestLogBinaryReadsFiftyThousandPoints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startBinary(t, dir, durabilityEnv)
	access := signedIn(t, p, dir, "job@lab.org", "reviewer")
	code, body, err := call(context.Background(), "POST", p.base+"/api/tokens", access, []byte(`{"name":"cluster","scopes":["runs:read","runs:write"]}`))
	if err != nil || code != 201 {
		t.Fatalf("token: %d %s %v", code, body, err)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	code, body, err = call(context.Background(), "POST", p.base+"/api/runs", tok.Token, []byte(`{"project":"stdin","external_id":"bin","status":"running"}`))
	if err != nil || code != 201 {
		t.Fatalf("run: %d %s %v", code, body, err)
	}
	var run struct{ ID string }
	if err := json.Unmarshal(body, &run); err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	for i := range 50_000 {
		fmt.Fprintf(&in, "%d %g\n", i, 1/float64(i+1))
	}
	cmd := exec.Command(p.cmd.Path, "log", "--run", run.ID, "--series", "loss")
	cmd.Env = append(os.Environ(), "LABREVIEW_URL="+p.base, "LABREVIEW_TOKEN="+tok.Token, "LABREVIEW_SPOOL="+t.TempDir())
	cmd.Stdin = strings.NewReader(in.String())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("labreview log: %v\n%s", err, out)
	}
	t.Logf("labreview log: 50,000 points from a pipe in %s", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Fatalf("50,000 points took %s, more than 5 s", took)
	}
	var got struct {
		Series []struct {
			Name  string
			Count int
		}
	}
	code, body, err = call(context.Background(), "GET", p.base+"/api/runs/"+run.ID, tok.Token, nil)
	if err != nil || code != 200 || json.Unmarshal(body, &got) != nil || len(got.Series) != 1 || got.Series[0].Count != 50_000 {
		t.Fatalf("the run's series: %d %s %v", code, body, err)
	}
}
