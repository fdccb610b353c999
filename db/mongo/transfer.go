package mongo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"labreview/db"
)

// transferKinds is this adapter's side of each record kind of the export
// format (db's table in db/transferkinds.go): how an export reads every
// record of the kind, and how an import writes one. A kind that is part of
// another's record (db.RecordKind.PartOf: file_part) has no entry: the
// file's entry writes and reads its bytes. TestTransferTablesMatchTheFormat
// holds this table to db's.
var transferKinds = map[db.RecordKind]db.AdapterKind[*transfer]{
	db.KindSecret: {
		Export: docs((*Store).meta, bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: "secret:"}, {Key: "$lt", Value: "secret;"}}}}, byID,
			func(d *secretDoc) (db.Record, error) {
				return db.Record{Kind: db.KindSecret, Secret: &db.Secret{Name: strings.TrimPrefix(d.ID, "secret:"), Value: d.Value}}, nil
			}),
		Import: (*transfer).importSecret,
	},
	db.KindSigningKey: {
		Export: docs((*Store).keys, bson.D{}, byID, func(d *keyDoc) (db.Record, error) {
			k := d.key()
			return db.Record{Kind: db.KindSigningKey, Key: &k}, nil
		}),
		Import: func(x *transfer, rec db.Record) (bool, string, error) {
			added, err := x.insert(x.s.keys(), toKeyDoc(rec.Key), rec.Key.ID)
			return added, "", err
		},
	},
	db.KindUser: {
		Export: docs((*Store).users, bson.D{}, byID, func(d *userDoc) (db.Record, error) {
			return db.Record{Kind: db.KindUser, User: d.user()}, nil
		}),
		Import: (*transfer).importUser,
	},
	db.KindSavedView: {
		Export: docs((*Store).views, bson.D{}, byID, func(d *viewDoc) (db.Record, error) {
			v := d.view()
			return db.Record{Kind: db.KindSavedView, View: &v}, nil
		}),
		Import: func(x *transfer, rec db.Record) (bool, string, error) {
			return insertOfUser(x, rec.View.UserID, db.ViewConflict(rec.View), x.s.views(), rec.View, toViewDoc,
				func(d *viewDoc) any { return d.ID })
		},
	},
	db.KindSetup: {
		Export: docs((*Store).meta, bson.D{{Key: "_id", Value: setupMarkerID}}, byID, func(d *setupDoc) (db.Record, error) {
			return db.Record{Kind: db.KindSetup, Setup: &db.SetupClaim{UserID: d.UserID.Hex(), At: utc(d.At)}}, nil
		}),
		Import: func(x *transfer, rec db.Record) (bool, string, error) {
			uid, err := bson.ObjectIDFromHex(rec.Setup.UserID)
			if err != nil {
				return false, "", err
			}
			added, err := x.insert(x.s.meta(), setupDoc{ID: setupMarkerID, UserID: uid, At: rec.Setup.At}, setupMarkerID)
			return added, "", err
		},
	},
	db.KindSession: {
		Export: docs((*Store).sessions, bson.D{}, byID, func(d *sessionDoc) (db.Record, error) {
			sess := d.session()
			return db.Record{Kind: db.KindSession, Session: &sess}, nil
		}),
		Import: func(x *transfer, rec db.Record) (bool, string, error) {
			conflict := fmt.Sprintf("session %s: its user %s is not in the database; not imported", rec.Session.ID, rec.Session.UserID)
			return insertOfUser(x, rec.Session.UserID, conflict, x.s.sessions(), rec.Session, toSessionDoc,
				func(d *sessionDoc) any { return d.ID })
		},
	},
	db.KindAPIToken: {
		Export: docs((*Store).tokens, bson.D{}, byID, func(d *tokenDoc) (db.Record, error) {
			t := d.token()
			return db.Record{Kind: db.KindAPIToken, Token: &t}, nil
		}),
		Import: func(x *transfer, rec db.Record) (bool, string, error) {
			conflict := fmt.Sprintf("api token %s: its user %s is not in the database; not imported", rec.Token.ID, rec.Token.UserID)
			return insertOfUser(x, rec.Token.UserID, conflict, x.s.tokens(), rec.Token, toTokenDoc,
				func(d *tokenDoc) any { return d.ID })
		},
	},
	db.KindRun: {
		Export: docs((*Store).runs, bson.D{}, byID, func(d *runDoc) (db.Record, error) {
			r, err := d.run()
			return db.Record{Kind: db.KindRun, Run: &r}, err
		}),
		Import: (*transfer).importRun,
	},
	db.KindProject: {
		Export: docs((*Store).projects, bson.D{}, byID, func(d *projectDoc) (db.Record, error) {
			p := d.project()
			return db.Record{Kind: db.KindProject, Project: &p}, nil
		}),
		Import: (*transfer).importProject,
	},
	db.KindReview: {
		Export: docs((*Store).reviews, bson.D{}, byID, func(d *reviewDoc) (db.Record, error) {
			e := d.entry()
			return db.Record{Kind: db.KindReview, Review: &e}, nil
		}),
		Import: func(x *transfer, rec db.Record) (bool, string, error) {
			e := rec.Review
			id, err1 := bson.ObjectIDFromHex(e.ID)
			rid, err2 := bson.ObjectIDFromHex(e.RunID)
			if err1 != nil || err2 != nil {
				return false, "", fmt.Errorf("review %s: ids are not ids", e.ID)
			}
			added, err := x.insert(x.s.reviews(), reviewDoc{ID: id, RunID: rid, State: e.State, By: e.By, At: e.At, Comment: e.Comment,
				BatchID: e.BatchID, UndoOf: e.UndoOf, DataVersion: e.DataVersion, Snapshot: string(e.Snapshot)}, id)
			return added, "", err
		},
	},
	db.KindComment: {
		Export: docs((*Store).comments, bson.D{}, byID, func(d *commentDoc) (db.Record, error) {
			c := d.comment()
			return db.Record{Kind: db.KindComment, Comment: &c}, nil
		}),
		Import: func(x *transfer, rec db.Record) (bool, string, error) {
			d, err := toCommentDoc(rec.Comment, 1)
			if err != nil {
				return false, "", err
			}
			added, err := x.insert(x.s.comments(), d, d.ID)
			return added, "", err
		},
	},
	db.KindSeries: {
		Export: docs((*Store).chunks, bson.D{},
			options.Find().SetSort(bson.D{{Key: "run_id", Value: 1}, {Key: "series", Value: 1}, {Key: "first_step", Value: 1}}),
			func(d *chunkDoc) (db.Record, error) {
				c, err := decodeChunk(d)
				if err != nil {
					return db.Record{}, err
				}
				return db.Record{Kind: db.KindSeries, Series: &db.SeriesPart{RunID: d.RunID.Hex(), Name: d.Series, Points: c.Points}}, nil
			}),
		Import: func(x *transfer, rec db.Record) (bool, string, error) {
			// Written as stored: the run's data version and verdict came
			// with its own record.
			n, err := x.s.writeSeries(x.ctx, rec.Series.RunID, map[string][]db.Point{rec.Series.Name: db.SortPoints(rec.Series.Points)}, nil)
			return n > 0, "", err
		},
	},
	db.KindAudit: {
		Export: docs((*Store).audit, bson.D{}, byID, func(d *auditRead) (db.Record, error) {
			e, err := d.event()
			return db.Record{Kind: db.KindAudit, Audit: &e}, err
		}),
		Import: func(x *transfer, rec db.Record) (bool, string, error) {
			doc, err := toAuditDoc(rec.Audit)
			if err != nil {
				return false, "", err
			}
			added, err := x.insert(x.s.audit(), doc, doc.ID)
			return added, "", err
		},
	},
	// A file's record, then the file_part records with its bytes.
	db.KindFile: {
		Export: func(x *transfer) error {
			return each(x.ctx, x.s.coll(artifactsCollection), bson.D{}, byID, func(d *artifactDoc) error {
				a := d.artifact()
				return db.ExportFile(x.ctx, x.s, &a, x.emit)
			})
		},
		Import: func(x *transfer, rec db.Record) (bool, string, error) {
			added, err := x.s.importFile(x.ctx, rec.File, x.next)
			return added, "", err
		},
	},
}

// TransferKinds returns the record kinds of this adapter's transfer table,
// for the test that holds it to db's (TestTransferTablesMatchTheFormat).
func (s *Store) TransferKinds() []db.RecordKind { return slices.Collect(maps.Keys(transferKinds)) }

// transfer is one export (which emits records) or import (which reads
// them from next).
type transfer struct {
	s    *Store
	ctx  context.Context
	emit func(db.Record) error
	next func() (db.Record, error)
}

var byID = options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})

// docs returns an export reader that emits a record per document of the
// query.
func docs[T any](coll func(*Store) *mdb.Collection, filter any, opts *options.FindOptionsBuilder,
	record func(*T) (db.Record, error)) func(x *transfer) error {
	return func(x *transfer) error {
		return each(x.ctx, coll(x.s), filter, opts, func(d *T) error {
			rec, err := record(d)
			if err != nil {
				return err
			}
			return x.emit(rec)
		})
	}
}

// ExportRecords reads each collection in id order. MongoDB gives no
// snapshot across collections here: export from a deployment nobody writes
// to, or use mongodump for a point-in-time copy (docs/operations.md).
func (s *Store) ExportRecords(ctx context.Context, emit func(db.Record) error) error {
	x := &transfer{s: s, ctx: ctx, emit: emit}
	return db.ExportKinds(transferKinds, x)
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
	x := &transfer{s: s, ctx: ctx, next: next}
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			return report, nil
		}
		if err != nil {
			return report, err
		}
		added, conflict, err := db.ImportKind(transferKinds, x, rec)
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

// insert inserts doc unless a document with its id exists; added says
// whether it did.
func (x *transfer) insert(c *mdb.Collection, doc any, id any) (bool, error) {
	if err := c.FindOne(x.ctx, bson.D{{Key: "_id", Value: id}}).Err(); err == nil {
		return false, nil
	} else if !errors.Is(err, mdb.ErrNoDocuments) {
		return false, classify(err)
	}
	_, err := c.InsertOne(x.ctx, doc)
	return err == nil, classify(err)
}

// insertOfUser inserts into c the document toDoc makes of v, a record
// that belongs to userID, or reports conflict when the database does not
// hold that user.
func insertOfUser[V, D any](x *transfer, userID, conflict string, c *mdb.Collection, v V, toDoc func(V) (*D, error),
	id func(*D) any) (bool, string, error) {
	if _, err := x.s.UserByID(x.ctx, userID); errors.Is(err, db.ErrNotFound) {
		return false, conflict, nil
	} else if err != nil {
		return false, "", err
	}
	d, err := toDoc(v)
	if err != nil {
		return false, "", err
	}
	added, err := x.insert(c, d, id(d))
	return added, "", err
}

func (x *transfer) importSecret(rec db.Record) (bool, string, error) {
	s, ctx := x.s, x.ctx
	var d secretDoc
	id := "secret:" + rec.Secret.Name
	ferr := s.meta().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
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
		_, err := s.meta().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "value", Value: rec.Secret.Value}}}})
		return err == nil, "", classify(err)
	case !errors.Is(ferr, mdb.ErrNoDocuments):
		return false, "", classify(ferr)
	}
	added, err := x.insert(s.meta(), secretDoc{ID: id, Value: rec.Secret.Value}, id)
	return added, "", err
}

func (x *transfer) importUser(rec db.Record) (bool, string, error) {
	doc, err := toUserDoc(rec.User)
	if err != nil {
		return false, "", err
	}
	holder, err := x.s.UserByEmail(x.ctx, rec.User.Email)
	switch {
	case err == nil && holder.ID != rec.User.ID:
		return false, fmt.Sprintf("user %s (%s): the email belongs to user %s already; not imported", rec.User.ID, rec.User.Email, holder.ID), nil
	case err != nil && !errors.Is(err, db.ErrNotFound):
		return false, "", err
	}
	added, err := x.insert(x.s.users(), doc, doc.ID)
	return added, "", err
}

func (x *transfer) importRun(rec db.Record) (bool, string, error) {
	s, ctx := x.s, x.ctx
	holder, err := s.findRun(ctx, bson.D{{Key: "project", Value: rec.Run.Project}, {Key: "external_id", Value: rec.Run.ExternalID}})
	switch {
	case err == nil && holder.ID != rec.Run.ID:
		return false, db.RunConflict(rec.Run, holder.ID), nil
	case err != nil && !errors.Is(err, db.ErrNotFound):
		return false, "", err
	}
	doc, err := toRunDoc(rec.Run)
	if err != nil {
		return false, "", err
	}
	added, err := x.insert(s.runs(), doc, doc.ID)
	if err == nil && added {
		err = s.moveProject(ctx, rec.Run.Project, db.ProjectDelta(nil, rec.Run), rec.Run.UpdatedAt)
	}
	if err == nil && added {
		// The derived keys are not exported: the runs (and their series,
		// which follow) build them again.
		err = s.moveNames(ctx, rec.Run.Project, db.NamesDelta(nil, rec.Run, nil))
	}
	return added, "", err
}

func (x *transfer) importProject(rec db.Record) (bool, string, error) {
	if err := x.s.moveProject(x.ctx, rec.Project.Name, nil, time.Time{}); err != nil {
		return false, "", err
	}
	res, err := x.s.projects().UpdateOne(x.ctx, bson.D{{Key: "_id", Value: rec.Project.Name}, {Key: "baseline_run", Value: ""}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "baseline_run", Value: rec.Project.BaselineRun}}}})
	if err != nil {
		return false, "", classify(err)
	}
	return res.ModifiedCount == 1, "", nil
}
