package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape reads the metrics text and returns the value of each sample line
// (name with labels as written).
func scrape(t *testing.T, url string) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	samples := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			samples[line[:i]] = v
		}
	}
	return samples, string(body)
}

// TestMetrics drives sign-ins, a refresh, a reused cookie, an API token's
// ingest and queries through the real server, and reads each in /metrics,
// served on metrics.addr only.
func TestMetrics(t *testing.T) {
	in := start(t, map[string]string{"LABREVIEW_METRICS_ADDR": "127.0.0.1:0", "LABREVIEW_AUTH_REFRESH_REUSE_GRACE": "0s"})
	metricsURL, _ := in.logLine(t, "metrics")["url"].(string)
	_, token := jobServerOn(t, in)
	p := &process{base: in.base}
	c, err := p.login("job@lab.org", "saffron-glacier-violin-7")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.login("job@lab.org", "wrong-password-123"); err == nil {
		t.Fatal("a wrong password signed in")
	}
	var runID string
	api := func(method, path, body, bearer string) int {
		req, _ := http.NewRequest(method, in.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Logf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if id := regexp.MustCompile(`"id":"([0-9a-f]{24})"`).FindSubmatch(b); id != nil && path == "/api/runs" {
			runID = string(id[1])
		}
		return resp.StatusCode
	}
	if s := api("POST", "/api/runs", `{"project":"p1","external_id":"job-1","name":"first"}`, token); s != 201 {
		t.Fatalf("create run: %d", s)
	}
	if s := api("POST", "/api/runs", `{"project":"p1","external_id":"job-1","name":"first"}`, token); s != 200 {
		t.Fatalf("repeat create: %d", s)
	}
	if s := api("POST", "/api/runs/"+runID+"/series", `{"loss":[[0,1.5],[1,1.2],[2,0.9]]}`, token); s != 200 {
		t.Fatalf("series: %d", s)
	}
	if s := api("GET", "/api/runs?q="+url.QueryEscape("project = p1"), "", c.access); s != 200 {
		t.Fatalf("query: %d", s)
	}
	if s := api("GET", "/api/runs", "", "lrt_not-a-real-token-at-all-000000000000"); s != 401 {
		t.Fatalf("bad token: %d", s)
	}
	if _, status, err := p.refresh(c); err != nil || status != 200 {
		t.Fatalf("refresh: %d %v", status, err)
	}
	if _, status, _ := p.refresh(c); status != 401 { // the replaced cookie: reuse
		t.Fatalf("reused cookie: %d", status)
	}

	var samples map[string]float64
	var text string
	deadline := time.Now().Add(5 * time.Second)
	for {
		samples, text = scrape(t, metricsURL)
		if samples[`labreview_series_points_ingested_total`] == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for sample, want := range map[string]float64{
		`labreview_http_requests_total{method="POST",route="/api/auth/login",status="200"}`: 2, // jobServerOn's and ours
		`labreview_http_requests_total{method="POST",route="/api/auth/login",status="401"}`: 1,
		`labreview_auth_sign_ins_total{outcome="ok"}`:                                       2,
		`labreview_auth_sign_ins_total{outcome="invalid"}`:                                  1,
		`labreview_auth_events_total{event="login_ok"}`:                                     2,
		`labreview_auth_events_total{event="login_failed"}`:                                 1,
		`labreview_auth_events_total{event="refresh_reuse"}`:                                1,
		`labreview_auth_refreshes_total{outcome="ok"}`:                                      1,
		`labreview_auth_refreshes_total{outcome="invalid"}`:                                 1,
		`labreview_runs_created_total`:                                                      1,
		`labreview_series_points_ingested_total`:                                            3,
		`labreview_api_token_requests_total{outcome="ok"}`:                                  3,
		`labreview_api_token_requests_total{outcome="invalid"}`:                             1,
		`labreview_query_duration_seconds_count{class="runs_query"}`:                        1,
		`labreview_auth_active_sessions`:                                                    2, // jobServerOn's and ours
	} {
		if got, ok := samples[sample]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", sample, got, ok, want)
		}
	}
	for _, present := range []string{
		`labreview_http_request_duration_seconds_bucket{method="GET",route="/api/runs",status="200",le="0.1"}`,
		`labreview_store_operations_total{op="CreateRunAudited",outcome="ok"}`,
		`labreview_store_operation_duration_seconds_count{op="UserByEmail"}`,
		`labreview_sqlite_writer_batch_size_count`,
		`labreview_sqlite_writer_queue_depth`,
		`labreview_sqlite_wal_bytes`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
		`labreview_build_info{version="v9.9.9-test"}`,
	} {
		if _, ok := samples[present]; !ok {
			t.Errorf("no sample %s", present)
		}
	}
	// Raw paths never become labels; an unknown path is "unmatched".
	if strings.Contains(text, runID) {
		t.Error("a run id appears in the metrics")
	}
	// Every metric the Grafana dashboard plots is one the server exports.
	dashboard, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct{ Panels []json.RawMessage }
	if err := json.Unmarshal(dashboard, &parsed); err != nil || len(parsed.Panels) == 0 {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	for _, name := range regexp.MustCompile(`\b(?:labreview|go|process)_[a-z_]+`).FindAllString(string(dashboard), -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
		if !strings.Contains(text, "# TYPE "+base+" ") {
			t.Errorf("the dashboard plots %s, which the server does not export", name)
		}
	}
	// The public listener does not serve them.
	if _, body := get(t, in.base+"/metrics", nil); strings.Contains(string(body), "labreview_http_requests_total") {
		t.Fatal("the public listener serves the metrics")
	}
}
