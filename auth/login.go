package auth

import (
	"context"
	"errors"
	"slices"
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
	user, err := s.db.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	var device string
	if user != nil {
		device, _ = s.knownDevice(client.Device, user.ID)
	}
	attempt, err := s.reserveAttempt(ctx, email, device, client)
	if err != nil {
		return nil, err
	}
	ok, rehash := false, false
	if user == nil {
		// The same work, and the same errors when saturated, as for a real
		// account: neither time nor a 503 tells which addresses exist.
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			attempt.giveBack(ctx)
			return nil, err
		}
	} else {
		ok, rehash, err = s.hasher.Verify(ctx, user.PasswordHash, password)
		if err != nil && (errors.Is(err, ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			attempt.giveBack(ctx) // not evaluated
			return nil, err
		}
		if err != nil {
			s.log.Error("stored password hash unusable", "user_id", user.ID, "err", err)
			ok = false
		}
	}
	if !ok || user.Disabled {
		// The reserved attempt stays counted: it was a failure.
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

	attempt.succeeded(ctx)
	if rehash {
		s.upgradeHash(ctx, user, password)
	}
	g, err := s.startSession(ctx, user, client)
	if err != nil {
		return nil, err
	}
	if g.DeviceCookie, g.DeviceMaxAge, err = s.issueDevice(user.ID); err != nil {
		s.log.Warn("issuing a device cookie", "err", err)
	}
	s.audit(ctx, &db.AuditEvent{Event: EventLoginOK, ActorID: user.ID, UserID: user.ID,
		SessionID: g.SessionID, IP: client.IP, UserAgent: client.UserAgent,
		Details: map[string]any{"known_device": device != ""}})
	return g, nil
}

// attempt is a password check counted before it runs.
type attempt struct {
	s     *Service
	first string   // the account's or the known device's counter, cleared on success
	keys  []string // the counters this attempt was counted on
}

// reserveAttempt counts one attempt on the account's and the client
// address's failure counters before any password is checked: increment,
// then look at the count the increment returned. Attempts already in
// flight are therefore all counted, and at most max_per_account (and
// max_per_ip) passwords are evaluated per window, however many requests
// arrive at once. An attempt over a limit is refused without evaluating
// the password (so the right one is refused too until the window ends)
// and is not given back; its first refusal in a window is audited, once
// per key. From then on this instance remembers the counter as closed
// until its window ends (closedCounters), and refuses without writing
// anything: a flood of refused sign-ins costs no database write.
//
// From a known device of the account (device, see device.go) the first
// counter is the device's own instead of the account's, with the same
// limit: failures elsewhere cannot lock the owner out.
func (s *Service) reserveAttempt(ctx context.Context, email, device string, client ClientInfo) (*attempt, error) {
	first, kind := accountKey(email), "account"
	if device != "" {
		first, kind = deviceKey(device), "device"
	}
	a := &attempt{s: s, first: first}
	now := s.now()
	limits := slices.DeleteFunc([]throttleLimit{{first, kind, s.cfg.Throttle.AccountLimit}, {ipKey(client.IP), "ip", s.cfg.Throttle.IPLimit}},
		func(l throttleLimit) bool { return l.limit <= 0 || l.key == ipKey("") })
	// A counter known to be closed refuses without a database write.
	for _, l := range limits {
		if until, closed := s.closed.closedUntil(l.key, now); closed {
			return nil, &ThrottledError{RetryAfter: until.Sub(now)}
		}
	}
	for _, l := range limits {
		c, err := s.db.CountFailure(ctx, l.key, s.cfg.Throttle.Window, now)
		if err != nil {
			a.giveBack(ctx)
			return nil, err
		}
		if c.Failures > l.limit {
			s.closed.close(l.key, c.WindowEnds, now)
			a.giveBack(ctx) // the counters before this one: nothing is evaluated
			if c.Failures == l.limit+1 {
				e := &db.AuditEvent{Event: EventLoginThrottled, IP: client.IP, UserAgent: client.UserAgent,
					Details: map[string]any{"counter": l.kind, "failures": l.limit, "window_ends": c.WindowEnds.UTC().Format(time.RFC3339)}}
				if l.kind != "ip" {
					e.Email = email
				}
				s.audit(ctx, e)
			}
			return nil, &ThrottledError{RetryAfter: c.WindowEnds.Sub(now)}
		}
		a.keys = append(a.keys, l.key)
	}
	return a, nil
}

// throttleLimit is one counter an attempt is counted on.
type throttleLimit struct {
	key, kind string
	limit     int
}

// giveBack takes the attempt back from every counter: it was not
// evaluated (refused on another counter, or the server could not check).
func (a *attempt) giveBack(ctx context.Context) {
	for _, key := range a.keys {
		if err := a.s.db.ReleaseAttempt(context.WithoutCancel(ctx), key); err != nil {
			a.s.log.Warn("giving back a sign-in attempt", "err", err)
		}
	}
	a.keys = nil
}

// succeeded clears the failures of the account's (or the device's)
// counter, since the owner got in, and gives the attempt back to the
// address's counter.
func (a *attempt) succeeded(ctx context.Context) {
	for _, key := range a.keys {
		var err error
		if key == a.first {
			err = a.s.db.ResetCounter(context.WithoutCancel(ctx), key)
		} else {
			err = a.s.db.ReleaseAttempt(context.WithoutCancel(ctx), key)
		}
		if err != nil {
			a.s.log.Warn("releasing a sign-in attempt", "err", err)
		}
	}
	a.keys = nil
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
