package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"labreview/auth/policy"
	"labreview/db"
)

// API tokens let cluster jobs call the run endpoints without a user's
// password. A token is "lrt_" and 43 base64url characters (256 random
// bits); the store keeps only its HMAC-SHA256 under a key shared by every
// instance, so checking a token is one hash and one index lookup, not an
// Argon2 run (the secret is random and long, so a fast hash is safe).

// Scopes an API token can hold: the permissions of policy.TokenScopes.
const (
	ScopeRunsRead  = string(policy.RunsRead)
	ScopeRunsWrite = string(policy.RunsWrite)
)

// TokenPrefix starts every API token, so that a leaked one is recognisable
// (secret scanners) and is never mistaken for an access token.
const TokenPrefix = "lrt_"

// Limits of token requests.
const (
	tokenSecretBytes       = 32
	tokenLength            = len(TokenPrefix) + 43 // base64url of 32 bytes, no padding
	DefaultTokenExpiryDays = 90
	MaxTokenExpiryDays     = 365
	maxTokenName           = 100
	maxTokenProjects       = 50
	maxProjectName         = 200
	// tokenTouchEvery bounds the writes last_used_at costs: at most one per
	// token and instance in this time.
	tokenTouchEvery = time.Minute
	tokenKeyName    = "token_hash_key"
)

// Audit events of API tokens.
const (
	EventTokenCreated = "token_created"
	EventTokenRevoked = "token_revoked"
)

// ErrNoSuchToken: the token does not exist, or the caller may not see it.
var ErrNoSuchToken = errors.New("auth: no such API token")

// TokenRequest is what a user asks for when creating a token.
type TokenRequest struct {
	Name          string
	Scopes        []string
	Projects      []string // empty: every project
	ExpiresInDays int      // 0: DefaultTokenExpiryDays
}

// CreateAPIToken makes a token for the principal's user and returns it
// with its secret, which is shown once and never stored.
func (s *Service) CreateAPIToken(ctx context.Context, p *Principal, req TokenRequest, client ClientInfo) (*db.APIToken, string, error) {
	if err := validateTokenRequest(&req); err != nil {
		return nil, "", err
	}
	for _, sc := range req.Scopes {
		if !policy.RoleGrants(p.Role, policy.Permission(sc)) {
			return nil, "", fmt.Errorf("%w: a %s cannot hold the %s scope", ErrForbidden, p.Role, sc)
		}
	}
	key, err := s.tokenKey(ctx)
	if err != nil {
		return nil, "", err
	}
	secret, err := s.randomString(tokenSecretBytes)
	if err != nil {
		return nil, "", err
	}
	secret = TokenPrefix + secret
	now := s.now()
	t := &db.APIToken{ID: db.NewID(), UserID: p.UserID, Name: req.Name, Hash: tokenHash(key, secret),
		Hint: secret[len(secret)-4:], Scopes: req.Scopes, Projects: req.Projects, CreatedAt: now,
		ExpiresAt: now.Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour)}
	if err := s.db.InsertAPIToken(ctx, t); err != nil {
		return nil, "", err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventTokenCreated, ActorID: p.UserID, UserID: p.UserID, SessionID: p.SessionID,
		IP: client.IP, UserAgent: client.UserAgent, Details: tokenDetails(t)})
	return t, secret, nil
}

func tokenDetails(t *db.APIToken) map[string]any {
	return map[string]any{"token_id": t.ID, "name": t.Name, "scopes": toAny(t.Scopes), "projects": toAny(t.Projects),
		"expires_at": t.ExpiresAt.UTC().Format(time.RFC3339)}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func validateTokenRequest(req *TokenRequest) error {
	req.Name = strings.TrimSpace(req.Name)
	switch {
	case req.Name == "":
		return &InputError{Field: "name", Code: "required", Message: "Give the token a name that says where it is used."}
	case utf8.RuneCountInString(req.Name) > maxTokenName || !printable(req.Name):
		return &InputError{Field: "name", Code: "invalid", Message: fmt.Sprintf("The name must be at most %d printable characters.", maxTokenName)}
	case len(req.Scopes) == 0:
		return &InputError{Field: "scopes", Code: "required", Message: `Choose at least one scope: "runs:read" or "runs:write".`}
	}
	seen := map[string]bool{}
	for _, sc := range req.Scopes {
		if !policy.TokenGrantable(policy.Permission(sc)) {
			return &InputError{Field: "scopes", Code: "invalid", Message: `Scopes are "runs:read" and "runs:write".`}
		}
		seen[sc] = true
	}
	req.Scopes = nil
	for _, sc := range policy.TokenScopes {
		if seen[string(sc)] {
			req.Scopes = append(req.Scopes, string(sc))
		}
	}
	if len(req.Projects) > maxTokenProjects {
		return &InputError{Field: "projects", Code: "invalid", Message: fmt.Sprintf("A token can name at most %d projects.", maxTokenProjects)}
	}
	projects := []string{}
	for _, pr := range req.Projects {
		if pr == "" || utf8.RuneCountInString(pr) > maxProjectName || !printable(pr) {
			return &InputError{Field: "projects", Code: "invalid",
				Message: fmt.Sprintf("Project names are 1 to %d printable characters.", maxProjectName)}
		}
		if !slices.Contains(projects, pr) {
			projects = append(projects, pr)
		}
	}
	req.Projects = projects
	if req.ExpiresInDays == 0 {
		req.ExpiresInDays = DefaultTokenExpiryDays
	}
	if req.ExpiresInDays < 1 || req.ExpiresInDays > MaxTokenExpiryDays {
		return &InputError{Field: "expires_in_days", Code: "invalid",
			Message: fmt.Sprintf("A token lives 1 to %d days.", MaxTokenExpiryDays)}
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// ListAPITokens lists the principal's own tokens, or every token when all
// is set (admins only).
func (s *Service) ListAPITokens(ctx context.Context, p *Principal, all bool) ([]db.APIToken, error) {
	if all {
		if !p.Can(policy.TokensManageAll, policy.Resource{}) {
			return nil, ErrForbidden
		}
		return s.db.ListAPITokens(ctx, "")
	}
	return s.db.ListAPITokens(ctx, p.UserID)
}

// RevokeAPIToken revokes a token of the principal's, or any token for an
// admin. It takes effect at once on this instance and within the cache's
// lifetime on the others. Someone else's token answers ErrNoSuchToken, as
// if it did not exist.
func (s *Service) RevokeAPIToken(ctx context.Context, p *Principal, id string, client ClientInfo) error {
	t, err := s.db.APITokenByID(ctx, id)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return ErrNoSuchToken
	case err != nil:
		return err
	case t.UserID != p.UserID && !p.Can(policy.TokensManageAll, policy.Resource{}):
		return ErrNoSuchToken
	}
	first, err := s.db.RevokeAPIToken(ctx, id, s.now())
	s.apiTokens.forget(t.Hash)
	if err != nil {
		return err
	}
	if first {
		s.audit(ctx, &db.AuditEvent{Event: EventTokenRevoked, ActorID: p.UserID, UserID: t.UserID, SessionID: p.SessionID,
			IP: client.IP, UserAgent: client.UserAgent, Details: tokenDetails(t)})
	}
	return nil
}

// IsAPIToken reports whether a bearer credential has the API token form
// (as opposed to an access token).
func IsAPIToken(bearer string) bool { return strings.HasPrefix(bearer, TokenPrefix) }

// AuthenticateAPIToken checks an API token and returns its principal: the
// owner's id and current role, and the token's scopes and projects. The
// token fails (ErrInvalidToken) when it is unknown, revoked or expired,
// when its owner is disabled or gone, or when the owner's role no longer
// allows one of its scopes (a reviewer's write token stops when they
// become a viewer).
func (s *Service) AuthenticateAPIToken(ctx context.Context, bearer string) (*Principal, error) {
	if len(bearer) != tokenLength || !IsAPIToken(bearer) {
		return nil, fmt.Errorf("%w: malformed API token", ErrInvalidToken)
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(bearer[len(TokenPrefix):]); err != nil {
		return nil, fmt.Errorf("%w: malformed API token", ErrInvalidToken)
	}
	key, err := s.tokenKey(ctx)
	if err != nil {
		return nil, err
	}
	hash := tokenHash(key, bearer)
	now := s.now()
	t, err := s.apiTokens.load(ctx, hash, now, func(ctx context.Context) (db.APIToken, error) {
		t, err := s.db.APITokenByHash(ctx, hash)
		if err != nil {
			return db.APIToken{}, err
		}
		return *t, nil
	})
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, fmt.Errorf("%w: unknown API token", ErrInvalidToken)
	case err != nil:
		return nil, err
	case t.RevokedAt != nil:
		return nil, fmt.Errorf("%w: the API token was revoked", ErrInvalidToken)
	case !now.Before(t.ExpiresAt):
		return nil, fmt.Errorf("%w: the API token expired", ErrInvalidToken)
	}
	owner, err := s.currentUser(ctx, t.UserID)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, fmt.Errorf("%w: the token's owner no longer exists", ErrInvalidToken)
	case err != nil:
		return nil, err
	case owner.Disabled:
		return nil, fmt.Errorf("%w: the token's owner is disabled", ErrInvalidToken)
	}
	for _, sc := range t.Scopes {
		if !policy.RoleGrants(owner.Role, policy.Permission(sc)) {
			return nil, fmt.Errorf("%w: the token's owner may no longer hold %s", ErrInvalidToken, sc)
		}
	}
	s.touchToken(ctx, t.ID, now)
	return &Principal{UserID: t.UserID, Role: owner.Role, TokenID: t.ID, Scopes: t.Scopes, Projects: t.Projects}, nil
}

func tokenHash(key []byte, token string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// tokenKey returns the HMAC key of token hashes, shared by every instance
// through the store (created by the first instance that needs it), and
// read again after keyReloadEvery so that an import that brought its own
// key is seen.
func (s *Service) tokenKey(ctx context.Context) ([]byte, error) {
	s.tokenKeyMu.Lock()
	defer s.tokenKeyMu.Unlock()
	now := s.now()
	if s.tokenKeyValue != nil && now.Sub(s.tokenKeyAt) >= 0 && now.Sub(s.tokenKeyAt) < keyReloadEvery {
		return s.tokenKeyValue, nil
	}
	candidate := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, candidate); err != nil {
		return nil, fmt.Errorf("auth: random: %w", err)
	}
	key, err := s.db.SharedSecret(ctx, tokenKeyName, candidate)
	if err != nil {
		return nil, err
	}
	s.tokenKeyValue, s.tokenKeyAt = key, now
	return key, nil
}

// touchToken records a token's use at most once per tokenTouchEvery on
// this instance; a failed write is logged, it does not fail the request.
func (s *Service) touchToken(ctx context.Context, id string, now time.Time) {
	s.touchMu.Lock()
	last, ok := s.touched[id]
	if ok && now.Sub(last) >= 0 && now.Sub(last) < tokenTouchEvery {
		s.touchMu.Unlock()
		return
	}
	s.touched[id] = now
	s.touchMu.Unlock()
	if err := s.db.TouchAPIToken(context.WithoutCancel(ctx), id, now); err != nil {
		s.log.Warn("recording API token use", "err", err)
	}
}

// tokenState is the per-instance state of API tokens.
type tokenState struct {
	apiTokens     *ttlCache[string, db.APIToken] // tokens by hash
	tokenKeyMu    sync.Mutex
	tokenKeyValue []byte
	tokenKeyAt    time.Time
	touchMu       sync.Mutex
	touched       map[string]time.Time // token id → last recorded use
}
