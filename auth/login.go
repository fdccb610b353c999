package auth

import (
	"context"
	"errors"
	"time"

	"labreview/db"
)

func accountKey(email string) string { return "acct:" + email }
func ipKey(ip string) string         { return "ip:" + ip }

// Login checks an email and password and starts a session. Unknown user,
// wrong password and disabled account all give ErrInvalidCredentials after
// the same amount of hashing work. Too many recent failures for the account
// or the client IP give *ThrottledError before the password is even looked
// at, so the right password is refused too until the window ends.
func (s *Service) Login(ctx context.Context, email, password string, client ClientInfo) (*Grant, error) {
	if len(password) > MaxPasswordBytes {
		return nil, &InputError{Field: "password", Code: "password_too_long", Message: "must be at most 1024 bytes"}
	}
	// Addresses are at most 254 bytes; a longer "email" cannot exist, and
	// cutting it keeps counters and audit entries small.
	email = truncate(NormaliseEmail(email), 254)
	now := s.now()
	if err := s.checkThrottle(ctx, email, client.IP, now); err != nil {
		return nil, err
	}

	user, err := s.db.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	ok, rehash := false, false
	if user == nil {
		// The same work, and the same errors when saturated, as for a real
		// account: neither time nor a 503 tells which addresses exist.
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			return nil, err
		}
	} else {
		ok, rehash, err = s.hasher.Verify(ctx, user.PasswordHash, password)
		if err != nil && (errors.Is(err, ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return nil, err
		}
		if err != nil {
			s.log.Error("stored password hash unusable", "user_id", user.ID, "err", err)
			ok = false
		}
	}
	if !ok || user.Disabled {
		s.countFailure(ctx, email, client.IP)
		reason := "wrong_password"
		switch {
		case user == nil:
			reason = "unknown_user"
		case ok:
			reason = "disabled"
		}
		e := &db.AuditEvent{Event: EventLoginFailed, Email: email, IP: client.IP, UserAgent: client.UserAgent,
			Details: map[string]any{"reason": reason}}
		if user != nil {
			e.UserID = user.ID
		}
		s.audit(ctx, e)
		return nil, ErrInvalidCredentials
	}

	if err := s.db.ResetCounter(ctx, accountKey(email)); err != nil {
		s.log.Warn("resetting login counter", "err", err)
	}
	if rehash {
		s.upgradeHash(ctx, user, password)
	}
	g, err := s.startSession(ctx, user, client)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventLoginOK, ActorID: user.ID, UserID: user.ID,
		SessionID: g.SessionID, IP: client.IP, UserAgent: client.UserAgent})
	return g, nil
}

func (s *Service) checkThrottle(ctx context.Context, email, ip string, now time.Time) error {
	limits := []struct {
		key   string
		limit int
	}{{accountKey(email), s.cfg.Throttle.AccountLimit}, {ipKey(ip), s.cfg.Throttle.IPLimit}}
	var wait time.Duration
	for _, l := range limits {
		if l.limit <= 0 || l.key == ipKey("") {
			continue
		}
		c, err := s.db.CounterState(ctx, l.key, now)
		if err != nil {
			return err
		}
		if c.Failures >= l.limit {
			wait = max(wait, c.WindowEnds.Sub(now))
		}
	}
	if wait > 0 {
		s.audit(ctx, &db.AuditEvent{Event: EventLoginThrottled, Email: email, IP: ip})
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

func (s *Service) countFailure(ctx context.Context, email, ip string) {
	now := s.now()
	for _, key := range []string{accountKey(email), ipKey(ip)} {
		if key == ipKey("") {
			continue
		}
		if _, err := s.db.CountFailure(ctx, key, s.cfg.Throttle.Window, now); err != nil {
			s.log.Warn("counting failed login", "err", err)
		}
	}
}

// upgradeHash replaces a bcrypt (imported) or weaker Argon2 hash by one with
// the current parameters, now that the plain password is at hand.
func (s *Service) upgradeHash(ctx context.Context, user *db.User, password string) {
	h, err := s.hasher.Hash(ctx, password)
	if err != nil {
		s.log.Warn("re-hashing password", "user_id", user.ID, "err", err)
		return
	}
	if _, err := s.db.ReplacePasswordHash(ctx, user.ID, user.PasswordHash, h); err != nil {
		s.log.Warn("storing re-hashed password", "user_id", user.ID, "err", err)
		return
	}
	user.PasswordHash = h
}
