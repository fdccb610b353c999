package server

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestRefreshLoadClient is the load client of .ci/bench-refresh.sh: against
// a real labreview process (LABREVIEW_LOAD_URL), it signs in
// LABREVIEW_LOAD_SESSIONS sessions (default 64) as LABREVIEW_LOAD_EMAIL with
// the password in LABREVIEW_LOAD_PASSWORD, then each session refreshes in a
// closed loop for LABREVIEW_LOAD_DURATION (default 10s), always with the
// cookie of its last answer, and the result line gives refreshes per second
// and latency percentiles. Skipped unless LABREVIEW_LOAD=refresh.
func TestRefreshLoadClient(t *testing.T) {
	if os.Getenv(loadModeEnv) != "refresh" {
		t.Skip(loadModeEnv + "=refresh not set: run .ci/bench-refresh.sh")
	}
	base := os.Getenv("LABREVIEW_LOAD_URL")
	sessions, _ := strconv.Atoi(os.Getenv("LABREVIEW_LOAD_SESSIONS"))
	if sessions <= 0 {
		sessions = 64
	}
	duration, err := time.ParseDuration(os.Getenv("LABREVIEW_LOAD_DURATION"))
	if err != nil {
		duration = 10 * time.Second
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 2 * sessions}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	cookies := make([]string, sessions)
	for i := range cookies {
		resp, err := client.PostForm(base+"/api/auth/login", url.Values{
			"username": {os.Getenv("LABREVIEW_LOAD_EMAIL")}, "password": {os.Getenv("LABREVIEW_LOAD_PASSWORD")}})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == refreshCookieSecure {
				cookies[i] = c.Value
			}
		}
		if resp.StatusCode != 200 || cookies[i] == "" {
			t.Fatalf("login %d: %d", i, resp.StatusCode)
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	failures := 0
	deadline := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			cookie := cookies[i]
			local := make([]time.Duration, 0, 1<<14)
			bad := 0
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodPost, base+"/api/auth/refresh", nil)
				req.AddCookie(&http.Cookie{Name: refreshCookieSecure, Value: cookie})
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				if resp.StatusCode != 200 {
					bad++
					continue
				}
				for _, c := range resp.Cookies() {
					if c.Name == refreshCookieSecure {
						cookie = c.Value
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			failures += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p int) string {
		return fmt.Sprintf("%.1fms", float64(percentile(lat, p).Microseconds())/1000)
	}
	fmt.Printf("refresh: %d sessions, %d refreshes in %v: %.0f/s, p50 %s, p95 %s, p99 %s, max %s, failures %d\n",
		sessions, len(lat), elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds(), pct(50), pct(95), pct(99),
		fmt.Sprintf("%.1fms", float64(lat[len(lat)-1].Microseconds())/1000), failures)
	if failures > 0 {
		t.Errorf("%d refreshes failed", failures)
	}
}
