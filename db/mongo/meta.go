package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"

	"labreview/db"
)

// The meta collection holds single documents with fixed ids: the setup
// marker and leases, which make multi-document rules safe without
// transactions.
const setupMarkerID = "setup"

type setupDoc struct {
	ID     string        `bson:"_id"`
	UserID bson.ObjectID `bson:"user_id"`
	At     time.Time     `bson:"at"`
}

func (s *Store) meta() *mdb.Collection { return s.coll(metaCollection) }

// ClaimSetup inserts the setup marker; its fixed _id makes every later
// claim a duplicate.
func (s *Store) ClaimSetup(ctx context.Context, userID string, now time.Time) error {
	uid, err := bson.ObjectIDFromHex(userID)
	if err != nil {
		return fmt.Errorf("db: claim setup: user id %q is not an id", userID)
	}
	if _, err := s.meta().InsertOne(ctx, setupDoc{ID: setupMarkerID, UserID: uid, At: now}); err != nil {
		return fmt.Errorf("db: claim setup: %w", classify(err))
	}
	return nil
}

// ReleaseSetup removes userID's claim.
func (s *Store) ReleaseSetup(ctx context.Context, userID string) error {
	uid, err := oid(userID)
	if err != nil {
		return nil
	}
	_, err = s.meta().DeleteOne(ctx, bson.D{{Key: "_id", Value: setupMarkerID}, {Key: "user_id", Value: uid}})
	if err != nil {
		return fmt.Errorf("db: release setup: %w", classify(err))
	}
	return nil
}

// WithLease runs fn while holding the named lease.
func (s *Store) WithLease(ctx context.Context, name string, ttl, wait time.Duration, fn func() error) error {
	id := "lease:" + name
	holder := bson.NewObjectID()
	take := func(now time.Time) (bool, error) {
		// An expired lease is taken over; a missing one is created, and
		// the unique _id makes one of two racing creators lose.
		res, err := s.meta().UpdateOne(ctx,
			bson.D{{Key: "_id", Value: id}, {Key: "until", Value: bson.D{{Key: "$lt", Value: now}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "holder", Value: holder}, {Key: "until", Value: now.Add(ttl)}}}})
		if err != nil {
			return false, fmt.Errorf("db: take lease %s: %w", name, classify(err))
		}
		if res.MatchedCount == 1 {
			return true, nil
		}
		_, err = s.meta().InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "holder", Value: holder}, {Key: "until", Value: now.Add(ttl)}})
		switch {
		case err == nil:
			return true, nil
		case mdb.IsDuplicateKeyError(err):
			return false, nil
		default:
			return false, fmt.Errorf("db: take lease %s: %w", name, classify(err))
		}
	}
	release := func(ctx context.Context) {
		_, _ = s.meta().UpdateOne(ctx,
			bson.D{{Key: "_id", Value: id}, {Key: "holder", Value: holder}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "until", Value: time.Unix(0, 0)}}}})
	}
	return db.HoldLease(ctx, wait, take, release, fn)
}
