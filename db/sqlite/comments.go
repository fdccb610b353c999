package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"labreview/db"
)

const commentColumns = "id, run_id, author, at, body, anchor, edited_at, deleted_at, history"

func scanComment(r rowScanner) (db.Comment, error) {
	var c db.Comment
	var at int64
	var anchor, history string
	var edited, deleted sql.NullInt64
	if err := r.Scan(&c.ID, &c.RunID, &c.Author, &at, &c.Body, &anchor, &edited, &deleted, &history); err != nil {
		return c, err
	}
	c.At, c.EditedAt, c.DeletedAt = fromMS(at), fromOptMS(edited), fromOptMS(deleted)
	if anchor != "{}" {
		c.Anchor = &db.CommentAnchor{}
		if err := json.Unmarshal([]byte(anchor), c.Anchor); err != nil {
			return c, fmt.Errorf("comment %s: anchor: %w", c.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(history), &c.History); err != nil {
		return c, fmt.Errorf("comment %s: history: %w", c.ID, err)
	}
	for i := range c.History {
		c.History[i].At = c.History[i].At.UTC()
	}
	return c, nil
}

func commentArgs(c *db.Comment) []any {
	anchor := []byte("{}")
	if c.Anchor != nil {
		anchor, _ = json.Marshal(c.Anchor) // plain fields always marshal
	}
	hist := c.History
	if hist == nil {
		hist = []db.CommentVersion{}
	}
	h, _ := json.Marshal(hist)
	return []any{c.ID, c.RunID, c.Author, ms(c.At), c.Body, string(anchor), optMS(c.EditedAt), optMS(c.DeletedAt), string(h)}
}

const insertCommentSQL = "INSERT INTO comments (" + commentColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

// InsertComment stores a new comment.
func (s *Store) InsertComment(ctx context.Context, c *db.Comment) error {
	if _, err := s.exec(ctx, insertCommentSQL, commentArgs(c)...); err != nil {
		return fmt.Errorf("db: insert comment: %w", err)
	}
	return nil
}

// CommentByID finds a comment.
func (s *Store) CommentByID(ctx context.Context, id string) (*db.Comment, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (db.Comment, error) { return scanComment(r) },
		"SELECT "+commentColumns+" FROM comments WHERE id = ?", id)
	switch {
	case err != nil:
		return nil, fmt.Errorf("db: find comment: %w", err)
	case len(out) == 0:
		return nil, fmt.Errorf("db: find comment: %w", db.ErrNotFound)
	}
	return &out[0], nil
}

// ListComments lists a run's comments, oldest first.
func (s *Store) ListComments(ctx context.Context, runID string) ([]db.Comment, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (db.Comment, error) { return scanComment(r) },
		"SELECT "+commentColumns+" FROM comments WHERE run_id = ? ORDER BY id", runID)
	if err != nil {
		return nil, fmt.Errorf("db: list comments: %w", err)
	}
	return out, nil
}

// UpdateComment reads, changes and writes a comment in one transaction.
func (s *Store) UpdateComment(ctx context.Context, id string, change func(*db.Comment) error) (*db.Comment, error) {
	var changeErr error
	var after db.Comment
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		c, err := scanComment(s.txRow(ctx, tx, trace("SELECT "+commentColumns+" FROM comments WHERE id = ?"), id))
		if err != nil {
			return err
		}
		if changeErr = change(&c); changeErr != nil {
			return changeErr
		}
		args := commentArgs(&c)
		_, err = s.txExec(ctx, tx, trace("UPDATE comments SET body = ?, anchor = ?, edited_at = ?, deleted_at = ?, history = ? WHERE id = ?"),
			args[4], args[5], args[6], args[7], args[8], id)
		after = c
		return err
	})
	if changeErr != nil {
		return nil, changeErr
	}
	if err != nil {
		return nil, fmt.Errorf("db: update comment: %w", classify(err))
	}
	return &after, nil
}
