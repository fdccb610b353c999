package mongo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"labreview/db"
)

// ExportRecords reads each collection in id order. MongoDB gives no
// snapshot across collections here: export from a deployment nobody writes
// to, or use mongodump for a point-in-time copy (docs/operations.md).
func (s *Store) ExportRecords(ctx context.Context, emit func(db.Record) error) error {
	byID := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	for _, kind := range db.RecordKinds {
		var err error
		switch kind {
		case db.KindSecret:
			err = each(ctx, s.meta(), bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: "secret:"}, {Key: "$lt", Value: "secret;"}}}},
				byID, func(d *secretDoc) error {
					return emit(db.Record{Kind: kind, Secret: &db.Secret{Name: strings.TrimPrefix(d.ID, "secret:"), Value: d.Value}})
				})
		case db.KindProject:
			err = each(ctx, s.projects(), bson.D{}, byID, func(d *projectDoc) error {
				p := d.project()
				return emit(db.Record{Kind: kind, Project: &p})
			})
		case db.KindComment:
			err = each(ctx, s.comments(), bson.D{}, byID, func(d *commentDoc) error {
				c := d.comment()
				return emit(db.Record{Kind: kind, Comment: &c})
			})
		case db.KindReview:
			err = each(ctx, s.reviews(), bson.D{}, byID, func(d *reviewDoc) error {
				e := d.entry()
				return emit(db.Record{Kind: kind, Review: &e})
			})
		case db.KindSeries:
			err = each(ctx, s.chunks(), bson.D{}, options.Find().SetSort(bson.D{{Key: "run_id", Value: 1}, {Key: "series", Value: 1}, {Key: "first_step", Value: 1}}),
				func(d *chunkDoc) error {
					c, err := decodeChunk(d)
					if err != nil {
						return err
					}
					return emit(db.Record{Kind: kind, Series: &db.SeriesPart{RunID: d.RunID.Hex(), Name: d.Series, Points: c.Points}})
				})
		case db.KindRun:
			err = each(ctx, s.runs(), bson.D{}, byID, func(d *runDoc) error {
				r, err := d.run()
				if err != nil {
					return err
				}
				return emit(db.Record{Kind: kind, Run: &r})
			})
		case db.KindAPIToken:
			err = each(ctx, s.tokens(), bson.D{}, byID, func(d *tokenDoc) error {
				t := d.token()
				return emit(db.Record{Kind: kind, Token: &t})
			})
		case db.KindSigningKey:
			err = each(ctx, s.keys(), bson.D{}, byID, func(d *keyDoc) error {
				k := d.key()
				return emit(db.Record{Kind: kind, Key: &k})
			})
		case db.KindUser:
			err = each(ctx, s.users(), bson.D{}, byID, func(d *userDoc) error {
				return emit(db.Record{Kind: kind, User: d.user()})
			})
		case db.KindSavedView:
			err = each(ctx, s.views(), bson.D{}, byID, func(d *viewDoc) error {
				v := d.view()
				return emit(db.Record{Kind: kind, View: &v})
			})
		case db.KindSetup:
			err = each(ctx, s.meta(), bson.D{{Key: "_id", Value: setupMarkerID}}, byID, func(d *setupDoc) error {
				return emit(db.Record{Kind: kind, Setup: &db.SetupClaim{UserID: d.UserID.Hex(), At: utc(d.At)}})
			})
		case db.KindSession:
			err = each(ctx, s.sessions(), bson.D{}, byID, func(d *sessionDoc) error {
				sess := d.session()
				return emit(db.Record{Kind: kind, Session: &sess})
			})
		case db.KindAudit:
			err = each(ctx, s.audit(), bson.D{}, byID, func(d *auditRead) error {
				e, err := d.event()
				if err != nil {
					return err
				}
				return emit(db.Record{Kind: kind, Audit: &e})
			})
		}
		if kind == db.KindFile {
			err = each(ctx, s.coll(artifactsCollection), bson.D{}, byID, func(d *artifactDoc) error {
				a := d.artifact()
				return db.ExportFile(ctx, s, &a, emit)
			})
		}
		if err != nil {
			return fmt.Errorf("db: export %s: %w", kind, err)
		}
	}
	return nil
}

// importFile stores an imported file (its bytes read from the part
// records that follow it) unless the run has a file at its path; then the
// parts are read past and the file counts as skipped.
func (s *Store) importFile(ctx context.Context, f *db.Artifact, next func() (db.Record, error)) (bool, error) {
	body := db.FileBody(f, next)
	if _, err := s.ArtifactByPath(ctx, f.RunID, f.Path); err == nil {
		_, err := io.Copy(io.Discard, body)
		return false, err
	} else if !errors.Is(err, db.ErrNotFound) {
		return false, err
	}
	a := *f
	if err := s.PutArtifact(ctx, &a, body, db.ArtifactLimits{}); err != nil {
		return false, err
	}
	return true, nil
}

// each decodes the documents of a query one at a time.
func each[T any](ctx context.Context, coll *mdb.Collection, filter any, opts *options.FindOptionsBuilder, fn func(*T) error) error {
	cur, err := coll.Find(ctx, filter, opts)
	if err != nil {
		return classify(err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d T
		if err := cur.Decode(&d); err != nil {
			return err
		}
		if err := fn(&d); err != nil {
			return err
		}
	}
	return classify(cur.Err())
}

// ImportRecords inserts the records one by one. A hosted import is not one
// transaction (MongoDB transactions need a replica set and bound their
// size): when it stops half-way, running it again with merge completes it,
// since records that exist are skipped.
func (s *Store) ImportRecords(ctx context.Context, next func() (db.Record, error), merge bool) (*db.ImportReport, error) {
	if !merge {
		for _, c := range []*mdb.Collection{s.users(), s.sessions(), s.audit(), s.keys(), s.meta(), s.tokens(), s.runs(), s.chunks()} {
			filter := bson.D{}
			if c.Name() == metaCollection {
				filter = bson.D{{Key: "_id", Value: setupMarkerID}}
			}
			if err := c.FindOne(ctx, filter).Err(); err == nil {
				return nil, db.ErrNotEmpty
			} else if !errors.Is(err, mdb.ErrNoDocuments) {
				return nil, fmt.Errorf("db: import: %w", classify(err))
			}
		}
	}
	report := db.NewImportReport()
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			return report, nil
		}
		if err != nil {
			return report, err
		}
		var added bool
		var conflict string
		if rec.Kind == db.KindFile {
			added, err = s.importFile(ctx, rec.File, next)
		} else {
			added, conflict, err = s.importOne(ctx, rec)
		}
		if err != nil {
			return report, fmt.Errorf("db: import %s %s (after %d records): %w", rec.Kind, rec.ID(), total(report), err)
		}
		report.Note(rec, added, conflict)
	}
}

func total(r *db.ImportReport) int {
	n := len(r.Conflicts)
	for _, c := range r.Added {
		n += c
	}
	for _, c := range r.Skipped {
		n += c
	}
	return n
}

func (s *Store) importOne(ctx context.Context, rec db.Record) (added bool, conflict string, err error) {
	// insert reports false when a document with the same _id exists.
	insert := func(c *mdb.Collection, doc any, id any) (bool, error) {
		if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Err(); err == nil {
			return false, nil
		} else if !errors.Is(err, mdb.ErrNoDocuments) {
			return false, classify(err)
		}
		_, err := c.InsertOne(ctx, doc)
		return err == nil, classify(err)
	}
	switch rec.Kind {
	case db.KindSecret:
		var d secretDoc
		ferr := s.meta().FindOne(ctx, bson.D{{Key: "_id", Value: "secret:" + rec.Secret.Name}}).Decode(&d)
		id := "secret:" + rec.Secret.Name
		switch {
		case ferr == nil && bytes.Equal(d.Value, rec.Secret.Value):
			return false, "", nil
		case ferr == nil:
			// The database's own secret is replaced only while no token
			// depends on it.
			if terr := s.tokens().FindOne(ctx, bson.D{}).Err(); !errors.Is(terr, mdb.ErrNoDocuments) {
				if terr != nil {
					return false, "", classify(terr)
				}
				return false, db.SecretConflict(rec.Secret.Name), nil
			}
			_, err = s.meta().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "value", Value: rec.Secret.Value}}}})
			return err == nil, "", classify(err)
		case !errors.Is(ferr, mdb.ErrNoDocuments):
			return false, "", classify(ferr)
		}
		added, err = insert(s.meta(), secretDoc{ID: id, Value: rec.Secret.Value}, id)
	case db.KindComment:
		d, derr := toCommentDoc(rec.Comment, 1)
		if derr != nil {
			return false, "", derr
		}
		added, err = insert(s.comments(), d, d.ID)
	case db.KindReview:
		e := rec.Review
		id, err1 := bson.ObjectIDFromHex(e.ID)
		rid, err2 := bson.ObjectIDFromHex(e.RunID)
		if err1 != nil || err2 != nil {
			return false, "", fmt.Errorf("review %s: ids are not ids", e.ID)
		}
		added, err = insert(s.reviews(), reviewDoc{ID: id, RunID: rid, State: e.State, By: e.By, At: e.At, Comment: e.Comment,
			BatchID: e.BatchID, UndoOf: e.UndoOf, DataVersion: e.DataVersion, Snapshot: string(e.Snapshot)}, id)
	case db.KindSeries:
		// Written as stored: the run's data version and verdict came with
		// its own record.
		n, werr := s.writeSeries(ctx, rec.Series.RunID, map[string][]db.Point{rec.Series.Name: db.SortPoints(rec.Series.Points)}, nil)
		return n > 0, "", werr
	case db.KindRun:
		holder, ferr := s.findRun(ctx, bson.D{{Key: "project", Value: rec.Run.Project}, {Key: "external_id", Value: rec.Run.ExternalID}})
		switch {
		case ferr == nil && holder.ID != rec.Run.ID:
			return false, db.RunConflict(rec.Run, holder.ID), nil
		case ferr != nil && !errors.Is(ferr, db.ErrNotFound):
			return false, "", ferr
		}
		doc, derr := toRunDoc(rec.Run)
		if derr != nil {
			return false, "", derr
		}
		added, err = insert(s.runs(), doc, doc.ID)
		if err == nil && added {
			err = s.moveProject(ctx, rec.Run.Project, db.ProjectDelta(nil, rec.Run), rec.Run.UpdatedAt)
		}
		if err == nil && added {
			// The derived keys are not exported: the runs (and their
			// series, which follow) build them again.
			err = s.moveNames(ctx, rec.Run.Project, db.NamesDelta(nil, rec.Run, nil))
		}
	case db.KindProject:
		if err = s.moveProject(ctx, rec.Project.Name, nil, time.Time{}); err != nil {
			return false, "", err
		}
		var res *mdb.UpdateResult
		res, err = s.projects().UpdateOne(ctx, bson.D{{Key: "_id", Value: rec.Project.Name}, {Key: "baseline_run", Value: ""}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "baseline_run", Value: rec.Project.BaselineRun}}}})
		if err == nil {
			added = res.ModifiedCount == 1
		}
		err = classify(err)
	case db.KindAPIToken:
		if _, uerr := s.UserByID(ctx, rec.Token.UserID); errors.Is(uerr, db.ErrNotFound) {
			return false, fmt.Sprintf("api token %s: its user %s is not in the database; not imported", rec.Token.ID, rec.Token.UserID), nil
		} else if uerr != nil {
			return false, "", uerr
		}
		doc, derr := toTokenDoc(rec.Token)
		if derr != nil {
			return false, "", derr
		}
		added, err = insert(s.tokens(), doc, doc.ID)
	case db.KindSigningKey:
		added, err = insert(s.keys(), toKeyDoc(rec.Key), rec.Key.ID)
	case db.KindUser:
		doc, derr := toUserDoc(rec.User)
		if derr != nil {
			return false, "", derr
		}
		holder, ferr := s.UserByEmail(ctx, rec.User.Email)
		switch {
		case ferr == nil && holder.ID != rec.User.ID:
			return false, fmt.Sprintf("user %s (%s): the email belongs to user %s already; not imported", rec.User.ID, rec.User.Email, holder.ID), nil
		case ferr != nil && !errors.Is(ferr, db.ErrNotFound):
			return false, "", ferr
		}
		added, err = insert(s.users(), doc, doc.ID)
	case db.KindSavedView:
		if _, uerr := s.UserByID(ctx, rec.View.UserID); errors.Is(uerr, db.ErrNotFound) {
			return false, db.ViewConflict(rec.View), nil
		} else if uerr != nil {
			return false, "", uerr
		}
		doc, derr := toViewDoc(rec.View)
		if derr != nil {
			return false, "", derr
		}
		added, err = insert(s.views(), doc, doc.ID)
	case db.KindSetup:
		uid, oerr := bson.ObjectIDFromHex(rec.Setup.UserID)
		if oerr != nil {
			return false, "", oerr
		}
		added, err = insert(s.meta(), setupDoc{ID: setupMarkerID, UserID: uid, At: rec.Setup.At}, setupMarkerID)
	case db.KindSession:
		if _, uerr := s.UserByID(ctx, rec.Session.UserID); errors.Is(uerr, db.ErrNotFound) {
			return false, fmt.Sprintf("session %s: its user %s is not in the database; not imported", rec.Session.ID, rec.Session.UserID), nil
		} else if uerr != nil {
			return false, "", uerr
		}
		doc, derr := toSessionDoc(rec.Session)
		if derr != nil {
			return false, "", derr
		}
		added, err = insert(s.sessions(), doc, doc.ID)
	case db.KindAudit:
		doc, derr := toAuditDoc(rec.Audit)
		if derr != nil {
			return false, "", derr
		}
		added, err = insert(s.audit(), doc, doc.ID)
	default:
		err = fmt.Errorf("unknown record kind %q", rec.Kind)
	}
	return added, "", err
}
