package server

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"labreview/db"
)

var (
	errUnsupportedMediaType = &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Message: "Send the body as application/json, in UTF-8."}
	errBadJSON = &Error{Status: http.StatusBadRequest, Code: "invalid_request",
		Message: "The body is not a valid JSON object of the expected shape."}
)

// mediaType returns the request's Content-Type without parameters, or ""
// when it names a charset other than UTF-8: every body is read as UTF-8
// (JSON is UTF-8, RFC 8259), so "application/json; charset=utf-16" is
// refused (415) rather than read as something it says it is not.
func mediaType(c *gin.Context) string {
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil {
		return ""
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return ""
	}
	return strings.ToLower(mt)
}

// decodeJSON reads exactly one JSON object into dst, strictly: member
// names must match the field names exactly (no case folding), may appear
// once, and must be known; the text must be valid UTF-8 (escapes included);
// values must have the field's type; nothing may follow the object; and the
// content type must be JSON. Every handler that reads a JSON body uses it.
//
// encoding/json would accept {"password":"a","password":"b"} (last wins),
// {"ROLE":"admin"} for a field role, and invalid UTF-8 (replaced): the JSON
// v2 semantics of github.com/go-json-experiment/json refuse all three.
func decodeJSON(c *gin.Context, dst any) error {
	if mediaType(c) != "application/json" {
		return errUnsupportedMediaType
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return errBadJSON
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return errBadJSON
	}
	if err := json.Unmarshal(body, dst, json.RejectUnknownMembers(true)); err != nil {
		return jsonError(err)
	}
	return nil
}

func jsonError(err error) error {
	var sem *json.SemanticError
	var syn *jsontext.SyntacticError
	var metric *db.MetricError
	field := func(p jsontext.Pointer) string { return strings.TrimPrefix(string(p), "/") }
	switch {
	case errors.As(err, &sem) && errors.As(err, &metric):
		f := field(sem.JSONPointer) + "." + metric.Name
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request",
			Message: f + ": " + metric.Err.Error() + ".", Details: []FieldError{{Field: f, Message: metric.Err.Error()}}}
	case errors.As(err, &sem) && errors.Is(err, json.ErrUnknownName):
		f := field(sem.JSONPointer)
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request",
			Message: "Unknown field " + f + " (names are case-sensitive).", Details: []FieldError{{Field: f, Message: "unknown field"}}}
	case errors.As(err, &syn) && errors.Is(err, jsontext.ErrDuplicateName):
		f := field(syn.JSONPointer)
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request",
			Message: "Field " + f + " appears more than once.", Details: []FieldError{{Field: f, Message: "repeated"}}}
	case errors.As(err, &sem) && sem.JSONPointer != "":
		f := field(sem.JSONPointer)
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request",
			Message: "Field " + f + " has the wrong type.", Details: []FieldError{{Field: f, Message: "wrong type"}}}
	default:
		return errBadJSON
	}
}

// limitBodyTo refuses bodies over n bytes: at once when Content-Length says
// so, and while reading otherwise (the decoder then sees *http.MaxBytesError).
// The engine applies it with server.max_body_bytes; route groups lower it
// (login: 16 KiB).
// limitBody caps every body at server.max_body_bytes, except series
// batches, which may be larger (seriesBodyLimit).
func (s *Server) limitBody(c *gin.Context) {
	n := s.opts.MaxBodyBytes
	if c.Request.Method == http.MethodPost && c.FullPath() == "/api/runs/:id/series" {
		n = max(n, seriesBodyLimit)
	}
	if c.Request.Method == http.MethodPut && (c.FullPath() == "/api/runs/:id/files/*path" || c.FullPath() == mlflowArtifactsPath) {
		// A file: files.max_file_bytes, checked again (with a clearer
		// answer) as it is stored.
		n = s.runs.MaxFileBytes() + 1
	}
	s.limitBodyTo(n)(c)
}

func (s *Server) limitBodyTo(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			s.writeError(c, errTooLarge)
			return
		}
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}
