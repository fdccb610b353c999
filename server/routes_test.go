package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestProbesAndHealth(t *testing.T) {
	up := newTestServer(t, Options{}, nil, builtUI(t))
	down := newTestServer(t, Options{}, unreachableDB(t), builtUI(t))

	cases := []struct {
		name       string
		srv        *testServer
		req        request
		status     int
		body       string // fragment of the body
		retryAfter string
	}{
		{"healthz", up, request{path: "/healthz"}, 200, `{"status":"ok"}`, ""},
		{"healthz HEAD", up, request{method: "HEAD", path: "/healthz"}, 200, "", ""},
		{"healthz with database down", down, request{path: "/healthz"}, 200, `{"status":"ok"}`, ""},
		{"readyz", up, request{path: "/readyz"}, 200, `"database":"up"`, ""},
		{"readyz with database down", down, request{path: "/readyz"}, 503, `"error":"database_unavailable"`, "5"},
		{"api health", up, request{path: "/api/health"}, 200,
			`{"status":"ok","version":"test-version","database":{"status":"up","mode":"embedded"}}`, ""},
		{"api health with database down", down, request{path: "/api/health"}, 200,
			`{"status":"degraded","version":"test-version","database":{"status":"down","mode":"hosted"}}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.srv.do(tc.req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Fatalf("body %s does not contain %s", rec.Body, tc.body)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Fatalf("Cache-Control %q, want no-store", got)
			}
			if rec.Code >= 400 {
				decodeError(t, rec)
			}
		})
	}
}

func TestAPIErrors(t *testing.T) {
	srv := newTestServer(t, Options{MaxBodyBytes: 1024}, nil, builtUI(t))
	cases := []struct {
		name   string
		req    request
		status int
		code   string
		allow  string
	}{
		{"unknown API path", request{path: "/api/nope"}, 404, "not_found", ""},
		{"unknown nested API path", request{path: "/api/nope/deeper.js"}, 404, "not_found", ""},
		{"bare /api", request{path: "/api"}, 404, "not_found", ""},
		{"POST to an unknown API path", request{method: "POST", path: "/api/nope", body: "{}"}, 404, "not_found", ""},
		{"wrong method", request{method: "POST", path: "/api/health", body: "{}"}, 405, "method_not_allowed", "GET"},
		{"wrong method on a probe", request{method: "DELETE", path: "/readyz"}, 405, "method_not_allowed", "GET, HEAD"},
		{"POST outside the API", request{method: "POST", path: "/some/page", body: "x"}, 404, "not_found", ""},
		{"body over the limit", request{method: "POST", path: "/api/nope", body: strings.Repeat("x", 2048)}, 413, "payload_too_large", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := srv.do(tc.req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "<html") {
				t.Fatal("an API error answered with the web UI")
			}
			if e := decodeError(t, rec); e.Error != tc.code {
				t.Fatalf("error code %q, want %q", e.Error, tc.code)
			}
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, builtUI(t))
	rec := srv.do(request{path: "/api/nope", headers: map[string]string{requestIDHeader: "job-42.retry_1"}})
	if got := decodeError(t, rec).RequestID; got != "job-42.retry_1" {
		t.Fatalf("a well-formed incoming ID was replaced by %q", got)
	}
	rec = srv.do(request{path: "/healthz", headers: map[string]string{requestIDHeader: "bad id\nwith=injection"}})
	id := rec.Header().Get(requestIDHeader)
	if id == "" || strings.ContainsAny(id, " \n=") {
		t.Fatalf("malformed incoming ID not replaced: %q", id)
	}
	if other := srv.do(request{path: "/healthz"}).Header().Get(requestIDHeader); other == id {
		t.Fatal("two requests got the same generated ID")
	}
}

func TestSecurityHeaders(t *testing.T) {
	srv := newTestServer(t, Options{TrustedProxies: []string{"10.0.0.0/8"}}, nil, builtUI(t))
	cases := []struct {
		name string
		req  request
		hsts bool
	}{
		{"UI over plain HTTP", request{path: "/"}, false},
		{"API over plain HTTP", request{path: "/api/health"}, false},
		{"error over plain HTTP", request{path: "/api/nope"}, false},
		{"native TLS", request{path: "/", tls: true}, true},
		{"trusted proxy says https", request{path: "/", remote: "10.1.2.3:5555",
			headers: map[string]string{"X-Forwarded-Proto": "https"}}, true},
		{"untrusted client says https", request{path: "/", remote: "203.0.113.9:5555",
			headers: map[string]string{"X-Forwarded-Proto": "https"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := srv.do(tc.req).Header()
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP allows unsafe sources: %q", csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			if h.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("Referrer-Policy %q", h.Get("Referrer-Policy"))
			}
			if got := h.Get("Strict-Transport-Security") != ""; got != tc.hsts {
				t.Errorf("HSTS present %v, want %v", got, tc.hsts)
			}
		})
	}
}

// TestSecurityHeaderKeysCanonical: the headers are assigned to the map
// directly, so a key not in canonical form would be a second header that
// Header.Get cannot find.
func TestSecurityHeaderKeysCanonical(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, builtUI(t))
	h := srv.do(request{path: "/"}).Header()
	for _, sh := range securityHeaderValues {
		if sh.key != http.CanonicalHeaderKey(sh.key) {
			t.Errorf("%q is not canonical", sh.key)
		}
		if got := h.Get(sh.key); got != sh.value[0] {
			t.Errorf("%s: %q, want %q", sh.key, got, sh.value[0])
		}
	}
}

func TestAccessLogKeepsSecretsOut(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, builtUI(t))
	srv.do(request{path: "/setup?token=s3cret-query", headers: map[string]string{
		"Authorization": "Bearer s3cret-bearer",
		"Cookie":        "__Secure-labreview_refresh=s3cret-cookie",
	}})
	logs := srv.logs.String()
	if !strings.Contains(logs, `"path":"/setup"`) {
		t.Fatalf("request not logged: %s", logs)
	}
	if strings.Contains(logs, "s3cret") {
		t.Fatalf("a secret reached the log: %s", logs)
	}
	var line map[string]any
	for _, raw := range strings.Split(strings.TrimSpace(logs), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatal(err)
		}
		if l["msg"] == "request" {
			line = l
		}
	}
	for _, field := range []string{"method", "path", "status", "duration_ms", "request_id"} {
		if _, ok := line[field]; !ok {
			t.Errorf("access log line lacks %q: %v", field, line)
		}
	}
}

func TestTrustedProxiesGoverningClientIP(t *testing.T) {
	srv := newTestServer(t, Options{TrustedProxies: []string{"10.0.0.1"}}, nil, builtUI(t))
	srv.do(request{path: "/healthz", remote: "10.0.0.1:1000", headers: map[string]string{"X-Forwarded-For": "198.51.100.7"}})
	srv.do(request{path: "/healthz", remote: "203.0.113.5:1000", headers: map[string]string{"X-Forwarded-For": "192.0.2.66"}})
	logs := srv.logs.String()
	if !strings.Contains(logs, `"client_ip":"198.51.100.7"`) {
		t.Errorf("forwarded address from a trusted proxy not used: %s", logs)
	}
	if strings.Contains(logs, "192.0.2.66") || !strings.Contains(logs, `"client_ip":"203.0.113.5"`) {
		t.Errorf("forwarded address from an untrusted peer believed: %s", logs)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	if _, err := ParseTrustedProxies([]string{"10.0.0.1", "fd00::/8", " 192.168.0.0/16 "}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"10.0.0.300", "example.org", "10.0.0.0/33"} {
		if _, err := ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
