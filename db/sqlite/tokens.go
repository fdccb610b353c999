package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"labreview/db"
)

const tokenColumns = "id, user_id, name, hash, hint, scopes, projects, created_at, expires_at, last_used_at, revoked_at"

func scanToken(r rowScanner) (db.APIToken, error) {
	var t db.APIToken
	var scopes, projects string
	var created, expires int64
	var used, revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Hint, &scopes, &projects, &created, &expires, &used, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromMS(created), fromMS(expires), fromOptMS(used), fromOptMS(revoked)
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return t, fmt.Errorf("token %s: scopes: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(projects), &t.Projects); err != nil {
		return t, fmt.Errorf("token %s: projects: %w", t.ID, err)
	}
	return t, nil
}

const insertTokenSQL = "INSERT INTO api_tokens (" + tokenColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

func tokenArgs(t *db.APIToken) []any {
	return []any{t.ID, t.UserID, t.Name, t.Hash, t.Hint, stringsJSON(t.Scopes), stringsJSON(t.Projects),
		ms(t.CreatedAt), ms(t.ExpiresAt), optMS(t.LastUsedAt), optMS(t.RevokedAt)}
}

// InsertAPIToken stores a new token.
func (s *Store) InsertAPIToken(ctx context.Context, t *db.APIToken) error {
	if _, err := s.exec(ctx, insertTokenSQL, tokenArgs(t)...); err != nil {
		return fmt.Errorf("db: insert api token: %w", err)
	}
	return nil
}

func (s *Store) tokenWhere(ctx context.Context, what, where string, arg any) (*db.APIToken, error) {
	rows, err := readAll(ctx, s, func(r *sql.Rows) (db.APIToken, error) { return scanToken(r) },
		"SELECT "+tokenColumns+" FROM api_tokens WHERE "+where, arg)
	switch {
	case err != nil:
		return nil, fmt.Errorf("db: find api token by %s: %w", what, err)
	case len(rows) == 0:
		return nil, fmt.Errorf("db: find api token by %s: %w", what, db.ErrNotFound)
	}
	return &rows[0], nil
}

// APITokenByHash finds a token by its hash (a unique index).
func (s *Store) APITokenByHash(ctx context.Context, hash string) (*db.APIToken, error) {
	return s.tokenWhere(ctx, "hash", "hash = ?", hash)
}

// APITokenByID finds a token by id.
func (s *Store) APITokenByID(ctx context.Context, id string) (*db.APIToken, error) {
	return s.tokenWhere(ctx, "id", "id = ?", id)
}

// ListAPITokens lists a user's tokens, or everyone's, newest first.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]db.APIToken, error) {
	scan := func(r *sql.Rows) (db.APIToken, error) { return scanToken(r) }
	var (
		out []db.APIToken
		err error
	)
	if userID == "" {
		out, err = readAll(ctx, s, scan, "SELECT "+tokenColumns+" FROM api_tokens ORDER BY id DESC")
	} else {
		out, err = readAll(ctx, s, scan, "SELECT "+tokenColumns+" FROM api_tokens WHERE user_id = ? ORDER BY id DESC", userID)
	}
	if err != nil {
		return nil, fmt.Errorf("db: list api tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken marks a token revoked, once: the update applies only to
// a token that is not revoked yet.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, now time.Time) (bool, error) {
	var one int
	err := s.writeRow(ctx, []any{&one}, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING 1", ms(now), id)
	switch {
	case err == nil:
		return true, nil
	case !isNotFound(classify(err)):
		return false, fmt.Errorf("db: revoke api token: %w", classify(err))
	}
	if _, err := s.APITokenByID(ctx, id); err != nil {
		return false, err
	}
	return false, nil
}

// TouchAPIToken records a use.
func (s *Store) TouchAPIToken(ctx context.Context, id string, now time.Time) error {
	if _, err := s.exec(ctx, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", ms(now), id); err != nil {
		return fmt.Errorf("db: touch api token: %w", err)
	}
	return nil
}

// SharedSecret stores candidate under name unless a secret is there, and
// returns the stored one.
func (s *Store) SharedSecret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	// Read first: the secret exists nearly always, and a read works while
	// the disk refuses writes.
	var value []byte
	err := s.readRow(ctx, []any{&value}, "SELECT value FROM secrets WHERE name = ?", name)
	if err == nil {
		return value, nil
	}
	if !isNotFound(err) {
		return nil, fmt.Errorf("db: shared secret %s: %w", name, err)
	}
	err = s.writeRow(ctx, []any{&value},
		"INSERT INTO secrets (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = value RETURNING value",
		name, candidate)
	if err != nil {
		return nil, fmt.Errorf("db: shared secret %s: %w", name, classify(err))
	}
	return value, nil
}
