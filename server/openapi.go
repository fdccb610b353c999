package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth"
	"labreview/auth/policy"
	"labreview/db"
)

// The OpenAPI 3.1 description of the API (GET /api/openapi.json). Response
// schemas are derived from the Go types the handlers encode, so they
// cannot drift from the code; each route of routes.go needs an entry in
// apiOperations (TestOpenAPIDescribesEveryRoute), and every response the
// API tests record is validated against the document
// (openapi_validate_test.go). docs/openapi.json is the same document, kept
// for the UI's generated types (frontend/src/types/openapi.ts).

// Wrappers of list answers (the handlers write them as gin.H).
type (
	sessionsList struct {
		Sessions []sessionResponse `json:"sessions"`
	}
	commentsList struct {
		Comments []commentResponse `json:"comments"`
	}
	projectsList struct {
		Projects []projectResponse `json:"projects"`
	}
	reviewsList struct {
		Reviews []reviewEntryResponse `json:"reviews"`
	}
	tokensList struct {
		Tokens []apiTokenResponse `json:"tokens"`
	}
	usersList struct {
		Users []userResponse `json:"users"`
	}
	viewsList struct {
		Views []viewResponse `json:"views"`
	}
	setupStatus struct {
		Needed bool `json:"needed"`
	}
	liveness struct {
		Status string `json:"status"`
	}
	readyStatus struct {
		Status   string `json:"status"`
		Database string `json:"database"`
	}
	seriesIngest struct {
		Received int `json:"received"`
		Added    int `json:"added"`
	}
	// seriesReadout is what writeSeriesAnswer streams.
	seriesReadout struct {
		Series    []seriesDataResponse `json:"series"`
		MaxPoints int                  `json:"max_points"`
		Clock     *clockResponse       `json:"clock"`
	}
	// runsSeriesReadout is what writeRunsSeriesAnswer streams.
	runsSeriesReadout struct {
		Runs    []runSeriesReadout `json:"runs"`
		Missing []string           `json:"missing"`
	}
	runSeriesReadout struct {
		ID string `json:"id"`
		seriesReadout
	}
	seriesDataResponse struct {
		seriesResponse
		WindowCount int64        `json:"window_count"`
		Downsampled bool         `json:"downsampled"`
		Points      seriesPoints `json:"points"`
	}
	clockResponse struct {
		First float64 `json:"first"`
		Last  float64 `json:"last"`
	}
	// seriesPoints stands for the points appendPoint writes.
	seriesPoints []db.Point
	auditPage    struct {
		Events []auditResponse `json:"events"`
		Next   *string         `json:"next"`
	}
	filesPage struct {
		Files []fileResponse `json:"files"`
		Next  *string        `json:"next"`
	}
	seriesRemoved struct {
		Removed int64 `json:"removed"`
	}
)

// apiOperation describes one route.
type apiOperation struct {
	summary string
	tag     string
	// ok is the success status and its body type (nil: no body).
	ok   int
	body reflect.Type
	also []int // other success statuses with the same body (an idempotent repeat)
	// or is the body's alternative (nil: none): the answer is one of the two.
	or     reflect.Type
	params []apiParam
	// file: the request body (PUT) or the answer (GET) is a file's bytes,
	// of any media type.
	file bool
	// csv: the answer is CSV text.
	csv bool
}

type apiParam struct {
	name, in, description string
	required              bool
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

func q(name, description string) apiParam {
	return apiParam{name: name, in: "query", description: description}
}

// apiOperations describes every route of routes.go, by "METHOD /path" as
// the route table names them.
var apiOperations = map[string]apiOperation{
	"GET /healthz":                   {summary: "Liveness: 200 while the process serves HTTP", tag: "probes", ok: 200, body: typeOf[liveness]()},
	"HEAD /healthz":                  {summary: "Liveness, without a body", tag: "probes", ok: 200},
	"GET /readyz":                    {summary: "Readiness: 200 when the database answers; 503 database_unavailable with Retry-After otherwise", tag: "probes", ok: 200, body: typeOf[readyStatus]()},
	"HEAD /readyz":                   {summary: "Readiness, without a body", tag: "probes", ok: 200},
	"GET /.well-known/jwks.json":     {summary: "Public keys that verify access tokens", tag: "auth", ok: 200, body: typeOf[auth.JWKSet]()},
	"GET /api/health":                {summary: "Version and database state for the UI (200 even when the database is down)", tag: "probes", ok: 200, body: typeOf[healthResponse]()},
	"GET /api/openapi.json":          {summary: "This document", tag: "meta", ok: 200, body: typeOf[map[string]any]()},
	"GET /api/auth/jwks":             {summary: "Public keys that verify access tokens", tag: "auth", ok: 200, body: typeOf[auth.JWKSet]()},
	"GET /api/setup":                 {summary: "Whether first-run setup is needed", tag: "setup", ok: 200, body: typeOf[setupStatus]()},
	"POST /api/setup":                {summary: "Create the first admin with the logged one-time token; signs them in (refresh cookie)", tag: "setup", ok: 200, body: typeOf[tokenResponse]()},
	"POST /api/auth/login":           {summary: "OAuth2 password grant (form or JSON); sets the HttpOnly refresh cookie", tag: "auth", ok: 200, body: typeOf[tokenResponse]()},
	"POST /api/auth/refresh":         {summary: "Exchange the refresh cookie for an access token; rotates the cookie", tag: "auth", ok: 200, body: typeOf[tokenResponse]()},
	"POST /api/auth/logout":          {summary: "End this session (the refresh cookie's)", tag: "auth", ok: 204},
	"POST /api/auth/logout-all":      {summary: "End all of the caller's sessions", tag: "auth", ok: 204},
	"GET /api/auth/sessions":         {summary: "The caller's sessions", tag: "auth", ok: 200, body: typeOf[sessionsList]()},
	"DELETE /api/auth/sessions/{id}": {summary: "End one of the caller's sessions", tag: "auth", ok: 204},
	"GET /api/me":                    {summary: "The caller and their permissions", tag: "account", ok: 200, body: typeOf[meResponse]()},
	"POST /api/me/password":          {summary: "Change one's password (ends the other sessions)", tag: "account", ok: 204},
	"GET /api/me/views":              {summary: "The caller's saved views of the runs table", tag: "account", ok: 200, body: typeOf[viewsList]()},
	"PUT /api/me/views/{name}":       {summary: "Save a view by name (at most 100)", tag: "account", ok: 200, body: typeOf[viewResponse]()},
	"DELETE /api/me/views/{name}":    {summary: "Delete a saved view", tag: "account", ok: 204},
	"POST /api/tokens":               {summary: "Create an API token (lrt_…); the secret is in this answer only", tag: "tokens", ok: 201, body: typeOf[apiTokenResponse]()},
	"GET /api/tokens":                {summary: "List API tokens (one's own; all with tokens:manage-all)", tag: "tokens", ok: 200, body: typeOf[tokensList]()},
	"DELETE /api/tokens/{id}":        {summary: "Revoke an API token", tag: "tokens", ok: 204},
	"GET /api/runs": {summary: "Runs, newest first or sorted, keyset-paged", tag: "runs", ok: 200, body: typeOf[runsPage](),
		params: []apiParam{q("project", "only this project"), q("status", "queued, running, succeeded, failed, cancelled or stale"),
			q("q", "query (docs/query.md)"), q("sort", "field to sort by, - for descending"), q("limit", "page size"), q("cursor", "the previous page's next"),
			q("summaries", "comma-separated series names whose summaries each run carries in series (at most 20)")}},
	"GET /api/runs/keys": {summary: "Param paths, metric and series names of live runs, for completion", tag: "runs", ok: 200, body: typeOf[runKeysResponse](),
		params: []apiParam{q("project", "only this project"), q("prefix", "names starting with this")}},
	"GET /api/runs.csv": {summary: "The runs of a view as CSV (every page, at most 100,000 runs), streamed", tag: "runs", ok: 200, csv: true,
		params: []apiParam{q("project", "only this project"), q("status", "queued, running, succeeded, failed, cancelled or stale"),
			q("q", "query (docs/query.md)"), q("sort", "field to sort by, - for descending"),
			q("columns", "comma-separated: id, name, project, status, review, created, duration, tags, failure, …, params.<path>, metrics.<name>")}},
	"GET /api/runs/{id}/series.csv": {summary: "Series points as CSV, one line per point (series, step, value, time)", tag: "series", ok: 200, csv: true,
		params: []apiParam{q("names", "comma-separated series names"), q("from", "first step"), q("to", "last step"),
			q("max_points", "points in all at most (default and limit 100,000; X-Downsampled: true when cut by M4)")}},
	"GET /api/runs/batch": {summary: "Up to 100 runs by id, each with its series summaries; missing lists the ids that name no run the caller can read", tag: "runs", ok: 200,
		body: typeOf[runsBatch](), params: []apiParam{q("ids", "comma-separated run ids (1 to 100)"), q("id", "a run id (repeatable)")}},
	"GET /api/runs/series": {summary: "One read of the same series of up to 100 runs (compare): the runs share the points bound of one read", tag: "series", ok: 200,
		body: typeOf[runsSeriesReadout](),
		params: []apiParam{q("ids", "comma-separated run ids (1 to 100)"), q("id", "a run id (repeatable)"), q("names", "comma-separated series names (required)"),
			q("name", "a series name (repeatable)"), q("from", "first step"), q("to", "last step"),
			q("max_points", "points per series and run at most (less when all would pass series_read_max_points)"), q("x", "step or time")}},
	"GET /api/runs/{id}": {summary: "One run with its series summaries, review changes and baseline", tag: "runs", ok: 200, body: typeOf[runResponse]()},
	"GET /api/runs/{id}/series": {summary: "Series points, downsampled (M4) to max_points or whole in a window", tag: "series", ok: 200, body: typeOf[seriesReadout](),
		params: []apiParam{q("names", "comma-separated series names"), q("from", "first step (or time with x=time)"), q("to", "last step"),
			q("max_points", "points per series at most"), q("x", "step or time")}},
	"GET /api/runs/{id}/reviews":  {summary: "A run's verdict history", tag: "reviews", ok: 200, body: typeOf[reviewsList]()},
	"GET /api/runs/{id}/comments": {summary: "A run's comments", tag: "comments", ok: 200, body: typeOf[commentsList]()},
	"GET /api/projects":           {summary: "Projects with run counts by status and verdict", tag: "runs", ok: 200, body: typeOf[projectsList]()},
	"POST /api/runs": {summary: "Create a run, idempotent by (project, external_id): 201 new, 200 the existing one; a caller who may not read it gets its id, version and status", tag: "runs",
		ok: 201, also: []int{200}, body: typeOf[runResponse](), or: typeOf[runWritten]()},
	"PATCH /api/runs/{id}": {summary: "Change a run (status, params, metrics, tags, notes, heartbeat); a caller who may not read it gets its id, version and status", tag: "runs", ok: 200,
		body: typeOf[runResponse](), or: typeOf[runWritten]()},
	"POST /api/runs/{id}/series":           {summary: "Append series points in an idempotent batch", tag: "series", ok: 200, body: typeOf[seriesIngest]()},
	"POST /api/runs/{id}/comments":         {summary: "Comment on a run", tag: "comments", ok: 201, body: typeOf[commentResponse]()},
	"PATCH /api/runs/{id}/comments/{cid}":  {summary: "Edit one's comment", tag: "comments", ok: 200, body: typeOf[commentResponse]()},
	"DELETE /api/runs/{id}/comments/{cid}": {summary: "Delete a comment", tag: "comments", ok: 204},
	"POST /api/runs/{id}/review":           {summary: "Give a verdict (approved, rejected, needs_rerun) with a comment", tag: "reviews", ok: 200, body: typeOf[runResponse]()},
	"POST /api/runs/review":                {summary: "Give one verdict to several runs", tag: "reviews", ok: 200, body: typeOf[bulkResponse]()},
	"POST /api/runs/review/undo":           {summary: "Undo a bulk review", tag: "reviews", ok: 200, body: typeOf[bulkResponse]()},
	"PUT /api/projects/{name}/baseline":    {summary: "Make a run its project's baseline", tag: "runs", ok: 204},
	"DELETE /api/projects/{name}/baseline": {summary: "Clear a project's baseline", tag: "runs", ok: 204},
	"DELETE /api/runs/{id}":                {summary: "Soft-delete a run", tag: "runs", ok: 204},
	"POST /api/runs/{id}/restore":          {summary: "Restore a deleted run", tag: "runs", ok: 200, body: typeOf[runResponse]()},
	"POST /api/runs/{id}/close": {summary: "Close a queued or stale run as cancelled or failed, with a reason", tag: "runs", ok: 200,
		body: typeOf[runResponse]()},
	"DELETE /api/runs/{id}/series/{name}": {summary: "Remove a series, or its points from from_step on", tag: "series", ok: 200,
		body: typeOf[seriesRemoved](), params: []apiParam{q("from_step", "remove the points from this step on (without it, the whole series)")}},
	"GET /api/runs/{id}/files": {summary: "A run's files, by path, paged", tag: "files", ok: 200, body: typeOf[filesPage](),
		params: []apiParam{q("prefix", "paths starting with this"), q("after", "the previous page's next"), q("limit", "page size, 1 to 1000")}},
	"PUT /api/runs/{id}/files/{path}": {summary: "Store a file of a run (the body is its bytes); the same upload again is harmless", tag: "files",
		ok: 200, body: typeOf[fileResponse](), file: true},
	"GET /api/runs/{id}/files/{path}": {summary: "A run's file: a download, or shown inline (images, text) with inline=1", tag: "files",
		ok: 200, file: true, params: []apiParam{q("inline", "1: display instead of download")}},
	"DELETE /api/runs/{id}/files/{path}": {summary: "Delete a run's file", tag: "files", ok: 204},
	"GET /api/users":                     {summary: "Every account", tag: "users", ok: 200, body: typeOf[usersList]()},
	"POST /api/users":                    {summary: "Create an account", tag: "users", ok: 201, body: typeOf[userResponse]()},
	"GET /api/users/{id}":                {summary: "One account", tag: "users", ok: 200, body: typeOf[userResponse]()},
	"PATCH /api/users/{id}":              {summary: "Change an account (name, role, disabled)", tag: "users", ok: 200, body: typeOf[userResponse]()},
	"DELETE /api/users/{id}":             {summary: "Delete an account (never the last admin)", tag: "users", ok: 204},
	"POST /api/users/{id}/password":      {summary: "Set an account's password (ends its sessions)", tag: "users", ok: 204},
	"DELETE /api/users/{id}/sessions":    {summary: "End all of an account's sessions", tag: "users", ok: 204},
	"GET /api/audit": {summary: "Audit events, newest first, paged", tag: "audit", ok: 200, body: typeOf[auditPage](),
		params: []apiParam{q("event", "only this event"), q("user_id", "events by or about this user"), q("limit", "page size"), q("cursor", "the previous page's next")}},
}

// openAPIExcluded are route prefixes the document leaves out, each with
// the reason. A route under none of them must be described.
var openAPIExcluded = map[string]string{
	// The MLflow-compatible API follows MLflow's REST reference (its own
	// paths, bodies and error codes) for MLflow's clients; describing it
	// here would duplicate that reference.
	"/api/2.0/mlflow/":           "MLflow REST API compatibility: see MLflow's REST API reference",
	"/api/2.0/mlflow-artifacts/": "MLflow artifact API compatibility: see MLflow's REST API reference",
	"/ajax-api/2.0/mlflow/":      "MLflow REST API compatibility (the path MLflow's own UI and npm client use): see MLflow's REST API reference",
	// The job client's downloads: a PEP 503 package index and its files.
	"/clients/python/": "the Python job client's package index (PEP 503) and files: see docs/api.md",
}

// openAPIPath turns a Gin path (:id, *name) into an OpenAPI one ({id}).
var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// buildOpenAPI renders the document for the routes of perms ("METHOD
// /gin/path" → permission), and lists the routes it has no description
// for (TestOpenAPIDescribesEveryRoute fails on any; the server still
// starts, so a colleague's new route breaks one test, not every one).
func buildOpenAPI(version string, perms map[string]policy.Permission) ([]byte, []string, error) {
	g := &schemaGen{components: map[string]any{}}
	errRef := g.of(typeOf[errorBody]())
	paths := map[string]map[string]any{}
	keys := make([]string, 0, len(perms))
	for k := range perms {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var missing []string
	for _, key := range keys {
		method, ginPath, _ := strings.Cut(key, " ")
		if excludedFromOpenAPI(ginPath) {
			continue
		}
		p := openAPIPath(ginPath)
		op, ok := apiOperations[method+" "+p]
		if !ok {
			missing = append(missing, key)
			continue
		}
		responses := map[string]any{
			"default": map[string]any{"description": "An error, in the one error shape (docs/api.md)",
				"content": map[string]any{"application/json": map[string]any{"schema": errRef}}},
		}
		for _, status := range append([]int{op.ok}, op.also...) {
			r := map[string]any{"description": http.StatusText(status)}
			switch {
			case method == http.MethodHead:
			case op.body != nil && op.or != nil:
				r["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"oneOf": []any{g.of(op.body), g.of(op.or)}}}}
			case op.body != nil:
				r["content"] = map[string]any{"application/json": map[string]any{"schema": g.of(op.body)}}
			case op.file:
				r["content"] = map[string]any{"*/*": map[string]any{"schema": map[string]any{}}}
			case op.csv:
				r["content"] = map[string]any{"text/csv": map[string]any{"schema": map[string]any{"type": "string"}}}
			}
			responses[fmt.Sprint(status)] = r
		}
		o := map[string]any{
			"summary":      op.summary,
			"operationId":  operationID(method, p),
			"tags":         []string{op.tag},
			"responses":    responses,
			"x-permission": string(perms[key]),
		}
		if perm := perms[key]; perm != policy.Public {
			o["security"] = []map[string][]string{{"bearer": {}}}
		}
		var params []map[string]any
		for _, name := range ginParam.FindAllStringSubmatch(ginPath, -1) {
			params = append(params, map[string]any{"name": name[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, ap := range op.params {
			params = append(params, map[string]any{"name": ap.name, "in": ap.in, "required": ap.required,
				"description": ap.description, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			o["parameters"] = params
		}
		if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
			content := requestContent(p)
			if op.file {
				content = map[string]any{"application/octet-stream": map[string]any{"schema": map[string]any{}}}
			}
			o["requestBody"] = map[string]any{"required": op.file, "content": content}
		}
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(method)] = o
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "labreview", "version": version,
			"description": "The JSON API of labreview: runs, series, reviews and comments, accounts and tokens. docs/api.md is the prose reference."},
		"servers": []map[string]any{{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.components,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer",
				"description": "A signed-in person's access token (JWT), or an API token (lrt_…) on the routes whose permission a token may hold."}},
		},
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	return append(out, '\n'), missing, err
}

func excludedFromOpenAPI(p string) bool {
	for prefix := range openAPIExcluded {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// requestContent is a request's media types: the sign-in also takes the
// OAuth2 form. Request bodies are described loosely (an object): the
// handlers' decoders name every wrong field in the error, and docs/api.md
// gives the fields.
func requestContent(p string) map[string]any {
	obj := map[string]any{"schema": map[string]any{"type": "object"}}
	if p == "/api/auth/login" {
		return map[string]any{"application/x-www-form-urlencoded": obj, "application/json": obj}
	}
	return map[string]any{"application/json": obj}
}

func operationID(method, p string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	up := true
	for _, r := range p {
		switch {
		case r == '/' || r == '-' || r == '.' || r == '{' || r == '}' || r == '_':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// schemaGen derives JSON Schemas (2020-12, as OpenAPI 3.1 uses) from Go
// types as encoding/json writes them: named structs become components,
// pointers may be null, omitempty fields are optional, and a struct
// allows no property it does not declare.
type schemaGen struct{ components map[string]any }

var (
	timeType      = typeOf[time.Time]()
	marshalerType = typeOf[json.Marshaler]()
)

// finiteOrNot is a db.Float: a number, or the string of a non-finite one.
var finiteOrNot = map[string]any{"anyOf": []any{
	map[string]any{"type": "number"}, map[string]any{"enum": []any{"NaN", "Infinity", "-Infinity"}}}}

// customSchemas are the types with their own JSON encoding.
var customSchemas = map[reflect.Type]map[string]any{
	typeOf[db.Float]():   finiteOrNot,
	typeOf[db.Metrics](): {"type": "object", "additionalProperties": finiteOrNot},
	// A comment's anchor is a param, or a step range of a series.
	typeOf[anchorJSON](): {"oneOf": []any{
		map[string]any{"type": "object", "properties": map[string]any{"param": map[string]any{"type": "string"}},
			"required": []any{"param"}, "additionalProperties": false},
		map[string]any{"type": "object", "properties": map[string]any{"series": map[string]any{"type": "string"},
			"from": map[string]any{"type": "integer"}, "to": map[string]any{"type": "integer"}},
			"required": []any{"series", "from", "to"}, "additionalProperties": false},
	}},
	// Params are a JSON object, nested for dotted names.
	typeOf[db.Params](): {"type": "object", "additionalProperties": map[string]any{}},
	// Points as [step, value] or [step, value, time], value possibly a
	// non-finite string, time null for points written before times were kept.
	typeOf[seriesPoints](): {"type": "array", "items": map[string]any{"oneOf": []any{
		map[string]any{"type": "array", "prefixItems": []any{map[string]any{"type": "number"}, finiteOrNot},
			"minItems": 2, "maxItems": 2},
		map[string]any{"type": "array", "prefixItems": []any{map[string]any{"type": "number"}, finiteOrNot,
			map[string]any{"type": []any{"number", "null"}}}, "minItems": 3, "maxItems": 3},
	}}},
}

func (g *schemaGen) of(ty reflect.Type) map[string]any {
	if s, ok := customSchemas[ty]; ok {
		return s
	}
	if ty == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	if ty.Kind() != reflect.Pointer && ty.Kind() != reflect.Interface && ty.Implements(marshalerType) {
		// Its own encoding, not described in customSchemas: anything.
		return map[string]any{}
	}
	switch ty.Kind() {
	case reflect.Pointer:
		return map[string]any{"anyOf": []any{g.of(ty.Elem()), map[string]any{"type": "null"}}}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.of(ty.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(ty.Elem())}
	case reflect.Struct:
		name := componentName(ty)
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, done := g.components[name]; done {
			return ref
		}
		g.components[name] = map[string]any{} // placeholder against recursion
		props, required := map[string]any{}, []string{}
		g.fields(ty, props, &required)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			slices.Sort(required)
			s["required"] = required
		}
		g.components[name] = s
		return ref
	}
	return map[string]any{}
}

// fields adds ty's JSON fields, those of embedded structs included.
func (g *schemaGen) fields(ty reflect.Type, props map[string]any, required *[]string) {
	for i := range ty.NumField() {
		f := ty.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omitted := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		if omitted && f.Type.Kind() == reflect.Pointer {
			// encoding/json leaves a nil pointer out: never null when there.
			props[name] = g.of(f.Type.Elem())
		} else {
			props[name] = g.of(f.Type)
		}
		if values := f.Tag.Get("enum"); values != "" {
			props[name] = enumSchema(f.Type, strings.Split(values, "|"))
		}
		if !omitted {
			*required = append(*required, name)
		}
	}
}

// enumSchema is the schema of a field tagged enum:"a|b|c": a string (or
// an array of strings) with one of those values. The answers the API tests
// record are validated against it, so a value outside the list fails them;
// the UI's types read the list as a union type.
func enumSchema(ty reflect.Type, values []string) map[string]any {
	one := map[string]any{"type": "string", "enum": values}
	switch ty.Kind() {
	case reflect.String:
		return one
	case reflect.Slice:
		if ty.Elem().Kind() == reflect.String {
			return map[string]any{"type": "array", "items": one}
		}
	}
	panic("openapi: an enum tag on a field that is not a string or []string: " + ty.String())
}

// componentName is a Go type's name as a schema name: runResponse → Run,
// errorBody → Error.
func componentName(ty reflect.Type) string {
	n := ty.Name()
	switch n {
	case "":
		return "Anonymous"
	case "errorBody":
		return "Error"
	}
	n = strings.TrimSuffix(n, "Response")
	return strings.ToUpper(n[:1]) + n[1:]
}

// handleOpenAPI: GET /api/openapi.json.
func (s *Server) handleOpenAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json; charset=utf-8", s.openapi)
}
