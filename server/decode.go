package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

var (
	errUnsupportedMediaType = &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Message: "Send the body as application/json."}
	errBadJSON = &Error{Status: http.StatusBadRequest, Code: "invalid_request",
		Message: "The body is not a valid JSON object of the expected shape."}
)

// mediaType returns the request's Content-Type without parameters.
func mediaType(c *gin.Context) string {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

// decodeJSON reads exactly one JSON object into dst. Unknown fields, wrong
// types (an operator object where a string belongs, say), trailing data and
// a wrong content type are refused.
func decodeJSON(c *gin.Context, dst any) error {
	if mediaType(c) != "application/json" {
		return errUnsupportedMediaType
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return errBadJSON
	}
	return nil
}

func jsonError(err error) error {
	var tooLarge *http.MaxBytesError
	var unknown *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.As(err, &unknown):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request",
			Message: "Field " + unknown.Field + " has the wrong type.", Details: []FieldError{{Field: unknown.Field, Message: "wrong type"}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request",
			Message: "Unknown field " + field + ".", Details: []FieldError{{Field: field, Message: "unknown field"}}}
	default:
		return errBadJSON
	}
}

// limitBodyTo refuses bodies over n bytes: at once when Content-Length says
// so, and while reading otherwise (the decoder then sees *http.MaxBytesError).
// The engine applies it with server.max_body_bytes; route groups lower it
// (login: 16 KiB).
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
