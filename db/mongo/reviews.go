package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"labreview/db"
)

// reviewDoc is one verdict in a run's history.
type reviewDoc struct {
	ID          bson.ObjectID `bson:"_id"`
	RunID       bson.ObjectID `bson:"run_id"`
	State       string        `bson:"state"`
	By          string        `bson:"by"`
	At          time.Time     `bson:"at"`
	Comment     string        `bson:"comment"`
	BatchID     string        `bson:"batch_id"`
	UndoOf      string        `bson:"undo_of"`
	DataVersion int64         `bson:"data_version"`
	Snapshot    string        `bson:"snapshot"` // JSON text, as the other adapter keeps it
}

func (d *reviewDoc) entry() db.ReviewEntry {
	return db.ReviewEntry{ID: d.ID.Hex(), RunID: d.RunID.Hex(), State: d.State, By: d.By, At: utc(d.At), Comment: d.Comment,
		BatchID: d.BatchID, UndoOf: d.UndoOf, DataVersion: d.DataVersion, Snapshot: []byte(d.Snapshot)}
}

func (s *Store) reviews() *mdb.Collection { return s.coll(reviewsCollection) }

// ReviewRun writes the entry first (an upsert by its id, so a retry does
// not repeat it), then sets the run's verdict with a versioned replace,
// retrying when another writer changed the run in between. Without
// transactions a crash between the two leaves an entry no run points to;
// the history then shows a verdict that never became current, and the
// run keeps the verdict it had.
func (s *Store) ReviewRun(ctx context.Context, entry *db.ReviewEntry, now time.Time, check func(*db.Run) error) (before, after *db.Run, err error) {
	rid, err := oid(entry.RunID)
	if err != nil {
		return nil, nil, fmt.Errorf("db: review run: %w", err)
	}
	id, err := bson.ObjectIDFromHex(entry.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("db: review run: review id %q is not an id", entry.ID)
	}
	doc := reviewDoc{ID: id, RunID: rid, State: entry.State, By: entry.By, At: entry.At, Comment: entry.Comment,
		BatchID: entry.BatchID, UndoOf: entry.UndoOf, DataVersion: entry.DataVersion, Snapshot: string(entry.Snapshot)}
	written := false
	return s.replaceRun(ctx, rid, "review run", now, func(old, upd *db.Run) error {
		if err := check(old); err != nil {
			if written {
				_, _ = s.reviews().DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: id}})
			}
			return err
		}
		if !written {
			if _, err := s.reviews().ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc, options.Replace().SetUpsert(true)); err != nil {
				return fmt.Errorf("db: review run: %w", classify(err))
			}
			written = true
		}
		upd.Review = entry.Verdict(old)
		return nil
	})
}

func (s *Store) reviewList(ctx context.Context, what string, filter bson.D, order int) ([]db.ReviewEntry, error) {
	docs, err := findAll[reviewDoc](ctx, s.reviews(), what, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: order}}))
	if err != nil {
		return nil, err
	}
	out := make([]db.ReviewEntry, len(docs))
	for i := range docs {
		out[i] = docs[i].entry()
	}
	return out, nil
}

// ReviewHistory lists a run's verdicts, newest first.
func (s *Store) ReviewHistory(ctx context.Context, runID string) ([]db.ReviewEntry, error) {
	rid, err := oid(runID)
	if err != nil {
		return []db.ReviewEntry{}, nil
	}
	return s.reviewList(ctx, "review history", bson.D{{Key: "run_id", Value: rid}}, -1)
}

// ReviewBatch lists the verdicts of one batch.
func (s *Store) ReviewBatch(ctx context.Context, batchID string) ([]db.ReviewEntry, error) {
	return s.reviewList(ctx, "review batch", bson.D{{Key: "batch_id", Value: batchID}}, 1)
}

// ReviewBatchSizes counts each batch's verdicts in one aggregation (index
// batch).
func (s *Store) ReviewBatchSizes(ctx context.Context, batchIDs []string) (map[string]int64, error) {
	out := make(map[string]int64, len(batchIDs))
	if len(batchIDs) == 0 {
		return out, nil
	}
	cur, err := s.reviews().Aggregate(ctx, mdb.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "batch_id", Value: bson.D{{Key: "$in", Value: batchIDs}}}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$batch_id"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return nil, fmt.Errorf("db: review batch sizes: %w", classify(err))
	}
	var rows []struct {
		ID string `bson:"_id"`
		N  int64  `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("db: review batch sizes: %w", classify(err))
	}
	for _, r := range rows {
		out[r.ID] = r.N
	}
	return out, nil
}

// ReviewByID finds a verdict.
func (s *Store) ReviewByID(ctx context.Context, id string) (*db.ReviewEntry, error) {
	o, err := oid(id)
	if err != nil {
		return nil, fmt.Errorf("db: find review: %w", err)
	}
	var d reviewDoc
	if err := s.reviews().FindOne(ctx, bson.D{{Key: "_id", Value: o}}).Decode(&d); err != nil {
		return nil, fmt.Errorf("db: find review: %w", classify(err))
	}
	e := d.entry()
	return &e, nil
}
