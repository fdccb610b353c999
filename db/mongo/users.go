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

// userDoc is a user as stored.
type userDoc struct {
	ID                bson.ObjectID `bson:"_id"`
	Email             string        `bson:"email"`
	Name              string        `bson:"name"`
	Role              string        `bson:"role"`
	Disabled          bool          `bson:"disabled"`
	PasswordHash      string        `bson:"password_hash"`
	CreatedAt         time.Time     `bson:"created_at"`
	UpdatedAt         time.Time     `bson:"updated_at"`
	PasswordChangedAt time.Time     `bson:"password_changed_at"`
	EmailSkeleton     string        `bson:"email_skeleton,omitempty"`
}

func toUserDoc(u *db.User) (*userDoc, error) {
	id, err := bson.ObjectIDFromHex(u.ID)
	if err != nil {
		return nil, fmt.Errorf("user id %q is not an id", u.ID)
	}
	return &userDoc{ID: id, Email: u.Email, Name: u.Name, Role: u.Role, Disabled: u.Disabled, PasswordHash: u.PasswordHash,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, PasswordChangedAt: u.PasswordChangedAt, EmailSkeleton: u.EmailSkeleton}, nil
}

func (d *userDoc) user() *db.User {
	return &db.User{ID: d.ID.Hex(), Email: d.Email, Name: d.Name, Role: d.Role, Disabled: d.Disabled,
		PasswordHash: d.PasswordHash, CreatedAt: utc(d.CreatedAt), UpdatedAt: utc(d.UpdatedAt),
		PasswordChangedAt: utc(d.PasswordChangedAt), EmailSkeleton: d.EmailSkeleton}
}

func (s *Store) users() *mdb.Collection { return s.coll(usersCollection) }

// InsertUser stores a new user; a taken email gives db.ErrConflict.
func (s *Store) InsertUser(ctx context.Context, u *db.User) error {
	doc, err := toUserDoc(u)
	if err != nil {
		return fmt.Errorf("db: insert user: %w", err)
	}
	if _, err := s.users().InsertOne(ctx, doc); err != nil {
		return fmt.Errorf("db: insert user: %w", classify(err))
	}
	return nil
}

// UserByID finds a user.
func (s *Store) UserByID(ctx context.Context, id string) (*db.User, error) {
	o, err := oid(id)
	if err != nil {
		return nil, fmt.Errorf("db: find user: %w", err)
	}
	return s.findUser(ctx, bson.D{{Key: "_id", Value: o}})
}

// UserByEmail finds a user by exact email.
func (s *Store) UserByEmail(ctx context.Context, email string) (*db.User, error) {
	return s.findUser(ctx, bson.D{{Key: "email", Value: email}})
}

// UserBySkeleton finds a user whose email has the skeleton.
func (s *Store) UserBySkeleton(ctx context.Context, skeleton string) (*db.User, error) {
	return s.findUser(ctx, bson.D{{Key: "email_skeleton", Value: skeleton}})
}

// SetEmailSkeleton stores a user's email skeleton.
func (s *Store) SetEmailSkeleton(ctx context.Context, id, skeleton string) error {
	o, err := oid(id)
	if err != nil {
		return fmt.Errorf("db: set email skeleton: %w", err)
	}
	_, err = s.users().UpdateOne(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "email_skeleton", Value: skeleton}}}})
	if err != nil {
		return fmt.Errorf("db: set email skeleton: %w", classify(err))
	}
	return nil
}

// UsersWithoutSkeleton returns up to limit users with no stored skeleton:
// the field is left out when empty, and a null match on the email_skeleton
// index finds documents without it.
func (s *Store) UsersWithoutSkeleton(ctx context.Context, limit int) ([]db.User, error) {
	return s.findUsers(ctx, "users without skeleton", bson.D{{Key: "email_skeleton", Value: nil}},
		options.Find().SetLimit(int64(limit)))
}

func (s *Store) findUser(ctx context.Context, filter bson.D) (*db.User, error) {
	var d userDoc
	if err := s.users().FindOne(ctx, filter).Decode(&d); err != nil {
		return nil, fmt.Errorf("db: find user: %w", classify(err))
	}
	return d.user(), nil
}

// ListUsers returns every user, ordered by email.
func (s *Store) ListUsers(ctx context.Context) ([]db.User, error) {
	return s.findUsers(ctx, "list users", bson.D{}, options.Find().SetSort(bson.D{{Key: "email", Value: 1}}))
}

func (s *Store) findUsers(ctx context.Context, what string, filter bson.D, opts *options.FindOptionsBuilder) ([]db.User, error) {
	docs, err := findAll[userDoc](ctx, s.users(), what, filter, opts)
	if err != nil {
		return nil, err
	}
	out := make([]db.User, len(docs))
	for i := range docs {
		out[i] = *docs[i].user()
	}
	return out, nil
}

// CountActiveAdmins counts enabled admins other than except.
func (s *Store) CountActiveAdmins(ctx context.Context, except string) (int64, error) {
	filter := bson.D{{Key: "role", Value: db.RoleAdmin}, {Key: "disabled", Value: false}}
	if except != "" {
		if o, err := oid(except); err == nil {
			filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$ne", Value: o}}})
		}
	}
	n, err := s.users().CountDocuments(ctx, filter)
	if err != nil {
		return 0, fmt.Errorf("db: count admins: %w", classify(err))
	}
	return n, nil
}

// UpdateUser applies change in one findAndModify and returns the user
// before and after it.
func (s *Store) UpdateUser(ctx context.Context, id string, change db.UserChange, now time.Time) (before, after *db.User, err error) {
	o, err := oid(id)
	if err != nil {
		return nil, nil, fmt.Errorf("db: update user: %w", err)
	}
	set := bson.D{{Key: "updated_at", Value: now}}
	if change.Name != nil {
		set = append(set, bson.E{Key: "name", Value: *change.Name})
	}
	if change.Role != nil {
		set = append(set, bson.E{Key: "role", Value: *change.Role})
	}
	if change.Disabled != nil {
		set = append(set, bson.E{Key: "disabled", Value: *change.Disabled})
	}
	if change.PasswordHash != nil {
		set = append(set, bson.E{Key: "password_hash", Value: *change.PasswordHash},
			bson.E{Key: "password_changed_at", Value: now})
	}
	var old userDoc
	err = s.users().FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: o}}, bson.D{{Key: "$set", Value: set}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&old)
	if err != nil {
		return nil, nil, fmt.Errorf("db: update user: %w", classify(err))
	}
	// The after state is the before state with the same change applied:
	// reading it back could see a later writer's change.
	upd := *old.user()
	upd.UpdatedAt = utc(now.Truncate(time.Millisecond))
	if change.Name != nil {
		upd.Name = *change.Name
	}
	if change.Role != nil {
		upd.Role = *change.Role
	}
	if change.Disabled != nil {
		upd.Disabled = *change.Disabled
	}
	if change.PasswordHash != nil {
		upd.PasswordHash = *change.PasswordHash
		upd.PasswordChangedAt = upd.UpdatedAt
	}
	return old.user(), &upd, nil
}

// ReplacePasswordHash swaps the hash only if it is still oldHash.
func (s *Store) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string) (bool, error) {
	o, err := oid(id)
	if err != nil {
		return false, nil
	}
	res, err := s.users().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: o}, {Key: "password_hash", Value: oldHash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "password_hash", Value: newHash}}}})
	if err != nil {
		return false, fmt.Errorf("db: replace password hash: %w", classify(err))
	}
	return res.ModifiedCount == 1, nil
}

// DeleteUser removes a user's saved views, then the user, and returns it.
// Views go first: when that fails nothing is deleted and the call can be
// repeated; when the user's deletion fails after it, the user is still
// there, without views. (MongoDB offers no cascade, and a transaction
// would need a replica set.)
func (s *Store) DeleteUser(ctx context.Context, id string) (*db.User, error) {
	o, err := oid(id)
	if err != nil {
		return nil, fmt.Errorf("db: delete user: %w", err)
	}
	if err := s.deleteUserViews(ctx, o); err != nil {
		return nil, fmt.Errorf("db: delete user: %w", err)
	}
	var old userDoc
	if err := s.users().FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: o}}).Decode(&old); err != nil {
		return nil, fmt.Errorf("db: delete user: %w", classify(err))
	}
	return old.user(), nil
}
