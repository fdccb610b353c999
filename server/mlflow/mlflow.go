// Package mlflow serves MLflow's tracking REST API (2.x) on labreview's
// runs, so that jobs written for MLflow report into labreview with only
// MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN set. It translates: the
// rules stay in package runs and auth; the mapping is in docs/mlflow.md.
//
// MLflow's clients read errors as {"error_code": …, "message": …} and
// branch on the code, so this package writes its own error shape (the
// one place its errors become HTTP: writeError), not labreview's.
package mlflow

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"labreview/auth"
	"labreview/auth/policy"
	"labreview/db"
	"labreview/db/query"
	"labreview/runs"
)

// API serves the MLflow-compatible endpoints. Create it with New.
type API struct {
	log  *slog.Logger
	auth *auth.Service
	runs *runs.Service
}

// New builds the API.
func New(logger *slog.Logger, authn *auth.Service, review *runs.Service) *API {
	return &API{log: logger, auth: authn, runs: review}
}

const principalKey = "labreview.mlflow.principal"

// Error is an MLflow error: HTTP status, MLflow's error code, a message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// MLflow's error codes (databricks_pb2.ErrorCode) used here.
const (
	codeInvalidParameter = "INVALID_PARAMETER_VALUE"
	codeNotFound         = "RESOURCE_DOES_NOT_EXIST"
	codeExists           = "RESOURCE_ALREADY_EXISTS"
	codeDisabled         = "FEATURE_DISABLED"
	codeUnauthenticated  = "UNAUTHENTICATED"
	codePermission       = "PERMISSION_DENIED"
	codeUnavailable      = "TEMPORARILY_UNAVAILABLE"
	codeInternal         = "INTERNAL_ERROR"
	codeBadRequest       = "BAD_REQUEST"
	codeLimit            = "RESOURCE_LIMIT_EXCEEDED"
)

func invalidParam(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codeInvalidParameter, Message: sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: codeNotFound, Message: sprintf(format, args...)}
}

func disabled(what string) *Error {
	return &Error{Status: http.StatusNotImplemented, Code: codeDisabled,
		Message: what + " is not supported by labreview's MLflow-compatible API (docs/mlflow.md)."}
}

var (
	errUnauthenticated = &Error{Status: http.StatusUnauthorized, Code: codeUnauthenticated,
		Message: "Send an API token or access token: Authorization: Bearer … (set MLFLOW_TRACKING_TOKEN)."}
	errInvalidToken = &Error{Status: http.StatusUnauthorized, Code: codeUnauthenticated,
		Message: "The token is invalid, revoked or expired."}
	errScope = &Error{Status: http.StatusForbidden, Code: codePermission,
		Message: "This token's scopes or your role do not allow this."}
	errProject = &Error{Status: http.StatusForbidden, Code: codePermission,
		Message: "This API token is limited to other projects (experiments)."}
	errAdmin = &Error{Status: http.StatusForbidden, Code: codePermission,
		Message: "Deleted runs are listed for people with runs:delete (admins), not for API tokens."}
	errInternal = &Error{Status: http.StatusInternalServerError, Code: codeInternal,
		Message: "Something went wrong on our side. Quote the X-Request-ID header when reporting it."}
)

// toError maps any error to an MLflow error; known is false for errors
// that must be logged (their text never reaches the client).
func toError(err error) (e *Error, known bool) {
	var mlErr *Error
	var input *runs.InputError
	var changed *runs.ParamChangedError
	var queryErr *query.Error
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &mlErr):
		return mlErr, true
	case errors.As(err, &tooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: codeLimit, Message: "The request body is larger than this endpoint accepts."}, true
	case errors.As(err, &changed):
		return invalidParam("Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for run; attempted logging new value '%s'.",
			changed.Key, changed.Old, changed.New), true
	case errors.As(err, &input):
		return invalidParam("%s: %s", input.Field, input.Message), true
	case errors.As(err, &queryErr):
		return invalidParam("The filter cannot be searched here: %s.", queryErr.Message), true
	case errors.Is(err, runs.ErrQueryTimeout):
		return invalidParam("The search took longer than 5 seconds; narrow the filter."), true
	case errors.Is(err, runs.ErrFileTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "RESOURCE_EXHAUSTED", Message: "The file is larger than this server accepts (files.max_file_bytes)."}, true
	case errors.Is(err, runs.ErrFilesFull):
		return &Error{Status: http.StatusBadRequest, Code: codeLimit, Message: "The project's files would pass files.max_project_bytes, or the run has files.max_files_per_run files."}, true
	case errors.Is(err, runs.ErrNoSuchFile):
		return notFound("No such artifact."), true
	case errors.Is(err, runs.ErrNotFound):
		return notFound("Run not found."), true
	case errors.Is(err, runs.ErrDeleted):
		return invalidParam("The run is deleted; it must be restored (active) before it changes."), true
	case errors.Is(err, runs.ErrNotDeleted):
		return invalidParam("The run is not deleted."), true
	case errors.Is(err, runs.ErrProject):
		return errProject, true
	case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrInvalidCredentials):
		return errInvalidToken, true
	case errors.Is(err, auth.ErrForbidden):
		return errScope, true
	case errors.Is(err, db.ErrUnavailable), errors.Is(err, db.ErrLeaseHeld), errors.Is(err, auth.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "The server is busy or its database cannot be reached. Try again shortly."}, true
	case errors.Is(err, db.ErrStorage):
		return &Error{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "The server cannot write to its data folder. Nothing was changed; an operator has been alerted."}, true
	case errors.Is(err, db.ErrNotFound):
		return notFound("Not found."), true
	}
	return errInternal, false
}

// writeError sends err in MLflow's error shape and aborts the chain.
func (api *API) writeError(c *gin.Context, err error) {
	ctx := c.Request.Context()
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		c.AbortWithStatus(499) // the client went away; nobody reads an answer
		return
	}
	e, known := toError(err)
	if !known {
		api.log.ErrorContext(ctx, "mlflow request failed", "request_id", c.Writer.Header().Get("X-Request-ID"),
			"method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	}
	if e.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	if e.Code == codeUnauthenticated {
		c.Header("WWW-Authenticate", `Bearer realm="labreview"`)
	}
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(e.Status, gin.H{"error_code": e.Code, "message": e.Message})
}

// Authenticate takes an API token (lrt_…) or a signed-in user's access
// token from Authorization: Bearer, as labreview's run endpoints do.
func (api *API) Authenticate(c *gin.Context) {
	scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		api.writeError(c, errUnauthenticated)
		return
	}
	var p *auth.Principal
	var err error
	if auth.IsAPIToken(token) {
		p, err = api.auth.AuthenticateAPIToken(c.Request.Context(), token)
	} else {
		p, err = api.auth.Authenticate(c.Request.Context(), token)
	}
	if err != nil {
		api.writeError(c, err)
		return
	}
	c.Set(principalKey, p)
	c.Next()
}

// Require lets the request through when the caller holds perm on some
// project (the permission table, auth/policy: a person by role, a token
// by its scopes within its owner's role); runs checks the project.
func (api *API) Require(perm policy.Permission) gin.HandlerFunc {
	return func(c *gin.Context) {
		if principal(c).Can(perm, policy.Resource{}) {
			c.Next()
			return
		}
		e := *errScope
		e.Message = "This needs the " + string(perm) + " permission, which this token's scopes or your role do not give."
		if principal(c).IsToken() && !policy.TokenGrantable(perm) {
			e.Message = "This needs " + string(perm) + ", which API tokens cannot hold: a person signed in to labreview can do it."
		}
		api.writeError(c, &e)
	}
}

func principal(c *gin.Context) *auth.Principal {
	p, _ := c.Get(principalKey)
	pp, _ := p.(*auth.Principal)
	return pp
}

func actor(c *gin.Context) runs.Actor {
	p := principal(c)
	return runs.Actor{UserID: p.UserID, SessionID: p.SessionID, TokenID: p.TokenID, Access: p.Subject(),
		IP: c.ClientIP(), UserAgent: c.Request.UserAgent()}
}

// bind reads a request into v: a GET's query string (MLflow's clients send
// GET parameters there; repeated keys become lists), a POST's JSON body.
// Unknown fields are ignored, as MLflow's server ignores them (clients
// send run_uuid beside run_id).
func bind(c *gin.Context, v any) error {
	var body []byte
	if c.Request.Method == http.MethodGet {
		m := map[string]any{}
		for k, vals := range c.Request.URL.Query() {
			if len(vals) == 1 && !strings.HasSuffix(k, "[]") {
				m[k] = vals[0]
			} else {
				m[strings.TrimSuffix(k, "[]")] = vals
			}
		}
		body, _ = json.Marshal(m) // strings always marshal
	} else {
		var err error
		if body, err = io.ReadAll(c.Request.Body); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return err
			}
			return &Error{Status: http.StatusBadRequest, Code: codeBadRequest, Message: "The request body could not be read."}
		}
		if len(strings.TrimSpace(string(body))) == 0 {
			body = []byte("{}")
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return invalidParam("Invalid value for parameter '%s': not a %s.", typeErr.Field, typeErr.Type.Kind())
		}
		var flexErr *fieldError
		if errors.As(err, &flexErr) {
			return invalidParam("Invalid value for parameter '%s': %s", flexErr.field, flexErr.msg)
		}
		return &Error{Status: http.StatusBadRequest, Code: codeBadRequest, Message: "The request body is not a JSON object of this endpoint's fields."}
	}
	return nil
}

type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// int64Field is an int64 that MLflow clients send as a JSON number or, as
// protobuf's JSON mapping writes int64, as a string; set says it was sent.
type int64Field struct {
	v   int64
	set bool
}

func (f *int64Field) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// MLflow's Python client sends whole floats for some ints (2.0).
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return &fieldError{"number", "expected a whole number, got " + strconv.Quote(truncate(s, 40))}
		}
		n = int64(f)
	}
	f.v, f.set = n, true
	return nil
}

// floatField is a double: a JSON number, or "NaN", "Infinity", "-Infinity"
// as protobuf writes them (and numbers as strings).
type floatField struct {
	v   float64
	set bool
}

func (f *floatField) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var x db.Float
	if err := x.UnmarshalJSON(b); err == nil {
		f.v, f.set = float64(x), true
		return nil
	}
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return &fieldError{"value", "expected a number, got " + strconv.Quote(truncate(s, 40))}
	}
	f.v, f.set = v, true
	return nil
}

// stringList is a list of strings that a GET may send as one value.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &fieldError{"list", "expected a list of strings"}
	}
	*l = many
	return nil
}

// keyValue is MLflow's tag and param shape.
type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// reply writes a success: MLflow's clients take exactly 200 with a JSON
// object as success.
func reply(c *gin.Context, v any) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, v)
}

// experimentID is a project's experiment id: stable, derived from the
// name alone (so it survives export and import and is the same on both
// storage adapters), 16 decimal digits; the project Default is "0",
// MLflow's default experiment.
func experimentID(project string) string {
	if project == defaultExperiment {
		return "0"
	}
	h := sha256.Sum256([]byte(project))
	return strconv.FormatUint(binary.BigEndian.Uint64(h[:8])%9_000_000_000_000_000+1_000_000_000_000_000, 10)
}

// defaultExperiment is the project of MLflow's default experiment "0".
const defaultExperiment = "Default"

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
