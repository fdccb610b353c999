package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"
	"github.com/gin-gonic/gin"
)

func TestUIDocument(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, builtUI(t))
	for _, path := range []string{"/", "/index.html", "/results/42", "/results/42/", "/setup?token=abc", "/.keep", "/a/b/c.d"} {
		t.Run(path, func(t *testing.T) {
			rec := srv.do(request{path: path})
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			if rec.Body.String() != indexHTML {
				t.Fatalf("body is not index.html: %q", rec.Body.String())
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Fatalf("Content-Type %q", ct)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
				t.Fatalf("Cache-Control %q, want no-cache", cc)
			}
			if rec.Header().Get("ETag") == "" {
				t.Fatal("no ETag")
			}
		})
	}
}

func TestUIAssets(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, builtUI(t))
	const asset = "/assets/index-Ab12Cd34.js"
	original := strings.Repeat(appJS, 3000)

	cases := []struct {
		name           string
		acceptEncoding string
		wantEncoding   string
	}{
		{"brotli preferred", "gzip, deflate, br, zstd", "br"},
		{"gzip only", "gzip", "gzip"},
		{"brotli refused", "br;q=0, gzip;q=0.8", "gzip"},
		{"everything refused", "br;q=0, gzip;q=0", ""},
		{"star", "*", "br"},
		{"star minus br", "*, br;q=0", "gzip"},
		{"none", "", ""},
	}
	etags := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := srv.do(request{path: asset, headers: map[string]string{"Accept-Encoding": tc.acceptEncoding}})
			h := rec.Header()
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			if got := h.Get("Content-Encoding"); got != tc.wantEncoding {
				t.Fatalf("Content-Encoding %q, want %q", got, tc.wantEncoding)
			}
			if got := h.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Fatalf("Cache-Control %q", got)
			}
			if got := h.Get("Vary"); got != "Accept-Encoding" {
				t.Fatalf("Vary %q", got)
			}
			if got := h.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
				t.Fatalf("Content-Type %q", got)
			}
			if got := h.Get("Content-Length"); got != strconv.Itoa(rec.Body.Len()) {
				t.Fatalf("Content-Length %q for %d body bytes", got, rec.Body.Len())
			}
			if got := h.Get("Accept-Ranges"); got != "bytes" {
				t.Fatalf("Accept-Ranges %q", got)
			}
			if body := decode(t, tc.wantEncoding, rec.Body.Bytes()); body != original {
				t.Fatal("decoded body differs from the asset")
			}
			if tc.wantEncoding != "" && rec.Body.Len() >= len(original) {
				t.Fatalf("compressed body (%d bytes) not smaller than the original (%d)", rec.Body.Len(), len(original))
			}
			etag := h.Get("ETag")
			if prev, ok := etags[etag]; ok && prev != tc.wantEncoding {
				t.Fatalf("ETag %s names both %q and %q encodings", etag, prev, tc.wantEncoding)
			}
			etags[etag] = tc.wantEncoding

			// Revalidation with the ETag just received answers 304, no body.
			again := srv.do(request{path: asset, headers: map[string]string{
				"Accept-Encoding": tc.acceptEncoding, "If-None-Match": etag}})
			if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
				t.Fatalf("revalidation: status %d, %d body bytes", again.Code, again.Body.Len())
			}
			if again.Header().Get("ETag") != etag {
				t.Fatal("304 lacks the ETag")
			}
		})
	}

	t.Run("HEAD", func(t *testing.T) {
		rec := srv.do(request{method: "HEAD", path: asset, headers: map[string]string{"Accept-Encoding": "gzip"}})
		if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
			t.Fatalf("HEAD: status %d, %d body bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
		}
	})
	t.Run("range of the identity body", func(t *testing.T) {
		rec := srv.do(request{path: asset, headers: map[string]string{"Range": "bytes=10-19"}})
		h := rec.Header()
		if rec.Code != http.StatusPartialContent || rec.Body.String() != original[10:20] {
			t.Fatalf("status %d, body %q; want 206 with bytes 10-19", rec.Code, rec.Body)
		}
		if h.Get("Content-Range") != fmt.Sprintf("bytes 10-19/%d", len(original)) || h.Get("Content-Length") != "10" {
			t.Fatalf("Content-Range %q, Content-Length %q", h.Get("Content-Range"), h.Get("Content-Length"))
		}
		if h.Get("Content-Encoding") != "" || h.Get("Vary") != "Accept-Encoding" || h.Get("ETag") == "" {
			t.Fatalf("headers %v", h)
		}
	})
	t.Run("range ignored on a compressed body", func(t *testing.T) {
		rec := srv.do(request{path: asset, headers: map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=10-19"}})
		h := rec.Header()
		if rec.Code != 200 || h.Get("Content-Range") != "" || h.Get("Content-Encoding") != "gzip" {
			t.Fatalf("status %d, Content-Range %q, Content-Encoding %q", rec.Code, h.Get("Content-Range"), h.Get("Content-Encoding"))
		}
		if decode(t, "gzip", rec.Body.Bytes()) != original || h.Get("Content-Length") != fmt.Sprint(rec.Body.Len()) {
			t.Fatalf("body or Content-Length %q (%d bytes) is not the whole gzip file", h.Get("Content-Length"), rec.Body.Len())
		}
	})
	t.Run("unsatisfiable range", func(t *testing.T) {
		rec := srv.do(request{path: asset, headers: map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(original)+5)}})
		if rec.Code != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("status %d, want 416", rec.Code)
		}
	})
	t.Run("If-Match", func(t *testing.T) {
		rec := srv.do(request{path: asset, headers: map[string]string{"If-Match": `"other"`}})
		if rec.Code != http.StatusPreconditionFailed {
			t.Fatalf("status %d, want 412", rec.Code)
		}
	})
	t.Run("stale ETag", func(t *testing.T) {
		rec := srv.do(request{path: asset, headers: map[string]string{"If-None-Match": `"old"`}})
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
	})
	t.Run("asset without compressed siblings", func(t *testing.T) {
		rec := srv.do(request{path: "/assets/index-Zz99Yy88.css", headers: map[string]string{"Accept-Encoding": "br, gzip"}})
		if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != "body{margin:0}" {
			t.Fatalf("status %d encoding %q body %q", rec.Code, rec.Header().Get("Content-Encoding"), rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/css; charset=utf-8" {
			t.Fatalf("Content-Type %q", ct)
		}
	})
	t.Run("public file outside assets", func(t *testing.T) {
		rec := srv.do(request{path: "/favicon.svg"})
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/svg+xml" || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Fatalf("status %d type %q cache %q", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
		}
	})
	for _, missing := range []string{"/assets/index-Gone0000.js", "/assets", "/assets/", "/assets/index-Ab12Cd34.js.br"} {
		t.Run("missing "+missing, func(t *testing.T) {
			rec := srv.do(request{path: missing})
			if rec.Code != 404 {
				t.Fatalf("status %d, want 404", rec.Code)
			}
			decodeError(t, rec)
		})
	}
}

func decode(t *testing.T, encoding string, body []byte) string {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	switch encoding {
	case "br":
		r = brotli.NewReader(r)
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestUINotBuilt(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, fstest.MapFS{".keep": {}})
	for _, path := range []string{"/", "/results/7"} {
		rec := srv.do(request{path: path})
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "make build") {
			t.Fatalf("%s: status %d body %q", path, rec.Code, rec.Body)
		}
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Fatalf("%s: no CSP", path)
		}
	}
	if rec := srv.do(request{path: "/api/nope"}); rec.Code != 404 {
		t.Fatalf("/api/nope: status %d", rec.Code)
	}
}

func TestAcceptedEncodings(t *testing.T) {
	cases := map[string]encodings{
		"":                      {},
		"gzip":                  {gzip: true},
		"GZIP ; q=1":            {gzip: true},
		"br;q=0.1,gzip;q=0":     {br: true},
		"br;q=0.000":            {},
		"*;q=0":                 {},
		"*":                     {br: true, gzip: true},
		"identity, x-gzip":      {gzip: true},
		"br;q=abc":              {},
		"deflate, compress, br": {br: true},
	}
	for header, want := range cases {
		if got := acceptedEncodings(header); got != want {
			t.Errorf("%q: got %+v, want %+v", header, got, want)
		}
	}
}

// TestRecovery: a panicking handler yields the generic JSON 500, the panic is
// logged, and its text does not reach the client.
func TestRecovery(t *testing.T) {
	logs := &syncBuffer{}
	s := &Server{log: slog.New(slog.NewJSONHandler(logs, nil)), opts: Options{MaxBodyBytes: 1024}}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(s.requestID, s.recovery)
	r.GET("/boom", func(*gin.Context) { panic("secret internal detail /etc/path") })
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	if e := decodeError(t, rec); e.Error != "internal_error" {
		t.Fatalf("code %q", e.Error)
	}
	if strings.Contains(rec.Body.String(), "secret") {
		t.Fatal("panic text reached the client")
	}
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), "stack") {
		t.Fatalf("panic not logged with its stack: %s", logs)
	}
}
