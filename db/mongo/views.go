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

// viewDoc is a saved view as stored. Its _id is the user's id (24 hex
// digits, fixed width) and the name, so a view is written and found by
// _id, and _id order is (user, name) order, as on SQLite.
type viewDoc struct {
	ID        string        `bson:"_id"`
	UserID    bson.ObjectID `bson:"user_id"`
	Name      string        `bson:"name"`
	Search    string        `bson:"search"`
	UpdatedAt time.Time     `bson:"updated_at"`
	// WriteID tags the write that stored this version, so that taking
	// back a creation past the limit removes that creation only.
	WriteID string `bson:"write_id"`
}

func viewID(userID bson.ObjectID, name string) string { return userID.Hex() + ":" + name }

func toViewDoc(v *db.SavedView) (*viewDoc, error) {
	uid, err := oid(v.UserID)
	if err != nil {
		return nil, fmt.Errorf("saved view: user id %q is not an id: %w", v.UserID, err)
	}
	return &viewDoc{ID: viewID(uid, v.Name), UserID: uid, Name: v.Name, Search: v.Search, UpdatedAt: v.UpdatedAt,
		WriteID: db.NewID()}, nil
}

func (d *viewDoc) view() db.SavedView {
	return db.SavedView{UserID: d.UserID.Hex(), Name: d.Name, Search: d.Search, UpdatedAt: utc(d.UpdatedAt)}
}

func (s *Store) views() *mdb.Collection { return s.coll(viewsCollection) }

// ListSavedViews returns a user's views, sorted by db.SortSavedViews.
func (s *Store) ListSavedViews(ctx context.Context, userID string) ([]db.SavedView, error) {
	uid, err := oid(userID)
	if err != nil {
		return []db.SavedView{}, nil
	}
	docs, err := findAll[viewDoc](ctx, s.views(), "list saved views", bson.D{{Key: "user_id", Value: uid}},
		options.Find().SetSort(bson.D{{Key: "name", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]db.SavedView, len(docs))
	for i := range docs {
		out[i] = docs[i].view()
	}
	db.SortSavedViews(out)
	return out, nil
}

// PutSavedView upserts the view by _id. MongoDB has no multi-document
// condition short of a transaction, so the limit is checked after a
// creation: when the user then holds more than limit views, the creation
// is taken back (only this write's version, by its write id) and refused.
// Two creations racing at the limit may thus both be refused; the count
// never stays above the limit.
func (s *Store) PutSavedView(ctx context.Context, v *db.SavedView, limit int) error {
	d, err := toViewDoc(v)
	if err != nil {
		return fmt.Errorf("db: put saved view: %w", err)
	}
	if err := s.users().FindOne(ctx, bson.D{{Key: "_id", Value: d.UserID}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err(); err != nil {
		return fmt.Errorf("db: put saved view: user: %w", classify(err))
	}
	byID := bson.D{{Key: "_id", Value: d.ID}}
	res, err := s.views().ReplaceOne(ctx, byID, d, options.Replace().SetUpsert(true))
	if mdb.IsDuplicateKeyError(err) {
		// Another upsert of the same view inserted it first: replace it.
		res, err = s.views().ReplaceOne(ctx, byID, d, options.Replace().SetUpsert(true))
	}
	if err != nil {
		return fmt.Errorf("db: put saved view: %w", classify(err))
	}
	if res.UpsertedCount == 0 {
		return nil
	}
	n, err := s.views().CountDocuments(ctx, bson.D{{Key: "user_id", Value: d.UserID}})
	if err != nil {
		return fmt.Errorf("db: put saved view: count: %w", classify(err))
	}
	if n <= int64(limit) {
		return nil
	}
	if _, err := s.views().DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: d.ID}, {Key: "write_id", Value: d.WriteID}}); err != nil {
		return fmt.Errorf("db: put saved view: take back a view past the limit: %w", classify(err))
	}
	return fmt.Errorf("db: put saved view: %w", db.ErrLimit)
}

// DeleteSavedView removes a user's view.
func (s *Store) DeleteSavedView(ctx context.Context, userID, name string) error {
	uid, err := oid(userID)
	if err != nil {
		return fmt.Errorf("db: delete saved view: %w", err)
	}
	res, err := s.views().DeleteOne(ctx, bson.D{{Key: "_id", Value: viewID(uid, name)}})
	if err != nil {
		return fmt.Errorf("db: delete saved view: %w", classify(err))
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("db: delete saved view: %w", db.ErrNotFound)
	}
	return nil
}

// deleteUserViews removes every view of a user (the user is deleted).
func (s *Store) deleteUserViews(ctx context.Context, uid bson.ObjectID) error {
	if _, err := s.views().DeleteMany(ctx, bson.D{{Key: "user_id", Value: uid}}); err != nil {
		return fmt.Errorf("db: delete the saved views of user %s: %w", uid.Hex(), classify(err))
	}
	return nil
}
