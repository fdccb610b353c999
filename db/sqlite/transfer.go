package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"labreview/db"
)

// ExportRecords reads every record inside one read transaction: the export
// is a consistent snapshot even while the server keeps writing.
func (s *Store) ExportRecords(ctx context.Context, emit func(db.Record) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return classify(err)
	}
	defer func() { _ = tx.Rollback() }()
	each := func(query string, fn func(rowScanner) (db.Record, error)) error {
		rows, err := tx.QueryContext(ctx, trace(query))
		if err != nil {
			return classify(err)
		}
		defer rows.Close()
		for rows.Next() {
			rec, err := fn(rows)
			if err != nil {
				return classify(err)
			}
			if err := emit(rec); err != nil {
				return err
			}
		}
		return classify(rows.Err())
	}
	for _, kind := range db.RecordKinds {
		var err error
		switch kind {
		case db.KindSecret:
			err = each("SELECT name, value FROM secrets ORDER BY name", func(r rowScanner) (db.Record, error) {
				var sec db.Secret
				err := r.Scan(&sec.Name, &sec.Value)
				return db.Record{Kind: kind, Secret: &sec}, err
			})
		case db.KindAPIToken:
			err = each("SELECT "+tokenColumns+" FROM api_tokens ORDER BY id", func(r rowScanner) (db.Record, error) {
				t, err := scanToken(r)
				return db.Record{Kind: kind, Token: &t}, err
			})
		case db.KindProject:
			err = each("SELECT "+projectColumns+" FROM projects ORDER BY name", func(r rowScanner) (db.Record, error) {
				p, err := scanProject(r)
				return db.Record{Kind: kind, Project: &p}, err
			})
		case db.KindComment:
			err = each("SELECT "+commentColumns+" FROM comments ORDER BY id", func(r rowScanner) (db.Record, error) {
				c, err := scanComment(r)
				return db.Record{Kind: kind, Comment: &c}, err
			})
		case db.KindReview:
			err = each("SELECT "+reviewColumns+" FROM reviews ORDER BY id", func(r rowScanner) (db.Record, error) {
				e, err := scanReview(r)
				return db.Record{Kind: kind, Review: &e}, err
			})
		case db.KindSeries:
			err = each("SELECT run_id, series, points FROM series_chunks ORDER BY run_id, series, first_step", func(r rowScanner) (db.Record, error) {
				var part db.SeriesPart
				var blob []byte
				if err := r.Scan(&part.RunID, &part.Name, &blob); err != nil {
					return db.Record{}, err
				}
				var err error
				part.Points, err = db.DecodePoints(blob)
				return db.Record{Kind: kind, Series: &part}, err
			})
		case db.KindRun:
			err = each("SELECT "+runColumns+" FROM runs ORDER BY id", func(r rowScanner) (db.Record, error) {
				run, err := scanRun(r)
				return db.Record{Kind: kind, Run: &run}, err
			})
		case db.KindSigningKey:
			err = each("SELECT "+keyColumns+" FROM signing_keys ORDER BY id", func(r rowScanner) (db.Record, error) {
				k, err := scanKey(r)
				return db.Record{Kind: kind, Key: &k}, err
			})
		case db.KindUser:
			err = each("SELECT "+userColumns+" FROM users ORDER BY id", func(r rowScanner) (db.Record, error) {
				u, err := scanUser(r)
				return db.Record{Kind: kind, User: &u}, err
			})
		case db.KindSavedView:
			err = each("SELECT "+viewColumns+" FROM saved_views ORDER BY user_id, name", func(r rowScanner) (db.Record, error) {
				v, err := scanView(r)
				return db.Record{Kind: kind, View: &v}, err
			})
		case db.KindSetup:
			err = each("SELECT user_id, at FROM setup", func(r rowScanner) (db.Record, error) {
				var c db.SetupClaim
				var at int64
				err := r.Scan(&c.UserID, &at)
				c.At = fromMS(at)
				return db.Record{Kind: kind, Setup: &c}, err
			})
		case db.KindSession:
			err = each("SELECT "+sessionColumns+" FROM sessions ORDER BY id", func(r rowScanner) (db.Record, error) {
				sess, err := scanSession(r)
				return db.Record{Kind: kind, Session: &sess}, err
			})
		case db.KindAudit:
			err = each("SELECT "+auditColumns+" FROM audit ORDER BY id", func(r rowScanner) (db.Record, error) {
				e, err := scanAudit(r)
				return db.Record{Kind: kind, Audit: &e}, err
			})
		}
		if kind == db.KindFile {
			// The index from the snapshot; the bytes from their files
			// (content-addressed, so a file never changes under its name).
			err = s.exportFiles(ctx, tx, emit)
		}
		if err != nil {
			return fmt.Errorf("db: export %s: %w", kind, err)
		}
	}
	return nil
}

// ImportRecords writes every record in one transaction: an import that
// fails half-way leaves the database as it was.
func (s *Store) ImportRecords(ctx context.Context, next func() (db.Record, error), merge bool) (*db.ImportReport, error) {
	report := db.NewImportReport()
	err := s.exclusiveTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if !merge {
			var found int
			err := s.txRow(ctx, tx, trace(`SELECT EXISTS (SELECT 1 FROM users) + EXISTS (SELECT 1 FROM sessions)
				+ EXISTS (SELECT 1 FROM audit) + EXISTS (SELECT 1 FROM signing_keys) + EXISTS (SELECT 1 FROM setup)
				+ EXISTS (SELECT 1 FROM api_tokens) + EXISTS (SELECT 1 FROM runs)`)).Scan(&found)
			if err != nil {
				return err
			}
			if found > 0 {
				return db.ErrNotEmpty
			}
		}
		// The query index reads the runs again after an import.
		if err := s.runChanged(ctx, tx, func(ix *runIndex) { ix.loaded, ix.pending = false, nil }); err != nil {
			return err
		}
		for {
			rec, err := next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			var added bool
			var conflict string
			if rec.Kind == db.KindFile {
				added, err = s.importFile(ctx, tx, rec.File, next)
			} else {
				added, conflict, err = s.importOne(ctx, tx, rec)
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", rec.Kind, rec.ID(), err)
			}
			report.Note(rec, added, conflict)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("db: import: %w", err)
	}
	return report, nil
}

// importOne inserts rec unless a record with its id exists (then it is
// kept, and added is false). conflict explains a record that cannot be
// imported beside what the database holds.
func (s *Store) importOne(ctx context.Context, tx *sql.Tx, rec db.Record) (added bool, conflict string, err error) {
	insert := func(query string, args ...any) (bool, error) {
		res, err := s.txExec(ctx, tx, trace(query+" ON CONFLICT DO NOTHING"), args...)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	switch rec.Kind {
	case db.KindSecret:
		var stored []byte
		err = s.txRow(ctx, tx, trace("SELECT value FROM secrets WHERE name = ?"), rec.Secret.Name).Scan(&stored)
		switch {
		case err == nil && bytes.Equal(stored, rec.Secret.Value):
			return false, "", nil
		case err == nil:
			// The database's own secret is replaced only while no token
			// depends on it.
			var used bool
			if err = s.txRow(ctx, tx, trace("SELECT EXISTS (SELECT 1 FROM api_tokens)")).Scan(&used); err != nil {
				return false, "", err
			}
			if used {
				return false, db.SecretConflict(rec.Secret.Name), nil
			}
			_, err = s.txExec(ctx, tx, trace("UPDATE secrets SET value = ? WHERE name = ?"), rec.Secret.Value, rec.Secret.Name)
			return err == nil, "", err
		case !errors.Is(err, sql.ErrNoRows):
			return false, "", err
		}
		added, err = insert("INSERT INTO secrets (name, value) VALUES (?, ?)", rec.Secret.Name, rec.Secret.Value)
	case db.KindAPIToken:
		var one int
		err = s.txRow(ctx, tx, trace("SELECT 1 FROM users WHERE id = ?"), rec.Token.UserID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Sprintf("api token %s: its user %s is not in the database; not imported", rec.Token.ID, rec.Token.UserID), nil
		}
		if err != nil {
			return false, "", err
		}
		added, err = insert(insertTokenSQL, tokenArgs(rec.Token)...)
	case db.KindComment:
		added, err = insert(insertCommentSQL, commentArgs(rec.Comment)...)
	case db.KindReview:
		e := rec.Review
		added, err = insert("INSERT INTO reviews ("+reviewColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", e.ID, e.RunID, e.State,
			e.By, ms(e.At), e.Comment, e.BatchID, e.UndoOf, e.DataVersion, string(e.Snapshot))
	case db.KindSeries:
		// Written as stored: the run's data version and verdict came with
		// its own record.
		var n int
		if n, _, _, err = s.writeOneSeries(ctx, tx, rec.Series.RunID, rec.Series.Name, db.SortPoints(rec.Series.Points)); err == nil {
			added = n > 0
		}
	case db.KindRun:
		var holder string
		err = s.txRow(ctx, tx, trace("SELECT id FROM runs WHERE project = ? AND external_id = ?"), rec.Run.Project, rec.Run.ExternalID).Scan(&holder)
		switch {
		case err == nil && holder != rec.Run.ID:
			return false, db.RunConflict(rec.Run, holder), nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return false, "", err
		}
		var args []any
		if args, err = runArgs(rec.Run); err == nil {
			added, err = insert(insertRunSQL, args...)
		}
		if err == nil && added {
			err = s.moveProject(ctx, tx, rec.Run.Project, db.ProjectDelta(nil, rec.Run), rec.Run.UpdatedAt)
		}
	case db.KindProject:
		// The baseline, unless the database has one already; the counters
		// came with the runs.
		var res sql.Result
		res, err = s.txExec(ctx, tx, trace("INSERT INTO projects ("+projectColumns+") VALUES (?, '{}', 0, ?) "+
			"ON CONFLICT (name) DO UPDATE SET baseline_run = excluded.baseline_run WHERE baseline_run = ''"),
			rec.Project.Name, rec.Project.BaselineRun)
		if err == nil {
			n, _ := res.RowsAffected()
			added = n == 1 && rec.Project.BaselineRun != ""
		}
	case db.KindSigningKey:
		added, err = insert(insertKeySQL, keyArgs(rec.Key)...)
	case db.KindUser:
		u := rec.User
		var holder string
		err = s.txRow(ctx, tx, trace("SELECT id FROM users WHERE email = ?"), u.Email).Scan(&holder)
		switch {
		case err == nil && holder != u.ID:
			return false, fmt.Sprintf("user %s (%s): the email belongs to user %s already; not imported", u.ID, u.Email, holder), nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return false, "", err
		}
		added, err = insert(insertUserSQL, userArgs(u)...)
	case db.KindSavedView:
		var one int
		err = s.txRow(ctx, tx, trace("SELECT 1 FROM users WHERE id = ?"), rec.View.UserID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, db.ViewConflict(rec.View), nil
		}
		if err != nil {
			return false, "", err
		}
		added, err = insert(insertViewSQL, viewArgs(rec.View)...)
	case db.KindSetup:
		added, err = insert("INSERT INTO setup (id, user_id, at) VALUES (1, ?, ?)", rec.Setup.UserID, ms(rec.Setup.At))
	case db.KindSession:
		var one int
		err = s.txRow(ctx, tx, trace("SELECT 1 FROM users WHERE id = ?"), rec.Session.UserID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Sprintf("session %s: its user %s is not in the database; not imported", rec.Session.ID, rec.Session.UserID), nil
		}
		if err != nil {
			return false, "", err
		}
		added, err = insert(insertSessionSQL, sessionArgs(rec.Session)...)
	case db.KindAudit:
		var args []any
		if args, err = auditArgs(rec.Audit); err == nil {
			added, err = insert(insertAuditSQL, args...)
		}
	default:
		err = fmt.Errorf("unknown record kind %q", rec.Kind)
	}
	return added, "", err
}

// exportFiles emits every file with its bytes: the index rows from the
// export's snapshot, the bytes from their blobs.
func (s *Store) exportFiles(ctx context.Context, tx *sql.Tx, emit func(db.Record) error) error {
	rows, err := tx.QueryContext(ctx, trace("SELECT "+artifactColumns+" FROM artifacts ORDER BY run_id, path"))
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanArtifact(rows)
		if err != nil {
			return classify(err)
		}
		if err := db.ExportFile(ctx, s, &a, emit); err != nil {
			return err
		}
	}
	return classify(rows.Err())
}

// importFile stores an imported file inside the import's transaction: its
// bytes (read from the part records that follow it) into a blob, then its
// index row, unless the run has a file at its path (then the parts are
// read past and the file counts as skipped). A blob written by an import
// that rolls back stays unindexed: space, never a dangling row.
func (s *Store) importFile(ctx context.Context, tx *sql.Tx, f *db.Artifact, next func() (db.Record, error)) (bool, error) {
	body := db.FileBody(f, next)
	var one int
	err := s.txRow(ctx, tx, trace("SELECT 1 FROM artifacts WHERE run_id = ? AND path = ?"), f.RunID, f.Path).Scan(&one)
	if err == nil {
		_, err := io.Copy(io.Discard, body)
		return false, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	tmpDir := filepath.Join(s.artifactDir(), "tmp")
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return false, fileErr(err)
	}
	tmp, err := os.CreateTemp(tmpDir, "import-*")
	if err != nil {
		return false, fileErr(err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fileErr(err)
	}
	dst := s.blobPath(f.SHA256)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return false, fileErr(err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return false, fileErr(err)
	}
	_, err = s.txExec(ctx, tx, trace("INSERT INTO artifacts ("+artifactColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
		f.RunID, f.Path, f.Project, f.Size, f.SHA256, f.ContentType, ms(f.CreatedAt), f.CreatedBy)
	return err == nil, err
}
