package runs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"labreview/db"
)

func TestCommentAnchorsAndBodiesAreChecked(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p"})
	step := func(v int64) *int64 { return &v }
	cases := []struct {
		name   string
		in     NewComment
		field  string // "" when accepted
		code   string
		stored string // the body as stored, when accepted
	}{
		{"no anchor", NewComment{Body: "looks fine"}, "", "", "looks fine"},
		{"trimmed", NewComment{Body: "\n  spaced  \t"}, "", "", "spaced"},
		{"empty", NewComment{Body: "   "}, "body", "required", ""},
		{"too long", NewComment{Body: strings.Repeat("b", MaxCommentBytes+1)}, "body", "invalid", ""},
		{"not UTF-8", NewComment{Body: "a\xffb"}, "body", "invalid", ""},
		{"NUL", NewComment{Body: "a\x00b"}, "body", "invalid", ""},
		{"a param", NewComment{Body: "x", Anchor: &db.CommentAnchor{Param: "opt.lr"}}, "", "", "x"},
		{"a series range", NewComment{Body: "x", Anchor: &db.CommentAnchor{Series: "loss", From: step(0), To: step(MaxStep)}}, "", "", "x"},
		{"a one-step range", NewComment{Body: "x", Anchor: &db.CommentAnchor{Series: "loss", From: step(7), To: step(7)}}, "", "", "x"},
		{"both", NewComment{Body: "x", Anchor: &db.CommentAnchor{Param: "a", Series: "loss", From: step(0), To: step(1)}}, "anchor", "invalid", ""},
		{"neither", NewComment{Body: "x", Anchor: &db.CommentAnchor{}}, "anchor", "invalid", ""},
		{"a param with steps", NewComment{Body: "x", Anchor: &db.CommentAnchor{Param: "a", From: step(0)}}, "anchor", "invalid", ""},
		{"a param path with an empty part", NewComment{Body: "x", Anchor: &db.CommentAnchor{Param: "a..b"}}, "anchor", "invalid", ""},
		{"a param path with a $ part", NewComment{Body: "x", Anchor: &db.CommentAnchor{Param: "a.$where"}}, "anchor", "invalid", ""},
		{"a param path too long", NewComment{Body: "x", Anchor: &db.CommentAnchor{Param: strings.Repeat("abcd.", 80) + "abcd"}}, "anchor", "invalid", ""},
		{"a series without steps", NewComment{Body: "x", Anchor: &db.CommentAnchor{Series: "loss"}}, "anchor", "invalid", ""},
		{"a series without an end", NewComment{Body: "x", Anchor: &db.CommentAnchor{Series: "loss", From: step(1)}}, "anchor", "invalid", ""},
		{"a reversed range", NewComment{Body: "x", Anchor: &db.CommentAnchor{Series: "loss", From: step(5), To: step(4)}}, "anchor", "invalid", ""},
		{"a negative step", NewComment{Body: "x", Anchor: &db.CommentAnchor{Series: "loss", From: step(-1), To: step(4)}}, "anchor", "invalid", ""},
		{"a step past 2^53-1", NewComment{Body: "x", Anchor: &db.CommentAnchor{Series: "loss", From: step(0), To: step(MaxStep + 1)}}, "anchor", "invalid", ""},
		{"a series name with a dot", NewComment{Body: "x", Anchor: &db.CommentAnchor{Series: "val.loss", From: step(0), To: step(1)}}, "anchor", "invalid", ""},
	}
	accepted := 0
	for _, c := range cases {
		got, err := f.svc.AddComment(f.ctx(), viewer, r.ID, c.in)
		if c.field != "" {
			wantInput(t, err, c.field, c.code)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		accepted++
		if got.Body != c.stored || !reflect.DeepEqual(got.Anchor, c.in.Anchor) {
			t.Fatalf("%s: stored %q %+v", c.name, got.Body, got.Anchor)
		}
	}
	list, err := f.svc.Comments(f.ctx(), viewer, r.ID)
	if err != nil || len(list) != accepted {
		t.Fatalf("%d comments stored (%v), want the %d accepted", len(list), err, accepted)
	}
}

// TestCommentThread: comments go on live runs, oldest first; an edit by
// the author keeps the earlier text with the time it was written; a
// deletion (author or moderator) keeps the comment's place and history.
func TestCommentThread(t *testing.T) {
	f := newFixture(t)
	r := f.create(reviewer, NewRun{Project: "p"})
	author, someone := person(db.RoleViewer), person(db.RoleReviewer)
	first, err := f.svc.AddComment(f.ctx(), author, r.ID, NewComment{Body: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Author != author.UserID || !first.At.Equal(t0) || first.EditedAt != nil || first.History == nil {
		t.Fatalf("new comment %+v", first)
	}
	second, err := f.svc.AddComment(f.ctx(), someone, r.ID, NewComment{Body: "reply"})
	if err != nil {
		t.Fatal(err)
	}

	edit := func(a Actor, runID, id, body string) (*db.Comment, error) {
		return f.svc.EditComment(f.ctx(), a, runID, id, body)
	}
	if _, err := edit(someone, r.ID, first.ID, "hijack"); !errors.Is(err, ErrCommentNotYours) {
		t.Fatalf("edit by another user: %v", err)
	}
	if _, err := edit(admin, r.ID, first.ID, "hijack"); !errors.Is(err, ErrCommentNotYours) {
		t.Fatalf("edit by an admin: %v (only the author edits)", err)
	}
	other := f.create(reviewer, NewRun{Project: "p"})
	if _, err := edit(author, other.ID, first.ID, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("edit through another run: %v", err)
	}
	_, err = edit(author, r.ID, first.ID, " ")
	wantInput(t, err, "body", "required")

	t1 := t0.Add(time.Minute)
	f.clock.t = t1
	c, err := edit(author, r.ID, first.ID, "v2")
	if err != nil || c.Body != "v2" || !sameTime(c.EditedAt, &t1) {
		t.Fatalf("first edit: %+v %v", c, err)
	}
	f.clock.advance(time.Minute)
	c, err = edit(author, r.ID, first.ID, " v3 ")
	if err != nil {
		t.Fatal(err)
	}
	want := []db.CommentVersion{{Body: "v1", At: t0}, {Body: "v2", At: t1}}
	if c.Body != "v3" || !sameTime(c.EditedAt, ptr(f.clock.now())) || !reflect.DeepEqual(c.History, want) {
		t.Fatalf("after two edits: %q edited %s history %+v", c.Body, fmtTime(c.EditedAt), c.History)
	}

	// Deletion: not by another reviewer; by the author, or by a moderator.
	if err := f.svc.DeleteComment(f.ctx(), someone, r.ID, first.ID); !errors.Is(err, ErrCommentNotYours) {
		t.Fatalf("delete by another reviewer: %v", err)
	}
	f.clock.advance(time.Minute)
	if err := f.svc.DeleteComment(f.ctx(), admin, r.ID, first.ID); err != nil {
		t.Fatalf("delete by a moderator: %v", err)
	}
	if err := f.svc.DeleteComment(f.ctx(), someone, r.ID, second.ID); err != nil {
		t.Fatalf("delete by the author: %v", err)
	}
	if err := f.svc.DeleteComment(f.ctx(), admin, r.ID, first.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := edit(author, r.ID, first.ID, "back"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("edit of a deleted comment: %v", err)
	}
	list, err := f.svc.Comments(f.ctx(), viewer, r.ID)
	if err != nil || len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("thread %+v %v", list, err)
	}
	gone := list[0]
	if gone.Body != "" || !sameTime(gone.DeletedAt, ptr(f.clock.now())) || len(gone.History) != 3 || gone.History[2].Body != "v3" {
		t.Fatalf("deleted comment %+v", gone)
	}

	for event, n := range map[string]int{EventCommentAdded: 2, EventCommentEdit: 2, EventCommentGone: 2} {
		if ev := f.events(event); len(ev) != n {
			t.Fatalf("%d %s events, want %d", len(ev), event, n)
		}
	}
	del := f.events(EventCommentGone)[1] // the moderator's
	if del.ActorID != admin.UserID || del.Details["comment_id"] != first.ID || del.Details["before"].(map[string]any)["body"] != "v3" {
		t.Fatalf("comment_deleted event %+v", del)
	}

	// A deleted run takes no new comments; its thread still reads.
	if _, err := f.svc.Delete(f.ctx(), admin, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddComment(f.ctx(), author, r.ID, NewComment{Body: "late"}); !errors.Is(err, ErrDeleted) {
		t.Fatalf("comment on a deleted run: %v", err)
	}
	if _, err := f.svc.Comments(f.ctx(), viewer, r.ID); err != nil {
		t.Fatalf("thread of a deleted run: %v", err)
	}
	if _, err := f.svc.AddComment(f.ctx(), author, db.NewID(), NewComment{Body: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("comment on an unknown run: %v", err)
	}
}
