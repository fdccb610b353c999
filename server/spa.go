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
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// spa serves the built web UI from memory. Each file is read and hashed the
// first time it is asked for (the whole UI is 4.6 MB with its compressed
// copies, and most of it, such as the password-strength dictionaries, is
// never requested by a given process: reading it all at start cost 10–30 ms
// and its copy in memory). Vite's precompressed .br and .gz siblings are
// served to clients that accept them.
type spa struct {
	files map[string]*staticFile // by slash path without leading "/"
	index *staticFile            // nil when the UI was not built
}

// Header values are kept as the slices the header map holds, so serving a
// file assigns them without allocating (see headerValue).
type staticFile struct {
	contentType  []string
	cacheControl []string
	fsys         fs.FS
	name         string
	compressed   bool // a .br or .gz sibling exists

	once   sync.Once
	loaded *fileVariants
	err    error
}

// fileVariants are a file's bytes as sent: as built, and compressed.
type fileVariants struct {
	identity variant
	brotli   *variant
	gzip     *variant
}

// variants reads the file and its compressed siblings once.
func (f *staticFile) variants() (*fileVariants, error) {
	f.once.Do(func() {
		data, err := fs.ReadFile(f.fsys, f.name)
		if err != nil {
			f.err = err
			return
		}
		fv := &fileVariants{identity: newVariant(data, "")}
		if br, err := fs.ReadFile(f.fsys, f.name+".br"); err == nil {
			v := newVariant(br, "br")
			fv.brotli = &v
		}
		if gz, err := fs.ReadFile(f.fsys, f.name+".gz"); err == nil {
			v := newVariant(gz, "gzip")
			fv.gzip = &v
		}
		f.loaded = fv
	})
	return f.loaded, f.err
}

type variant struct {
	data     []byte
	etag     []string
	encoding []string // Content-Encoding value; nil for identity
	length   []string
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
	names := map[string]bool{}
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
		if !strings.HasPrefix(d.Name(), ".") {
			names[name] = true
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for name := range names {
		if strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
			continue // compressed siblings are not served by their own name
		}
		f := &staticFile{
			contentType:  headerValue(contentTypeOf(name)),
			cacheControl: headerValue(cacheRevalidate),
			fsys:         fsys,
			name:         name,
			compressed:   names[name+".br"] || names[name+".gz"],
		}
		if strings.HasPrefix(name, assetsPrefix) {
			f.cacheControl = headerValue(cacheImmutable)
		}
		s.files[name] = f
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
	v := variant{data: data, etag: headerValue(`"` + tag + `"`), length: headerValue(strconv.Itoa(len(data)))}
	if encoding != "" {
		v.encoding = headerValue(encoding)
	}
	return v
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
	p := c.Request.URL.Path
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	// path.Clean returns a clean path as it is, without allocating.
	name := strings.TrimPrefix(path.Clean(p), "/")
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

// Range requests are honoured for files of at least minRangedSize bytes
// and at most maxRanges ranges.
const (
	minRangedSize = 64 << 10
	maxRanges     = 8
)

var (
	varyAcceptEncoding = headerValue("Accept-Encoding")
	acceptRangesBytes  = headerValue("bytes")
)

func (s *spa) serveFile(c *gin.Context, f *staticFile) {
	fv, err := f.variants()
	if err != nil {
		c.Error(err) //nolint:errcheck // recorded for the log; the answer is below
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	v := &fv.identity
	r := c.Request
	h := c.Writer.Header()
	if f.compressed {
		h["Vary"] = varyAcceptEncoding
		switch accepted := acceptedEncodings(r.Header.Get("Accept-Encoding")); {
		case fv.brotli != nil && accepted.br:
			v = fv.brotli
		case fv.gzip != nil && accepted.gzip:
			v = fv.gzip
		}
	}
	h["Content-Type"] = f.contentType
	h["Cache-Control"] = f.cacheControl
	h["Etag"] = v.etag
	ranged := r.Header.Get("Range") != ""
	if ranged && (len(v.data) < minRangedSize || strings.Count(r.Header.Get("Range"), ",") >= maxRanges) {
		// Ranges help resume large downloads; on a small file, or many at
		// once, they only multiply what is sent (600 ranges of the 629-byte
		// index.html came to 85 KB). Such requests get the whole file.
		ranged = false
		r.Header.Del("Range")
	}
	if v.encoding != nil {
		// Ranges of a compressed asset help nobody, so they are ignored
		// and the whole body is sent, with its length (which ServeContent
		// leaves unset for encoded bodies, not knowing how ranges relate
		// to them).
		h["Content-Encoding"] = v.encoding
		h["Content-Length"] = v.length
		ranged = false
		r.Header.Del("Range")
	}
	if !ranged && r.Header.Get("If-None-Match") == "" && r.Header.Get("If-Match") == "" {
		// Nearly every request: the whole body, unconditionally. This is
		// http.ServeContent's answer (it ignores If-Modified-Since and
		// If-Unmodified-Since without a modification time), written with
		// one Write. ServeContent copies through a 32 KiB buffer it
		// allocates per request, one write system call per 32 KiB.
		h["Accept-Ranges"] = acceptRangesBytes
		h["Content-Length"] = v.length
		c.Writer.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = c.Writer.Write(v.data)
		}
		return
	}
	// ServeContent answers If-None-Match with 304, If-Match with 412, and
	// ranges of identity bodies with 206 (setting Content-Length for them).
	http.ServeContent(c.Writer, r, "", time.Time{}, bytes.NewReader(v.data))
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
