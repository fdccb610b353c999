package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth"
	"labreview/db"
	"labreview/db/query"
	"labreview/runs"
)

// Error is an error with a client-facing status, stable code and message.
// Handlers return it (or a db/auth sentinel) and writeError turns it into
// the one JSON error shape:
//
//	{"error": "<code>", "message": "<text>", "request_id": "<id>", "details": [...]}
type Error struct {
	Status  int
	Code    string
	Message string
	Details []FieldError
	// RetryAfter, in seconds, is sent as the Retry-After header when > 0.
	RetryAfter int
	// Position locates a query syntax error.
	Position *QueryPosition
}

// QueryPosition is where a query went wrong: the 1-based character column
// and the byte offset.
type QueryPosition struct {
	Column int `json:"column"`
	Offset int `json:"offset"`
}

// FieldError names one invalid input field. For a bad point of a series
// batch, Series names its series and Index its place in the series' array
// (no index: the whole series, for a bad name).
type FieldError struct {
	Field   string  `json:"field"`
	Message string  `json:"message"`
	Series  *string `json:"series,omitempty"`
	Index   *int    `json:"index,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// errorBody is the wire shape of every error response.
type errorBody struct {
	Error     string       `json:"error"`
	Message   string       `json:"message"`
	RequestID string       `json:"request_id,omitempty"`
	Details   []FieldError `json:"details,omitempty"`
	// Position, for invalid_query, locates the problem in q.
	Position *QueryPosition `json:"position,omitempty"`
}

// statusClientClosedRequest is nginx's 499: the client closed the
// connection before the answer (only the access log sees it).
const statusClientClosedRequest = 499

// databaseRetryAfter is how long clients are told to wait when the database
// is unreachable.
const databaseRetryAfter = 5

// storageRetryAfter is longer: a full or read-only disk needs an operator.
const storageRetryAfter = 60

var (
	errNotFound = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "The requested resource does not exist."}
	errInternal = &Error{Status: http.StatusInternalServerError, Code: "internal_error",
		Message: "Something went wrong on our side. Quote the request ID when reporting it."}
	errUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "database_unavailable",
		Message: "The database cannot be reached right now. Try again shortly.", RetryAfter: databaseRetryAfter}
	errBusy = &Error{Status: http.StatusServiceUnavailable, Code: "busy", RetryAfter: 1,
		Message: "The server is busy checking passwords. Try again in a moment."}
	errLeaseBusy = &Error{Status: http.StatusServiceUnavailable, Code: "busy", RetryAfter: 1,
		Message: "Another write to this run is in progress. Try again in a moment."}
	errSeriesReadBusy = &Error{Status: http.StatusServiceUnavailable, Code: "busy", RetryAfter: 1,
		Message: "The server is busy reading series points. Try again in a moment."}
	errStorage = &Error{Status: http.StatusServiceUnavailable, Code: "storage_unavailable",
		Message:    "The server cannot write to its data folder (disk full, read-only or failing). Nothing was changed; an operator has been alerted in the server log.",
		RetryAfter: storageRetryAfter}
	errInvalidCredentials = &Error{Status: http.StatusUnauthorized, Code: "invalid_grant",
		Message: "Wrong email or password."}
	errInvalidRefresh = &Error{Status: http.StatusUnauthorized, Code: "invalid_refresh_token",
		Message: "The session has ended. Sign in again."}
	errTooLarge = &Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
		Message: "The request body is larger than this endpoint accepts."}
)

// toError maps any error to the client-facing Error. This is the only place
// where internal errors become HTTP statuses.
func toError(err error) (e *Error, known bool) {
	var apiErr *Error
	var tooLarge *http.MaxBytesError
	var throttled *auth.ThrottledError
	var input *auth.InputError
	var runInput *runs.InputError
	var runLimit *runs.LimitError
	var queryErr *query.Error
	var points *runs.PointErrors
	var projectErr *runs.ProjectError
	var tokenErr *auth.TokenError
	var alive *runs.AliveError
	switch {
	case errors.As(err, &apiErr):
		return apiErr, true
	case errors.As(err, &tooLarge):
		return errTooLarge, true
	case errors.As(err, &input):
		return &Error{Status: http.StatusBadRequest, Code: input.Code, Message: input.Field + " " + input.Message + ".",
			Details: []FieldError{{Field: input.Field, Message: input.Message}}}, true
	case errors.As(err, &queryErr):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_query",
			Message:  fmt.Sprintf("The query is not valid at column %d: %s.", queryErr.Column, queryErr.Message),
			Details:  []FieldError{{Field: "q", Message: fmt.Sprintf("column %d: %s", queryErr.Column, queryErr.Message)}},
			Position: &QueryPosition{Column: queryErr.Column, Offset: queryErr.Pos}}, true
	case errors.Is(err, runs.ErrTooManyQueries):
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_queries", RetryAfter: 1,
			Message: "You have other queries running; this one waited too long for its turn. Try again in a moment."}, true
	case errors.Is(err, runs.ErrQueryTimeout):
		return &Error{Status: http.StatusBadRequest, Code: "query_timeout",
			Message: "The query took longer than 5 seconds. Narrow it: add a project, a status or a param or metric condition."}, true
	case errors.As(err, &points):
		return pointsError(points), true
	case errors.As(err, &runLimit):
		return &Error{Status: http.StatusConflict, Code: runLimit.Code, Message: runLimit.Field + ": " + runLimit.Message,
			Details: []FieldError{{Field: runLimit.Field, Message: runLimit.Message}}}, true
	case errors.As(err, &runInput):
		return &Error{Status: http.StatusBadRequest, Code: runInput.Code, Message: runInput.Field + ": " + runInput.Message,
			Details: []FieldError{{Field: runInput.Field, Message: runInput.Message}}}, true
	case errors.Is(err, auth.ErrNoSuchToken):
		return errNoSuchToken, true
	case errors.Is(err, auth.ErrTooManyTokens):
		return &Error{Status: http.StatusConflict, Code: "too_many_tokens",
			Message: "You hold the most active API tokens one may (auth.max_tokens_per_user). Revoke one you no longer use."}, true
	case errors.Is(err, runs.ErrBusy):
		return errSeriesReadBusy, true
	case errors.Is(err, runs.ErrFileTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "file_too_large",
			Message: "The file is larger than this server accepts (files.max_file_bytes)."}, true
	case errors.Is(err, runs.ErrFilesFull):
		return &Error{Status: http.StatusConflict, Code: "file_quota_exceeded",
			Message: "The project's files would pass files.max_project_bytes, or the run has files.max_files_per_run files. An admin can delete files or raise the limit."}, true
	case errors.Is(err, runs.ErrNoSuchFile):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "The run has no file at this path."}, true
	case errors.Is(err, runs.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No such run."}, true
	case errors.Is(err, runs.ErrDeleted):
		return &Error{Status: http.StatusConflict, Code: "run_deleted", Message: "The run is deleted; an admin can restore it."}, true
	case errors.As(err, &alive):
		return &Error{Status: http.StatusConflict, Code: "run_alive",
			Message: fmt.Sprintf("The run's job sent a sign of life at %s. A running run is closed once it is stale (silent for %s); until then its job may still end it.",
				alive.AliveAt.UTC().Format(time.RFC3339), alive.StaleAfter)}, true
	case errors.Is(err, runs.ErrRunEnded):
		return &Error{Status: http.StatusConflict, Code: "run_ended", Message: "The run has ended already: only queued and stale runs are closed."}, true
	case errors.Is(err, runs.ErrNoSuchSeries):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "The run has no series of this name."}, true
	case errors.Is(err, runs.ErrDeleteSeries):
		return &Error{Status: http.StatusForbidden, Code: "forbidden",
			Message: "Removing a whole series needs the runs:delete permission (admins); give from_step to truncate it."}, true
	case errors.Is(err, runs.ErrNotDeleted):
		return &Error{Status: http.StatusConflict, Code: "run_not_deleted", Message: "The run is not deleted."}, true
	case errors.Is(err, runs.ErrCommentNotYours):
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "Only its author can change this comment."}, true
	case errors.Is(err, runs.ErrBaseline):
		return &Error{Status: http.StatusConflict, Code: "baseline_not_approved",
			Message: "A baseline is an approved, live run of the same project."}, true
	case errors.Is(err, runs.ErrUndo):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No review batch of yours with this id."}, true
	case errors.Is(err, runs.ErrTooManyViews):
		return &Error{Status: http.StatusConflict, Code: "too_many_views",
			Message: fmt.Sprintf("You have %d saved views, the most one can keep. Delete one, or replace one by saving under its name.", runs.MaxViewsPerUser)}, true
	case errors.Is(err, runs.ErrNoSuchView):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "You have no saved view of this name."}, true
	case errors.As(err, &projectErr):
		return &Error{Status: http.StatusForbidden, Code: "project_not_allowed", Details: []FieldError{{Field: "project", Message: "not allowed"}},
			Message: fmt.Sprintf("This API token may not write to project %q; it is limited to %s.", projectErr.Project, quotedList(projectErr.Projects))}, true
	case errors.Is(err, runs.ErrProject):
		return &Error{Status: http.StatusForbidden, Code: "project_not_allowed", Message: "This API token is limited to other projects."}, true
	case errors.As(err, &throttled):
		secs := int((throttled.RetryAfter + time.Second - 1) / time.Second)
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts", RetryAfter: max(secs, 1),
			Message: fmt.Sprintf("Too many failed %s. Try again in %s.", throttled.What(), (time.Duration(max(secs, 1)) * time.Second).String())}, true
	case errors.Is(err, auth.ErrInvalidCredentials):
		return errInvalidCredentials, true
	case errors.As(err, &tokenErr):
		return apiTokenError(tokenErr), true
	case errors.Is(err, auth.ErrInvalidToken):
		return errInvalidToken, true
	case errors.Is(err, auth.ErrInvalidRefresh):
		return errInvalidRefresh, true
	case errors.Is(err, auth.ErrForbidden):
		return errForbidden, true
	case errors.Is(err, auth.ErrLastAdmin):
		return &Error{Status: http.StatusConflict, Code: "last_admin", Message: "The last admin cannot be demoted, disabled or deleted."}, true
	case errors.Is(err, auth.ErrEmailConfusable):
		return &Error{Status: http.StatusConflict, Code: "email_confusable",
			Message: "This address looks like the address of an existing account (it differs only in look-alike characters). Use a plainly different address.",
			Details: []FieldError{{Field: "email", Message: "looks like an existing address"}}}, true
	case errors.Is(err, auth.ErrEmailTaken):
		return &Error{Status: http.StatusConflict, Code: "email_taken", Message: "Another account uses this email address.",
			Details: []FieldError{{Field: "email", Message: "already in use"}}}, true
	case errors.Is(err, auth.ErrSetupToken):
		return &Error{Status: http.StatusForbidden, Code: "invalid_setup_token",
			Message: "The setup link is wrong or has expired. Restart the server to log a new one."}, true
	case errors.Is(err, auth.ErrSetupDone):
		return &Error{Status: http.StatusConflict, Code: "setup_done", Message: "Setup is already done: an admin exists."}, true
	case errors.Is(err, auth.ErrRateLimited):
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_requests", RetryAfter: 10,
			Message: "Too many requests for this session. Slow down."}, true
	case errors.Is(err, auth.ErrBusy):
		return errBusy, true
	case errors.Is(err, db.ErrStorage):
		return errStorage, true
	case errors.Is(err, db.ErrUnavailable):
		return errUnavailable, true
	case errors.Is(err, db.ErrLeaseHeld):
		// Writers to one run's series took turns for longer than the
		// lease wait: worth retrying, like any busy answer.
		return errLeaseBusy, true
	case errors.Is(err, db.ErrNotFound):
		return errNotFound, true
	case errors.Is(err, db.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: "The request conflicts with the current state."}, true
	default:
		return errInternal, false
	}
}

// apiTokenError says why an API token was refused.
func apiTokenError(e *auth.TokenError) *Error {
	msg := "The API token was refused."
	switch e.Reason {
	case auth.TokenMalformed:
		msg = "This is not an API token of labreview (lrt_ and 43 letters, digits, - and _): check that it was copied whole."
	case auth.TokenUnknown:
		msg = "This API token is not known to this server: it is mistyped or cut short, or it was made on another labreview server."
	case auth.TokenRevoked:
		msg = "This API token was revoked on " + e.At.UTC().Format("2006-01-02 15:04 MST") + ". Create a new one on the API tokens page."
	case auth.TokenExpired:
		msg = "This API token expired on " + e.At.UTC().Format("2006-01-02 15:04 MST") + ". Create a new one on the API tokens page."
	case auth.TokenOwnerGone:
		msg = "The account that made this API token no longer exists."
	case auth.TokenOwnerDisabled:
		msg = "The account that made this API token is disabled; an admin can enable it again."
	case auth.TokenScopeLost:
		msg = "This API token holds the " + e.Scope + " scope, which its owner's role no longer allows. Create a new token."
	}
	return &Error{Status: http.StatusUnauthorized, Code: errInvalidToken.Code, Message: msg}
}

func quotedList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	switch len(q) {
	case 0:
		return "no project"
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// pointsError names the bad points of a refused series batch.
func pointsError(e *runs.PointErrors) *Error {
	out := &Error{Status: http.StatusBadRequest, Code: "invalid"}
	switch {
	case e.Total == 1:
		out.Message = "A point of the batch is invalid (details says which); nothing was stored. Drop it and send the rest again."
	case e.Total <= len(e.Points):
		out.Message = fmt.Sprintf("%d points of the batch are invalid (details says which); nothing was stored. Drop them and send the rest again.", e.Total)
	default:
		out.Message = fmt.Sprintf("%d points of the batch are invalid (details names the first %d); nothing was stored. Drop them and send the rest again.",
			e.Total, len(e.Points))
	}
	for _, p := range e.Points {
		fe := FieldError{Field: "series", Message: p.Message, Series: &p.Series}
		if p.Index >= 0 {
			fe.Index = &p.Index
		}
		out.Details = append(out.Details, fe)
	}
	return out
}

// writeError sends err as the JSON error shape and aborts the chain.
// Unknown errors are logged with the request ID and answered with a generic
// 500: their text (driver messages, file paths) never reaches the client.
func (s *Server) writeError(c *gin.Context, err error) {
	ctx := c.Request.Context()
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away (a browser cancelled a superseded request):
		// nobody reads an answer, and it is no server error.
		s.log.DebugContext(ctx, "request cancelled by the client", "request_id", requestIDOf(c), "path", c.Request.URL.Path)
		c.AbortWithStatus(statusClientClosedRequest)
		return
	}
	e, known := toError(err)
	switch {
	case !known:
		s.log.ErrorContext(ctx, "request failed",
			"request_id", requestIDOf(c), "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	case e == errStorage:
		s.sampled.log(ctx, s.log, slog.LevelError, "the data folder refuses writes: free disk space or make it writable",
			"request_id", requestIDOf(c), "path", c.Request.URL.Path, "err", err)
	case e == errLeaseBusy:
		s.sampled.log(ctx, s.log, slog.LevelWarn, "concurrent series writes to one run waited past the lease: answered 503 busy",
			"request_id", requestIDOf(c), "path", c.Request.URL.Path)
	case e == errInsecureTransport:
		// The person at the browser sees the reason; the operator should too.
		s.sampled.log(ctx, s.log, slog.LevelWarn, "sign-in refused over plain HTTP to a host other than localhost: "+
			"turn HTTPS on (server.tls.mode: self-signed, or a TLS-terminating proxy) or, on a closed lab network only, "+
			"set auth.allow_insecure_cookies: true",
			"request_id", requestIDOf(c), "path", c.Request.URL.Path, "host", logSafeHost(c.Request.Host))
	case e == errBusy:
		// Overload, not an outage: the hashing pool is full.
		s.sampled.log(ctx, s.log, slog.LevelWarn, "password hashing saturated: sign-ins answered 503 busy",
			"request_id", requestIDOf(c), "path", c.Request.URL.Path)
	case e == errSeriesReadBusy || e == errIngestBusy:
		// Overload: series reads or writes waited past their turn.
		s.sampled.log(ctx, s.log, slog.LevelWarn, "series reads or writes saturated: answered 503 busy",
			"request_id", requestIDOf(c), "path", c.Request.URL.Path)
	case e.Status == http.StatusServiceUnavailable:
		s.sampled.log(ctx, s.log, slog.LevelWarn, "database unavailable",
			"request_id", requestIDOf(c), "path", c.Request.URL.Path, "err", err)
	}
	if e.Code == errInvalidToken.Code {
		c.Header("WWW-Authenticate", `Bearer realm="labreview", error="invalid_token"`)
	}
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(e.Status, errorBody{
		Error:     e.Code,
		Message:   e.Message,
		RequestID: requestIDOf(c),
		Details:   e.Details,
		Position:  e.Position,
	})
}

// sampledLog writes a repeated operational message at most once per
// interval, with the number of repeats it held back, so a flood of
// identical failures (a login flood, a database outage) cannot flood the
// log.
type sampledLog struct {
	mu       sync.Mutex
	interval time.Duration
	last     map[string]time.Time
	held     map[string]int
}

func newSampledLog(interval time.Duration) *sampledLog {
	return &sampledLog{interval: interval, last: map[string]time.Time{}, held: map[string]int{}}
}

func (l *sampledLog) log(ctx context.Context, logger *slog.Logger, level slog.Level, msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last[msg]) < l.interval {
		l.held[msg]++
		l.mu.Unlock()
		return
	}
	held := l.held[msg]
	l.last[msg], l.held[msg] = now, 0
	l.mu.Unlock()
	if held > 0 {
		args = append(args, "repeats_not_logged", held)
	}
	logger.Log(ctx, level, msg, args...)
}

// logSafeHost is the request's Host header cut to a loggable host[:port]:
// at most 100 characters of letters, digits and . - : [ ].
func logSafeHost(h string) string {
	if len(h) > 100 {
		h = h[:100]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r) {
			return r
		}
		return '_'
	}, h)
}
