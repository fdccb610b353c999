// Package auth is labreview's authentication: password hashing and policy,
// access tokens (JWT) and their keys, refresh sessions with rotation and
// reuse detection, login throttling, users and roles, first-run setup and
// the audit trail. It is plain Go: no HTTP types, time and randomness
// injected, storage through package db.
package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"labreview/db"
)

// Config holds the authentication settings (the auth section of config.yaml).
type Config struct {
	AccessTokenTTL    time.Duration
	RefreshTokenTTL   time.Duration // idle lifetime of a session, extended by each refresh
	SessionMaxAge     time.Duration // absolute lifetime of a session
	RefreshReuseGrace time.Duration // a just-replaced refresh secret still works this long
	Algorithm         string        // AlgEdDSA or AlgHS256
	JWTSecret         string        // HS256 only
	Issuer            string
	Audience          string
	Argon2            Argon2Params
	HashWorkers       int
	Throttle          ThrottleConfig
	RefreshPerMinute  int // refreshes allowed per session per minute (per instance)
	// SetupURLBase is the public URL the first-run setup link starts with.
	SetupURLBase string
	// AuditRetention is how long audit events are kept; 0 keeps them
	// forever.
	AuditRetention time.Duration
	// MaxTokensPerUser caps a user's active API tokens (0:
	// DefaultMaxTokensPerUser).
	MaxTokensPerUser int
}

// ThrottleConfig bounds failed logins in a fixed window.
type ThrottleConfig struct {
	Window       time.Duration
	AccountLimit int // failures per account (normalised email) per window
	IPLimit      int // failures per client IP per window
}

// sessionCheckTTL is how long a positive "session is live" answer is
// trusted for access tokens; revocation on another instance takes effect
// within it (the revoking instance forgets at once).
const sessionCheckTTL = 4 * time.Second

// tokenLeeway is the clock skew tolerated when checking exp and iat.
const tokenLeeway = 5 * time.Second

// Errors the HTTP layer maps to responses.
var (
	// ErrInvalidCredentials: unknown user, wrong password or disabled
	// account; deliberately one error for all three.
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	// ErrInvalidRefresh: refresh cookie missing, malformed, expired,
	// revoked or reused.
	ErrInvalidRefresh = errors.New("auth: invalid refresh token")
	// ErrForbidden: authenticated, but the role does not allow it.
	ErrForbidden = errors.New("auth: forbidden")
	// ErrLastAdmin: the change would leave no enabled admin.
	ErrLastAdmin = errors.New("auth: the last admin cannot be demoted, disabled or deleted")
	// ErrEmailTaken: another account uses this email.
	ErrEmailTaken = errors.New("auth: email already in use")
	// ErrEmailConfusable: the email looks like another account's.
	ErrEmailConfusable = errors.New("auth: email looks like another account's")
	// ErrSetupToken: the setup token is wrong, used or expired.
	ErrSetupToken = errors.New("auth: invalid or expired setup token")
	// ErrSetupDone: an admin exists already.
	ErrSetupDone = errors.New("auth: setup already done")
	// ErrRateLimited: too many refreshes for one session.
	ErrRateLimited = errors.New("auth: too many requests")
)

// ThrottledError says an attempt was refused because of too many failures.
type ThrottledError struct {
	RetryAfter time.Duration
	// Attempts names what was throttled for messages: "sign-ins" when
	// empty, or "setup attempts".
	Attempts string
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: too many failed %s; retry after %s", e.what(), e.RetryAfter.Round(time.Second))
}

func (e *ThrottledError) what() string {
	if e.Attempts == "" {
		return "sign-ins"
	}
	return e.Attempts
}

// What names the throttled attempts, for messages.
func (e *ThrottledError) What() string { return e.what() }

// InputError is invalid client input, naming the field.
type InputError struct {
	Field   string
	Code    string
	Message string
}

func (e *InputError) Error() string { return "auth: " + e.Field + ": " + e.Message }

// Service is the authentication service. Create it with New and stop its
// background work with Close.
type Service struct {
	cfg    Config
	db     db.Store
	log    *slog.Logger
	now    func() time.Time
	rand   io.Reader
	hasher *Hasher
	// tokens is nil until the signing keys could be loaded (a hosted
	// database may be unreachable at start); until then token operations
	// fail with db.ErrUnavailable.
	tokens atomic.Pointer[Tokens]

	live     *ttlCache[string, struct{}] // sessions seen live, by id
	users    *ttlCache[string, db.User]  // users for Me
	verified *verifiedCache
	limiter  *refreshLimiter
	closed   *closedCounters // throttle counters known to refuse, see closed.go
	setup    setupToken
	stop     context.CancelFunc
	stopped  sync.WaitGroup
	keysMu   sync.Mutex // serialises key loads on this instance
	keysSeen time.Time

	skeletonsFilled atomic.Bool // fillSkeletons ran
	onEvent         func(event string)

	tokenState
}

// Options carries injectable dependencies; zero values mean production ones.
type Options struct {
	Now  func() time.Time
	Rand io.Reader
	// OnEvent, when set, is told the name of every audited event (for
	// metrics: sign-in outcomes, reuse detections). It must be quick.
	OnEvent func(event string)
}

// New builds the service: it loads (or creates) the signing keys, and when
// no enabled admin exists it prepares a first-run setup token.
func New(ctx context.Context, cfg Config, store db.Store, logger *slog.Logger, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	hasher, err := NewHasher(cfg.Argon2, cfg.HashWorkers, 0)
	if err != nil {
		return nil, err
	}
	if cfg.MaxTokensPerUser <= 0 {
		cfg.MaxTokensPerUser = DefaultMaxTokensPerUser
	}
	s := &Service{
		cfg:      cfg,
		db:       store,
		log:      logger,
		now:      opts.Now,
		rand:     opts.Rand,
		hasher:   hasher,
		live:     newTTLCache[string, struct{}](sessionCheckTTL),
		users:    newTTLCache[string, db.User](sessionCheckTTL),
		verified: newVerifiedCache(),
		limiter:  newRefreshLimiter(cfg.RefreshPerMinute),
		closed:   newClosedCounters(),
		onEvent:  opts.OnEvent,
		tokenState: tokenState{
			apiTokens: newTTLCache[string, db.APIToken](sessionCheckTTL),
			touched:   map[string]time.Time{},
		},
	}
	// Check the token settings now, with a throw-away key, so that a bad
	// configuration stops the start-up rather than the first sign-in.
	probe, err := GenerateEd25519Key(opts.Rand, opts.Now())
	if err != nil {
		return nil, err
	}
	probeKeys := []Key{probe}
	if cfg.Algorithm == AlgHS256 {
		if probe, err = HMACKey([]byte(cfg.JWTSecret)); err != nil {
			return nil, err
		}
		probeKeys = []Key{probe}
	}
	if _, err := NewTokens(s.tokenConfig(), probeKeys); err != nil {
		return nil, err
	}
	// A hosted store that has not answered yet would make each call wait
	// its server-selection timeout (5 s) and hold up the start: the
	// background loop loads the keys as soon as it answers.
	if r, ok := store.(readiness); !ok || r.Ready() {
		if err := s.initTokens(ctx); err != nil && !errors.Is(err, db.ErrUnavailable) {
			return nil, err
		}
		if err := s.fillSkeletons(ctx); err != nil && !errors.Is(err, db.ErrUnavailable) {
			return nil, err
		}
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.stopped.Add(1)
	go s.maintain(bg)
	return s, nil
}

// readiness is implemented by stores that know, without waiting, whether
// they can answer yet (db/mongo before the deployment first answered).
type readiness interface{ Ready() bool }

// Close stops background work (key reloads, sweeps).
func (s *Service) Close() {
	s.stop()
	s.stopped.Wait()
}

func (s *Service) tokenConfig() TokenConfig {
	return TokenConfig{
		Algorithm: s.cfg.Algorithm,
		Issuer:    s.cfg.Issuer,
		Audience:  s.cfg.Audience,
		TTL:       s.cfg.AccessTokenTTL,
		Leeway:    tokenLeeway,
		Now:       s.now,
		Rand:      s.rand,
	}
}

// initTokens loads the key set (creating the first key if there is none)
// and installs the token issuer, or refreshes its keys.
func (s *Service) initTokens(ctx context.Context) error {
	keys, err := s.loadKeys(ctx, true)
	if err != nil {
		return err
	}
	if t := s.tokens.Load(); t != nil {
		s.verified.reset()
		return t.SetKeys(keys)
	}
	t, err := NewTokens(s.tokenConfig(), keys)
	if err != nil {
		return err
	}
	s.tokens.Store(t)
	return nil
}

// issuer returns the token issuer, or db.ErrUnavailable while the keys
// have not been loaded.
func (s *Service) issuer() (*Tokens, error) {
	if t := s.tokens.Load(); t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("auth: signing keys not loaded yet: %w", db.ErrUnavailable)
}

// JWKS publishes the public keys (empty until they are loaded, and with
// HS256).
func (s *Service) JWKS() JWKSet {
	if t := s.tokens.Load(); t != nil {
		return t.JWKS()
	}
	return JWKSet{Keys: []JWK{}}
}

// AccessTokenTTL is the lifetime of issued access tokens.
func (s *Service) AccessTokenTTL() time.Duration { return s.cfg.AccessTokenTTL }

// maintain reloads keys (so rotations on other instances are seen) and
// sweeps expired sessions and counters.
func (s *Service) maintain(ctx context.Context) {
	defer s.stopped.Done()
	// Until the keys are loaded, retry every 2 s; while the store says it
	// is not ready, look every 100 ms, so the keys load as soon as it is.
	r, hasReadiness := s.db.(readiness)
	for s.tokens.Load() == nil {
		wait := 2 * time.Second
		if hasReadiness && !r.Ready() {
			wait = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if hasReadiness && !r.Ready() {
			continue
		}
		if err := s.initTokens(ctx); err != nil && !errors.Is(err, db.ErrUnavailable) {
			s.log.Error("loading signing keys", "err", err)
		}
	}
	if err := s.fillSkeletons(ctx); err != nil {
		s.log.Warn("filling in email skeletons", "err", err)
	}
	reload := time.NewTicker(keyReloadEvery)
	defer reload.Stop()
	sweep := time.NewTicker(10 * time.Minute)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload.C:
			if err := s.initTokens(ctx); err != nil {
				s.log.Warn("reloading signing keys", "err", err)
			}
		case <-sweep.C:
			s.sweep(ctx)
		}
	}
}

func (s *Service) sweep(ctx context.Context) {
	now := s.now()
	// Ended sessions are kept a day so the sessions page and audit can
	// explain what happened, then removed.
	if n, err := s.db.SweepSessions(ctx, now.Add(-24*time.Hour)); err != nil {
		s.log.Warn("sweeping sessions", "err", err)
	} else if n > 0 {
		s.log.Info("swept ended sessions", "count", n)
	}
	if err := s.db.SweepCounters(ctx, now); err != nil {
		s.log.Warn("sweeping login counters", "err", err)
	}
	if _, err := s.db.DeleteSigningKeysRetiredBefore(ctx, now.Add(-s.cfg.AccessTokenTTL-time.Hour)); err != nil {
		s.log.Warn("removing retired keys", "err", err)
	}
	if s.cfg.AuditRetention > 0 {
		if n, err := s.db.DeleteAuditBefore(ctx, now.Add(-s.cfg.AuditRetention)); err != nil {
			s.log.Warn("removing audit events past their retention", "err", err)
		} else if n > 0 {
			s.log.Info("removed audit events past their retention", "count", n, "retention", s.cfg.AuditRetention.String())
		}
	}
	s.live.prune(now)
	s.users.prune(now)
	s.verified.prune(now)
	s.limiter.prune(now)
	s.apiTokens.prune(now)
	s.touchMu.Lock()
	for id, at := range s.touched {
		if now.Sub(at) >= tokenTouchEvery {
			delete(s.touched, id)
		}
	}
	s.touchMu.Unlock()
}
