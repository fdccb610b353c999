package db

import (
	"context"
	"slices"
	"strings"
	"time"
)

// SavedView is a named view of the runs table that a person saved: the
// query string of the table's URL (query, chips, sort, columns). Views are
// personal: keyed by (UserID, Name), seen and changed by their user only.
type SavedView struct {
	UserID    string
	Name      string
	Search    string
	UpdatedAt time.Time
}

// SavedViews stores people's saved views of the runs table.
type SavedViews interface {
	// ListSavedViews returns a user's views in SortSavedViews order
	// (none for an unknown user).
	ListSavedViews(ctx context.Context, userID string) ([]SavedView, error)
	// PutSavedView creates the user's view named v.Name or replaces its
	// search and time. Creating a view when the user already has limit
	// views gives ErrLimit (replacing one never does); a user that does
	// not exist gives ErrNotFound.
	PutSavedView(ctx context.Context, v *SavedView, limit int) error
	// DeleteSavedView removes a user's view (ErrNotFound if none).
	DeleteSavedView(ctx context.Context, userID, name string) error
}

// SortSavedViews orders views by name case-insensitively (Unicode lower
// case), then byte for byte, so "alpha" < "Beta" < "beta". Both adapters
// sort with it: the stores' own orders are byte orders, and the FerretDB
// stand-in has no collations.
func SortSavedViews(views []SavedView) {
	slices.SortFunc(views, func(a, b SavedView) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
