package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"labreview/db"
)

// CheckImported checks a record of an import file (labreview import) with
// the rules the API applies to the same data: an import must not bring in
// what the API would refuse. A user's email must be in the form the API
// stores (normalised) and pass its rules (no invisible or combining
// characters), the name and role too, and the password hash must be one
// the server can verify; an API token's name, scopes and projects follow
// the token rules and its hash is a token hash; a signing key is an
// Ed25519 key (or it would never be used). Records of other kinds pass.
func CheckImported(rec db.Record) error {
	switch rec.Kind {
	case db.KindUser:
		u := rec.User
		if NormaliseEmail(u.Email) != u.Email {
			return fmt.Errorf("the email %q is not in its normal form %q", u.Email, NormaliseEmail(u.Email))
		}
		if err := validateEmail(u.Email); err != nil {
			return importError(err)
		}
		if name, err := validateName(u.Name); err != nil {
			return importError(err)
		} else if name != u.Name {
			return errors.New("the name has spaces at either end")
		}
		if err := validateRole(u.Role); err != nil {
			return importError(err)
		}
		if _, err := parseArgon2id(u.PasswordHash); err != nil && !isBcrypt(u.PasswordHash) {
			return errors.New("the password hash is neither an Argon2id PHC string nor bcrypt")
		}
	case db.KindAPIToken:
		t := rec.Token
		req := TokenRequest{Name: t.Name, Scopes: slices.Clone(t.Scopes), Projects: slices.Clone(t.Projects), ExpiresInDays: 1}
		if err := validateTokenRequest(&req); err != nil {
			return importError(err)
		}
		if len(req.Scopes) != len(t.Scopes) || len(req.Projects) != len(t.Projects) || req.Name != t.Name {
			return errors.New("the token repeats a scope or a project, or its name has spaces at either end")
		}
		if b, err := hex.DecodeString(t.Hash); err != nil || len(b) != 32 {
			return errors.New("the token hash is not a SHA-256 HMAC in hex")
		}
		if !t.ExpiresAt.After(t.CreatedAt) || t.ExpiresAt.Sub(t.CreatedAt) > MaxTokenExpiryDays*24*time.Hour {
			return fmt.Errorf("a token lives 1 to %d days", MaxTokenExpiryDays)
		}
	case db.KindSigningKey:
		if k := rec.Key; k.Algorithm != AlgEdDSA || len(k.PrivateKey) != ed25519.PrivateKeySize {
			return errors.New("not an Ed25519 signing key")
		}
	}
	return nil
}

func importError(err error) error {
	var in *InputError
	if errors.As(err, &in) {
		return fmt.Errorf("%s %s", in.Field, in.Message)
	}
	return err
}

// ImportTrust names what a merge may add that gives access beyond the
// data itself: without it, ImportGuard leaves such records out.
type ImportTrust struct {
	// SigningKeys: signing keys and shared secrets (a key in the file signs
	// tokens the server would then accept; an attacker may hold its
	// private half).
	SigningKeys bool
	// Sessions: sessions and API tokens of users the database already
	// holds (a live session in the file signs its holder in as them).
	Sessions bool
	// Admins: the emails of new admins to add. Any other new account with
	// the admin role is left out.
	Admins []string
}

// ImportGuard decides which records a merge adds (labreview import
// --merge): records a file can use to take over the database it is merged
// into are left out, and listed, unless ImportTrust names them. It keeps
// what it learns while the records go by, so use one per import.
type ImportGuard struct {
	db    db.Store
	trust ImportTrust
	// newUsers are the users this import adds (their sessions and tokens
	// are theirs to bring); skeletons the emails of the users it admitted.
	newUsers  map[string]bool
	skeletons map[string]string
}

// NewImportGuard returns the guard of one merge into store.
func NewImportGuard(store db.Store, trust ImportTrust) *ImportGuard {
	for i, e := range trust.Admins {
		trust.Admins[i] = NormaliseEmail(e)
	}
	return &ImportGuard{db: store, trust: trust, newUsers: map[string]bool{}, skeletons: map[string]string{}}
}

// Admit returns why rec is left out of the merge, or "" to import it. It
// runs just before each record is written, in the file's order (users
// before their sessions and tokens).
func (g *ImportGuard) Admit(ctx context.Context, rec db.Record) (string, error) {
	switch rec.Kind {
	case db.KindSigningKey:
		if !g.trust.SigningKeys {
			return fmt.Sprintf("signing key %s: a merge adds signing keys only with --with-signing-keys; not imported", rec.Key.ID), nil
		}
	case db.KindSecret:
		if !g.trust.SigningKeys {
			return fmt.Sprintf("shared secret %s: a merge adds shared secrets only with --with-signing-keys; not imported", rec.Secret.Name), nil
		}
	case db.KindUser:
		return g.admitUser(ctx, rec.User)
	case db.KindSession:
		return g.admitOwned(ctx, "session "+rec.Session.ID, rec.Session.UserID)
	case db.KindAPIToken:
		return g.admitOwned(ctx, "API token "+rec.Token.ID, rec.Token.UserID)
	}
	return "", nil
}

func (g *ImportGuard) admitUser(ctx context.Context, u *db.User) (string, error) {
	_, err := g.db.UserByID(ctx, u.ID)
	switch {
	case err == nil:
		return "", nil // kept as it is in the database (skipped)
	case !errors.Is(err, db.ErrNotFound):
		return "", err
	}
	who := fmt.Sprintf("user %s (%s)", u.ID, u.Email)
	if u.Role == db.RoleAdmin && !slices.Contains(g.trust.Admins, u.Email) {
		return who + ": a merge adds an admin only when --with-admin names its email; not imported", nil
	}
	skeleton := emailSkeleton(u.Email)
	if other, ok := g.skeletons[skeleton]; ok && other != u.Email {
		return fmt.Sprintf("%s: the email looks like %s, also in the file; not imported", who, other), nil
	}
	switch other, err := g.db.UserBySkeleton(ctx, skeleton); {
	case err == nil && other.Email != u.Email:
		return fmt.Sprintf("%s: the email looks like the existing account %s; not imported", who, other.Email), nil
	case err != nil && !errors.Is(err, db.ErrNotFound):
		return "", err
	}
	g.skeletons[skeleton] = u.Email
	g.newUsers[u.ID] = true
	return "", nil
}

// admitOwned admits a session or token of a user this import adds, and of
// a user the database holds only with ImportTrust.Sessions.
func (g *ImportGuard) admitOwned(ctx context.Context, what, userID string) (string, error) {
	if g.newUsers[userID] || g.trust.Sessions {
		return "", nil
	}
	_, err := g.db.UserByID(ctx, userID)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return "", nil // the store lists it as a conflict: its user is not in the database
	case err != nil:
		return "", err
	}
	return fmt.Sprintf("%s: its user %s was in the database before; a merge adds sessions and API tokens of existing users only with --with-sessions; not imported", what, userID), nil
}
