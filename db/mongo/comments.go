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

type commentDoc struct {
	ID        bson.ObjectID       `bson:"_id"`
	RunID     bson.ObjectID       `bson:"run_id"`
	Author    string              `bson:"author"`
	At        time.Time           `bson:"at"`
	Body      string              `bson:"body"`
	Anchor    *anchorDoc          `bson:"anchor"`
	EditedAt  *time.Time          `bson:"edited_at"`
	DeletedAt *time.Time          `bson:"deleted_at"`
	History   []commentVersionDoc `bson:"history"`
	Version   int64               `bson:"version"`
}

type anchorDoc struct {
	Param  string `bson:"param,omitempty"`
	Series string `bson:"series,omitempty"`
	From   *int64 `bson:"from,omitempty"`
	To     *int64 `bson:"to,omitempty"`
}

type commentVersionDoc struct {
	Body string    `bson:"body"`
	At   time.Time `bson:"at"`
}

func toCommentDoc(c *db.Comment, version int64) (*commentDoc, error) {
	id, err1 := bson.ObjectIDFromHex(c.ID)
	rid, err2 := bson.ObjectIDFromHex(c.RunID)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("comment %q: ids are not ids", c.ID)
	}
	d := &commentDoc{ID: id, RunID: rid, Author: c.Author, At: c.At, Body: c.Body, EditedAt: c.EditedAt, DeletedAt: c.DeletedAt,
		History: []commentVersionDoc{}, Version: version}
	if c.Anchor != nil {
		d.Anchor = &anchorDoc{Param: c.Anchor.Param, Series: c.Anchor.Series, From: c.Anchor.From, To: c.Anchor.To}
	}
	for _, h := range c.History {
		d.History = append(d.History, commentVersionDoc(h))
	}
	return d, nil
}

func (d *commentDoc) comment() db.Comment {
	c := db.Comment{ID: d.ID.Hex(), RunID: d.RunID.Hex(), Author: d.Author, At: utc(d.At), Body: d.Body,
		EditedAt: optUTC(d.EditedAt), DeletedAt: optUTC(d.DeletedAt), History: []db.CommentVersion{}}
	if d.Anchor != nil {
		c.Anchor = &db.CommentAnchor{Param: d.Anchor.Param, Series: d.Anchor.Series, From: d.Anchor.From, To: d.Anchor.To}
	}
	for _, h := range d.History {
		c.History = append(c.History, db.CommentVersion{Body: h.Body, At: utc(h.At)})
	}
	return c
}

func (s *Store) comments() *mdb.Collection { return s.coll(commentsCollection) }

// InsertComment stores a new comment.
func (s *Store) InsertComment(ctx context.Context, c *db.Comment) error {
	d, err := toCommentDoc(c, 1)
	if err != nil {
		return fmt.Errorf("db: insert comment: %w", err)
	}
	if _, err := s.comments().InsertOne(ctx, d); err != nil {
		return fmt.Errorf("db: insert comment: %w", classify(err))
	}
	return nil
}

func (s *Store) commentDoc(ctx context.Context, id string) (*commentDoc, error) {
	o, err := oid(id)
	if err != nil {
		return nil, err
	}
	var d commentDoc
	if err := s.comments().FindOne(ctx, bson.D{{Key: "_id", Value: o}}).Decode(&d); err != nil {
		return nil, classify(err)
	}
	return &d, nil
}

// CommentByID finds a comment.
func (s *Store) CommentByID(ctx context.Context, id string) (*db.Comment, error) {
	d, err := s.commentDoc(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("db: find comment: %w", err)
	}
	c := d.comment()
	return &c, nil
}

// ListComments lists a run's comments, oldest first.
func (s *Store) ListComments(ctx context.Context, runID string) ([]db.Comment, error) {
	rid, err := oid(runID)
	if err != nil {
		return []db.Comment{}, nil
	}
	docs, err := findAll[commentDoc](ctx, s.comments(), "list comments", bson.D{{Key: "run_id", Value: rid}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]db.Comment, len(docs))
	for i := range docs {
		out[i] = docs[i].comment()
	}
	return out, nil
}

// UpdateComment changes a comment with a versioned replace, retrying when
// another writer got there first.
func (s *Store) UpdateComment(ctx context.Context, id string, change func(*db.Comment) error) (*db.Comment, error) {
	var after db.Comment
	err := optimistic(ctx, "update comment", func() (bool, error) {
		d, err := s.commentDoc(ctx, id)
		if err != nil {
			return false, fmt.Errorf("db: update comment: %w", err)
		}
		c := d.comment()
		if err := change(&c); err != nil {
			return false, err
		}
		nd, err := toCommentDoc(&c, d.Version+1)
		if err != nil {
			return false, err
		}
		res, err := s.comments().ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "version", Value: d.Version}}, nd)
		if err != nil {
			return false, fmt.Errorf("db: update comment: %w", classify(err))
		}
		after = c
		return res.MatchedCount == 1, nil
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}
