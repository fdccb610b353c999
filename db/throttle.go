package db

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

const throttleCollection = "login_throttle"

// throttleExpiry lets MongoDB drop stale counters; the sweeper does it on
// the embedded store.
var throttleExpiry = indexSpec{
	collection: throttleCollection,
	model: mongo.IndexModel{Keys: bson.D{{Key: "window_ends", Value: 1}},
		Options: optionsTTL("expiry", 3600)},
	ttl: true,
}

func (d *DB) throttle() *mongo.Collection { return d.Database().Collection(throttleCollection) }

// Counter is a fixed-window failure counter, kept in the database so that
// every instance sees the same count.
type Counter struct {
	Failures   int       `bson:"failures"`
	WindowEnds time.Time `bson:"window_ends"`
}

// CounterState returns the counter for key as of now (zero when none or its
// window is over).
func (d *DB) CounterState(ctx context.Context, key string, now time.Time) (Counter, error) {
	var c Counter
	err := d.throttle().FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&c)
	if err != nil {
		if err = Classify(err); err == ErrNotFound {
			return Counter{}, nil
		}
		return Counter{}, fmt.Errorf("db: read counter: %w", err)
	}
	if !now.Before(c.WindowEnds) {
		return Counter{}, nil
	}
	return c, nil
}

// CountFailure adds one failure to key's window (opening a new window of
// length window if there is none) and returns the counter after it. Each
// step is one conditional single-document write, so concurrent failures
// are all counted.
func (d *DB) CountFailure(ctx context.Context, key string, window time.Duration, now time.Time) (Counter, error) {
	for range 5 {
		// In a running window: count.
		var c Counter
		err := d.throttle().FindOneAndUpdate(ctx,
			bson.D{{Key: "_id", Value: key}, {Key: "window_ends", Value: bson.D{{Key: "$gt", Value: now}}}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "failures", Value: 1}}}},
			returnAfter()).Decode(&c)
		if err == nil {
			return c, nil
		}
		if Classify(err) != ErrNotFound {
			return Counter{}, fmt.Errorf("db: count failure: %w", Classify(err))
		}
		// The window is over: restart it, unless someone else just did.
		fresh := Counter{Failures: 1, WindowEnds: now.Add(window)}
		res, err := d.throttle().UpdateOne(ctx,
			bson.D{{Key: "_id", Value: key}, {Key: "window_ends", Value: bson.D{{Key: "$lte", Value: now}}}},
			bson.D{{Key: "$set", Value: fresh}})
		if err != nil {
			return Counter{}, fmt.Errorf("db: count failure: %w", Classify(err))
		}
		if res.ModifiedCount == 1 {
			return fresh, nil
		}
		// No counter yet: create it; a duplicate means another caller won, retry.
		_, err = d.throttle().InsertOne(ctx, bson.D{{Key: "_id", Value: key},
			{Key: "failures", Value: 1}, {Key: "window_ends", Value: fresh.WindowEnds}})
		if err == nil {
			return fresh, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return Counter{}, fmt.Errorf("db: count failure: %w", Classify(err))
		}
	}
	return Counter{}, fmt.Errorf("db: count failure: too much contention on %q", key)
}

// ResetCounter clears key (after a successful login).
func (d *DB) ResetCounter(ctx context.Context, key string) error {
	if _, err := d.throttle().DeleteOne(ctx, bson.D{{Key: "_id", Value: key}}); err != nil {
		return fmt.Errorf("db: reset counter: %w", Classify(err))
	}
	return nil
}

// SweepCounters deletes counters whose window ended before cutoff.
func (d *DB) SweepCounters(ctx context.Context, cutoff time.Time) error {
	_, err := d.throttle().DeleteMany(ctx, bson.D{{Key: "window_ends", Value: bson.D{{Key: "$lt", Value: cutoff}}}})
	if err != nil {
		return fmt.Errorf("db: sweep counters: %w", Classify(err))
	}
	return nil
}
