package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// jobServer starts the real server with a reviewer and returns it with a
// runs:read+write API token of theirs.
func jobServer(t *testing.T) (*instance, string) {
	t.Helper()
	return jobServerWith(t, nil)
}

// jobServerWith is jobServer with more of the server's environment.
func jobServerWith(t *testing.T, env map[string]string) (*instance, string) {
	t.Helper()
	return jobServerOn(t, start(t, env))
}

// jobServerOn makes the reviewer job@lab.org on in and an API token of
// theirs with runs:read and runs:write.
func jobServerOn(t *testing.T, in *instance) (*instance, string) {
	t.Helper()
	in.waitLog(t, "/setup?token=")
	if _, err := cli(t, in.dir, "saffron-glacier-violin-7\n", "user", "create", "--email", "job@lab.org", "--name", "Jobs",
		"--role", "reviewer", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(in.base+"/api/auth/login", url.Values{"username": {"job@lab.org"}, "password": {"saffron-glacier-violin-7"}})
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	req, _ := http.NewRequest("POST", in.base+"/api/tokens", strings.NewReader(`{"name":"cluster","scopes":["runs:read","runs:write"]}`))
	req.Header.Set("Authorization", "Bearer "+login.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 201 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return in, tok.Token
}

// job runs a job command with LABREVIEW_URL and LABREVIEW_TOKEN, and a
// spool folder of the test's own.
func job(t *testing.T, base, token, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return jobEnv(t, map[string]string{"LABREVIEW_URL": base, "LABREVIEW_TOKEN": token, "LABREVIEW_SPOOL": t.TempDir()}, stdin, args...)
}

// jobEnv runs a job command with the given environment.
func jobEnv(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, envMap(env), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func apiGet(t *testing.T, base, token, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatal(err)
	}
}

func TestPushAndLog(t *testing.T) {
	in, token := jobServer(t)
	doc := filepath.Join(t.TempDir(), "run.json")
	writeTestFile(t, doc, `{"project":"sweep-3","external_id":"job-17","name":"lr 1e-3","status":"running","params":{"lr":0.001}}`)
	out, _, err := job(t, in.base, token, "", "push", doc)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	// A second push of the same external id updates the run (from stdin).
	out, _, err = job(t, in.base, token, `{"project":"sweep-3","external_id":"job-17","status":"succeeded","metrics":{"loss":0.12,"g":"NaN"}}`, "push", "-")
	if err != nil || strings.TrimSpace(out) != id {
		t.Fatalf("second push: %q %v (first %s)", out, err, id)
	}
	var run struct {
		Status  string
		Metrics map[string]any
		Params  map[string]any
	}
	apiGet(t, in.base, token, "/api/runs/"+id, &run)
	if run.Status != "succeeded" || run.Metrics["loss"] != 0.12 || run.Metrics["g"] != "NaN" || run.Params["lr"] != 0.001 {
		t.Fatalf("after two pushes: %+v", run)
	}

	// log: an explicit step, then implicit ones continuing each series.
	if _, _, err := job(t, in.base, token, "", "log", "--run", id, "loss=0.5", "acc=nan", "--step", "3"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"0.4", "0.3"} {
		if _, _, err := job(t, in.base, token, "", "log", "--run", id, "loss="+v); err != nil {
			t.Fatal(err)
		}
	}
	var series struct {
		Series []struct {
			Name   string
			Points [][2]any
		}
	}
	apiGet(t, in.base, token, "/api/runs/"+id+"/series?names=loss,acc", &series)
	if got := series.Series[0].Points; len(got) != 3 || got[0][0] != 3.0 || got[1][0] != 4.0 || got[2][0] != 5.0 || got[2][1] != 0.3 {
		t.Fatalf("loss: %v", got)
	}
	if got := series.Series[1].Points; len(got) != 1 || got[0][1] != "NaN" {
		t.Fatalf("acc: %v", got)
	}

	// Refusals stop at once with the server's message, exit non-zero.
	_, _, err = job(t, in.base, token, `{"external_id":"x"}`, "push")
	if err == nil || !strings.Contains(err.Error(), "400 required") || !strings.Contains(err.Error(), "project") {
		t.Fatalf("push without a project: %v", err)
	}
	_, _, err = job(t, in.base, "lrt_"+strings.Repeat("A", 43), "", "log", "--run", id, "loss=1", "--step", "9")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a wrong token: %v", err)
	}
	if _, _, err := job(t, in.base, token, "", "log", "--run", id, "loss=high"); err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Fatalf("a bad value: %v", err)
	}
	if _, _, err := job(t, "", token, "", "push"); err == nil || !strings.Contains(err.Error(), "LABREVIEW_URL") {
		t.Fatalf("no URL: %v", err)
	}
}

// TestJobCommandsRetry: 5xx answers and network errors are retried; the
// run is created once however often the create is sent.
func TestJobCommandsRetry(t *testing.T) {
	in, token := jobServer(t)
	target, _ := url.Parse(in.base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case n <= 2: // the server is restarting
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":"database_unavailable","message":"later"}`, http.StatusServiceUnavailable)
		case n == 3: // the answer is lost after the server acted
			proxy.ServeHTTP(httptest.NewRecorder(), r.Clone(r.Context()))
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	defer flaky.Close()
	body := `{"project":"retry","external_id":"only-once"}`
	out, stderr, err := job(t, flaky.URL, token, body, "push")
	if err != nil {
		t.Fatalf("push through a flaky proxy: %v\n%s", err, stderr)
	}
	if strings.Count(stderr, "retrying") != 3 || calls.Load() != 4 {
		t.Fatalf("%d calls; stderr:\n%s", calls.Load(), stderr)
	}
	var page struct{ Runs []struct{ ID string } }
	apiGet(t, in.base, token, "/api/runs?project=retry", &page)
	if len(page.Runs) != 1 || page.Runs[0].ID != strings.TrimSpace(out) {
		t.Fatalf("runs after the retries: %+v, printed %q", page.Runs, out)
	}
	// Nothing listens: give up after --retry-for.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if _, _, err := job(t, dead.URL, token, body, "push", "--retry-for", "1s"); err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("no server: %v", err)
	}
}
