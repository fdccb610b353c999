package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// TestOpenAPIDescribesEveryRoute: every route of routes.go (bar the
// documented exclusions) has a description, and every description names a
// route. A new route without one fails here.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s := newTestServer(t, Options{}, nil, nil)
	_, missing, err := buildOpenAPI("test", s.srv.perms)
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range missing {
		t.Errorf("%s has no OpenAPI description: add it to apiOperations in server/openapi.go "+
			"(or, for a whole family of routes described elsewhere, to openAPIExcluded with the reason)", route)
	}
	routes := map[string]bool{}
	for key := range s.srv.perms {
		method, p, _ := strings.Cut(key, " ")
		routes[method+" "+openAPIPath(p)] = true
	}
	for key := range apiOperations {
		if !routes[key] {
			t.Errorf("apiOperations describes %s, which routes.go does not serve", key)
		}
	}
	rec := s.do(request{path: "/api/openapi.json"})
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != 200 || doc.OpenAPI != "3.1.0" {
		t.Fatalf("GET /api/openapi.json: %d %v", rec.Code, err)
	}
	for key := range s.srv.perms {
		method, p, _ := strings.Cut(key, " ")
		if !excludedFromOpenAPI(p) && doc.Paths[openAPIPath(p)][strings.ToLower(method)] == nil {
			t.Errorf("the served document lacks %s", key)
		}
	}
}

// TestOpenAPIDocumentIsCurrent keeps docs/openapi.json (the source of the
// UI's generated types) equal to the document the server serves.
// Regenerate with LABREVIEW_REGENERATE=1 go test -run TestOpenAPIDocumentIsCurrent ./server/
func TestOpenAPIDocumentIsCurrent(t *testing.T) {
	s := newTestServer(t, Options{}, nil, nil)
	want, _, err := buildOpenAPI("see GET /api/health", s.srv.perms)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile("../docs/openapi.json")
	if bytes.Equal(got, want) {
		return
	}
	if os.Getenv("LABREVIEW_REGENERATE") == "1" {
		if err := os.WriteFile("../docs/openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("docs/openapi.json is not current: LABREVIEW_REGENERATE=1 go test -run TestOpenAPIDocumentIsCurrent ./server/, " +
		"then cd frontend && npm run gen:api")
}

// validators holds one validator per document text.
var validators sync.Map // string → validator.Validator

func openAPIValidator(t testing.TB, spec []byte) validator.Validator {
	if v, ok := validators.Load(string(spec)); ok {
		return v.(validator.Validator)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("the OpenAPI document does not make a validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("the OpenAPI document is invalid: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}
	validators.Store(string(spec), v)
	return v
}

// checkAgainstOpenAPI validates an answer of the API recorded by a test
// against the document: status, media type and body schema. Answers to
// paths the document does not hold (the UI, unknown /api paths: the JSON
// 404, excluded families) are not checked.
func checkAgainstOpenAPI(t testing.TB, spec []byte, req *http.Request, rec *httptest.ResponseRecorder) {
	if t == nil || spec == nil {
		return
	}
	if _, fuzzing := t.(*testing.F); fuzzing {
		return // a fuzz target may not use F's methods; the other tests validate these answers
	}
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/") && req.URL.Path != "/healthz" && req.URL.Path != "/readyz" &&
		req.URL.Path != "/.well-known/jwks.json" {
		return
	}
	if excludedFromOpenAPI(req.URL.Path) || rec.Code == http.StatusNotFound && rec.Header().Get("Allow") == "" && !knownPath(spec, req) {
		return
	}
	resp := rec.Result()
	body := rec.Body.Bytes()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	ok, errs := openAPIValidator(t, spec).ValidateHttpResponse(req, resp)
	if ok {
		return
	}
	for _, e := range errs {
		if e.IsPathMissingError() || e.IsOperationMissingError() {
			return // not a route of the document (405 for an unknown method)
		}
	}
	for _, e := range errs {
		detail := ""
		for _, se := range e.SchemaValidationErrors {
			detail += "; " + se.FieldPath + ": " + se.Reason
		}
		t.Errorf("%s %s → %d does not match the OpenAPI document: %s (%s)%s\nbody: %.400s", req.Method, req.URL.Path, rec.Code,
			e.Message, e.Reason, detail, body)
	}
}

// knownPath reports whether the request's path is one of the document's.
func knownPath(spec []byte, req *http.Request) bool {
	var doc struct{ Paths map[string]any }
	_ = json.Unmarshal(spec, &doc)
	for p := range doc.Paths {
		if openAPIPathMatches(p, req.URL.Path) {
			return true
		}
	}
	return false
}

func openAPIPathMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) && !strings.HasSuffix(pattern, "{name}") {
		return false
	}
	for i, p := range ps {
		if i >= len(xs) {
			return false
		}
		if strings.HasPrefix(p, "{") {
			continue
		}
		if p != xs[i] {
			return false
		}
	}
	return true
}
