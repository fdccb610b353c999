package runs

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"labreview/auth/policy"
	"labreview/db"
)

// Limits and audit events of comments.
const (
	MaxCommentBytes   = 8192
	maxAnchorPath     = 400
	EventCommentAdded = "comment_added"
	EventCommentEdit  = "comment_edited"
	EventCommentGone  = "comment_deleted"
)

// ErrCommentNotYours: only a comment's author edits it (and an admin may
// delete it).
var ErrCommentNotYours = errors.New("runs: the comment is someone else's")

// NewComment is a comment as written.
type NewComment struct {
	Body   string
	Anchor *db.CommentAnchor
}

func checkBody(body string) (string, error) {
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return "", &InputError{Field: "body", Code: "required", Message: "Write something."}
	case len(body) > MaxCommentBytes || !utf8.ValidString(body) || strings.ContainsRune(body, 0):
		return "", invalid("body", "A comment is valid UTF-8 text of at most %d bytes.", MaxCommentBytes)
	}
	return body, nil
}

func checkAnchor(a *db.CommentAnchor) error {
	if a == nil {
		return nil
	}
	switch {
	case (a.Param == "") == (a.Series == ""):
		return invalid("anchor", "An anchor points at a param or at a series, not both.")
	case a.Param != "":
		if a.From != nil || a.To != nil || len(a.Param) > maxAnchorPath {
			return invalid("anchor", "A param anchor is a dotted path of at most %d bytes, without steps.", maxAnchorPath)
		}
		for _, part := range strings.Split(a.Param, ".") {
			if err := checkKey("anchor", part); err != nil {
				return err
			}
		}
	default:
		if err := checkKey("anchor", a.Series); err != nil {
			return err
		}
		if a.From == nil || a.To == nil || *a.From < 0 || *a.To > MaxStep || *a.From > *a.To {
			return invalid("anchor", "A series anchor has a step range: from ≤ to, within 0 to 2^53 − 1.")
		}
	}
	return nil
}

// AddComment adds a comment to a live run (any signed-in user).
func (s *Service) AddComment(ctx context.Context, a Actor, runID string, in NewComment) (*db.Comment, error) {
	body, err := checkBody(in.Body)
	if err != nil {
		return nil, err
	}
	if err := checkAnchor(in.Anchor); err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return nil, err
	}
	if r.DeletedAt != nil {
		return nil, ErrDeleted
	}
	c := &db.Comment{ID: db.NewID(), RunID: r.ID, Author: a.UserID, At: s.now(), Body: body, Anchor: in.Anchor,
		History: []db.CommentVersion{}}
	if err := s.db.InsertComment(ctx, c); err != nil {
		return nil, err
	}
	s.audit(ctx, a, EventCommentAdded, r, map[string]any{"comment_id": c.ID, "after": map[string]any{"body": truncate(body, 1024)}})
	return c, nil
}

// Comments lists a run's thread, oldest first (deleted comments keep
// their place, without text).
func (s *Service) Comments(ctx context.Context, a Actor, runID string) ([]db.Comment, error) {
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return nil, err
	}
	return s.db.ListComments(ctx, r.ID)
}

// EditComment replaces the text of the caller's own comment, keeping the
// earlier text in its history.
func (s *Service) EditComment(ctx context.Context, a Actor, runID, commentID, body string) (*db.Comment, error) {
	body, err := checkBody(body)
	if err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var old string
	c, err := s.db.UpdateComment(ctx, commentID, func(c *db.Comment) error {
		switch {
		case c.RunID != r.ID || c.DeletedAt != nil:
			return ErrNotFound
		case c.Author != a.UserID:
			return ErrCommentNotYours
		}
		at := c.At
		if c.EditedAt != nil {
			at = *c.EditedAt
		}
		old = c.Body
		c.History = append(c.History, db.CommentVersion{Body: c.Body, At: at})
		c.Body, c.EditedAt = body, &now
		return nil
	})
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	s.audit(ctx, a, EventCommentEdit, r, map[string]any{"comment_id": c.ID,
		"before": map[string]any{"body": truncate(old, 1024)}, "after": map[string]any{"body": truncate(body, 1024)}})
	return c, nil
}

// DeleteComment removes the text of a comment (its author's, or any for
// a moderator); the comment keeps its place in the thread and its history.
func (s *Service) DeleteComment(ctx context.Context, a Actor, runID, commentID string) error {
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return err
	}
	now := s.now()
	var old string
	_, err = s.db.UpdateComment(ctx, commentID, func(c *db.Comment) error {
		switch {
		case c.RunID != r.ID || c.DeletedAt != nil:
			return ErrNotFound
		case c.Author != a.UserID && !a.can(policy.RunsModerate, r.Project):
			return ErrCommentNotYours
		}
		old = c.Body
		c.History = append(c.History, db.CommentVersion{Body: c.Body, At: now})
		c.Body, c.DeletedAt = "", &now
		return nil
	})
	if errors.Is(err, db.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	s.audit(ctx, a, EventCommentGone, r, map[string]any{"comment_id": commentID, "before": map[string]any{"body": truncate(old, 1024)}})
	return nil
}
