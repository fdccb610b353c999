package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"labreview/db"
)

const userColumns = "id, email, name, role, disabled, password_hash, created_at, updated_at, password_changed_at, email_skeleton"

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner) (db.User, error) {
	var u db.User
	var disabled int
	var created, updated, changed int64
	err := r.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &disabled, &u.PasswordHash, &created, &updated, &changed, &u.EmailSkeleton)
	u.Disabled = disabled == 1
	u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt = fromMS(created), fromMS(updated), fromMS(changed)
	return u, err
}

func userArgs(u *db.User) []any {
	return []any{u.ID, u.Email, u.Name, u.Role, boolInt(u.Disabled), u.PasswordHash,
		ms(u.CreatedAt), ms(u.UpdatedAt), ms(u.PasswordChangedAt), u.EmailSkeleton}
}

const insertUserSQL = "INSERT INTO users (" + userColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// InsertUser stores a new user; a taken email or id gives db.ErrConflict.
func (s *Store) InsertUser(ctx context.Context, u *db.User) error {
	if _, err := s.exec(ctx, insertUserSQL, userArgs(u)...); err != nil {
		return fmt.Errorf("db: insert user: %w", err)
	}
	return nil
}

// UserByID finds a user.
func (s *Store) UserByID(ctx context.Context, id string) (*db.User, error) {
	return s.findUser(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id)
}

// UserByEmail finds a user by exact email.
func (s *Store) UserByEmail(ctx context.Context, email string) (*db.User, error) {
	return s.findUser(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?", email)
}

// UserBySkeleton finds a user whose email has the skeleton.
func (s *Store) UserBySkeleton(ctx context.Context, skeleton string) (*db.User, error) {
	return s.findUser(ctx, "SELECT "+userColumns+" FROM users WHERE email_skeleton = ? LIMIT 1", skeleton)
}

// SetEmailSkeleton stores a user's email skeleton.
func (s *Store) SetEmailSkeleton(ctx context.Context, id, skeleton string) error {
	if _, err := s.exec(ctx, "UPDATE users SET email_skeleton = ? WHERE id = ?", skeleton, id); err != nil {
		return fmt.Errorf("db: set email skeleton: %w", err)
	}
	return nil
}

// UsersWithoutSkeleton returns up to limit users with no stored skeleton.
func (s *Store) UsersWithoutSkeleton(ctx context.Context, limit int) ([]db.User, error) {
	users, err := readAll(ctx, s, func(r *sql.Rows) (db.User, error) { return scanUser(r) },
		"SELECT "+userColumns+" FROM users WHERE email_skeleton = '' LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("db: users without skeleton: %w", err)
	}
	return users, nil
}

func (s *Store) findUser(ctx context.Context, query string, arg string) (*db.User, error) {
	release, err := s.readTurn(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: find user: %w", err)
	}
	defer release()
	st, err := s.prepared(ctx, s.r, query)
	if err != nil {
		return nil, fmt.Errorf("db: find user: %w", classify(err))
	}
	u, err := scanUser(st.QueryRowContext(ctx, arg))
	if err != nil {
		return nil, fmt.Errorf("db: find user: %w", classify(err))
	}
	return &u, nil
}

// ListUsers returns every user, ordered by email.
func (s *Store) ListUsers(ctx context.Context) ([]db.User, error) {
	users, err := readAll(ctx, s, func(r *sql.Rows) (db.User, error) { return scanUser(r) },
		"SELECT "+userColumns+" FROM users ORDER BY email")
	if err != nil {
		return nil, fmt.Errorf("db: list users: %w", err)
	}
	return users, nil
}

// CountActiveAdmins counts enabled admins other than except.
func (s *Store) CountActiveAdmins(ctx context.Context, except string) (int64, error) {
	var n int64
	err := s.readRow(ctx, []any{&n},
		"SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?", except)
	if err != nil {
		return 0, fmt.Errorf("db: count admins: %w", err)
	}
	return n, nil
}

// UpdateUser applies change in one transaction and returns the user before
// and after it.
func (s *Store) UpdateUser(ctx context.Context, id string, change db.UserChange, now time.Time) (before, after *db.User, err error) {
	sets := []string{"updated_at = ?"}
	args := []any{ms(now)}
	if change.Name != nil {
		sets, args = append(sets, "name = ?"), append(args, *change.Name)
	}
	if change.Role != nil {
		sets, args = append(sets, "role = ?"), append(args, *change.Role)
	}
	if change.Disabled != nil {
		sets, args = append(sets, "disabled = ?"), append(args, boolInt(*change.Disabled))
	}
	if change.PasswordHash != nil {
		sets, args = append(sets, "password_hash = ?", "password_changed_at = ?"), append(args, *change.PasswordHash, ms(now))
	}
	args = append(args, id)
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		old, err := scanUser(s.txRow(ctx, tx, trace("SELECT "+userColumns+" FROM users WHERE id = ?"), id))
		if err != nil {
			return err
		}
		updated, err := scanUser(tx.QueryRowContext(ctx,
			trace("UPDATE users SET "+strings.Join(sets, ", ")+" WHERE id = ? RETURNING "+userColumns), args...))
		if err != nil {
			return err
		}
		before, after = &old, &updated
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("db: update user: %w", err)
	}
	return before, after, nil
}

// ReplacePasswordHash swaps the hash only if it is still oldHash.
func (s *Store) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string) (bool, error) {
	res, err := s.exec(ctx, "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?", newHash, id, oldHash)
	if err != nil {
		return false, fmt.Errorf("db: replace password hash: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteUser removes a user and returns it.
func (s *Store) DeleteUser(ctx context.Context, id string) (*db.User, error) {
	var u db.User
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		u, err = scanUser(s.txRow(ctx, tx, trace("DELETE FROM users WHERE id = ? RETURNING "+userColumns), id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("db: delete user: %w", err)
	}
	return &u, nil
}
