// Package fileserve writes a run's file as an HTTP answer, the same way for
// labreview's own file endpoints and MLflow's artifact proxy: the stored
// type (never one a browser runs: runs.ContentType), inline only for
// images and text when asked for, a download otherwise, and a
// Content-Security-Policy that forbids the answer everything (no scripts,
// no plugins, a sandbox) even if a browser were to render it.
package fileserve

import (
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"

	"labreview/db"
	"labreview/runs"
)

// CSP is the policy of every file answer.
const CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"

// Write sends f's bytes from body. inline asks for display in the page
// (granted to images and text only).
func Write(w http.ResponseWriter, r *http.Request, f *db.Artifact, body io.Reader, inline bool) error {
	h := w.Header()
	disposition := "attachment"
	if inline && runs.InlineSafe(f.ContentType) {
		disposition = "inline"
	}
	name := path.Base(f.Path)
	cd := mime.FormatMediaType(disposition, map[string]string{"filename": name})
	if cd == "" { // a name mime cannot encode: no file name then
		cd = disposition
	}
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", cd)
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", `"`+f.SHA256+`"`)
	if match := r.Header.Get("If-None-Match"); match != "" && match == `"`+f.SHA256+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := io.Copy(w, body)
	return err
}
