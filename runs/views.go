package runs

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"labreview/db"
)

// Limits of saved views (docs/api.md lists them).
const (
	MaxViewsPerUser    = 100
	MaxViewNameLength  = 100  // characters, after trimming spaces
	MaxViewSearchBytes = 4096 // the URL query string of a view
)

// Errors of saved views the HTTP layer maps to responses.
var (
	// ErrTooManyViews: the caller has MaxViewsPerUser views and saves a
	// new one.
	ErrTooManyViews = errors.New("runs: too many saved views")
	// ErrNoSuchView: the caller has no view of that name.
	ErrNoSuchView = errors.New("runs: no such saved view")
)

// Saved views are a person's UI preferences (the runs table's query
// string under a name), seen and changed by that person only. They are
// not audited: they change nothing anyone else sees or may do.

// viewName is the name as stored: trimmed of spaces at either end.
func viewName(name string) string { return strings.TrimSpace(name) }

func checkViewName(name string) error {
	switch {
	case name == "":
		return &InputError{Field: "name", Code: "required", Message: "Give the view a name."}
	case utf8.RuneCountInString(name) > MaxViewNameLength || !printable(name) || dotSegment(name):
		return invalid("name", "A view name is 1 to %d printable characters, without . or .. between slashes.", MaxViewNameLength)
	}
	return nil
}

// dotSegment reports a name with "." or ".." as a part between slashes:
// in the view's URL the server resolves such parts (/views/a%2F.. is
// /views), so the view could not be addressed.
func dotSegment(name string) bool {
	for part := range strings.SplitSeq(name, "/") {
		if part == "." || part == ".." {
			return true
		}
	}
	return false
}

func checkViewSearch(search string) error {
	if len(search) > MaxViewSearchBytes {
		return &InputError{Field: "search", Code: "too_large", Message: "A view's query string is at most 4 KiB."}
	}
	if !utf8.ValidString(search) || strings.IndexFunc(search, unicode.IsControl) >= 0 {
		return invalid("search", "A view's query string holds no control characters.")
	}
	return nil
}

// SavedViews lists the caller's saved views by name (case-insensitively,
// then exactly).
func (s *Service) SavedViews(ctx context.Context, a Actor) ([]db.SavedView, error) {
	return s.db.ListSavedViews(ctx, a.UserID)
}

// SaveView creates the caller's view of that name, or replaces its query
// string; saving the same view again changes only its time.
func (s *Service) SaveView(ctx context.Context, a Actor, name, search string) (*db.SavedView, error) {
	name = viewName(name)
	if err := checkViewName(name); err != nil {
		return nil, err
	}
	if err := checkViewSearch(search); err != nil {
		return nil, err
	}
	v := &db.SavedView{UserID: a.UserID, Name: name, Search: search, UpdatedAt: s.now().UTC().Truncate(time.Millisecond)}
	err := s.db.PutSavedView(ctx, v, MaxViewsPerUser)
	if errors.Is(err, db.ErrLimit) {
		return nil, ErrTooManyViews
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// DeleteView removes the caller's view of that name.
func (s *Service) DeleteView(ctx context.Context, a Actor, name string) error {
	err := s.db.DeleteSavedView(ctx, a.UserID, viewName(name))
	if errors.Is(err, db.ErrNotFound) {
		return ErrNoSuchView
	}
	return err
}
