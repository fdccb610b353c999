package server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth"
)

// Environment of TestServeForLoad. It is run by .ci/bench-load.sh, which
// pins the servers to one core and wrk to the other; without LABREVIEW_LOAD
// the test is skipped, so `go test` never waits on it.
const (
	loadModeEnv = "LABREVIEW_LOAD"      // "bare"
	loadDirEnv  = "LABREVIEW_LOAD_DIR"  // where tokens, the asset path and "ready" are written; "stop" ends the test
	loadAddrEnv = "LABREVIEW_LOAD_ADDR" // first of three consecutive ports
	loadMaxEnv  = "LABREVIEW_LOAD_MAX"  // give up after this long (default 10m), so a lost script cannot leave it running
)

// TestServeForLoad serves the baselines labreview is measured against, each
// on its own port, until the file "stop" appears in LABREVIEW_LOAD_DIR. The
// process has no embedded store (see TestMain): Gin + golang-jwt HS256
// (port+0) and EdDSA (port+1), both answering /api/me from the verified
// claims, and a net/http handler writing the main JS bundle's gzip bytes
// from memory with the headers labreview sends (port+2). The tokens go to
// "token-hs256" and "token-eddsa", the bundle's path to "asset".
func TestServeForLoad(t *testing.T) {
	mode := os.Getenv(loadModeEnv)
	if mode == "" {
		t.Skip(loadModeEnv + " not set: run .ci/bench-load.sh")
	}
	if mode != "bare" {
		t.Fatalf("%s=%q: want bare", loadModeEnv, mode)
	}
	dir, addr := os.Getenv(loadDirEnv), os.Getenv(loadAddrEnv)
	if dir == "" || addr == "" {
		t.Fatalf("%s and %s are required", loadDirEnv, loadAddrEnv)
	}
	limit := 10 * time.Minute
	if v := os.Getenv(loadMaxEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		limit = d
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	asset := entryScript(t, os.DirFS(distDir))
	write("asset", "/"+asset)
	serveBareForLoad(t, addr, asset, write)
	write("ready", "")
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, "stop")); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no stop file after %v", limit)
}

func serveBareForLoad(t *testing.T, addr, asset string, write func(name, content string)) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var port int
	if _, err := fmt.Sscan(portText, &port); err != nil {
		t.Fatal(err)
	}
	at := func(i int) string { return net.JoinHostPort(host, fmt.Sprint(port+i)) }

	edKey, err := auth.GenerateEd25519Key(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []auth.Key{hmacKey(t), edKey} {
		tokens, token := bareTokens(t, k)
		serveOn(t, at(i), bareJWTHandler(tokens))
		write("token-"+strings.ToLower(k.Algorithm), token)
	}
	serveOn(t, at(2), bareStaticHandler(t, asset, "gzip"))
}

// hmacKey is an HS256 key with a random secret.
func hmacKey(t testing.TB) auth.Key {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	k, err := auth.HMACKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// bareTokens returns a verifier for k and a token it signed with the claims
// labreview's tokens carry, so bare handlers verify tokens of the same size.
func bareTokens(t testing.TB, k auth.Key) (*auth.Tokens, string) {
	cfg := testAuthConfig()
	tokens, err := auth.NewTokens(auth.TokenConfig{Algorithm: k.Algorithm, Issuer: cfg.Issuer, Audience: cfg.Audience,
		TTL: time.Hour, Leeway: 5 * time.Second}, []auth.Key{k})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := tokens.Issue("0123456789abcdef01234567", "bare-session-id-0123456789abcdefghij", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	return tokens, token
}

// bareJWTHandler is a minimal Gin app: verify the bearer token, answer its
// claims.
func bareJWTHandler(tokens *auth.Tokens) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/api/me", func(c *gin.Context) {
		claims, err := tokens.Verify(strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer "))
		if err != nil {
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": claims.Subject, "role": claims.Role})
	})
	return r
}

// bareStaticHandler writes a UI file's bytes from memory (its precompressed
// variant for encoding "gzip" or "br", else the file as it is) with the
// same headers, names and values, as labreview's answer (the request ID is
// a constant of the same length): the like-for-like baseline for serving
// the UI.
func bareStaticHandler(t testing.TB, name, encoding string) http.Handler {
	site, err := newSPA(os.DirFS(distDir))
	if err != nil {
		t.Fatal(err)
	}
	f := site.files[name]
	if f == nil {
		t.Fatalf("%s not in %s", name, distDir)
	}
	fv, err := f.variants()
	if err != nil {
		t.Fatal(err)
	}
	v := &fv.identity
	switch encoding {
	case "gzip":
		v = fv.gzip
	case "br":
		v = fv.brotli
	}
	if v == nil {
		t.Fatalf("%s has no %s variant", name, encoding)
	}
	header := http.Header{
		"X-Request-Id":   {"abcdefghijklmnop"},
		"Content-Type":   f.contentType,
		"Cache-Control":  f.cacheControl,
		"Etag":           v.etag,
		"Content-Length": v.length,
		"Accept-Ranges":  {"bytes"},
	}
	for _, sh := range securityHeaderValues {
		header[sh.key] = sh.value
	}
	if f.compressed {
		header["Vary"] = []string{"Accept-Encoding"}
	}
	if v.encoding != nil {
		header["Content-Encoding"] = v.encoding
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		for k, v := range header {
			h[k] = v
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(v.data)
	})
}

// serveOn serves h on addr until the test ends and returns its base URL.
func serveOn(t testing.TB, addr string, h http.Handler) string {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// entryScriptPattern finds the module script index.html loads: the main
// hashed bundle.
var entryScriptPattern = regexp.MustCompile(`<script[^>]+src="/(assets/[^"]+\.js)"`)

// entryScript returns the path of the main JS bundle, which is what every
// first page load fetches.
func entryScript(t testing.TB, ui fs.FS) string {
	t.Helper()
	index, err := fs.ReadFile(ui, "index.html")
	if err != nil {
		t.Fatalf("%s/index.html missing: run `make build` first", distDir)
	}
	m := entryScriptPattern.FindSubmatch(index)
	if m == nil {
		t.Fatalf("%s/index.html loads no module script", distDir)
	}
	return string(m[1])
}
