package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// The meta collection holds single documents with fixed ids: markers and
// leases that make multi-document rules safe without transactions.
const metaCollection = "meta"

const setupMarkerID = "setup"

// ErrLeaseHeld means another caller holds the lease right now.
var ErrLeaseHeld = errors.New("db: lease held by another caller")

func (d *DB) meta() *mongo.Collection { return d.Database().Collection(metaCollection) }

// ClaimSetup records that first-run setup is creating the first admin.
// Exactly one caller ever succeeds; the others get ErrConflict.
func (d *DB) ClaimSetup(ctx context.Context, userID bson.ObjectID, now time.Time) error {
	_, err := d.meta().InsertOne(ctx, bson.D{{Key: "_id", Value: setupMarkerID}, {Key: "user_id", Value: userID}, {Key: "at", Value: now}})
	if err != nil {
		return fmt.Errorf("db: claim setup: %w", Classify(err))
	}
	return nil
}

// ReleaseSetup undoes ClaimSetup when creating the admin failed.
func (d *DB) ReleaseSetup(ctx context.Context, userID bson.ObjectID) error {
	_, err := d.meta().DeleteOne(ctx, bson.D{{Key: "_id", Value: setupMarkerID}, {Key: "user_id", Value: userID}})
	if err != nil {
		return fmt.Errorf("db: release setup: %w", Classify(err))
	}
	return nil
}

// WithLease runs fn while holding the named lease, so that fn's
// read-check-write over several documents does not interleave with another
// holder's (on this or another instance). A lease left by a crashed holder
// expires after ttl. ErrLeaseHeld if it stays taken for longer than wait.
func (d *DB) WithLease(ctx context.Context, name string, ttl, wait time.Duration, fn func() error) error {
	id := "lease:" + name
	holder := bson.NewObjectID()
	deadline := time.Now().Add(wait)
	for {
		now := time.Now()
		res, err := d.meta().UpdateOne(ctx,
			bson.D{{Key: "_id", Value: id}, {Key: "until", Value: bson.D{{Key: "$lt", Value: now}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "holder", Value: holder}, {Key: "until", Value: now.Add(ttl)}}}})
		if err != nil {
			return fmt.Errorf("db: take lease %s: %w", name, Classify(err))
		}
		if res.MatchedCount == 1 {
			break
		}
		_, err = d.meta().InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "holder", Value: holder}, {Key: "until", Value: now.Add(ttl)}})
		if err == nil {
			break
		}
		if !mongo.IsDuplicateKeyError(err) {
			return fmt.Errorf("db: take lease %s: %w", name, Classify(err))
		}
		if time.Now().After(deadline) {
			return ErrLeaseHeld
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	defer func() {
		release := context.WithoutCancel(ctx)
		_, _ = d.meta().UpdateOne(release,
			bson.D{{Key: "_id", Value: id}, {Key: "holder", Value: holder}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "until", Value: time.Unix(0, 0)}}}})
	}()
	return fn()
}
