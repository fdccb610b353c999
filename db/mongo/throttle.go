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

type counterDoc struct {
	Failures   int       `bson:"failures"`
	WindowEnds time.Time `bson:"window_ends"`
}

func (s *Store) throttle() *mdb.Collection { return s.coll(throttleCollection) }

// CounterState returns key's counter as of now.
func (s *Store) CounterState(ctx context.Context, key string, now time.Time) (db.Counter, error) {
	var c counterDoc
	err := s.throttle().FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&c)
	if err != nil {
		if err = classify(err); err == db.ErrNotFound {
			return db.Counter{}, nil
		}
		return db.Counter{}, fmt.Errorf("db: read counter: %w", err)
	}
	if !now.Before(c.WindowEnds) {
		return db.Counter{}, nil
	}
	return db.Counter{Failures: c.Failures, WindowEnds: utc(c.WindowEnds)}, nil
}

// CountFailure adds one failure to key's window (opening a new window if
// there is none). Each step is one conditional single-document write, so
// concurrent failures are all counted.
func (s *Store) CountFailure(ctx context.Context, key string, window time.Duration, now time.Time) (db.Counter, error) {
	// Each round is three single-document steps; a round fails only when
	// another caller changed the counter between them (a new window, a
	// reset), so a few rounds always suffice.
	for range 20 {
		// In a running window: count.
		var c counterDoc
		err := s.throttle().FindOneAndUpdate(ctx,
			bson.D{{Key: "_id", Value: key}, {Key: "window_ends", Value: bson.D{{Key: "$gt", Value: now}}}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "failures", Value: 1}}}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&c)
		if err == nil {
			return db.Counter{Failures: c.Failures, WindowEnds: utc(c.WindowEnds)}, nil
		}
		if classify(err) != db.ErrNotFound {
			return db.Counter{}, fmt.Errorf("db: count failure: %w", classify(err))
		}
		// The window is over: restart it, unless someone else just did.
		fresh := counterDoc{Failures: 1, WindowEnds: now.Add(window)}
		res, err := s.throttle().UpdateOne(ctx,
			bson.D{{Key: "_id", Value: key}, {Key: "window_ends", Value: bson.D{{Key: "$lte", Value: now}}}},
			bson.D{{Key: "$set", Value: fresh}})
		if err != nil {
			return db.Counter{}, fmt.Errorf("db: count failure: %w", classify(err))
		}
		if res.ModifiedCount == 1 {
			return db.Counter{Failures: 1, WindowEnds: utc(fresh.WindowEnds.Truncate(time.Millisecond))}, nil
		}
		// No counter yet: create it; a duplicate means another caller won, retry.
		_, err = s.throttle().InsertOne(ctx, bson.D{{Key: "_id", Value: key},
			{Key: "failures", Value: 1}, {Key: "window_ends", Value: fresh.WindowEnds}})
		if err == nil {
			return db.Counter{Failures: 1, WindowEnds: utc(fresh.WindowEnds.Truncate(time.Millisecond))}, nil
		}
		if !mdb.IsDuplicateKeyError(err) {
			return db.Counter{}, fmt.Errorf("db: count failure: %w", classify(err))
		}
	}
	return db.Counter{}, fmt.Errorf("db: count failure: too much contention on one counter: %w", db.ErrUnavailable)
}

// ReleaseAttempt takes back one counted attempt.
func (s *Store) ReleaseAttempt(ctx context.Context, key string) error {
	_, err := s.throttle().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: key}, {Key: "failures", Value: bson.D{{Key: "$gt", Value: 0}}}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "failures", Value: -1}}}})
	if err != nil {
		return fmt.Errorf("db: release attempt: %w", classify(err))
	}
	return nil
}

// ResetCounter clears key.
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if _, err := s.throttle().DeleteOne(ctx, bson.D{{Key: "_id", Value: key}}); err != nil {
		return fmt.Errorf("db: reset counter: %w", classify(err))
	}
	return nil
}

// SweepCounters deletes counters whose window ended before cutoff.
func (s *Store) SweepCounters(ctx context.Context, cutoff time.Time) error {
	_, err := s.throttle().DeleteMany(ctx, bson.D{{Key: "window_ends", Value: bson.D{{Key: "$lt", Value: cutoff}}}})
	if err != nil {
		return fmt.Errorf("db: sweep counters: %w", classify(err))
	}
	return nil
}
