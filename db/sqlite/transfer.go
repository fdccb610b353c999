package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"labreview/db"
)

// transferKinds is this adapter's side of each record kind of the export
// format (db's table in db/transferkinds.go): how an export reads every
// record of the kind, and how an import writes one. A kind that is part of
// another's record (db.RecordKind.PartOf: file_part) has no entry: the
// file's entry writes and reads its bytes. TestTransferTablesMatchTheFormat
// holds this table to db's.
var transferKinds = map[db.RecordKind]db.AdapterKind[*transferTx]{
	db.KindSecret: {
		Export: rows("SELECT name, value FROM secrets ORDER BY name", func(r rowScanner) (db.Record, error) {
			var sec db.Secret
			err := r.Scan(&sec.Name, &sec.Value)
			return db.Record{Kind: db.KindSecret, Secret: &sec}, err
		}),
		Import: (*transferTx).importSecret,
	},
	db.KindSigningKey: {
		Export: rows("SELECT "+keyColumns+" FROM signing_keys ORDER BY id", func(r rowScanner) (db.Record, error) {
			k, err := scanKey(r)
			return db.Record{Kind: db.KindSigningKey, Key: &k}, err
		}),
		Import: func(x *transferTx, rec db.Record) (bool, string, error) {
			added, err := x.insert(insertKeySQL, keyArgs(rec.Key)...)
			return added, "", err
		},
	},
	db.KindUser: {
		Export: rows("SELECT "+userColumns+" FROM users ORDER BY id", func(r rowScanner) (db.Record, error) {
			u, err := scanUser(r)
			return db.Record{Kind: db.KindUser, User: &u}, err
		}),
		Import: (*transferTx).importUser,
	},
	db.KindSavedView: {
		Export: rows("SELECT "+viewColumns+" FROM saved_views ORDER BY user_id, name", func(r rowScanner) (db.Record, error) {
			v, err := scanView(r)
			return db.Record{Kind: db.KindSavedView, View: &v}, err
		}),
		Import: func(x *transferTx, rec db.Record) (bool, string, error) {
			return x.insertOfUser(rec.View.UserID, db.ViewConflict(rec.View), insertViewSQL, viewArgs(rec.View)...)
		},
	},
	db.KindSetup: {
		Export: rows("SELECT user_id, at FROM setup", func(r rowScanner) (db.Record, error) {
			var c db.SetupClaim
			var at int64
			err := r.Scan(&c.UserID, &at)
			c.At = fromMS(at)
			return db.Record{Kind: db.KindSetup, Setup: &c}, err
		}),
		Import: func(x *transferTx, rec db.Record) (bool, string, error) {
			added, err := x.insert("INSERT INTO setup (id, user_id, at) VALUES (1, ?, ?)", rec.Setup.UserID, ms(rec.Setup.At))
			return added, "", err
		},
	},
	db.KindSession: {
		Export: rows("SELECT "+sessionColumns+" FROM sessions ORDER BY id", func(r rowScanner) (db.Record, error) {
			sess, err := scanSession(r)
			return db.Record{Kind: db.KindSession, Session: &sess}, err
		}),
		Import: func(x *transferTx, rec db.Record) (bool, string, error) {
			return x.insertOfUser(rec.Session.UserID,
				fmt.Sprintf("session %s: its user %s is not in the database; not imported", rec.Session.ID, rec.Session.UserID),
				insertSessionSQL, sessionArgs(rec.Session)...)
		},
	},
	db.KindAPIToken: {
		Export: rows("SELECT "+tokenColumns+" FROM api_tokens ORDER BY id", func(r rowScanner) (db.Record, error) {
			t, err := scanToken(r)
			return db.Record{Kind: db.KindAPIToken, Token: &t}, err
		}),
		Import: func(x *transferTx, rec db.Record) (bool, string, error) {
			return x.insertOfUser(rec.Token.UserID,
				fmt.Sprintf("api token %s: its user %s is not in the database; not imported", rec.Token.ID, rec.Token.UserID),
				insertTokenSQL, tokenArgs(rec.Token)...)
		},
	},
	db.KindRun: {
		Export: rows("SELECT "+runColumns+" FROM runs ORDER BY id", func(r rowScanner) (db.Record, error) {
			run, err := scanRun(r)
			return db.Record{Kind: db.KindRun, Run: &run}, err
		}),
		Import: (*transferTx).importRun,
	},
	db.KindProject: {
		Export: rows("SELECT "+projectColumns+" FROM projects ORDER BY name", func(r rowScanner) (db.Record, error) {
			p, err := scanProject(r)
			return db.Record{Kind: db.KindProject, Project: &p}, err
		}),
		Import: (*transferTx).importProject,
	},
	db.KindReview: {
		Export: rows("SELECT "+reviewColumns+" FROM reviews ORDER BY id", func(r rowScanner) (db.Record, error) {
			e, err := scanReview(r)
			return db.Record{Kind: db.KindReview, Review: &e}, err
		}),
		Import: func(x *transferTx, rec db.Record) (bool, string, error) {
			e := rec.Review
			added, err := x.insert("INSERT INTO reviews ("+reviewColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", e.ID, e.RunID, e.State,
				e.By, ms(e.At), e.Comment, e.BatchID, e.UndoOf, e.DataVersion, string(e.Snapshot))
			return added, "", err
		},
	},
	db.KindComment: {
		Export: rows("SELECT "+commentColumns+" FROM comments ORDER BY id", func(r rowScanner) (db.Record, error) {
			c, err := scanComment(r)
			return db.Record{Kind: db.KindComment, Comment: &c}, err
		}),
		Import: func(x *transferTx, rec db.Record) (bool, string, error) {
			added, err := x.insert(insertCommentSQL, commentArgs(rec.Comment)...)
			return added, "", err
		},
	},
	db.KindSeries: {
		Export: rows("SELECT run_id, series, points FROM series_chunks ORDER BY run_id, series, first_step", func(r rowScanner) (db.Record, error) {
			var part db.SeriesPart
			var blob []byte
			if err := r.Scan(&part.RunID, &part.Name, &blob); err != nil {
				return db.Record{}, err
			}
			var err error
			part.Points, err = db.DecodePoints(blob)
			return db.Record{Kind: db.KindSeries, Series: &part}, err
		}),
		Import: func(x *transferTx, rec db.Record) (bool, string, error) {
			// Written as stored: the run's data version and verdict came
			// with its own record.
			n, _, _, err := x.s.writeOneSeries(x.ctx, x.tx, rec.Series.RunID, rec.Series.Name, db.SortPoints(rec.Series.Points))
			return err == nil && n > 0, "", err
		},
	},
	db.KindAudit: {
		Export: rows("SELECT "+auditColumns+" FROM audit ORDER BY id", func(r rowScanner) (db.Record, error) {
			e, err := scanAudit(r)
			return db.Record{Kind: db.KindAudit, Audit: &e}, err
		}),
		Import: func(x *transferTx, rec db.Record) (bool, string, error) {
			args, err := auditArgs(rec.Audit)
			if err != nil {
				return false, "", err
			}
			added, err := x.insert(insertAuditSQL, args...)
			return added, "", err
		},
	},
	// A file's record, then the file_part records with its bytes.
	db.KindFile: {
		Export: (*transferTx).exportFiles,
		Import: func(x *transferTx, rec db.Record) (bool, string, error) {
			added, err := x.s.importFile(x.ctx, x.tx, rec.File, x.next)
			return added, "", err
		},
	},
}

// TransferKinds returns the record kinds of this adapter's transfer table,
// for the test that holds it to db's (TestTransferTablesMatchTheFormat).
func (s *Store) TransferKinds() []db.RecordKind { return slices.Collect(maps.Keys(transferKinds)) }

// transferTx is the transaction of an export (which emits records) or of
// an import (which reads them from next).
type transferTx struct {
	s    *Store
	ctx  context.Context
	tx   *sql.Tx
	emit func(db.Record) error
	next func() (db.Record, error)
}

// rows returns an export reader that emits a record per row of query.
func rows(query string, scan func(rowScanner) (db.Record, error)) func(x *transferTx) error {
	return func(x *transferTx) error {
		rows, err := x.tx.QueryContext(x.ctx, trace(query))
		if err != nil {
			return classify(err)
		}
		defer rows.Close()
		for rows.Next() {
			rec, err := scan(rows)
			if err != nil {
				return classify(err)
			}
			if err := x.emit(rec); err != nil {
				return err
			}
		}
		return classify(rows.Err())
	}
}

// ExportRecords reads every record inside one read transaction: the export
// is a consistent snapshot even while the server keeps writing.
func (s *Store) ExportRecords(ctx context.Context, emit func(db.Record) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return classify(err)
	}
	defer func() { _ = tx.Rollback() }()
	x := &transferTx{s: s, ctx: ctx, tx: tx, emit: emit}
	return db.ExportKinds(transferKinds, x)
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
		x := &transferTx{s: s, ctx: ctx, tx: tx, next: next}
		for {
			rec, err := next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			added, conflict, err := db.ImportKind(transferKinds, x, rec)
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

// insert runs an INSERT that does nothing when the row exists; added says
// whether it wrote one.
func (x *transferTx) insert(query string, args ...any) (bool, error) {
	res, err := x.s.txExec(x.ctx, x.tx, trace(query+" ON CONFLICT DO NOTHING"), args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// insertOfUser inserts a record that belongs to userID, or reports
// conflict when the database does not hold that user.
func (x *transferTx) insertOfUser(userID, conflict string, query string, args ...any) (bool, string, error) {
	var one int
	err := x.s.txRow(x.ctx, x.tx, trace("SELECT 1 FROM users WHERE id = ?"), userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, conflict, nil
	}
	if err != nil {
		return false, "", err
	}
	added, err := x.insert(query, args...)
	return added, "", err
}

func (x *transferTx) importSecret(rec db.Record) (bool, string, error) {
	s, ctx, tx := x.s, x.ctx, x.tx
	var stored []byte
	err := s.txRow(ctx, tx, trace("SELECT value FROM secrets WHERE name = ?"), rec.Secret.Name).Scan(&stored)
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
	added, err := x.insert("INSERT INTO secrets (name, value) VALUES (?, ?)", rec.Secret.Name, rec.Secret.Value)
	return added, "", err
}

func (x *transferTx) importUser(rec db.Record) (bool, string, error) {
	u := rec.User
	var holder string
	err := x.s.txRow(x.ctx, x.tx, trace("SELECT id FROM users WHERE email = ?"), u.Email).Scan(&holder)
	switch {
	case err == nil && holder != u.ID:
		return false, fmt.Sprintf("user %s (%s): the email belongs to user %s already; not imported", u.ID, u.Email, holder), nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return false, "", err
	}
	added, err := x.insert(insertUserSQL, userArgs(u)...)
	return added, "", err
}

func (x *transferTx) importRun(rec db.Record) (bool, string, error) {
	var holder string
	err := x.s.txRow(x.ctx, x.tx, trace("SELECT id FROM runs WHERE project = ? AND external_id = ?"), rec.Run.Project, rec.Run.ExternalID).Scan(&holder)
	switch {
	case err == nil && holder != rec.Run.ID:
		return false, db.RunConflict(rec.Run, holder), nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return false, "", err
	}
	args, err := runArgs(rec.Run)
	if err != nil {
		return false, "", err
	}
	added, err := x.insert(insertRunSQL, args...)
	if err == nil && added {
		err = x.s.moveProject(x.ctx, x.tx, rec.Run.Project, db.ProjectDelta(nil, rec.Run), rec.Run.UpdatedAt)
	}
	return added, "", err
}

// importProject keeps the baseline, unless the database has one already;
// the counters came with the runs.
func (x *transferTx) importProject(rec db.Record) (bool, string, error) {
	res, err := x.s.txExec(x.ctx, x.tx, trace("INSERT INTO projects ("+projectColumns+") VALUES (?, '{}', 0, ?) "+
		"ON CONFLICT (name) DO UPDATE SET baseline_run = excluded.baseline_run WHERE baseline_run = ''"),
		rec.Project.Name, rec.Project.BaselineRun)
	if err != nil {
		return false, "", err
	}
	n, _ := res.RowsAffected()
	return n == 1 && rec.Project.BaselineRun != "", "", nil
}

// exportFiles emits every file with its bytes: the index rows from the
// export's snapshot, the bytes from their blobs (content-addressed, so a
// file never changes under its name).
func (x *transferTx) exportFiles() error {
	withBytes := *x
	withBytes.emit = func(rec db.Record) error { return db.ExportFile(x.ctx, x.s, rec.File, x.emit) }
	return rows("SELECT "+artifactColumns+" FROM artifacts ORDER BY run_id, path", func(r rowScanner) (db.Record, error) {
		a, err := scanArtifact(r)
		return db.Record{Kind: db.KindFile, File: &a}, err
	})(&withBytes)
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
