package db_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

func view(userID, name, search string) *db.SavedView {
	return &db.SavedView{UserID: userID, Name: name, Search: search, UpdatedAt: now()}
}

func viewNames(t *testing.T, s db.Store, userID string) []string {
	t.Helper()
	list, err := s.ListSavedViews(ctx(t), userID)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, v := range list {
		names = append(names, v.Name)
	}
	return names
}

// TestSavedViews: put creates or replaces by (user, name), lists come back
// in one order on both adapters, users never see each other's views, and
// deletes name one view of one user.
func TestSavedViews(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		ada, bob := newUser("ada@lab.org", db.RoleViewer), newUser("bob@lab.org", db.RoleAdmin)
		for _, u := range []*db.User{ada, bob} {
			if err := s.InsertUser(ctx(t), u); err != nil {
				t.Fatal(err)
			}
		}
		if names := viewNames(t, s, ada.ID); len(names) != 0 {
			t.Fatalf("a new user has views: %v", names)
		}
		for _, name := range []string{"beta", "Beta", "alpha", "Älpha", "a/b: 1", "Zeta", "_x", "ä"} {
			if err := s.PutSavedView(ctx(t), view(ada.ID, name, "q="+name), 100); err != nil {
				t.Fatalf("put %q: %v", name, err)
			}
		}
		// Case-insensitively (Unicode), then byte for byte.
		want := []string{"_x", "a/b: 1", "alpha", "Beta", "beta", "Zeta", "ä", "Älpha"}
		if got := viewNames(t, s, ada.ID); !reflect.DeepEqual(got, want) {
			t.Fatalf("order %q, want %q", got, want)
		}
		// Replacing keeps one view and takes the new search and time.
		later := view(ada.ID, "beta", "q=status%3Dfailed&sort=-created")
		later.UpdatedAt = later.UpdatedAt.Add(1500 * time.Millisecond)
		if err := s.PutSavedView(ctx(t), later, 100); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListSavedViews(ctx(t), ada.ID)
		if err != nil || len(list) != len(want) || !reflect.DeepEqual(list[4], *later) {
			t.Fatalf("after replace: %+v %v; want %+v at 4", list, err, *later)
		}
		// Another user's views are apart, under the same names too.
		if err := s.PutSavedView(ctx(t), view(bob.ID, "beta", "mine"), 100); err != nil {
			t.Fatal(err)
		}
		if got := viewNames(t, s, bob.ID); !reflect.DeepEqual(got, []string{"beta"}) {
			t.Fatalf("bob's views %v", got)
		}
		if err := s.DeleteSavedView(ctx(t), bob.ID, "alpha"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("deleting another's view: %v", err)
		}
		if err := s.DeleteSavedView(ctx(t), bob.ID, "beta"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSavedView(ctx(t), bob.ID, "beta"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
		if got := viewNames(t, s, ada.ID); !reflect.DeepEqual(got, want) {
			t.Fatalf("bob's delete touched ada's views: %q", got)
		}
		// Names match byte for byte.
		if err := s.DeleteSavedView(ctx(t), ada.ID, "ALPHA"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("delete by another case: %v", err)
		}
		// Unknown and malformed user ids.
		for _, id := range []string{db.NewID(), "not-an-id"} {
			if err := s.PutSavedView(ctx(t), view(id, "x", ""), 100); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("put for user %q: %v, want ErrNotFound", id, err)
			}
			if err := s.DeleteSavedView(ctx(t), id, "x"); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("delete for user %q: %v, want ErrNotFound", id, err)
			}
			if names := viewNames(t, s, id); len(names) != 0 {
				t.Errorf("views of user %q: %v", id, names)
			}
		}
	})
}

// TestSavedViewLimit: creating past the limit is refused and stores
// nothing; replacing at the limit works; concurrent creations never leave
// more than the limit.
func TestSavedViewLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		u := newUser("ada@lab.org", db.RoleViewer)
		if err := s.InsertUser(ctx(t), u); err != nil {
			t.Fatal(err)
		}
		const limit = 5
		for i := range limit {
			if err := s.PutSavedView(ctx(t), view(u.ID, fmt.Sprintf("v%d", i), ""), limit); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutSavedView(ctx(t), view(u.ID, "one more", ""), limit); !errors.Is(err, db.ErrLimit) {
			t.Fatalf("past the limit: %v, want ErrLimit", err)
		}
		if err := s.PutSavedView(ctx(t), view(u.ID, "v3", "q=replaced"), limit); err != nil {
			t.Fatalf("replace at the limit: %v", err)
		}
		if names := viewNames(t, s, u.ID); len(names) != limit {
			t.Fatalf("after the refusal: %v", names)
		}
		if err := s.DeleteSavedView(ctx(t), u.ID, "v0"); err != nil {
			t.Fatal(err)
		}
		// One place left, eight creations at once: at most one wins.
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.PutSavedView(ctx(t), view(u.ID, fmt.Sprintf("race %d", i), ""), limit)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, db.ErrLimit):
				t.Fatalf("racing creation: %v", err)
			}
		}
		if n := len(viewNames(t, s, u.ID)); won > 1 || n != limit-1+won {
			t.Fatalf("%d creations won, %d views stored (limit %d)", won, n, limit)
		}
	})
}

// TestDeletingAUserDeletesTheirViews: nothing of a deleted user's views
// remains, in lists or in an export; other users keep theirs.
func TestDeletingAUserDeletesTheirViews(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		ada, bob := newUser("ada@lab.org", db.RoleViewer), newUser("bob@lab.org", db.RoleAdmin)
		for _, u := range []*db.User{ada, bob} {
			if err := s.InsertUser(ctx(t), u); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"a", "b"} {
				if err := s.PutSavedView(ctx(t), view(u.ID, name, "q=x"), 100); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := s.DeleteUser(ctx(t), ada.ID); err != nil {
			t.Fatal(err)
		}
		if names := viewNames(t, s, ada.ID); len(names) != 0 {
			t.Fatalf("a deleted user's views remain: %v", names)
		}
		if names := viewNames(t, s, bob.ID); len(names) != 2 {
			t.Fatalf("another user's views: %v", names)
		}
		var kept []db.SavedView
		if err := s.ExportRecords(ctx(t), func(r db.Record) error {
			if r.Kind == db.KindSavedView {
				kept = append(kept, *r.View)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(kept) != 2 || kept[0].UserID != bob.ID || kept[1].UserID != bob.ID {
			t.Fatalf("exported views after the deletion: %+v", kept)
		}
		// A deleted user gets no new views either.
		if err := s.PutSavedView(ctx(t), view(ada.ID, "c", ""), 100); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("put for a deleted user: %v", err)
		}
	})
}
