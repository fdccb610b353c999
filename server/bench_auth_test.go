package server

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"labreview/auth"
	"labreview/db"
	"labreview/db/dbtest"
	"labreview/runs"
)

// benchServer is the real handler on a fresh database with one viewer.
func benchServer(b *testing.B, cfg auth.Config) (*httptest.Server, db.Store) {
	b.Helper()
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	d := dbtest.SQLite(b)
	svc, err := auth.New(context.Background(), cfg, d, logger, auth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	if _, err := svc.CreateUser(context.Background(), "", auth.NewUser{Email: "bench@lab.org", Name: "Bench", Role: db.RoleViewer, Password: viewerPW}, auth.ClientInfo{}); err != nil {
		b.Fatal(err)
	}
	h, err := New(logger, Options{Version: "bench"}, d, svc, runs.New(d, runs.Config{}, logger, nil), nil)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(h)
	b.Cleanup(ts.Close)
	return ts, d
}

// bareVerifier is a token verifier over the same stored keys, built
// without the service: what a minimal Gin app would run.
func bareVerifier(b *testing.B, d db.Store, cfg auth.Config) *auth.Tokens {
	b.Helper()
	stored, err := d.SigningKeys(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var keys []auth.Key
	for _, k := range stored {
		keys = append(keys, auth.Key{ID: k.ID, Algorithm: k.Algorithm, PrivateKey: ed25519.PrivateKey(k.PrivateKey), CreatedAt: k.CreatedAt})
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Algorithm: cfg.Algorithm, Issuer: cfg.Issuer, Audience: cfg.Audience,
		TTL: cfg.AccessTokenTTL, Leeway: 5 * time.Second}, keys)
	if err != nil {
		b.Fatal(err)
	}
	return tokens
}

func benchLogin(b testing.TB, base string) (access, refresh string) {
	b.Helper()
	req, _ := http.NewRequest("POST", base+"/api/auth/login", strings.NewReader(url.Values{"username": {"bench@lab.org"}, "password": {viewerPW}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	access = strings.Split(strings.Split(string(body), `"access_token":"`)[1], `"`)[0]
	for _, c := range resp.Cookies() {
		if c.Name == refreshCookieSecure {
			refresh = c.Value
		}
	}
	return access, refresh
}

// BenchmarkMe compares GET /api/me through the whole product (middleware,
// token verification, session check, user lookup) with bare Gin handlers
// that only verify a JWT and answer its claims: EdDSA with the same token
// and keys, and HS256 with a token of the same claims. The wrk figures in
// docs/benchmarks.md come from .ci/bench-load.sh, which keeps client and
// server on separate cores.
func BenchmarkMe(b *testing.B) {
	ts, d := benchServer(b, testAuthConfig())
	access, _ := benchLogin(b, ts.URL)

	bareEd := httptest.NewServer(bareJWTHandler(bareVerifier(b, d, testAuthConfig())))
	defer bareEd.Close()
	hs, hsToken := bareTokens(b, hmacKey(b))
	bareHS := httptest.NewServer(bareJWTHandler(hs))
	defer bareHS.Close()

	for _, target := range []struct{ name, url, token string }{
		{"labreview", ts.URL, access}, {"bare-gin-jwt-eddsa", bareEd.URL, access}, {"bare-gin-jwt-hs256", bareHS.URL, hsToken},
	} {
		b.Run(target.name, func(b *testing.B) {
			loadWith(b, func() *http.Request {
				req, _ := http.NewRequest("GET", target.url+"/api/me", nil)
				req.Header.Set("Authorization", "Bearer "+target.token)
				return req
			})
		})
	}
}

// BenchmarkRefresh measures refresh-token rotations per second through the
// HTTP API on the embedded store, at 64 concurrent clients, each rotating
// its own session: cookie parse, session and user reads, one conditional
// UPDATE on the single writer, a new EdDSA access token, the cookie and the
// JSON answer, with the whole middleware chain.
func BenchmarkRefresh(b *testing.B) {
	cfg := testAuthConfig()
	cfg.RefreshPerMinute = 0
	ts, _ := benchServer(b, cfg)
	transport := &http.Transport{MaxIdleConnsPerHost: 128}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	// Sign in 64 sessions first: their Argon2 hashing is not what this
	// measures.
	sessions := make(chan string, 64)
	for range 64 {
		_, refresh := benchLogin(b, ts.URL)
		sessions <- refresh
	}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		refresh := <-sessions
		local := make([]time.Duration, 0, 4096)
		for pb.Next() {
			req, _ := http.NewRequest("POST", ts.URL+"/api/auth/refresh", nil)
			req.Host = "localhost"
			req.AddCookie(&http.Cookie{Name: refreshCookieSecure, Value: refresh})
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			local = append(local, time.Since(t0))
			if resp.StatusCode != 200 {
				b.Errorf("refresh: %d", resp.StatusCode)
				return
			}
			for _, c := range resp.Cookies() {
				if c.Name == refreshCookieSecure {
					refresh = c.Value
				}
			}
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, lat, elapsed)
}

// BenchmarkMeUnderLoginFlood measures GET /api/me latency alone, then while
// 64 clients send wrong-password logins (throttling raised out of the way so
// every login really hashes): hashing runs on a bounded pool, so the API
// stays responsive.
func BenchmarkMeUnderLoginFlood(b *testing.B) {
	cfg := testAuthConfig()
	cfg.Argon2 = auth.DefaultArgon2Params() // production cost
	cfg.Throttle.AccountLimit, cfg.Throttle.IPLimit = 1<<30, 1<<30
	ts, _ := benchServer(b, cfg)
	access, _ := benchLogin(b, ts.URL)
	me := func() *http.Request {
		req, _ := http.NewRequest("GET", ts.URL+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		return req
	}
	b.Run("idle", func(b *testing.B) { loadSerial(b, me) })
	b.Run("flood", func(b *testing.B) {
		stop := make(chan struct{})
		var logins, wg = atomic.Int64{}, sync.WaitGroup{}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		for range 64 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					req, _ := http.NewRequest("POST", ts.URL+"/api/auth/login",
						strings.NewReader("username=bench%40lab.org&password=wrong-password-for-the-flood"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Host = "localhost"
					if resp, err := client.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						logins.Add(1)
					}
				}
			})
		}
		time.Sleep(time.Second) // let the flood build up
		loadSerial(b, me)
		close(stop)
		wg.Wait()
		b.ReportMetric(float64(logins.Load()), "logins-answered")
	})
}

// loadSerial sends requests one after another (a user's browser), for
// latency rather than throughput.
func loadSerial(b *testing.B, newReq func() *http.Request) {
	client := &http.Client{}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		t0 := time.Now()
		resp, err := client.Do(newReq())
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	b.StopTimer() // the flood's shutdown is not part of the measurement
	report(b, lat, elapsed)
}
