package auth

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"labreview/auth/lookalike"
	"labreview/db"
)

// Roles a user can have.
var Roles = []string{db.RoleViewer, db.RoleReviewer, db.RoleAdmin}

// NormaliseEmail is the one rule for addresses: surrounding white space
// trimmed, Unicode compatibility forms folded (NFKC: a fullwidth "ａ" is
// "a"), then lower-cased. One account per normalised address; sign-in
// looks addresses up the same way.
func NormaliseEmail(email string) string {
	return norm.NFKC.String(strings.ToLower(norm.NFKC.String(strings.TrimSpace(email))))
}

// emailSkeleton is an address's confusable skeleton (lookalike.Skeleton).
func emailSkeleton(email string) string { return lookalike.Skeleton(email) }

// hiddenRune is lookalike.Hidden.
func hiddenRune(r rune, allowSpace bool) bool { return lookalike.Hidden(r, allowSpace) }

func validateEmail(email string) error {
	if email == "" || len(email) > 254 {
		return &InputError{Field: "email", Code: "invalid_email", Message: "must be an email address of at most 254 characters"}
	}
	for _, r := range email {
		// A combining mark left after NFKC has no precomposed letter to
		// join: it can only decorate another character, unseen.
		if hiddenRune(r, false) || lookalike.Combining(r) || r == utf8.RuneError {
			return &InputError{Field: "email", Code: "invalid_email",
				Message: "must not contain invisible, spacing, combining or direction-changing characters"}
		}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") && !strings.HasSuffix(email, "@localhost") {
		return &InputError{Field: "email", Code: "invalid_email", Message: "must be an email address such as ada@lab.example.org"}
	}
	return nil
}

func validateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", &InputError{Field: "name", Code: "invalid_name", Message: "must be 1 to 100 characters"}
	}
	for _, r := range name {
		if hiddenRune(r, true) || r == utf8.RuneError {
			return "", &InputError{Field: "name", Code: "invalid_name",
				Message: "must not contain control, invisible, direction-changing or unusual space characters"}
		}
	}
	return name, nil
}

func validateRole(role string) error {
	for _, r := range Roles {
		if role == r {
			return nil
		}
	}
	return &InputError{Field: "role", Code: "invalid_role", Message: "must be one of viewer, reviewer, admin"}
}

func passwordError(field string, err error) error {
	var pe *PolicyError
	if errors.As(err, &pe) {
		return &InputError{Field: field, Code: pe.Code, Message: pe.Message}
	}
	return err
}

// NewUser is the input for creating a user.
type NewUser struct {
	Email, Name, Role, Password string
}

// CreateUser validates and stores a new user. actor is "" for the CLI.
func (s *Service) CreateUser(ctx context.Context, actor string, in NewUser, client ClientInfo) (*db.User, error) {
	u, err := s.prepareUser(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := s.db.InsertUser(ctx, u); err != nil {
		if errors.Is(err, db.ErrConflict) {
			return nil, ErrEmailTaken
		}
		return nil, err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventUserCreated, ActorID: actor, UserID: u.ID, Email: u.Email,
		IP: client.IP, UserAgent: client.UserAgent, Details: map[string]any{"role": u.Role}})
	return u, nil
}

func (s *Service) prepareUser(ctx context.Context, in NewUser) (*db.User, error) {
	email := NormaliseEmail(in.Email)
	if err := validateEmail(email); err != nil {
		return nil, err
	}
	skeleton := emailSkeleton(email)
	switch other, err := s.db.UserBySkeleton(ctx, skeleton); {
	case err == nil && other.Email == email:
		return nil, ErrEmailTaken
	case err == nil:
		return nil, ErrEmailConfusable
	case !errors.Is(err, db.ErrNotFound):
		return nil, err
	}
	name, err := validateName(in.Name)
	if err != nil {
		return nil, err
	}
	if err := validateRole(in.Role); err != nil {
		return nil, err
	}
	if err := CheckPassword(in.Password, email, name); err != nil {
		return nil, passwordError("password", err)
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return &db.User{ID: db.NewID(), Email: email, EmailSkeleton: skeleton, Name: name, Role: in.Role, PasswordHash: hash,
		CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}, nil
}

// fillSkeletonsBatch is how many users fillSkeletons reads at a time.
const fillSkeletonsBatch = 500

// fillSkeletons stores the email skeleton of users that have none (stored
// before skeletons existed, or imported), so the look-alike check covers
// them. It runs once per process, when the database answers; on an
// up-to-date store that is one index probe that finds nobody.
func (s *Service) fillSkeletons(ctx context.Context) error {
	if s.skeletonsFilled.Load() {
		return nil
	}
	for {
		users, err := s.db.UsersWithoutSkeleton(ctx, fillSkeletonsBatch)
		if err != nil {
			return err
		}
		filled := 0
		for _, u := range users {
			if sk := emailSkeleton(u.Email); sk != "" {
				if err := s.db.SetEmailSkeleton(ctx, u.ID, sk); err != nil {
					return err
				}
				filled++
			}
		}
		// A short batch is the last; a batch with nothing to fill (an
		// address whose skeleton is empty) would come back unchanged.
		if len(users) < fillSkeletonsBatch || filled == 0 {
			break
		}
	}
	s.skeletonsFilled.Store(true)
	return nil
}

// Users lists every user.
func (s *Service) Users(ctx context.Context) ([]db.User, error) { return s.db.ListUsers(ctx) }

// User returns one user (db.ErrNotFound if none), read from the database.
func (s *Service) User(ctx context.Context, id string) (*db.User, error) {
	return s.db.UserByID(ctx, id)
}

// Me returns the caller's own user. It is answered from a per-instance
// cache for up to sessionCheckTTL (like the session check), so the most
// frequent authenticated call costs no database read; changes made on this
// instance show at once, changes made elsewhere within that time.
func (s *Service) Me(ctx context.Context, p *Principal) (*db.User, error) {
	return s.currentUser(ctx, p.UserID)
}

// currentUser reads a user through the per-instance cache of
// sessionCheckTTL: changes made on this instance show at once (they forget
// the entry), changes made elsewhere within that time.
func (s *Service) currentUser(ctx context.Context, id string) (*db.User, error) {
	u, err := s.users.load(ctx, id, s.now(), func(ctx context.Context) (db.User, error) {
		u, err := s.db.UserByID(ctx, id)
		if err != nil {
			return db.User{}, err
		}
		return *u, nil
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// DisplayNames returns the names of the given users, through the same
// short cache as authorisation (an unknown id is left out). Any signed-in
// user may see who wrote a comment or gave a verdict.
func (s *Service) DisplayNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if _, done := out[id]; done || !db.ValidID(id) {
			continue
		}
		u, err := s.currentUser(ctx, id)
		switch {
		case errors.Is(err, db.ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		out[id] = u.Name
	}
	return out, nil
}

// TokenNames maps API token ids to their names (unknown ids are left
// out), so that a run can say which token wrote it. A token's name is what
// its owner called it; its secret and hint stay out.
func (s *Service) TokenNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if _, done := out[id]; done || !db.ValidID(id) {
			continue
		}
		t, err := s.db.APITokenByID(ctx, id)
		switch {
		case errors.Is(err, db.ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		out[id] = t.Name
	}
	return out, nil
}

// UserByEmail returns one user by address (db.ErrNotFound if none).
func (s *Service) UserByEmail(ctx context.Context, email string) (*db.User, error) {
	return s.db.UserByEmail(ctx, NormaliseEmail(email))
}

// UserPatch changes some of a user's fields; nil means unchanged.
type UserPatch struct {
	Name     *string
	Role     *string
	Disabled *bool
}

// adminLease serialises changes that could remove the last admin.
const adminLease = "admins"

// UpdateUser applies patch. A change that would leave no enabled admin is
// refused (ErrLastAdmin), even when two admins demote each other at once:
// such changes run one at a time under a database lease. Disabling a user
// ends their sessions.
func (s *Service) UpdateUser(ctx context.Context, actor string, id string, patch UserPatch, client ClientInfo) (*db.User, error) {
	change := db.UserChange{Disabled: patch.Disabled}
	if patch.Name != nil {
		name, err := validateName(*patch.Name)
		if err != nil {
			return nil, err
		}
		change.Name = &name
	}
	if patch.Role != nil {
		if err := validateRole(*patch.Role); err != nil {
			return nil, err
		}
		change.Role = patch.Role
	}
	var before, after *db.User
	apply := func() error {
		var err error
		before, after, err = s.db.UpdateUser(ctx, id, change, s.now())
		s.users.forget(id)
		return err
	}
	demotes := (patch.Role != nil && *patch.Role != db.RoleAdmin) || (patch.Disabled != nil && *patch.Disabled)
	var err error
	if demotes {
		err = s.guardLastAdmin(ctx, id, apply)
	} else {
		err = apply()
	}
	if err != nil {
		return nil, err
	}
	if after.Disabled && !before.Disabled {
		if err := s.endUserSessions(ctx, id, "user_disabled"); err != nil {
			return nil, err
		}
	}
	// Checked at every change, not only when this one disabled or
	// demoted: a change retried after a failure here still revokes.
	revoked, err := s.revokeTokensBeyond(ctx, actor, after, client)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventUserChanged, ActorID: actor, UserID: id, IP: client.IP, UserAgent: client.UserAgent,
		Details: map[string]any{
			"before":         map[string]any{"role": before.Role, "disabled": before.Disabled, "name": before.Name},
			"after":          map[string]any{"role": after.Role, "disabled": after.Disabled, "name": after.Name},
			"tokens_revoked": revoked,
		}})
	return after, nil
}

// DeleteUser removes a user and ends their sessions.
func (s *Service) DeleteUser(ctx context.Context, actor string, id string, client ClientInfo) error {
	var gone *db.User
	err := s.guardLastAdmin(ctx, id, func() error {
		var err error
		gone, err = s.db.DeleteUser(ctx, id)
		s.users.forget(id)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.endUserSessions(ctx, id, "user_deleted"); err != nil {
		return err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventUserDeleted, ActorID: actor, UserID: id, Email: gone.Email,
		IP: client.IP, UserAgent: client.UserAgent,
		Details: map[string]any{"before": map[string]any{"role": gone.Role, "disabled": gone.Disabled}}})
	return nil
}

// guardLastAdmin runs fn, which may take admin rights from user id, only if
// another enabled admin remains.
func (s *Service) guardLastAdmin(ctx context.Context, id string, fn func() error) error {
	return s.db.WithLease(ctx, adminLease, 10*time.Second, 10*time.Second, func() error {
		target, err := s.db.UserByID(ctx, id)
		if err != nil {
			return err
		}
		if target.Role == db.RoleAdmin && !target.Disabled {
			others, err := s.db.CountActiveAdmins(ctx, id)
			if err != nil {
				return err
			}
			if others == 0 {
				return ErrLastAdmin
			}
		}
		return fn()
	})
}

// TerminateUserSessions ends every session of a user (admin action).
func (s *Service) TerminateUserSessions(ctx context.Context, actor string, id string, client ClientInfo) error {
	if _, err := s.db.UserByID(ctx, id); err != nil {
		return err
	}
	if err := s.endUserSessions(ctx, id, "terminated_by_admin"); err != nil {
		return err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventSessionsEnded, ActorID: actor, UserID: id, IP: client.IP, UserAgent: client.UserAgent})
	return nil
}

func (s *Service) endUserSessions(ctx context.Context, id string, reason string) error {
	ids, err := s.db.RevokeUserSessions(ctx, id, "", reason, s.now())
	s.live.forget(ids...)
	return err
}

// ChangePassword changes the caller's password after checking the current
// one, and ends every other session of theirs. Wrong current passwords
// count towards the account's login throttle.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string, client ClientInfo) error {
	if len(current) > MaxPasswordBytes {
		return &InputError{Field: "current_password", Code: "password_too_long", Message: "must be at most 1024 bytes"}
	}
	user, err := s.db.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	attempt, err := s.reserveAttempt(ctx, user.Email, "", client)
	if err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, user.PasswordHash, current)
	if err != nil && (errors.Is(err, ErrBusy) || ctx.Err() != nil) {
		attempt.giveBack(ctx)
		return err
	}
	if !ok {
		return &InputError{Field: "current_password", Code: "wrong_password", Message: "is not your current password"}
	}
	attempt.succeeded(ctx)
	if err := s.setPassword(ctx, user, next); err != nil {
		return err
	}
	ids, err := s.db.RevokeUserSessions(ctx, user.ID, p.SessionID, "password_changed", s.now())
	s.live.forget(ids...)
	if err != nil {
		return err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventPasswordChanged, ActorID: user.ID, UserID: user.ID,
		SessionID: p.SessionID, IP: client.IP, UserAgent: client.UserAgent, Details: map[string]any{"sessions_ended": len(ids)}})
	return nil
}

// ResetPassword sets a user's password (admin or CLI) and ends all their
// sessions; with revokeTokens (the API's and the CLI's default) it also
// revokes their API tokens: a reset usually means the account was at
// risk, and a token made by whoever held it would outlive the new
// password. actor is "" for the CLI.
func (s *Service) ResetPassword(ctx context.Context, actor string, id string, next string, revokeTokens bool, client ClientInfo) error {
	user, err := s.db.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.setPassword(ctx, user, next); err != nil {
		return err
	}
	if err := s.endUserSessions(ctx, id, "password_reset"); err != nil {
		return err
	}
	revoked := 0
	if revokeTokens {
		if revoked, err = s.revokeUserTokens(ctx, actor, user, RevokedPasswordReset, client,
			func(*db.APIToken) bool { return false }); err != nil {
			return err
		}
	}
	s.audit(ctx, &db.AuditEvent{Event: EventPasswordReset, ActorID: actor, UserID: id, IP: client.IP, UserAgent: client.UserAgent,
		Details: map[string]any{"tokens_revoked": revoked, "tokens_kept": !revokeTokens}})
	return nil
}

func (s *Service) setPassword(ctx context.Context, user *db.User, next string) error {
	if err := CheckPassword(next, user.Email, user.Name); err != nil {
		return passwordError("new_password", err)
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	_, _, err = s.db.UpdateUser(ctx, user.ID, db.UserChange{PasswordHash: &hash}, s.now())
	s.users.forget(user.ID)
	return err
}
