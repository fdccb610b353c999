package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// spa serves the built web UI from memory. Files are read and hashed once at
// start; Vite's precompressed .br and .gz siblings are served to clients
// that accept them.
type spa struct {
	files map[string]*staticFile // by slash path without leading "/"
	index *staticFile            // nil when the UI was not built
}

type staticFile struct {
	contentType  string
	cacheControl string
	identity     variant
	brotli       *variant
	gzip         *variant
}

type variant struct {
	data     []byte
	etag     string
	encoding string // Content-Encoding value; "" for identity
	length   string
}

// Cache policies: Vite puts a content hash in every name under assets/, so
// those never change; everything else must be revalidated.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
	assetsPrefix    = "assets/"
	indexName       = "index.html"
	notBuiltMessage = "labreview: web UI not built"
)

func newSPA(fsys fs.FS) (*spa, error) {
	s := &spa{files: map[string]*staticFile{}}
	if fsys == nil {
		return s, nil
	}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
			return nil // hidden files and compressed siblings are not served by their own name
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		f := &staticFile{
			contentType:  contentTypeOf(name),
			cacheControl: cacheRevalidate,
			identity:     newVariant(data, ""),
		}
		if strings.HasPrefix(name, assetsPrefix) {
			f.cacheControl = cacheImmutable
		}
		if br, err := fs.ReadFile(fsys, name+".br"); err == nil {
			v := newVariant(br, "br")
			f.brotli = &v
		}
		if gz, err := fs.ReadFile(fsys, name+".gz"); err == nil {
			v := newVariant(gz, "gzip")
			f.gzip = &v
		}
		s.files[name] = f
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	s.index = s.files[indexName]
	return s, nil
}

func newVariant(data []byte, encoding string) variant {
	sum := sha256.Sum256(data)
	tag := hex.EncodeToString(sum[:12])
	if encoding != "" {
		tag += "-" + encoding // a strong ETag names one exact byte sequence
	}
	return variant{data: data, etag: `"` + tag + `"`, encoding: encoding, length: strconv.Itoa(len(data))}
}

func contentTypeOf(name string) string {
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// serve answers a GET or HEAD for a path outside /api: the file when there
// is one, index.html for client-side routes, and 404 for a missing file
// under assets/ (a stale chunk must fail loudly, not parse HTML as script).
func (s *spa) serve(c *gin.Context) (handled bool) {
	name := strings.TrimPrefix(path.Clean("/"+c.Request.URL.Path), "/")
	f, ok := s.files[name]
	switch {
	case ok && name != indexName:
	case name == assetsPrefix[:len(assetsPrefix)-1] || strings.HasPrefix(name, assetsPrefix):
		return false
	case s.index == nil:
		serveNotBuilt(c)
		return true
	default:
		f = s.index
	}
	s.serveFile(c, f)
	return true
}

func (s *spa) serveFile(c *gin.Context, f *staticFile) {
	v := &f.identity
	h := c.Writer.Header()
	if f.brotli != nil || f.gzip != nil {
		h.Set("Vary", "Accept-Encoding")
		switch accepted := acceptedEncodings(c.GetHeader("Accept-Encoding")); {
		case f.brotli != nil && accepted.br:
			v = f.brotli
		case f.gzip != nil && accepted.gzip:
			v = f.gzip
		}
	}
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", f.cacheControl)
	h.Set("ETag", v.etag)
	if v.encoding != "" {
		// ServeContent leaves Content-Length unset for encoded bodies (it
		// cannot know how ranges relate to them); ranges of a compressed
		// asset help nobody, so they are ignored and the length is known.
		h.Set("Content-Encoding", v.encoding)
		h.Set("Content-Length", v.length)
		c.Request.Header.Del("Range")
	}
	// ServeContent answers If-None-Match with 304, handles HEAD and ranges
	// of identity bodies, and sets Content-Length for them.
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, bytes.NewReader(v.data))
}

type encodings struct{ br, gzip bool }

// acceptedEncodings parses Accept-Encoding, honouring q=0 refusals and "*".
func acceptedEncodings(header string) encodings {
	var e encodings
	star, brSeen, gzipSeen := false, false, false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		ok := qualityPositive(params)
		switch name {
		case "br":
			e.br, brSeen = ok, true
		case "gzip", "x-gzip":
			e.gzip, gzipSeen = ok, true
		case "*":
			star = ok
		}
	}
	if star {
		e.br = e.br || !brSeen
		e.gzip = e.gzip || !gzipSeen
	}
	return e
}

func qualityPositive(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, found := strings.Cut(strings.TrimSpace(p), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err == nil && q > 0
	}
	return true
}

// notBuiltPage is what / shows when the binary was built without the UI.
// No inline style or script: it must satisfy the same CSP as the real UI.
const notBuiltPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>` + notBuiltMessage + `</title></head>
<body>
<h1>The labreview web UI was not built into this binary</h1>
<p>The server and its API are running. To get the web UI, build it and then the binary again:</p>
<pre>make build</pre>
<p>or by hand: <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>, then <code>go build -o bin/labreview .</code></p>
</body>
</html>
`

func serveNotBuilt(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(notBuiltPage))
}
