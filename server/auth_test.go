package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"labreview/auth"
	"labreview/db"
	"labreview/db/dbtest"
)

const (
	adminPW  = "orbital-granite-lantern-42"
	viewerPW = "quiet-meadow-harbor-1997"
)

type tokenBody struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (s *testServer) mustCreateUser(t testing.TB, email, name, role, password string) *db.User {
	t.Helper()
	u, err := s.auth.CreateUser(context.Background(), "", auth.NewUser{Email: email, Name: name, Role: role, Password: password}, auth.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func formLogin(email, password string) request {
	return request{method: "POST", path: "/api/auth/login",
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		body:    url.Values{"username": {email}, "password": {password}}.Encode()}
}

// session is a signed-in client: its access token and refresh cookie.
type session struct {
	access  string
	cookie  *http.Cookie
	refresh string
}

func (s *testServer) login(t testing.TB, email, password string) session {
	t.Helper()
	rec := s.do(formLogin(email, password))
	if rec.Code != 200 {
		t.Fatalf("login %s: %d %s", email, rec.Code, rec.Body)
	}
	var tb tokenBody
	if err := json.Unmarshal(rec.Body.Bytes(), &tb); err != nil {
		t.Fatal(err)
	}
	ck := refreshCookieOf(t, rec)
	if ck == nil {
		t.Fatal("login set no refresh cookie")
	}
	return session{access: tb.AccessToken, cookie: ck, refresh: ck.Value}
}

func refreshCookieOf(t testing.TB, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: rec.Header()}).Cookies() {
		if c.Name == refreshCookieSecure || c.Name == refreshCookieInsecure {
			return c
		}
	}
	return nil
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func withCookie(value string) map[string]string {
	return map[string]string{"Cookie": refreshCookieSecure + "=" + value}
}

func (s *testServer) countSessions(t *testing.T, uid string) int {
	t.Helper()
	list, err := s.db.LiveSessions(context.Background(), uid, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func (s *testServer) auditCount(t *testing.T, event string) int {
	t.Helper()
	events, _, err := s.db.ListAudit(context.Background(), db.AuditFilter{Event: event}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

func TestLoginSuccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		u := srv.mustCreateUser(t, "Ada@Lab.org", "Ada", db.RoleReviewer, adminPW)
		if u.Email != "ada@lab.org" {
			t.Fatalf("email not normalised: %q", u.Email)
		}
		for name, req := range map[string]request{
			"form":                 formLogin("  ADA@lab.org ", adminPW),
			"form with grant_type": {method: "POST", path: "/api/auth/login", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "grant_type=password&username=ada%40lab.org&password=" + url.QueryEscape(adminPW)},
			"json":                 {method: "POST", path: "/api/auth/login", headers: map[string]string{"Content-Type": "application/json"}, body: `{"username":"ada@lab.org","password":"` + adminPW + `"}`},
		} {
			t.Run(name, func(t *testing.T) {
				rec := srv.do(req)
				if rec.Code != 200 {
					t.Fatalf("status %d %s", rec.Code, rec.Body)
				}
				var body map[string]any
				_ = json.Unmarshal(rec.Body.Bytes(), &body)
				if len(body) != 3 || body["token_type"] != "bearer" || body["expires_in"] != float64(300) || body["access_token"] == "" {
					t.Fatalf("body %v", body)
				}
				if rec.Header().Get("Cache-Control") != "no-store" {
					t.Fatalf("Cache-Control %q", rec.Header().Get("Cache-Control"))
				}
				ck := refreshCookieOf(t, rec)
				if ck == nil || ck.Name != "__Secure-labreview_refresh" || !ck.HttpOnly || !ck.Secure ||
					ck.SameSite != http.SameSiteStrictMode || ck.Path != "/api/auth" || ck.Domain != "" || ck.MaxAge <= 0 || ck.MaxAge > 3600 {
					t.Fatalf("refresh cookie %+v", ck)
				}
				if strings.Contains(rec.Body.String(), ck.Value) {
					t.Fatal("the refresh token appears in the body")
				}
				me := srv.do(request{path: "/api/me", headers: bearer(body["access_token"].(string))})
				if me.Code != 200 || !strings.Contains(me.Body.String(), `"role":"reviewer"`) {
					t.Fatalf("/api/me with the new token: %d %s", me.Code, me.Body)
				}
				if strings.Contains(me.Body.String(), "argon2") || strings.Contains(me.Body.String(), "password") {
					t.Fatalf("/api/me leaks the hash: %s", me.Body)
				}
			})
		}
		if n := srv.auditCount(t, auth.EventLoginOK); n != 3 {
			t.Fatalf("%d login_ok audit events, want 3", n)
		}
	})
}

// TestLoginFailuresLookAlike: unknown user, wrong password and disabled
// account give the same answer, issue nothing and start no session.
func TestLoginFailuresLookAlike(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		u := srv.mustCreateUser(t, "bob@lab.org", "Bob", db.RoleViewer, viewerPW)
		off := srv.mustCreateUser(t, "off@lab.org", "Off", db.RoleViewer, viewerPW)
		yes := true
		if _, err := srv.auth.UpdateUser(context.Background(), "", off.ID, auth.UserPatch{Disabled: &yes}, auth.ClientInfo{}); err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, req := range []request{formLogin("nobody@lab.org", viewerPW), formLogin("bob@lab.org", "wrong-password-123456"), formLogin("off@lab.org", viewerPW)} {
			rec := srv.do(req)
			if rec.Code != 401 {
				t.Fatalf("status %d %s", rec.Code, rec.Body)
			}
			if refreshCookieOf(t, rec) != nil {
				t.Fatal("a failed login set a cookie")
			}
			e := decodeError(t, rec)
			bodies = append(bodies, e.Error+"|"+e.Message)
		}
		if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
			t.Fatalf("failures differ: %q", bodies)
		}
		if srv.countSessions(t, u.ID)+srv.countSessions(t, off.ID) != 0 {
			t.Fatal("a failed login created a session")
		}
		if n := srv.auditCount(t, auth.EventLoginFailed); n != 3 {
			t.Fatalf("%d login_failed events, want 3", n)
		}
		logs := srv.logs.String()
		if strings.Contains(logs, viewerPW) || strings.Contains(logs, "wrong-password") {
			t.Fatal("a password reached the log")
		}
	})
}

func TestLoginBadInput(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, nil)
	u := srv.mustCreateUser(t, "carol@lab.org", "Carol", db.RoleViewer, viewerPW)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"other grant type", request{method: "POST", path: "/api/auth/login", headers: form, body: "grant_type=client_credentials&username=carol%40lab.org&password=x"}, 400, "unsupported_grant_type"},
		{"missing password", request{method: "POST", path: "/api/auth/login", headers: form, body: "username=carol%40lab.org"}, 400, "invalid_request"},
		{"field twice", request{method: "POST", path: "/api/auth/login", headers: form, body: "username=a%40b.org&username=carol%40lab.org&password=" + viewerPW}, 400, "invalid_request"},
		{"operator in form key", request{method: "POST", path: "/api/auth/login", headers: form, body: "username[$ne]=x&password=" + viewerPW}, 400, "invalid_request"},
		{"operator in JSON", request{method: "POST", path: "/api/auth/login", headers: jsonCT, body: `{"username":{"$ne":null},"password":"` + viewerPW + `"}`}, 400, "invalid_request"},
		{"unknown JSON field", request{method: "POST", path: "/api/auth/login", headers: jsonCT, body: `{"username":"carol@lab.org","password":"x","admin":true}`}, 400, "invalid_request"},
		{"malformed JSON", request{method: "POST", path: "/api/auth/login", headers: jsonCT, body: `{"username":`}, 400, "invalid_request"},
		{"wrong content type", request{method: "POST", path: "/api/auth/login", headers: map[string]string{"Content-Type": "text/plain"}, body: "carol"}, 415, "unsupported_media_type"},
		{"body over 16 KiB", request{method: "POST", path: "/api/auth/login", headers: form, body: "username=carol%40lab.org&password=" + strings.Repeat("x", 17<<10)}, 413, "payload_too_large"},
		{"password over 1024 bytes", request{method: "POST", path: "/api/auth/login", headers: form, body: "username=carol%40lab.org&password=" + strings.Repeat("x", 1025)}, 400, "password_too_long"},
		{"GET", request{path: "/api/auth/login"}, 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := srv.do(tc.req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if e := decodeError(t, rec); e.Error != tc.code {
				t.Fatalf("code %q, want %q", e.Error, tc.code)
			}
			if refreshCookieOf(t, rec) != nil {
				t.Fatal("cookie issued")
			}
		})
	}
	if srv.countSessions(t, u.ID) != 0 {
		t.Fatal("a session was created")
	}
	if n := srv.auditCount(t, auth.EventLoginFailed); n != 0 {
		t.Fatalf("malformed requests reached the password check (%d failures counted)", n)
	}
}

func TestCookieTransportRules(t *testing.T) {
	srv := newTestServer(t, Options{TrustedProxies: []string{"10.0.0.1"}}, nil, nil)
	srv.mustCreateUser(t, "dan@lab.org", "Dan", db.RoleViewer, viewerPW)
	insecure := newTestServer(t, Options{AllowInsecureCookies: true}, srv.db, nil)

	plain := formLogin("dan@lab.org", viewerPW)
	plain.host = "labreview.lab.example.org"
	rec := srv.do(plain)
	if rec.Code != 403 || refreshCookieOf(t, rec) != nil {
		t.Fatalf("plain HTTP to a lab host: %d %s", rec.Code, rec.Body)
	}
	if e := decodeError(t, rec); e.Error != "https_required" || !strings.Contains(e.Message, "allow_insecure_cookies") {
		t.Fatalf("message does not explain the setting: %+v", e)
	}

	rec = insecure.do(plain)
	ck := refreshCookieOf(t, rec)
	if rec.Code != 200 || ck == nil || ck.Name != "labreview_refresh" || ck.Secure || !ck.HttpOnly {
		t.Fatalf("with allow_insecure_cookies: %d cookie %+v", rec.Code, ck)
	}

	proxied := formLogin("dan@lab.org", viewerPW)
	proxied.host, proxied.remote = "labreview.lab.example.org", "10.0.0.1:4000"
	proxied.headers["X-Forwarded-Proto"] = "https"
	rec = srv.do(proxied)
	if ck := refreshCookieOf(t, rec); rec.Code != 200 || ck == nil || ck.Name != "__Secure-labreview_refresh" || !ck.Secure {
		t.Fatalf("HTTPS through a trusted proxy: %d %+v", rec.Code, ck)
	}
	for _, host := range []string{"127.0.0.1:8080", "[::1]:8080", "localhost"} {
		req := formLogin("dan@lab.org", viewerPW)
		req.host = host
		if rec := srv.do(req); rec.Code != 200 || !refreshCookieOf(t, rec).Secure {
			t.Fatalf("%s: %d", host, rec.Code)
		}
	}
}

// TestCrossOriginRequestsHaveNoEffect: the cookie endpoints refuse
// cross-origin requests before doing anything.
func TestCrossOriginRequestsHaveNoEffect(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, nil)
	u := srv.mustCreateUser(t, "eve@lab.org", "Eve", db.RoleViewer, viewerPW)
	s := srv.login(t, "eve@lab.org", viewerPW)
	evil := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	for _, req := range []request{
		formLogin("eve@lab.org", viewerPW),
		{method: "POST", path: "/api/auth/refresh", headers: withCookie(s.refresh)},
		{method: "POST", path: "/api/auth/logout", headers: withCookie(s.refresh)},
		{method: "POST", path: "/api/setup", headers: map[string]string{"Content-Type": "application/json"}, body: `{}`},
	} {
		for k, v := range evil {
			if req.headers == nil {
				req.headers = map[string]string{}
			}
			req.headers[k] = v
		}
		rec := srv.do(req)
		if rec.Code != 403 || refreshCookieOf(t, rec) != nil {
			t.Fatalf("%s: %d %s", req.path, rec.Code, rec.Body)
		}
		if decodeError(t, rec).Error != "cross_origin_request" {
			t.Fatalf("%s: wrong code", req.path)
		}
	}
	sess, err := srv.db.SessionByID(context.Background(), strings.Split(s.refresh, ".")[0])
	if err != nil || !sess.Live(time.Now()) || sess.PrevHash != "" || srv.countSessions(t, u.ID) != 1 {
		t.Fatalf("a cross-origin request changed the session: %+v %v", sess, err)
	}
	// Same-origin requests pass.
	same := request{method: "POST", path: "/api/auth/refresh", headers: withCookie(s.refresh)}
	same.headers["Origin"] = "http://localhost"
	same.headers["Sec-Fetch-Site"] = "same-origin"
	if rec := srv.do(same); rec.Code != 200 {
		t.Fatalf("same-origin refresh: %d %s", rec.Code, rec.Body)
	}
}

func TestRefreshRotationGraceAndReuse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		clk := newClock()
		srv := newTestServerWith(t, Options{}, store, nil, testAuthConfig(), clk)
		u := srv.mustCreateUser(t, "fay@lab.org", "Fay", db.RoleViewer, viewerPW)
		s0 := srv.login(t, "fay@lab.org", viewerPW)

		refresh := func(cookie string) *httptest.ResponseRecorder {
			return srv.do(request{method: "POST", path: "/api/auth/refresh", headers: withCookie(cookie)})
		}
		rec := refresh(s0.refresh)
		c1 := refreshCookieOf(t, rec)
		if rec.Code != 200 || c1 == nil || c1.Value == s0.refresh {
			t.Fatalf("first refresh: %d, cookie %+v", rec.Code, c1)
		}
		var tb tokenBody
		_ = json.Unmarshal(rec.Body.Bytes(), &tb)
		if tb.AccessToken == "" || tb.TokenType != "bearer" || tb.RefreshToken != "" {
			t.Fatalf("refresh body %s", rec.Body)
		}

		// The replaced cookie within the grace window: an access token, no cookie.
		clk.Advance(5 * time.Second)
		rec = refresh(s0.refresh)
		if rec.Code != 200 || refreshCookieOf(t, rec) != nil {
			t.Fatalf("grace refresh: %d cookie %+v", rec.Code, refreshCookieOf(t, rec))
		}
		// The successor keeps working and rotates again.
		rec = refresh(c1.Value)
		c2 := refreshCookieOf(t, rec)
		if rec.Code != 200 || c2 == nil {
			t.Fatalf("successor refresh: %d", rec.Code)
		}

		// An older cookie after the window: theft. The family is revoked.
		clk.Advance(11 * time.Second)
		rec = refresh(s0.refresh)
		if rec.Code != 401 || decodeError(t, rec).Error != "invalid_refresh_token" {
			t.Fatalf("reuse after grace: %d %s", rec.Code, rec.Body)
		}
		if rec := refresh(c2.Value); rec.Code != 401 {
			t.Fatalf("the newest cookie still works after reuse detection: %d", rec.Code)
		}
		sess, _ := srv.db.SessionByID(context.Background(), strings.Split(s0.refresh, ".")[0])
		if sess.RevokedAt == nil || sess.RevokedReason != "refresh_reuse" {
			t.Fatalf("session not revoked for reuse: %+v", sess)
		}
		if srv.auditCount(t, auth.EventRefreshReuse) != 1 {
			t.Fatal("no refresh_reuse audit event")
		}
		if srv.countSessions(t, u.ID) != 0 {
			t.Fatal("session still live")
		}
		// The access token of the revoked session is dead at once here.
		if rec := srv.do(request{path: "/api/me", headers: bearer(tb.AccessToken)}); rec.Code != 401 {
			t.Fatalf("access token of a revoked session: %d", rec.Code)
		}
	})
}

func TestRefreshRejections(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		clk := newClock()
		srv := newTestServerWith(t, Options{}, store, nil, testAuthConfig(), clk)
		u := srv.mustCreateUser(t, "gus@lab.org", "Gus", db.RoleViewer, viewerPW)
		s := srv.login(t, "gus@lab.org", viewerPW)
		id := strings.Split(s.refresh, ".")[0]
		cases := map[string]request{
			"no cookie":            {method: "POST", path: "/api/auth/refresh"},
			"malformed":            {method: "POST", path: "/api/auth/refresh", headers: withCookie("not-a-token")},
			"unknown session":      {method: "POST", path: "/api/auth/refresh", headers: withCookie("AAAAAAAAAAAAAAAAAAAAAA." + strings.Repeat("A", 43))},
			"right id, bad secret": {method: "POST", path: "/api/auth/refresh", headers: withCookie(id + "." + strings.Repeat("B", 43))},
			"bearer is not enough": {method: "POST", path: "/api/auth/refresh", headers: bearer(s.access)},
		}
		for name, req := range cases {
			t.Run(name, func(t *testing.T) {
				rec := srv.do(req)
				if rec.Code != 401 || decodeError(t, rec).Error != "invalid_refresh_token" {
					t.Fatalf("status %d %s", rec.Code, rec.Body)
				}
				if ck := refreshCookieOf(t, rec); ck != nil && ck.MaxAge >= 0 {
					t.Fatalf("a rejected refresh set a live cookie: %+v", ck)
				}
			})
		}
		// A garbage secret for a real session id is no proof of theft.
		if srv.countSessions(t, u.ID) != 1 {
			t.Fatal("a bad secret revoked the session")
		}
		if rec := srv.do(request{path: "/api/auth/refresh", headers: withCookie(s.refresh)}); rec.Code != 405 {
			t.Fatalf("GET refresh: %d", rec.Code)
		}
		// Idle expiry: an hour without refresh ends the session.
		clk.Advance(61 * time.Minute)
		if rec := srv.do(request{method: "POST", path: "/api/auth/refresh", headers: withCookie(s.refresh)}); rec.Code != 401 {
			t.Fatalf("refresh after idle expiry: %d", rec.Code)
		}
	})
}

func TestRefreshAbsoluteLifetime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		clk := newClock()
		cfg := testAuthConfig()
		cfg.SessionMaxAge, cfg.RefreshTokenTTL = 3*time.Hour, time.Hour
		srv := newTestServerWith(t, Options{}, store, nil, cfg, clk)
		srv.mustCreateUser(t, "hal@lab.org", "Hal", db.RoleViewer, viewerPW)
		cookie := srv.login(t, "hal@lab.org", viewerPW).refresh
		for i := range 6 {
			clk.Advance(30 * time.Minute)
			rec := srv.do(request{method: "POST", path: "/api/auth/refresh", headers: withCookie(cookie)})
			if i < 5 {
				ck := refreshCookieOf(t, rec)
				if rec.Code != 200 || ck == nil {
					t.Fatalf("refresh %d: %d", i, rec.Code)
				}
				if remaining := 3*time.Hour - time.Duration(i+1)*30*time.Minute; time.Duration(ck.MaxAge)*time.Second > remaining {
					t.Fatalf("cookie Max-Age %ds outlives the session (%s left)", ck.MaxAge, remaining)
				}
				cookie = ck.Value
			} else if rec.Code != 401 {
				t.Fatalf("refresh past session_max_age: %d", rec.Code)
			}
		}
	})
}

// TestConcurrentRefreshesHaveOneSuccessor: 20 refreshes with one cookie at
// the same instant (tabs of one browser): one rotation, the rest served
// from the grace window, no 5xx, and the session survives.
func TestConcurrentRefreshesHaveOneSuccessor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		u := srv.mustCreateUser(t, "ivy@lab.org", "Ivy", db.RoleViewer, viewerPW)
		s := srv.login(t, "ivy@lab.org", viewerPW)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		var successors []string
		start := make(chan struct{})
		for range 20 {
			wg.Go(func() {
				<-start
				rec := srv.do(request{method: "POST", path: "/api/auth/refresh", headers: withCookie(s.refresh)})
				mu.Lock()
				defer mu.Unlock()
				codes[rec.Code]++
				if ck := refreshCookieOf(t, rec); ck != nil && ck.MaxAge > 0 {
					successors = append(successors, ck.Value)
				}
			})
		}
		close(start)
		wg.Wait()
		if codes[200] != 20 || len(successors) != 1 {
			t.Fatalf("status counts %v, %d successor cookies; want 20×200 and exactly 1 successor", codes, len(successors))
		}
		if srv.countSessions(t, u.ID) != 1 {
			t.Fatal("session not live after the burst")
		}
		if rec := srv.do(request{method: "POST", path: "/api/auth/refresh", headers: withCookie(successors[0])}); rec.Code != 200 {
			t.Fatalf("the successor does not refresh: %d", rec.Code)
		}
	})
}

func TestDisabledUserAndRoleChangeAtRefresh(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		admin := srv.mustCreateUser(t, "root@lab.org", "Root", db.RoleAdmin, adminPW)
		u := srv.mustCreateUser(t, "jo@lab.org", "Jo", db.RoleViewer, viewerPW)
		s := srv.login(t, "jo@lab.org", viewerPW)
		role := db.RoleReviewer
		if _, err := srv.auth.UpdateUser(context.Background(), admin.ID, u.ID, auth.UserPatch{Role: &role}, auth.ClientInfo{}); err != nil {
			t.Fatal(err)
		}
		rec := srv.do(request{method: "POST", path: "/api/auth/refresh", headers: withCookie(s.refresh)})
		var tb tokenBody
		_ = json.Unmarshal(rec.Body.Bytes(), &tb)
		claims, err := srv.auth.Authenticate(context.Background(), tb.AccessToken)
		if err != nil || claims.Role != db.RoleReviewer {
			t.Fatalf("role after change: %+v %v", claims, err)
		}
		next := refreshCookieOf(t, rec).Value
		yes := true
		if _, err := srv.auth.UpdateUser(context.Background(), admin.ID, u.ID, auth.UserPatch{Disabled: &yes}, auth.ClientInfo{}); err != nil {
			t.Fatal(err)
		}
		if rec := srv.do(request{method: "POST", path: "/api/auth/refresh", headers: withCookie(next)}); rec.Code != 401 {
			t.Fatalf("refresh of a disabled user: %d", rec.Code)
		}
		if rec := srv.do(request{path: "/api/me", headers: bearer(tb.AccessToken)}); rec.Code != 401 {
			t.Fatalf("access token of a disabled user: %d", rec.Code)
		}
	})
}

func TestAccessTokenChecks(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, nil)
	srv.mustCreateUser(t, "kim@lab.org", "Kim", db.RoleViewer, viewerPW)
	s := srv.login(t, "kim@lab.org", viewerPW)
	cases := []struct {
		name    string
		headers map[string]string
		code    string
		wwwAuth string
	}{
		{"no token", nil, "unauthorized", `Bearer realm="labreview"`},
		{"cookie only", withCookie(s.refresh), "unauthorized", `Bearer realm="labreview"`},
		{"basic auth", map[string]string{"Authorization": "Basic a2ltOnB3"}, "unauthorized", `Bearer realm="labreview"`},
		{"garbage", bearer("garbage"), "invalid_token", `Bearer realm="labreview", error="invalid_token"`},
		{"alg none", bearer("eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0."), "invalid_token", `Bearer realm="labreview", error="invalid_token"`},
		{"tampered", bearer(tamper(s.access)), "invalid_token", `Bearer realm="labreview", error="invalid_token"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := srv.do(request{path: "/api/me", headers: tc.headers})
			if rec.Code != 401 || decodeError(t, rec).Error != tc.code || rec.Header().Get("WWW-Authenticate") != tc.wwwAuth {
				t.Fatalf("status %d, WWW-Authenticate %q, body %s", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
			}
		})
	}
	if rec := srv.do(request{path: "/api/me", headers: bearer(s.access)}); rec.Code != 200 {
		t.Fatalf("valid token: %d", rec.Code)
	}
	if rec := srv.do(request{path: "/api/users", headers: bearer(s.access)}); rec.Code != 403 || decodeError(t, rec).Error != "forbidden" {
		t.Fatalf("viewer on an admin route: %d", rec.Code)
	}
}

// TestRevocationReachesOtherInstances: instance B trusts its cache for at
// most a few seconds; instance A, which revoked, refuses at once.
func TestRevocationReachesOtherInstances(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		clk := newClock()
		a := newTestServerWith(t, Options{}, store, nil, testAuthConfig(), clk)
		b := newTestServerWith(t, Options{}, a.db, nil, testAuthConfig(), clk)
		a.mustCreateUser(t, "lee@lab.org", "Lee", db.RoleViewer, viewerPW)
		s := a.login(t, "lee@lab.org", viewerPW)
		if rec := b.do(request{path: "/api/me", headers: bearer(s.access)}); rec.Code != 200 {
			t.Fatalf("instance B does not accept A's token: %d", rec.Code)
		}
		if rec := a.do(request{method: "POST", path: "/api/auth/logout", headers: withCookie(s.refresh)}); rec.Code != 204 {
			t.Fatalf("logout: %d", rec.Code)
		}
		if rec := a.do(request{path: "/api/me", headers: bearer(s.access)}); rec.Code != 401 {
			t.Fatalf("revoking instance still accepts: %d", rec.Code)
		}
		clk.Advance(5 * time.Second)
		if rec := b.do(request{path: "/api/me", headers: bearer(s.access)}); rec.Code != 401 {
			t.Fatalf("other instance accepts 5 s after revocation: %d", rec.Code)
		}
	})
}

// TestSessionCheckFailsClosed: when the session cannot be checked, the API
// answers 503, never serves the request.
func TestSessionCheckFailsClosed(t *testing.T) {
	cfg := testAuthConfig()
	cfg.Algorithm, cfg.JWTSecret = auth.AlgHS256, "a-test-secret-of-more-than-32-bytes!!"
	up := newTestServerWith(t, Options{}, nil, nil, cfg, nil)
	up.mustCreateUser(t, "mo@lab.org", "Mo", db.RoleViewer, viewerPW)
	s := up.login(t, "mo@lab.org", viewerPW)
	down := newTestServerWith(t, Options{}, unreachableDB(t), nil, cfg, nil)
	rec := down.do(request{path: "/api/me", headers: bearer(s.access)})
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || decodeError(t, rec).Error != "database_unavailable" {
		t.Fatalf("status %d %s", rec.Code, rec.Body)
	}
}

func TestLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		u := srv.mustCreateUser(t, "ned@lab.org", "Ned", db.RoleViewer, viewerPW)
		s := srv.login(t, "ned@lab.org", viewerPW)
		for name, req := range map[string]request{
			"no cookie":      {method: "POST", path: "/api/auth/logout"},
			"garbage cookie": {method: "POST", path: "/api/auth/logout", headers: withCookie("garbage")},
		} {
			if rec := srv.do(req); rec.Code != 204 {
				t.Fatalf("%s: %d", name, rec.Code)
			}
		}
		if srv.countSessions(t, u.ID) != 1 {
			t.Fatal("an invalid logout ended the session")
		}
		rec := srv.do(request{method: "POST", path: "/api/auth/logout", headers: withCookie(s.refresh)})
		ck := refreshCookieOf(t, rec)
		if rec.Code != 204 || ck == nil || ck.MaxAge >= 0 || ck.Path != "/api/auth" || !strings.Contains(rec.Header().Values("Set-Cookie")[0], "Max-Age=0") {
			t.Fatalf("logout: %d, clearing cookie %+v", rec.Code, ck)
		}
		if srv.countSessions(t, u.ID) != 0 {
			t.Fatal("session still live after logout")
		}
		if rec := srv.do(request{method: "POST", path: "/api/auth/refresh", headers: withCookie(s.refresh)}); rec.Code != 401 {
			t.Fatalf("refresh after logout: %d", rec.Code)
		}
		if srv.auditCount(t, auth.EventLogout) != 1 {
			t.Fatal("no logout audit event")
		}
	})
}

func TestSessionsAndLogoutAll(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		u := srv.mustCreateUser(t, "ola@lab.org", "Ola", db.RoleViewer, viewerPW)
		other := srv.mustCreateUser(t, "pia@lab.org", "Pia", db.RoleViewer, viewerPW)
		s1 := srv.login(t, "ola@lab.org", viewerPW)
		s2 := srv.login(t, "ola@lab.org", viewerPW)
		sp := srv.login(t, "pia@lab.org", viewerPW)

		rec := srv.do(request{path: "/api/auth/sessions", headers: map[string]string{"Authorization": "Bearer " + s1.access, "User-Agent": "Firefox/140"}})
		var list struct {
			Sessions []map[string]any `json:"sessions"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 || len(list.Sessions) != 2 {
			t.Fatalf("sessions: %d %s", rec.Code, rec.Body)
		}
		current := 0
		for _, x := range list.Sessions {
			for _, f := range []string{"id", "created_at", "last_used_at", "user_agent", "ip", "current"} {
				if _, ok := x[f]; !ok {
					t.Fatalf("session lacks %s: %v", f, x)
				}
			}
			if x["current"] == true {
				current++
				if x["id"] != strings.Split(s1.refresh, ".")[0] {
					t.Fatal("wrong session marked current")
				}
			}
			if strings.Contains(rec.Body.String(), "hash") {
				t.Fatal("hashes in the session list")
			}
		}
		if current != 1 {
			t.Fatalf("%d sessions marked current", current)
		}
		s2ID := strings.Split(s2.refresh, ".")[0]
		spID := strings.Split(sp.refresh, ".")[0]
		if rec := srv.do(request{method: "DELETE", path: "/api/auth/sessions/" + spID, headers: bearer(s1.access)}); rec.Code != 404 {
			t.Fatalf("deleting someone else's session: %d", rec.Code)
		}
		if srv.countSessions(t, other.ID) != 1 {
			t.Fatal("someone else's session was revoked")
		}
		if rec := srv.do(request{method: "DELETE", path: "/api/auth/sessions/" + s2ID, headers: bearer(s1.access)}); rec.Code != 204 {
			t.Fatalf("deleting own session: %d", rec.Code)
		}
		if rec := srv.do(request{path: "/api/me", headers: bearer(s2.access)}); rec.Code != 401 {
			t.Fatalf("token of the revoked session: %d", rec.Code)
		}
		s3 := srv.login(t, "ola@lab.org", viewerPW)
		if rec := srv.do(request{method: "POST", path: "/api/auth/logout-all", headers: bearer(s3.access)}); rec.Code != 204 {
			t.Fatalf("logout-all: %d", rec.Code)
		}
		if srv.countSessions(t, u.ID) != 0 || srv.countSessions(t, other.ID) != 1 {
			t.Fatal("logout-all did not end exactly the caller's sessions")
		}
	})
}

func TestChangePassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		u := srv.mustCreateUser(t, "quinn@lab.org", "Quinn", db.RoleViewer, viewerPW)
		s1 := srv.login(t, "quinn@lab.org", viewerPW)
		srv.login(t, "quinn@lab.org", viewerPW)
		post := func(body string) *httptest.ResponseRecorder {
			h := bearer(s1.access)
			h["Content-Type"] = "application/json"
			return srv.do(request{method: "POST", path: "/api/me/password", headers: h, body: body})
		}
		for body, code := range map[string]string{
			`{"current_password":"not-my-password-9","new_password":"ultraviolet-badger-kettle"}`: "wrong_password",
			`{"current_password":"` + viewerPW + `","new_password":"password1234"}`:               "password_too_common",
			`{"current_password":"` + viewerPW + `","new_password":"short"}`:                      "password_too_short",
			`{"current_password":"` + viewerPW + `","new_password":"x","role":"admin"}`:           "invalid_request",
		} {
			if rec := post(body); rec.Code != 400 || decodeError(t, rec).Error != code {
				t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
			}
		}
		if srv.countSessions(t, u.ID) != 2 {
			t.Fatal("a refused change ended sessions")
		}
		if rec := post(`{"current_password":"` + viewerPW + `","new_password":"ultraviolet-badger-kettle"}`); rec.Code != 204 {
			t.Fatalf("change: %d %s", rec.Code, rec.Body)
		}
		if srv.countSessions(t, u.ID) != 1 {
			t.Fatal("other sessions survived the password change")
		}
		if rec := srv.do(request{path: "/api/me", headers: bearer(s1.access)}); rec.Code != 200 {
			t.Fatal("the current session was ended")
		}
		if rec := srv.do(formLogin("quinn@lab.org", viewerPW)); rec.Code != 401 {
			t.Fatal("the old password still works")
		}
		srv.login(t, "quinn@lab.org", "ultraviolet-badger-kettle")
	})
}

func TestLoginThrottle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		clk := newClock()
		srv := newTestServerWith(t, Options{}, store, nil, testAuthConfig(), clk) // 5 per account, 50 per IP, 15 min
		srv.mustCreateUser(t, "rae@lab.org", "Rae", db.RoleViewer, viewerPW)
		for i := range 5 {
			if rec := srv.do(formLogin("rae@lab.org", "not-the-password-"+string(rune('a'+i)))); rec.Code != 401 {
				t.Fatalf("failure %d: %d", i, rec.Code)
			}
		}
		rec := srv.do(formLogin("rae@lab.org", viewerPW))
		if rec.Code != 429 || refreshCookieOf(t, rec) != nil {
			t.Fatalf("right password while throttled: %d", rec.Code)
		}
		if e := decodeError(t, rec); e.Error != "too_many_attempts" || rec.Header().Get("Retry-After") != "900" {
			t.Fatalf("throttle answer: %+v Retry-After %q", e, rec.Header().Get("Retry-After"))
		}
		// Another account from another address is not affected.
		srv.mustCreateUser(t, "sam@lab.org", "Sam", db.RoleViewer, viewerPW)
		other := formLogin("sam@lab.org", viewerPW)
		other.remote = "192.0.2.77:1234"
		if rec := srv.do(other); rec.Code != 200 {
			t.Fatalf("unrelated login: %d", rec.Code)
		}
		clk.Advance(15*time.Minute + time.Second)
		srv.login(t, "rae@lab.org", viewerPW)
	})
}

func TestLoginThrottlePerIP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		cfg := testAuthConfig()
		cfg.Throttle.IPLimit = 3
		srv := newTestServerWith(t, Options{}, store, nil, cfg, nil)
		srv.mustCreateUser(t, "tia@lab.org", "Tia", db.RoleViewer, viewerPW)
		for i := range 3 {
			srv.do(formLogin("guess"+string(rune('a'+i))+"@lab.org", "whatever-password-1"))
		}
		if rec := srv.do(formLogin("tia@lab.org", viewerPW)); rec.Code != 429 {
			t.Fatalf("login from a throttled IP: %d", rec.Code)
		}
		fromElsewhere := formLogin("tia@lab.org", viewerPW)
		fromElsewhere.remote = "198.51.100.9:999"
		if rec := srv.do(fromElsewhere); rec.Code != 200 {
			t.Fatalf("login from another IP: %d", rec.Code)
		}
	})
}

func TestJWKS(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		for _, path := range []string{"/api/auth/jwks", "/.well-known/jwks.json"} {
			rec := srv.do(request{path: path})
			var set struct {
				Keys []map[string]string `json:"keys"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || rec.Code != 200 || len(set.Keys) != 1 {
				t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
			k := set.Keys[0]
			if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["x"] == "" || k["kid"] == "" || k["d"] != "" {
				t.Fatalf("%s: key %v", path, k)
			}
		}
	})
}

// TestImportedBcryptHashIsUpgraded: a user imported from a FastAPI app with
// a bcrypt hash signs in, and the stored hash becomes Argon2id.
func TestImportedBcryptHashIsUpgraded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		hash, err := bcrypt.GenerateFromPassword([]byte(viewerPW), 10)
		if err != nil {
			t.Fatal(err)
		}
		imported := &db.User{ID: db.NewID(), Email: "legacy@lab.org", Name: "Legacy", Role: db.RoleViewer,
			PasswordHash: strings.Replace(string(hash), "$2a$", "$2b$", 1), CreatedAt: time.Now()}
		if err := srv.db.InsertUser(context.Background(), imported); err != nil {
			t.Fatal(err)
		}
		if rec := srv.do(formLogin("legacy@lab.org", "not-"+viewerPW)); rec.Code != 401 {
			t.Fatalf("wrong password against bcrypt: %d", rec.Code)
		}
		srv.login(t, "legacy@lab.org", viewerPW)
		u, err := srv.db.UserByID(context.Background(), imported.ID)
		if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Fatalf("hash after login: %q %v", u.PasswordHash[:10], err)
		}
		srv.login(t, "legacy@lab.org", viewerPW) // and the new hash verifies
	})
}

// tamper changes one character inside a token's signature, always to a
// different one. (Overwriting the last two characters with "AA" left the
// token as it was whenever it already ended so, once in 256 tokens.)
func tamper(token string) string {
	b := []byte(token)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
