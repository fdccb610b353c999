package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"sync"
	"time"

	"labreview/db"
)

// setupTokenTTL is how long the first-run setup link works.
const setupTokenTTL = time.Hour

// setupGuessLimit is how many wrong setup tokens one client address may try
// per throttle window. The token has 256 random bits: the limit is about
// noise in the audit log and load, not about guessing it.
const setupGuessLimit = 10

func setupKey(ip string) string { return "setup:" + ip }

// setupToken is the one-time secret of the first-run setup link. It lives
// only in this process: a restart makes a new one (and logs the new link).
type setupToken struct {
	mu      sync.Mutex
	value   string
	expires time.Time
}

// SetupNeeded reports whether no enabled admin exists.
func (s *Service) SetupNeeded(ctx context.Context) (bool, error) {
	n, err := s.db.CountActiveAdmins(ctx, "")
	if err != nil {
		return false, err
	}
	return n == 0, nil
}

// PrepareSetup makes a fresh setup token when setup is needed and returns
// the link to log ("" when no setup is needed).
func (s *Service) PrepareSetup(ctx context.Context) (string, error) {
	needed, err := s.SetupNeeded(ctx)
	if err != nil || !needed {
		return "", err
	}
	token, err := s.randomString(32)
	if err != nil {
		return "", err
	}
	s.setup.mu.Lock()
	s.setup.value, s.setup.expires = token, s.now().Add(setupTokenTTL)
	s.setup.mu.Unlock()
	return s.cfg.SetupURLBase + "/setup?token=" + token, nil
}

// setupTokenValid checks token without using it up.
func (s *Service) setupTokenValid(token string) bool {
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	return s.setup.value != "" && token != "" && s.now().Before(s.setup.expires) &&
		subtle.ConstantTimeCompare([]byte(token), []byte(s.setup.value)) == 1
}

func (s *Service) burnSetupToken() {
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	s.setup.value = ""
}

// Setup creates the first admin and signs them in. Exactly one setup ever
// succeeds, even when several run at once: the others get ErrSetupDone.
func (s *Service) Setup(ctx context.Context, token string, in NewUser, client ClientInfo) (*Grant, error) {
	needed, err := s.SetupNeeded(ctx)
	if err != nil {
		return nil, err
	}
	if !needed {
		return nil, ErrSetupDone
	}
	// Guesses are limited per client address: the attempt is counted
	// before the token is compared (so concurrent guesses cannot race past
	// the limit), and given back when the token is right.
	key := setupKey(client.IP)
	if until, closed := s.closed.closedUntil(key, s.now()); closed { // no write for a known refusal
		return nil, &ThrottledError{RetryAfter: until.Sub(s.now()), Attempts: "setup attempts"}
	}
	c, err := s.db.CountFailure(ctx, key, s.cfg.Throttle.Window, s.now())
	if err != nil {
		return nil, err
	}
	if c.Failures > setupGuessLimit {
		s.closed.close(key, c.WindowEnds, s.now())
		if c.Failures == setupGuessLimit+1 { // once per window and address
			s.audit(ctx, &db.AuditEvent{Event: EventSetupThrottled, IP: client.IP, UserAgent: client.UserAgent,
				Details: map[string]any{"window_ends": c.WindowEnds.UTC().Format(time.RFC3339)}})
		}
		return nil, &ThrottledError{RetryAfter: c.WindowEnds.Sub(s.now()), Attempts: "setup attempts"}
	}
	if !s.setupTokenValid(token) {
		// A concurrent setup may have just used the token: say so.
		if again, err := s.SetupNeeded(ctx); err == nil && !again {
			return nil, ErrSetupDone
		}
		s.audit(ctx, &db.AuditEvent{Event: EventSetupTokenInvalid, IP: client.IP, UserAgent: client.UserAgent})
		return nil, ErrSetupToken
	}
	if err := s.db.ReleaseAttempt(ctx, key); err != nil {
		s.log.Warn("giving back a setup attempt", "err", err)
	}
	in.Role = db.RoleAdmin
	u, err := s.prepareUser(ctx, in) // input errors leave the link usable
	if err != nil {
		return nil, err
	}
	// The claim is the arbiter between concurrent attempts.
	if err := s.db.ClaimSetup(ctx, u.ID, s.now()); err != nil {
		if errors.Is(err, db.ErrConflict) {
			return nil, ErrSetupDone
		}
		return nil, err
	}
	if err := s.db.InsertUser(ctx, u); err != nil {
		_ = s.db.ReleaseSetup(context.WithoutCancel(ctx), u.ID)
		if errors.Is(err, db.ErrConflict) {
			return nil, ErrEmailTaken
		}
		return nil, err
	}
	s.burnSetupToken()
	s.audit(ctx, &db.AuditEvent{Event: EventSetup, ActorID: u.ID, UserID: u.ID, Email: u.Email,
		IP: client.IP, UserAgent: client.UserAgent})
	g, err := s.startSession(ctx, u, client)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventLoginOK, ActorID: u.ID, UserID: u.ID,
		SessionID: g.SessionID, IP: client.IP, UserAgent: client.UserAgent})
	return g, nil
}
