package server

// Tests of the hardening issue (security probes against commit 80ebe03):
// each fails on that commit.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// TestJSONBodiesAreStrict: duplicate keys, keys in another case, invalid
// UTF-8 (raw or as an escape), trailing data and non-objects are refused
// before anything happens.
func TestJSONBodiesAreStrict(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, nil)
	srv.mustCreateUser(t, "admin@lab.org", "Admin", db.RoleAdmin, adminPW)
	viewer := srv.mustCreateUser(t, "v@lab.org", "Vee", db.RoleViewer, viewerPW)
	a := srv.login(t, "admin@lab.org", adminPW).access
	login := func(body string) request {
		return request{method: "POST", path: "/api/auth/login", headers: map[string]string{"Content-Type": "application/json"}, body: body}
	}
	cases := map[string]struct {
		req   request
		field string
	}{
		"duplicate password, right one last": {login(`{"username":"admin@lab.org","password":"wrong","password":"` + adminPW + `"}`), "password"},
		"duplicate username":                 {login(`{"username":"x@lab.org","username":"admin@lab.org","password":"` + adminPW + `"}`), "username"},
		"name in another case":               {login(`{"USERNAME":"admin@lab.org","password":"` + adminPW + `"}`), "USERNAME"},
		"role in upper case":                 {jsonReq("PATCH", "/api/users/"+viewer.ID, a, `{"ROLE":"reviewer"}`), "ROLE"},
		"duplicate role":                     {jsonReq("PATCH", "/api/users/"+viewer.ID, a, `{"role":"viewer","role":"admin"}`), "role"},
		"invalid UTF-8":                      {jsonReq("PATCH", "/api/users/"+viewer.ID, a, "{\"name\":\"Ve\xffe\"}"), ""},
		"lone surrogate escape":              {jsonReq("PATCH", "/api/users/"+viewer.ID, a, `{"name":"Ve\udc00e"}`), ""},
		"trailing data":                      {jsonReq("PATCH", "/api/users/"+viewer.ID, a, `{"name":"Vee"} {"role":"admin"}`), ""},
		"null":                               {jsonReq("PATCH", "/api/users/"+viewer.ID, a, `null`), ""},
		"array":                              {jsonReq("PATCH", "/api/users/"+viewer.ID, a, `[{"role":"admin"}]`), ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rec := srv.do(c.req)
			if rec.Code != 400 {
				t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body)
			}
			e := decodeError(t, rec)
			if c.field != "" && (len(e.Details) != 1 || e.Details[0].Field != c.field) {
				t.Fatalf("details %+v, want field %q", e.Details, c.field)
			}
		})
	}
	u, err := srv.auth.User(t.Context(), viewer.ID)
	if err != nil || u.Role != db.RoleViewer || u.Name != "Vee" {
		t.Fatalf("a refused body changed the user: %+v %v", u, err)
	}
	if n := srv.auditCount(t, "login_ok"); n != 1 {
		t.Fatalf("%d successful logins, want only the test's own", n)
	}
	// The exact names still work.
	if rec := srv.do(login(`{"username":"admin@lab.org","password":"` + adminPW + `"}`)); rec.Code != 200 {
		t.Fatalf("a strict, valid body: %d %s", rec.Code, rec.Body)
	}
	if rec := srv.do(jsonReq("PATCH", "/api/users/"+viewer.ID, a, `{"name":"Vee Two"}`)); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Vee Two") {
		t.Fatalf("a valid patch: %d %s", rec.Code, rec.Body)
	}
}

// TestNoRedirectsAroundTheMiddleware: Gin's trailing-slash and fixed-path
// redirects answered before any middleware (no security headers, no request
// id, no log line) and followed a client's X-Forwarded-Prefix. Such paths
// now get the JSON 404 through the whole chain.
func TestNoRedirectsAroundTheMiddleware(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, builtUI(t))
	for _, r := range []request{
		{method: "GET", path: "/api/users/"},
		{method: "POST", path: "/api/auth/login/", headers: map[string]string{"X-Forwarded-Prefix": "https://evil.example"}},
		{method: "GET", path: "/api/me/", headers: map[string]string{"X-Forwarded-Prefix": "/evil"}},
	} {
		rec := srv.do(r)
		if rec.Code != 404 || rec.Header().Get("Location") != "" {
			t.Errorf("%s %s: %d Location %q, want a 404 without redirect", r.method, r.path, rec.Code, rec.Header().Get("Location"))
			continue
		}
		decodeError(t, rec) // the JSON shape, with the request id of the header
		if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: security headers missing: %v", r.method, r.path, rec.Header())
		}
	}
	if !strings.Contains(srv.logs.String(), `"path":"/api/users/"`) {
		t.Error("the request was not logged")
	}
	// A UI deep link with a trailing slash, or an /api path in another
	// case (which is no API path), gets the app, not a redirect.
	for _, path := range []string{"/account/", "/API/USERS"} {
		if rec := srv.do(request{method: "GET", path: path}); rec.Code != 200 || rec.Header().Get("Location") != "" {
			t.Errorf("%s: %d %q, want the UI", path, rec.Code, rec.Header().Get("Location"))
		}
	}
}

// TestUnprefixedRefreshCookieOnlyWhenAllowed: with insecure cookies off, a
// planted labreview_refresh cookie (no __Secure- prefix) is not read, so it
// cannot sign the victim into the planter's session.
func TestUnprefixedRefreshCookieOnlyWhenAllowed(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, nil)
	srv.mustCreateUser(t, "attacker@lab.org", "Mallory", db.RoleViewer, viewerPW)
	planted := srv.login(t, "attacker@lab.org", viewerPW).refresh
	rec := srv.do(request{method: "POST", path: "/api/auth/refresh",
		headers: map[string]string{"Cookie": refreshCookieInsecure + "=" + planted}})
	if rec.Code != 401 {
		t.Fatalf("refresh with a planted unprefixed cookie: %d %s", rec.Code, rec.Body)
	}
	insecure := newTestServer(t, Options{AllowInsecureCookies: true}, srv.db, nil)
	rec = insecure.do(request{method: "POST", path: "/api/auth/refresh", host: "lab.example.org",
		headers: map[string]string{"Cookie": refreshCookieInsecure + "=" + planted}})
	if rec.Code != 200 {
		t.Fatalf("with allow_insecure_cookies the plain name works: %d %s", rec.Code, rec.Body)
	}
}

// TestLoginFloodLogsSaturationOnce: a login flood that saturates password
// hashing is logged as saturation, below ERROR and sampled, never as a
// database outage.
func TestLoginFloodLogsSaturationOnce(t *testing.T) {
	cfg := testAuthConfig()
	cfg.HashWorkers = 1
	cfg.Throttle.AccountLimit, cfg.Throttle.IPLimit = 1<<30, 1<<30
	srv := newTestServerWith(t, Options{}, nil, nil, cfg, nil)
	srv.mustCreateUser(t, "flood@lab.org", "F", db.RoleViewer, viewerPW)
	var wg sync.WaitGroup
	var busy atomic.Int32
	for range 200 {
		wg.Go(func() {
			rec := srv.do(formLogin("flood@lab.org", "wrong-password-for-the-flood"))
			if rec.Code == 503 {
				if decodeError(t, rec).Error != "busy" {
					t.Errorf("503 that is not busy: %s", rec.Body)
				}
				busy.Add(1)
			}
		})
	}
	wg.Wait()
	if busy.Load() == 0 {
		t.Fatal("the flood did not saturate hashing; the test proves nothing")
	}
	logs := srv.logs.String()
	if strings.Contains(logs, "database unavailable") {
		t.Error("saturation was logged as a database outage")
	}
	if n := strings.Count(logs, "password hashing saturated"); n != 1 {
		t.Errorf("saturation logged %d times for %d busy answers, want once", n, busy.Load())
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Fatalf("an ERROR line during a login flood: %s", line)
		}
	}
}

// TestSetupGuessesAreLimited: wrong setup tokens are audited and limited
// per address (10 per window), even when sent all at once; another address
// is not affected, and the right token still works from it.
func TestSetupGuessesAreLimited(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, nil)
	link, err := srv.auth.PrepareSetup(t.Context())
	if err != nil || link == "" {
		t.Fatalf("setup link %q %v", link, err)
	}
	token := link[strings.Index(link, "token=")+len("token="):]
	guess := func(remote, tok string) *httptest.ResponseRecorder {
		return srv.do(request{method: "POST", path: "/api/setup", remote: remote, headers: map[string]string{"Content-Type": "application/json"},
			body: `{"token":"` + tok + `","email":"root@lab.org","name":"Root","password":"` + adminPW + `"}`})
	}
	var wg sync.WaitGroup
	var invalid, throttled atomic.Int32
	for i := range 60 {
		wg.Go(func() {
			rec := guess("192.0.2.50:1234", fmt.Sprintf("guess-%02d", i))
			switch e := decodeError(t, rec); {
			case rec.Code == 403 && e.Error == "invalid_setup_token":
				invalid.Add(1)
			case rec.Code == 429 && rec.Header().Get("Retry-After") != "" && strings.Contains(e.Message, "setup attempts"):
				throttled.Add(1)
			default:
				t.Errorf("guess: %d %s", rec.Code, rec.Body)
			}
		})
	}
	wg.Wait()
	if invalid.Load() != 10 || throttled.Load() != 50 {
		t.Fatalf("%d guesses evaluated and %d throttled, want 10 and 50", invalid.Load(), throttled.Load())
	}
	if n := srv.auditCount(t, "setup_token_invalid"); n != 10 {
		t.Errorf("%d setup_token_invalid events, want 10", n)
	}
	if n := srv.auditCount(t, "setup_throttled"); n != 1 {
		t.Errorf("%d setup_throttled events, want 1 per window", n)
	}
	if rec := guess("192.0.2.50:1234", token); rec.Code != 429 {
		t.Fatalf("the right token from the throttled address: %d", rec.Code)
	}
	if rec := guess("198.51.100.7:1234", token); rec.Code != 200 {
		t.Fatalf("the right token from another address: %d %s", rec.Code, rec.Body)
	}
}

// TestDemotionTakesEffectAtOnce: a demoted admin's access token, still
// valid for minutes, loses admin rights at once on the instance that made
// the change, and within the session-check window on another instance.
func TestDemotionTakesEffectAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		clk := newClock()
		srv := newTestServerWith(t, Options{}, store, nil, testAuthConfig(), clk)
		other := newTestServerWith(t, Options{}, store, nil, testAuthConfig(), clk)
		admin := srv.mustCreateUser(t, "admin@lab.org", "Admin", db.RoleAdmin, adminPW)
		admin2 := srv.mustCreateUser(t, "admin2@lab.org", "Admin Two", db.RoleAdmin, viewerPW)
		a := srv.login(t, "admin@lab.org", adminPW).access
		a2 := srv.login(t, "admin2@lab.org", viewerPW).access
		// Both instances have seen admin's token as an admin's.
		for _, s := range []*testServer{srv, other} {
			if rec := s.do(jsonReq("GET", "/api/users", a, "")); rec.Code != 200 {
				t.Fatalf("admin before the demotion: %d", rec.Code)
			}
		}
		if rec := srv.do(jsonReq("PATCH", "/api/users/"+admin.ID, a2, `{"role":"viewer"}`)); rec.Code != 200 {
			t.Fatalf("demotion: %d %s", rec.Code, rec.Body)
		}
		attempts := []request{
			jsonReq("PATCH", "/api/users/"+admin.ID, a, `{"role":"admin"}`),
			jsonReq("PATCH", "/api/users/"+admin2.ID, a, `{"role":"viewer"}`),
			jsonReq("POST", "/api/users", a, `{"email":"new@lab.org","name":"New","role":"admin","password":"`+adminPW+`"}`),
			jsonReq("POST", "/api/users/"+admin2.ID+"/password", a, `{"new_password":"`+adminPW+`-2"}`),
			jsonReq("GET", "/api/audit", a, ""),
		}
		for _, r := range attempts {
			if rec := srv.do(r); rec.Code != 403 {
				t.Errorf("same instance, %s %s with the demoted token: %d", r.method, r.path, rec.Code)
			}
		}
		// The other instance still trusts its cache for up to the window,
		// then reads the current role.
		clk.Advance(5 * time.Second)
		for _, r := range attempts {
			if rec := other.do(r); rec.Code != 403 {
				t.Errorf("other instance after 5 s, %s %s: %d", r.method, r.path, rec.Code)
			}
		}
		if u, _ := srv.auth.User(t.Context(), admin2.ID); u.Role != db.RoleAdmin {
			t.Fatalf("admin2 was changed: %+v", u)
		}
		if rec := srv.do(jsonReq("GET", "/api/me", a, "")); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"role":"viewer"`) {
			t.Fatalf("the demoted user keeps using the app as a viewer: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestRangesCannotMultiplyAFile: many ranges, or ranges of a small file,
// get the whole file once (600 ranges of the 629-byte index.html came to
// 85 KB).
func TestRangesCannotMultiplyAFile(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, builtUI(t))
	many := "bytes=" + strings.TrimSuffix(strings.Repeat("0-0,", 600), ",")
	for _, r := range []request{
		{path: "/", headers: map[string]string{"Range": many}},
		{path: "/", headers: map[string]string{"Range": "bytes=0-9"}},
		{path: "/assets/index-Ab12Cd34.js", headers: map[string]string{"Range": many}},
	} {
		rec := srv.do(r)
		full := srv.do(request{path: r.path})
		if rec.Code != 200 || rec.Body.Len() != full.Body.Len() || rec.Header().Get("Content-Range") != "" {
			t.Errorf("%s with Range %.30q: %d, %d bytes; want 200 and the whole file (%d bytes)", r.path, r.headers["Range"],
				rec.Code, rec.Body.Len(), full.Body.Len())
		}
	}
	// A few ranges of a large file still work.
	rec := srv.do(request{path: "/assets/index-Ab12Cd34.js", headers: map[string]string{"Range": "bytes=0-9,20-29"}})
	if rec.Code != 206 {
		t.Fatalf("two ranges of a large file: %d", rec.Code)
	}
}

// TestLoginThrottleCannotBeRaced: every attempt is counted before its
// password is checked, so a burst of concurrent wrong passwords for one
// account gets at most max_per_account evaluations, and a burst from one
// address at most max_per_ip; refused attempts evaluate nothing.
func TestLoginThrottleCannotBeRaced(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		cfg := testAuthConfig() // 5 per account, 50 per IP
		srv := newTestServerWith(t, Options{}, store, nil, cfg, nil)
		srv.mustCreateUser(t, "target@lab.org", "Target", db.RoleViewer, viewerPW)
		burst := func(n int, req func(i int) request) (evaluated, throttled int) {
			var wg sync.WaitGroup
			var e, th atomic.Int32
			for i := range n {
				wg.Go(func() {
					switch rec := srv.do(req(i)); rec.Code {
					case 401:
						e.Add(1)
					case 429:
						th.Add(1)
					default:
						t.Errorf("status %d: %s", rec.Code, rec.Body)
					}
				})
			}
			wg.Wait()
			return int(e.Load()), int(th.Load())
		}
		evaluated, throttled := burst(60, func(i int) request {
			r := formLogin("target@lab.org", "wrong-password-for-the-race")
			r.remote = fmt.Sprintf("192.0.2.%d:1000", i+1) // many addresses: the account limit decides
			return r
		})
		if evaluated != cfg.Throttle.AccountLimit || throttled != 60-cfg.Throttle.AccountLimit {
			t.Fatalf("one account: %d evaluated, %d throttled; want %d evaluated", evaluated, throttled, cfg.Throttle.AccountLimit)
		}
		if n := srv.auditCount(t, "login_failed"); n != cfg.Throttle.AccountLimit {
			t.Fatalf("%d passwords checked (login_failed events), want %d", n, cfg.Throttle.AccountLimit)
		}
		evaluated, _ = burst(120, func(i int) request {
			r := formLogin(fmt.Sprintf("nobody%d@lab.org", i), "wrong-password-for-the-race")
			r.remote = "198.51.100.9:1000" // one address, many accounts: the address limit decides
			return r
		})
		if evaluated != cfg.Throttle.IPLimit {
			t.Fatalf("one address: %d evaluated, want %d", evaluated, cfg.Throttle.IPLimit)
		}
	})
}

// TestThrottledAttemptsDoNotFloodTheAudit: 10,000 requests against a
// throttled account add one audit event (the window's first refusal), and
// client-supplied strings in audit events are capped.
func TestThrottledAttemptsDoNotFloodTheAudit(t *testing.T) {
	cfg := testAuthConfig()
	cfg.Throttle.IPLimit = 1 << 30
	srv := newTestServerWith(t, Options{}, nil, nil, cfg, nil)
	srv.mustCreateUser(t, "locked@lab.org", "Locked", db.RoleViewer, viewerPW)
	for range cfg.Throttle.AccountLimit {
		if rec := srv.do(formLogin("locked@lab.org", "wrong-password-here")); rec.Code != 401 {
			t.Fatalf("failure before the lock: %d", rec.Code)
		}
	}
	before, _, err := srv.db.ListAudit(t.Context(), db.AuditFilter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("A", 60_000)
	for i := range 10_000 {
		r := formLogin("locked@lab.org", "wrong-password-here")
		r.headers["User-Agent"] = huge
		if rec := srv.do(r); rec.Code != 429 {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
	}
	after, _, err := srv.db.ListAudit(t.Context(), db.AuditFilter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if added := len(after) - len(before); added != 1 || after[0].Event != "login_throttled" {
		t.Fatalf("10,000 throttled requests added %d audit events (newest %q), want 1", added, after[0].Event)
	}
	e := after[0]
	if len(e.UserAgent) > 512 || e.Email != "locked@lab.org" || e.Details["counter"] != "account" || e.Details["failures"] != float64(cfg.Throttle.AccountLimit) {
		t.Fatalf("the throttled event: %+v (user agent %d bytes)", e.Details, len(e.UserAgent))
	}
	// A failed login with a huge User-Agent stores it capped as well.
	r := formLogin("someone-else@lab.org", "wrong-password-here")
	r.headers["User-Agent"] = huge
	srv.do(r)
	if latest, _, _ := srv.db.ListAudit(t.Context(), db.AuditFilter{Event: "login_failed"}, 1); len(latest) != 1 || len(latest[0].UserAgent) != 512 {
		t.Fatalf("audit user agent not capped: %d bytes", len(latest[0].UserAgent))
	}
}

// TestLookAlikeAccountsAreRefused: none of the nine accounts the probe made
// to display exactly like admin@lab.test can be created, nor names with
// invisible or direction-changing characters.
func TestLookAlikeAccountsAreRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		srv := newTestServer(t, Options{}, store, nil)
		srv.mustCreateUser(t, "admin@lab.test", "Admin", db.RoleAdmin, adminPW)
		a := srv.login(t, "admin@lab.test", adminPW).access
		create := func(email, name string) *httptest.ResponseRecorder {
			return srv.do(jsonReq("POST", "/api/users", a, `{"email":"`+email+`","name":"`+name+`","role":"admin","password":"`+viewerPW+`"}`))
		}
		for label, email := range map[string]string{
			"zero-width space":       "ad\u200bmin@lab.test",
			"no-break space":         "admin\u00a0@lab.test",
			"right-to-left override": "\u202eadmin@lab.test",
			"line separator":         "admin@lab.test\u2028",
			"combining mark":         "admin\u0337@lab.test",
			"fullwidth a":            "\uff41dmin@lab.test",
			"Cyrillic a":             "\u0430dmin@lab.test",
			"dotless i":              "adm\u0131n@lab.test",
			"r and n for m":          "adrnin@lab.test",
		} {
			rec := create(email, "Mallory")
			if rec.Code != 400 && rec.Code != 409 {
				t.Errorf("%s: %d %s", label, rec.Code, rec.Body)
				continue
			}
			if e := decodeError(t, rec); e.Error != "invalid_email" && e.Error != "email_taken" && e.Error != "email_confusable" {
				t.Errorf("%s: %s", label, e.Error)
			}
		}
		for label, name := range map[string]string{
			"right-to-left override": "Ad\u202emin",
			"zero-width joiner":      "Ad\u200dmin",
			"byte order mark":        "\ufeffAdmin",
			"soft hyphen":            "Ad\u00admin",
			"no-break space":         "Ad\u00a0min",
		} {
			if rec := create("other@lab.test", name); rec.Code != 400 || decodeError(t, rec).Error != "invalid_name" {
				t.Errorf("name with %s: %d %s", label, rec.Code, rec.Body)
			}
		}
		users, _ := srv.auth.Users(t.Context())
		if len(users) != 1 {
			t.Fatalf("%d users exist, want only the admin", len(users))
		}
		// Plain addresses and names in other scripts are fine.
		for _, ok := range [][2]string{{"zoë@lab.test", "Zoë Brontë"}, {"müller@lab.test", "Jürgen Müller"}, {"li@lab.test", "李小龙"}} {
			if rec := create(ok[0], ok[1]); rec.Code != 201 {
				t.Errorf("%s / %s: %d %s", ok[0], ok[1], rec.Code, rec.Body)
			}
		}
		// Sign-in folds compatibility forms the same way.
		if rec := srv.do(formLogin("\uff41dmin@lab.test", adminPW)); rec.Code != 200 {
			t.Errorf("sign-in with a fullwidth a: %d", rec.Code)
		}
	})
}

func deviceCookieOf(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range (&http.Response{Header: rec.Header()}).Cookies() {
		if c.Name == deviceCookieSecure {
			return c
		}
	}
	return nil
}

func loginWithDevice(email, password, device string) request {
	r := formLogin(email, password)
	if device != "" {
		r.headers["Cookie"] = deviceCookieSecure + "=" + device
	}
	return r
}

// TestOwnerCannotBeLockedOut: failed sign-ins from elsewhere lock the
// account for unknown devices only; the browser the owner signed in with
// before (device cookie) still gets in, and has a limit of its own.
func TestOwnerCannotBeLockedOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		cfg := testAuthConfig() // 5 per account
		srv := newTestServerWith(t, Options{}, store, nil, cfg, nil)
		owner := srv.mustCreateUser(t, "owner@lab.org", "Owner", db.RoleAdmin, adminPW)
		srv.mustCreateUser(t, "mallory@lab.org", "Mallory", db.RoleViewer, viewerPW)
		rec := srv.do(formLogin("owner@lab.org", adminPW))
		dev := deviceCookieOf(rec)
		if rec.Code != 200 || dev == nil || !dev.HttpOnly || !dev.Secure || dev.SameSite != http.SameSiteStrictMode ||
			dev.Path != "/api/auth/login" || dev.MaxAge < 300*24*3600 || !strings.HasPrefix(dev.Value, owner.ID+".") {
			t.Fatalf("device cookie after sign-in: %d %+v", rec.Code, dev)
		}
		malloryDev := deviceCookieOf(srv.do(formLogin("mallory@lab.org", viewerPW))).Value

		// Someone elsewhere exhausts the account, also with their own
		// device cookie (another account's) and a forged one.
		forged := tamper(dev.Value)
		for i := range cfg.Throttle.AccountLimit + 3 {
			device := []string{"", malloryDev, forged}[i%3]
			if rec := srv.do(loginWithDevice("owner@lab.org", "wrong-password-here", device)); rec.Code != 401 && rec.Code != 429 {
				t.Fatalf("attack %d: %d", i, rec.Code)
			}
		}
		if rec := srv.do(formLogin("owner@lab.org", adminPW)); rec.Code != 429 {
			t.Fatalf("an unknown device with the right password during the lockout: %d, want 429", rec.Code)
		}
		rec = srv.do(loginWithDevice("owner@lab.org", adminPW, dev.Value))
		if rec.Code != 200 {
			t.Fatalf("the owner's known device during the lockout: %d %s", rec.Code, rec.Body)
		}
		next := deviceCookieOf(rec)
		if next == nil || next.Value == dev.Value {
			t.Fatal("a sign-in does not renew the device cookie")
		}
		// The known device has its own limit.
		for range cfg.Throttle.AccountLimit {
			if rec := srv.do(loginWithDevice("owner@lab.org", "wrong-password-here", next.Value)); rec.Code != 401 {
				t.Fatalf("known device, wrong password: %d", rec.Code)
			}
		}
		if rec := srv.do(loginWithDevice("owner@lab.org", adminPW, next.Value)); rec.Code != 429 {
			t.Fatalf("known device past its own limit: %d", rec.Code)
		}
		if rec := srv.do(loginWithDevice("owner@lab.org", adminPW, dev.Value)); rec.Code != 200 {
			t.Fatalf("another known device of the owner: %d", rec.Code)
		}
	})
}
