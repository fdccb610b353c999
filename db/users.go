package db

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

const usersCollection = "users"

// Roles, from least to most privileged.
const (
	RoleViewer   = "viewer"
	RoleReviewer = "reviewer"
	RoleAdmin    = "admin"
)

// User is a stored account. It is never an API shape: PasswordHash must not
// leave the server.
type User struct {
	ID                bson.ObjectID `bson:"_id"`
	Email             string        `bson:"email"` // normalised: trimmed, lower-case
	Name              string        `bson:"name"`
	Role              string        `bson:"role"`
	Disabled          bool          `bson:"disabled"`
	PasswordHash      string        `bson:"password_hash"`
	CreatedAt         time.Time     `bson:"created_at"`
	UpdatedAt         time.Time     `bson:"updated_at"`
	PasswordChangedAt time.Time     `bson:"password_changed_at"`
}

// usersEmailUnique enforces one account per normalised address.
var usersEmailUnique = indexSpec{
	collection: usersCollection,
	model: mongo.IndexModel{
		Keys:    bson.D{{Key: "email", Value: 1}},
		Options: options.Index().SetUnique(true).SetName("email_unique"),
	},
}

func (d *DB) users() *mongo.Collection { return d.Database().Collection(usersCollection) }

// InsertUser stores a new user. A taken email gives ErrConflict.
func (d *DB) InsertUser(ctx context.Context, u *User) error {
	if _, err := d.users().InsertOne(ctx, u); err != nil {
		return fmt.Errorf("db: insert user: %w", Classify(err))
	}
	return nil
}

// UserByID finds a user by id (ErrNotFound if none).
func (d *DB) UserByID(ctx context.Context, id bson.ObjectID) (*User, error) {
	return d.findUser(ctx, bson.D{{Key: "_id", Value: id}})
}

// UserByEmail finds a user by normalised email (ErrNotFound if none).
func (d *DB) UserByEmail(ctx context.Context, email string) (*User, error) {
	return d.findUser(ctx, bson.D{{Key: "email", Value: email}})
}

func (d *DB) findUser(ctx context.Context, filter bson.D) (*User, error) {
	var u User
	if err := d.users().FindOne(ctx, filter).Decode(&u); err != nil {
		return nil, fmt.Errorf("db: find user: %w", Classify(err))
	}
	return &u, nil
}

// ListUsers returns every user, ordered by email.
func (d *DB) ListUsers(ctx context.Context) ([]User, error) {
	return findAll[User](ctx, d.users(), "list users", bson.D{},
		options.Find().SetSort(bson.D{{Key: "email", Value: 1}}))
}

// CountActiveAdmins counts enabled admins, optionally leaving one user out.
func (d *DB) CountActiveAdmins(ctx context.Context, except *bson.ObjectID) (int64, error) {
	filter := bson.D{{Key: "role", Value: RoleAdmin}, {Key: "disabled", Value: false}}
	if except != nil {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$ne", Value: *except}}})
	}
	n, err := d.users().CountDocuments(ctx, filter)
	if err != nil {
		return 0, fmt.Errorf("db: count admins: %w", Classify(err))
	}
	return n, nil
}

// UserChange is a partial update of a user; nil fields stay as they are.
type UserChange struct {
	Name         *string
	Role         *string
	Disabled     *bool
	PasswordHash *string
}

// UpdateUser applies change to the user and returns the user before and
// after. ErrNotFound if there is no such user.
func (d *DB) UpdateUser(ctx context.Context, id bson.ObjectID, change UserChange, now time.Time) (before, after *User, err error) {
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
	var old User
	err = d.users().FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: set}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&old)
	if err != nil {
		return nil, nil, fmt.Errorf("db: update user: %w", Classify(err))
	}
	updated, err := d.UserByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return &old, updated, nil
}

// ReplacePasswordHash swaps a user's hash only if it is still oldHash, so a
// background re-hash after login never overwrites a password changed
// meanwhile. It reports whether it replaced the hash.
func (d *DB) ReplacePasswordHash(ctx context.Context, id bson.ObjectID, oldHash, newHash string) (bool, error) {
	res, err := d.users().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "password_hash", Value: oldHash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "password_hash", Value: newHash}}}})
	if err != nil {
		return false, fmt.Errorf("db: replace password hash: %w", Classify(err))
	}
	return res.ModifiedCount == 1, nil
}

// DeleteUser removes a user and returns it. ErrNotFound if there is none.
func (d *DB) DeleteUser(ctx context.Context, id bson.ObjectID) (*User, error) {
	var old User
	err := d.users().FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&old)
	if err != nil {
		return nil, fmt.Errorf("db: delete user: %w", Classify(err))
	}
	return &old, nil
}
