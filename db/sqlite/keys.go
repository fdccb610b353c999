package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"labreview/db"
)

const keyColumns = "id, alg, private_key, created_at, retired_at"

func scanKey(r rowScanner) (db.SigningKey, error) {
	var k db.SigningKey
	var created int64
	var retired sql.NullInt64
	err := r.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &created, &retired)
	k.CreatedAt, k.RetiredAt = fromMS(created), fromOptMS(retired)
	return k, err
}

const insertKeySQL = "INSERT INTO signing_keys (" + keyColumns + ") VALUES (?, ?, ?, ?, ?)"

func keyArgs(k *db.SigningKey) []any {
	return []any{k.ID, k.Algorithm, k.PrivateKey, ms(k.CreatedAt), optMS(k.RetiredAt)}
}

// SigningKeys lists every stored key, oldest first. The table holds a
// handful of rows (retired keys are deleted once their tokens expired).
func (s *Store) SigningKeys(ctx context.Context) ([]db.SigningKey, error) {
	keys, err := readAll(ctx, s, func(r *sql.Rows) (db.SigningKey, error) { return scanKey(r) },
		"SELECT "+keyColumns+" FROM signing_keys ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("db: list signing keys: %w", err)
	}
	return keys, nil
}

// InsertSigningKey stores a new key.
func (s *Store) InsertSigningKey(ctx context.Context, k *db.SigningKey) error {
	if _, err := s.exec(ctx, insertKeySQL, keyArgs(k)...); err != nil {
		return fmt.Errorf("db: insert signing key: %w", err)
	}
	return nil
}

// RetireSigningKeys marks every active key except keep as retired.
func (s *Store) RetireSigningKeys(ctx context.Context, keep string, now time.Time) error {
	if _, err := s.exec(ctx, "UPDATE signing_keys SET retired_at = ? WHERE id != ? AND retired_at IS NULL", ms(now), keep); err != nil {
		return fmt.Errorf("db: retire signing keys: %w", err)
	}
	return nil
}

// DeleteSigningKeysRetiredBefore removes keys retired before cutoff.
func (s *Store) DeleteSigningKeysRetiredBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.exec(ctx, "DELETE FROM signing_keys WHERE retired_at < ?", ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("db: delete retired keys: %w", err)
	}
	return res.RowsAffected()
}
