package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Schema migrations are SQL files embedded in the binary, named
// NNNN_description.sql and numbered from 1 without gaps. The database's
// PRAGMA user_version is the number of the last one applied. Each runs in
// its own IMMEDIATE transaction together with the version bump, so a
// migration is applied whole or not at all, and two processes starting at
// once never apply one twice.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]migration, 0, len(names))
	for i, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			return nil, fmt.Errorf("db: migration %s: want number %04d", base, i+1)
		}
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(body)})
	}
	return out, nil
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate brings the database to SchemaVersion, or refuses a database
// written by a newer labreview.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	latest := len(ms)
	var current int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("db: read schema version of %s: %w", s.path, classify(err))
	}
	if current > latest {
		return newerSchemaError(s.path, current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		err := s.exclusiveTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var v int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
				return err
			}
			if v >= m.version { // another process applied it meanwhile
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version))
			return err
		})
		if err != nil {
			return fmt.Errorf("db: apply schema migration %s to %s: %w", m.name, s.path, err)
		}
		s.log.Info("applied schema migration", "migration", m.name)
	}
	return nil
}

func newerSchemaError(path string, found, known int) error {
	return fmt.Errorf("%w: %s has schema version %d, and this labreview knows versions up to %d. "+
		"Run the newer labreview that wrote it, or restore a backup made with this version",
		ErrNewerSchema, path, found, known)
}
