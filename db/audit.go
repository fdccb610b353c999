package db

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

const auditCollection = "audit"

// AuditEvent is one entry of the append-only audit log. Nothing in this
// package updates or deletes audit entries.
type AuditEvent struct {
	ID        bson.ObjectID  `bson:"_id"` // time-ordered: pages go by _id
	At        time.Time      `bson:"at"`
	Event     string         `bson:"event"`
	ActorID   string         `bson:"actor_id,omitempty"` // who did it (user id), if known
	UserID    string         `bson:"user_id,omitempty"`  // whom it concerns
	Email     string         `bson:"email,omitempty"`    // the address given, e.g. for failed logins
	SessionID string         `bson:"session_id,omitempty"`
	IP        string         `bson:"ip,omitempty"`
	UserAgent string         `bson:"user_agent,omitempty"`
	Details   map[string]any `bson:"details,omitempty"`
}

func (d *DB) audit() *mongo.Collection { return d.Database().Collection(auditCollection) }

// InsertAudit appends an event. A zero ID or time is filled in.
func (d *DB) InsertAudit(ctx context.Context, e *AuditEvent) error {
	if e.ID.IsZero() {
		e.ID = bson.NewObjectID()
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if _, err := d.audit().InsertOne(ctx, e); err != nil {
		return fmt.Errorf("db: insert audit event: %w", Classify(err))
	}
	return nil
}

// AuditFilter selects audit events; empty fields match everything.
type AuditFilter struct {
	UserID string        // events about or by this user
	Event  string        // exact event name
	Before bson.ObjectID // page cursor: only events older than this id
}

// ListAudit returns up to limit events, newest first, and whether more exist.
func (d *DB) ListAudit(ctx context.Context, f AuditFilter, limit int) ([]AuditEvent, bool, error) {
	filter := bson.D{}
	if f.UserID != "" {
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "user_id", Value: f.UserID}},
			bson.D{{Key: "actor_id", Value: f.UserID}},
		}})
	}
	if f.Event != "" {
		filter = append(filter, bson.E{Key: "event", Value: f.Event})
	}
	if !f.Before.IsZero() {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: f.Before}}})
	}
	events, err := findAll[AuditEvent](ctx, d.audit(), "list audit", filter, options.Find().
		SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	more := len(events) > limit
	if more {
		events = events[:limit]
	}
	return events, more, nil
}
