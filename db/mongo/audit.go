package mongo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"labreview/db"
)

// auditDoc is an audit event as stored.
type auditDoc struct {
	ID        bson.ObjectID  `bson:"_id"` // time-ordered: pages go by _id
	At        time.Time      `bson:"at"`
	Event     string         `bson:"event"`
	ActorID   string         `bson:"actor_id,omitempty"`
	UserID    string         `bson:"user_id,omitempty"`
	Email     string         `bson:"email,omitempty"`
	SessionID string         `bson:"session_id,omitempty"`
	IP        string         `bson:"ip,omitempty"`
	UserAgent string         `bson:"user_agent,omitempty"`
	Details   map[string]any `bson:"details,omitempty"`
}

// auditRead decodes details as raw BSON, turned into JSON-shaped values by
// event (the driver would decode nested documents as bson.D).
type auditRead struct {
	ID        bson.ObjectID `bson:"_id"`
	At        time.Time     `bson:"at"`
	Event     string        `bson:"event"`
	ActorID   string        `bson:"actor_id"`
	UserID    string        `bson:"user_id"`
	Email     string        `bson:"email"`
	SessionID string        `bson:"session_id"`
	IP        string        `bson:"ip"`
	UserAgent string        `bson:"user_agent"`
	Details   bson.Raw      `bson:"details"`
}

func (d *auditRead) event() (db.AuditEvent, error) {
	e := db.AuditEvent{ID: d.ID.Hex(), At: utc(d.At), Event: d.Event, ActorID: d.ActorID, UserID: d.UserID,
		Email: d.Email, SessionID: d.SessionID, IP: d.IP, UserAgent: d.UserAgent}
	if len(d.Details) > 0 {
		// Relaxed extended JSON writes numbers as plain JSON numbers, so
		// both adapters return the same Go types (float64) for details.
		b, err := bson.MarshalExtJSON(d.Details, false, false)
		if err != nil {
			return e, fmt.Errorf("audit event %s: details: %w", e.ID, err)
		}
		if err := json.Unmarshal(b, &e.Details); err != nil {
			return e, fmt.Errorf("audit event %s: details: %w", e.ID, err)
		}
	}
	return e, nil
}

func toAuditDoc(e *db.AuditEvent) (*auditDoc, error) {
	id, err := bson.ObjectIDFromHex(e.ID)
	if err != nil {
		return nil, fmt.Errorf("audit id %q is not an id", e.ID)
	}
	return &auditDoc{ID: id, At: e.At, Event: e.Event, ActorID: e.ActorID, UserID: e.UserID, Email: e.Email,
		SessionID: e.SessionID, IP: e.IP, UserAgent: e.UserAgent, Details: e.Details}, nil
}

func (s *Store) audit() *mdb.Collection { return s.coll(auditCollection) }

// InsertAudit appends an event.
func (s *Store) InsertAudit(ctx context.Context, e *db.AuditEvent) error {
	if e.ID == "" {
		e.ID = db.NewID()
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	doc, err := toAuditDoc(e)
	if err != nil {
		return fmt.Errorf("db: insert audit event: %w", err)
	}
	if _, err := s.audit().InsertOne(ctx, doc); err != nil {
		return fmt.Errorf("db: insert audit event: %w", classify(err))
	}
	return nil
}

// ListAudit returns up to limit events, newest first, and whether more
// exist.
func (s *Store) ListAudit(ctx context.Context, f db.AuditFilter, limit int) ([]db.AuditEvent, bool, error) {
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
	if f.Before != "" {
		before, err := oid(f.Before)
		if err != nil {
			return []db.AuditEvent{}, false, nil
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	docs, err := findAll[auditRead](ctx, s.audit(), "list audit", filter, options.Find().
		SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	events := make([]db.AuditEvent, 0, len(docs))
	for i := range docs {
		e, err := docs[i].event()
		if err != nil {
			return nil, false, fmt.Errorf("db: list audit: %w", err)
		}
		events = append(events, e)
	}
	more := len(events) > limit
	if more {
		events = events[:limit]
	}
	return events, more, nil
}

// DeleteAuditBefore deletes events older than cutoff (index "at").
func (s *Store) DeleteAuditBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.audit().DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: cutoff}}}})
	if err != nil {
		return 0, fmt.Errorf("db: delete old audit events: %w", classify(err))
	}
	return res.DeletedCount, nil
}
