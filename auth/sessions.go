package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"labreview/db"
)

// A refresh token is "<session id>.<secret>", both base64url without
// padding: 128 random bits name the session (so it is found by _id), 256
// random bits are the secret. Only SHA-256 of the secret is stored; a slow
// hash is unnecessary for 256 random bits.
const (
	sessionIDBytes = 16
	secretBytes    = 32
	// oldHashesKept bounds how many superseded secrets per session are
	// remembered for reuse detection.
	oldHashesKept = 16
)

var b64 = base64.RawURLEncoding

// ClientInfo describes the client of a request, for sessions and audit.
type ClientInfo struct {
	IP        string
	UserAgent string
	// Device is the device cookie the browser sent with a sign-in (device.go).
	Device string
}

// Grant is what a successful login or refresh hands out.
type Grant struct {
	AccessToken string
	ExpiresIn   time.Duration
	// RefreshToken is "" when the refresh was answered from the grace
	// window: the client already holds the successor and keeps its cookie.
	RefreshToken string
	// RefreshMaxAge is how long the refresh cookie may live.
	RefreshMaxAge time.Duration
	User          *db.User
	SessionID     string
	// DeviceCookie, after a sign-in, marks the browser as a known device of
	// the account for DeviceMaxAge.
	DeviceCookie string
	DeviceMaxAge time.Duration
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID    string
	SessionID string // "" for an API token
	Role      string // the user's current role (not the token's claim)
	// TokenID is set when an API token authenticated the request; its
	// Scopes and Projects (empty: every project) bound what it may do.
	TokenID  string
	Scopes   []string
	Projects []string
}

func (s *Service) randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("auth: random: %w", err)
	}
	return b64.EncodeToString(b), nil
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return b64.EncodeToString(sum[:])
}

func sameHash(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// parseRefreshToken splits and checks the shape of a refresh token.
func parseRefreshToken(token string) (id, secret string, ok bool) {
	id, secret, found := strings.Cut(token, ".")
	if !found || len(token) > 128 {
		return "", "", false
	}
	rawID, err1 := b64.Strict().DecodeString(id)
	rawSecret, err2 := b64.Strict().DecodeString(secret)
	if err1 != nil || err2 != nil || len(rawID) != sessionIDBytes || len(rawSecret) != secretBytes {
		return "", "", false
	}
	return id, secret, true
}

// startSession creates a session for user and the first tokens.
func (s *Service) startSession(ctx context.Context, user *db.User, client ClientInfo) (*Grant, error) {
	id, err := s.randomString(sessionIDBytes)
	if err != nil {
		return nil, err
	}
	secret, err := s.randomString(secretBytes)
	if err != nil {
		return nil, err
	}
	now := s.now()
	sess := &db.Session{
		ID:            id,
		UserID:        user.ID,
		SecretHash:    hashSecret(secret),
		OldHashes:     []string{},
		CreatedAt:     now,
		LastUsedAt:    now,
		ExpiresAt:     now.Add(s.cfg.SessionMaxAge),
		IdleExpiresAt: minTime(now.Add(s.cfg.RefreshTokenTTL), now.Add(s.cfg.SessionMaxAge)),
		UserAgent:     truncate(client.UserAgent, maxUserAgent),
		IP:            client.IP,
	}
	if err := s.db.InsertSession(ctx, sess); err != nil {
		return nil, err
	}
	return s.grant(user, sess, id+"."+secret, now)
}

func (s *Service) grant(user *db.User, sess *db.Session, refresh string, now time.Time) (*Grant, error) {
	t, err := s.issuer()
	if err != nil {
		return nil, err
	}
	token, _, err := t.Issue(user.ID, sess.ID, user.Role)
	if err != nil {
		return nil, err
	}
	s.live.put(sess.ID, struct{}{}, now)
	return &Grant{
		AccessToken: token,
		// The token's lifetime, not exp minus this call's clock: a slow
		// store read before Issue must not report 301 s for a 300 s token.
		ExpiresIn:     t.Lifetime(),
		RefreshToken:  refresh,
		RefreshMaxAge: sess.IdleExpiresAt.Sub(now),
		User:          user,
		SessionID:     sess.ID,
	}, nil
}

// Refresh exchanges a refresh token for a new access token and, normally,
// a new refresh token (rotation). See docs/security.md for the rules.
func (s *Service) Refresh(ctx context.Context, token string, client ClientInfo) (*Grant, error) {
	id, secret, ok := parseRefreshToken(token)
	if !ok {
		return nil, ErrInvalidRefresh
	}
	presented := hashSecret(secret)
	now := s.now()
	// A session that refreshed lately is limited before the database is
	// asked. One not seen lately is limited once it proved to exist, so
	// made-up ids cannot fill the limiter's memory.
	allowed, known := s.limiter.allowKnown(id, now)
	if !allowed {
		return nil, ErrRateLimited
	}
	next, err := s.randomString(secretBytes)
	if err != nil {
		return nil, err
	}
	// The usual case, in one conditional write: the secret presented is the
	// session's current one, and the session is live.
	sess, err := s.db.RotateSession(ctx, id, presented, hashSecret(next), now, s.cfg.RefreshTokenTTL, oldHashesKept)
	if err != nil {
		return nil, err
	}
	if sess != nil {
		if !known {
			s.limiter.allow(id, now)
		}
		user, err := s.enabledUser(ctx, sess)
		if err != nil {
			return nil, err
		}
		return s.grant(user, sess, id+"."+next, now)
	}

	// Nothing was rotated: the secret is not the current one (a second
	// tab rotated it a moment ago, or a copy is being replayed), or the
	// session ended, or never existed. Read it to tell these apart.
	sess, err = s.db.SessionByID(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrInvalidRefresh
	}
	if err != nil {
		return nil, err
	}
	if !known && !s.limiter.allow(id, now) {
		return nil, ErrRateLimited
	}
	if !sess.Live(now) {
		return nil, ErrInvalidRefresh
	}
	user, err := s.enabledUser(ctx, sess)
	if err != nil {
		return nil, err
	}

	if sameHash(presented, sess.PrevHash) && now.Sub(sess.PrevReplacedAt) <= s.cfg.RefreshReuseGrace {
		// Tabs share the cookie jar: the caller already has the successor
		// cookie, so it gets an access token and no new cookie.
		_ = s.db.TouchSession(ctx, id, now)
		return s.grant(user, sess, "", now)
	}
	if sameHash(presented, sess.PrevHash) || slices.ContainsFunc(sess.OldHashes, func(h string) bool { return sameHash(h, presented) }) {
		// A superseded secret came back after the grace window: someone
		// holds a copy of an old cookie. End the whole family.
		s.revoke(ctx, sess.ID, "refresh_reuse")
		s.audit(ctx, &db.AuditEvent{Event: EventRefreshReuse, UserID: user.ID, SessionID: sess.ID,
			IP: client.IP, UserAgent: client.UserAgent})
		return nil, ErrInvalidRefresh
	}
	// A secret this session never had: not proof of theft (the session id
	// alone is no secret), just invalid.
	return nil, ErrInvalidRefresh
}

// enabledUser returns the session's user (is it still enabled, what is
// its role) from the same short cache as the session check and /api/me;
// a user gone or disabled ends the session.
func (s *Service) enabledUser(ctx context.Context, sess *db.Session) (*db.User, error) {
	user, err := s.currentUser(ctx, sess.UserID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	if user == nil || user.Disabled {
		s.revoke(ctx, sess.ID, "user_disabled")
		return nil, ErrInvalidRefresh
	}
	return user, nil
}

// Logout revokes the session a refresh token belongs to, if the token is
// genuine (current or just-replaced secret). Invalid tokens are ignored.
func (s *Service) Logout(ctx context.Context, token string, client ClientInfo) error {
	id, secret, ok := parseRefreshToken(token)
	if !ok {
		return nil
	}
	sess, err := s.db.SessionByID(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	h := hashSecret(secret)
	if !sess.Live(s.now()) || !(sameHash(h, sess.SecretHash) || sameHash(h, sess.PrevHash)) {
		return nil
	}
	if err := s.revokeErr(ctx, sess.ID, "logout"); err != nil {
		return err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventLogout, ActorID: sess.UserID, UserID: sess.UserID,
		SessionID: sess.ID, IP: client.IP, UserAgent: client.UserAgent})
	return nil
}

// LogoutAll revokes every session of the caller.
func (s *Service) LogoutAll(ctx context.Context, p *Principal, client ClientInfo) error {
	ids, err := s.db.RevokeUserSessions(ctx, p.UserID, "", "logout_all", s.now())
	if err != nil {
		return err
	}
	s.live.forget(ids...)
	s.audit(ctx, &db.AuditEvent{Event: EventLogoutAll, ActorID: p.UserID, UserID: p.UserID,
		SessionID: p.SessionID, IP: client.IP, UserAgent: client.UserAgent, Details: map[string]any{"sessions": len(ids)}})
	return nil
}

// SessionInfo is a session as its owner sees it.
type SessionInfo struct {
	ID         string
	CreatedAt  time.Time
	LastUsedAt time.Time
	UserAgent  string
	IP         string
	Current    bool
}

// Sessions lists the caller's live sessions.
func (s *Service) Sessions(ctx context.Context, p *Principal) ([]SessionInfo, error) {
	list, err := s.db.LiveSessions(ctx, p.UserID, s.now())
	if err != nil {
		return nil, err
	}
	out := make([]SessionInfo, len(list))
	for i, sess := range list {
		out[i] = SessionInfo{ID: sess.ID, CreatedAt: sess.CreatedAt, LastUsedAt: sess.LastUsedAt,
			UserAgent: sess.UserAgent, IP: sess.IP, Current: sess.ID == p.SessionID}
	}
	return out, nil
}

// RevokeOwnSession ends one of the caller's sessions; another user's
// session is reported as not found.
func (s *Service) RevokeOwnSession(ctx context.Context, p *Principal, id string, client ClientInfo) error {
	sess, err := s.db.SessionByID(ctx, id)
	if err != nil {
		return err
	}
	if sess.UserID != p.UserID || !sess.Live(s.now()) {
		return db.ErrNotFound
	}
	if err := s.revokeErr(ctx, id, "revoked_by_user"); err != nil {
		return err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventSessionRevoked, ActorID: p.UserID, UserID: p.UserID,
		SessionID: id, IP: client.IP, UserAgent: client.UserAgent})
	return nil
}

// Authenticate checks a bearer access token and that its session is still
// live (answered from a cache for up to sessionCheckTTL, with one store read
// per session at a time). When the session cannot be checked because the
// database is down, it fails closed with db.ErrUnavailable.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*Principal, error) {
	t, err := s.issuer()
	if err != nil {
		return nil, err
	}
	claims := s.verified.get(bearer, s.now())
	if claims == nil {
		claims, err = t.Verify(bearer)
		if err != nil && s.reloadKeysSoon(ctx) {
			claims, err = t.Verify(bearer)
		}
		if err != nil {
			return nil, err
		}
		s.verified.put(bearer, claims)
	}
	uid := claims.Subject
	if !db.ValidID(uid) {
		return nil, fmt.Errorf("%w: bad subject", ErrInvalidToken)
	}
	now := s.now()
	_, err = s.live.load(ctx, claims.SessionID, now, func(ctx context.Context) (struct{}, error) {
		sess, err := s.db.SessionByID(ctx, claims.SessionID)
		switch {
		case errors.Is(err, db.ErrNotFound):
			return struct{}{}, fmt.Errorf("%w: session ended", ErrInvalidToken)
		case err != nil:
			return struct{}{}, err
		case !sess.Live(now) || sess.UserID != uid:
			return struct{}{}, fmt.Errorf("%w: session ended", ErrInvalidToken)
		}
		return struct{}{}, nil
	})
	if err != nil {
		return nil, err
	}
	// Authorisation uses the user's current role, not the token's: a
	// demotion or a disabled account takes effect at once on this instance
	// (the change drops the cached user) and within sessionCheckTTL on the
	// others, not when the access token expires.
	user, err := s.currentUser(ctx, uid)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, fmt.Errorf("%w: the user no longer exists", ErrInvalidToken)
	case err != nil:
		return nil, err
	case user.Disabled:
		return nil, fmt.Errorf("%w: the user is disabled", ErrInvalidToken)
	}
	return &Principal{UserID: uid, SessionID: claims.SessionID, Role: user.Role}, nil
}

// revoke ends a session and forgets it locally, logging failures.
func (s *Service) revoke(ctx context.Context, id, reason string) {
	if err := s.revokeErr(ctx, id, reason); err != nil {
		s.log.Warn("revoking session", "reason", reason, "err", err)
	}
}

func (s *Service) revokeErr(ctx context.Context, id, reason string) error {
	s.live.forget(id)
	if _, err := s.db.RevokeSession(ctx, id, reason, s.now()); err != nil {
		return err
	}
	return nil
}

// verifiedCache remembers access tokens whose signature and claims were
// verified, until they expire: a browser sends the same token with every
// request for minutes, and an Ed25519 verification is most of the cost of
// an API call. The key is the SHA-256 of the exact token bytes, so only a
// byte-identical token hits; expiry is rechecked on every hit. The cache is
// emptied whenever the key set is reloaded, so a key taken out of service
// stops its tokens within one reload.
type verifiedCache struct {
	mu     sync.Mutex
	claims map[[32]byte]*Claims
}

// maxVerifiedTokens bounds the cache; when full it starts over.
const maxVerifiedTokens = 50_000

func newVerifiedCache() *verifiedCache { return &verifiedCache{claims: map[[32]byte]*Claims{}} }

// get returns the claims of a token verified before, or nil.
func (c *verifiedCache) get(token string, now time.Time) *Claims {
	key := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.claims[key]
	if !ok {
		return nil
	}
	if cl.ExpiresAt == nil || !now.Before(cl.ExpiresAt.Add(tokenLeeway)) {
		delete(c.claims, key)
		return nil
	}
	return cl
}

func (c *verifiedCache) put(token string, cl *Claims) {
	key := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.claims) >= maxVerifiedTokens {
		clear(c.claims)
	}
	c.claims[key] = cl
}

func (c *verifiedCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.claims)
}

func (c *verifiedCache) prune(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, cl := range c.claims {
		if cl.ExpiresAt == nil || !now.Before(cl.ExpiresAt.Add(tokenLeeway)) {
			delete(c.claims, k)
		}
	}
}

// refreshLimiter bounds refreshes per session on this instance: a client
// stuck in a refresh loop, or someone hammering with a stolen cookie, is
// slowed down without touching the database.
type refreshLimiter struct {
	mu       sync.Mutex
	perMin   int
	limiters map[string]*rate.Limiter
	lastSeen map[string]time.Time
}

func newRefreshLimiter(perMinute int) *refreshLimiter {
	return &refreshLimiter{perMin: perMinute, limiters: map[string]*rate.Limiter{}, lastSeen: map[string]time.Time{}}
}

// allowKnown takes a refresh from the session's limiter when the session
// has one (known), and allows it otherwise without creating one.
func (l *refreshLimiter) allowKnown(id string, now time.Time) (allowed, known bool) {
	if l.perMin <= 0 {
		return true, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.limiters[id]
	if !ok {
		return true, false
	}
	l.lastSeen[id] = now
	return lim.AllowN(now, 1), true
}

// allow takes a refresh from the session's limiter, creating it if needed.
func (l *refreshLimiter) allow(id string, now time.Time) bool {
	if l.perMin <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.limiters[id]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(float64(l.perMin)/60), l.perMin)
		l.limiters[id] = lim
	}
	l.lastSeen[id] = now
	return lim.AllowN(now, 1)
}

func (l *refreshLimiter) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, seen := range l.lastSeen {
		if now.Sub(seen) > 2*time.Minute {
			delete(l.limiters, id)
			delete(l.lastSeen, id)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
