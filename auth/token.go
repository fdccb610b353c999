package auth

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms labreview signs access tokens with.
const (
	// AlgEdDSA is the default: Ed25519 keys stored in the database, public
	// keys published as JWKS so other services can verify without a secret.
	AlgEdDSA = "EdDSA"
	// AlgHS256 is the alternative for single-binary setups: one shared secret
	// from configuration (auth.jwt_secret), at least 32 bytes.
	AlgHS256 = "HS256"
)

const (
	// minSecretLen is RFC 7518 §3.2: an HS256 key must be at least as long as
	// the hash output, or brute-forcing the secret gets cheaper than the MAC.
	minSecretLen = 32
	// maxLeeway bounds clock-skew allowance: a larger value quietly extends
	// every token's life and hides broken clocks.
	maxLeeway = 30 * time.Second
	// maxTokenLen caps input before any base64 or JSON work, so an attacker
	// cannot make us decode megabytes per request. Our tokens are ~400 bytes.
	maxTokenLen = 8 << 10
	// tokenType is the RFC 9068 media type; checking it stops another JWT kind
	// (an ID token, a signed link) from being replayed as an access token.
	tokenType = "at+jwt"
)

// ErrInvalidToken is wrapped by every Verify failure; callers map it to
// 401 with WWW-Authenticate: Bearer error="invalid_token".
var ErrInvalidToken = errors.New("auth: invalid access token")

// ErrWeakSecret is returned for an HS256 secret shorter than 32 bytes.
var ErrWeakSecret = errors.New("auth: HS256 secret shorter than 32 bytes")

// Key is one signing key.
type Key struct {
	// ID is the kid: random and URL-safe for EdDSA, derived from the secret for HS256.
	ID string
	// Algorithm is AlgEdDSA or AlgHS256.
	Algorithm string
	// PrivateKey is the Ed25519 private key (EdDSA only).
	PrivateKey ed25519.PrivateKey
	// Secret is the HMAC secret (HS256 only).
	Secret []byte
	// CreatedAt orders keys: the newest active key signs.
	CreatedAt time.Time
	// RetiredAt zero means the key may sign. Non-zero: it no longer signs but
	// still verifies until RetiredAt + TTL + leeway, so tokens issued just
	// before a rotation stay valid for their whole life.
	RetiredAt time.Time
}

// GenerateEd25519Key makes a new EdDSA key with a random kid, reading the
// seed and the kid from rand (nil means crypto/rand).
func GenerateEd25519Key(random io.Reader, now time.Time) (Key, error) {
	if random == nil {
		random = rand.Reader
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(random, seed); err != nil {
		return Key{}, fmt.Errorf("auth: generate ed25519 key: %w", err)
	}
	var kid [16]byte
	if _, err := io.ReadFull(random, kid[:]); err != nil {
		return Key{}, fmt.Errorf("auth: generate key id: %w", err)
	}
	return Key{
		ID:         base64.RawURLEncoding.EncodeToString(kid[:]),
		Algorithm:  AlgEdDSA,
		PrivateKey: ed25519.NewKeyFromSeed(seed),
		CreatedAt:  now,
	}, nil
}

// hmacKIDLabel separates the kid hash from any other use of SHA-256 over the
// same secret.
const hmacKIDLabel = "labreview hs256 kid\x00"

// HMACKey wraps auth.jwt_secret as an HS256 key. It refuses a secret shorter
// than 32 bytes (ErrWeakSecret). The kid is a truncated, domain-separated
// SHA-256 of the secret: stable across restarts and instances without any
// coordination, while 64 bits of a hash reveal nothing an attacker holding a
// token's MAC could not already brute-force.
func HMACKey(secret []byte) (Key, error) {
	if len(secret) < minSecretLen {
		return Key{}, ErrWeakSecret
	}
	h := sha256.New()
	h.Write([]byte(hmacKIDLabel))
	h.Write(secret)
	sum := h.Sum(nil)
	return Key{
		ID:        base64.RawURLEncoding.EncodeToString(sum[:8]),
		Algorithm: AlgHS256,
		Secret:    bytes.Clone(secret),
	}, nil
}

// TokenConfig configures Tokens.
type TokenConfig struct {
	// Algorithm is AlgEdDSA or AlgHS256; verification accepts only this one.
	Algorithm string
	// Issuer is the iss claim, checked on verify.
	Issuer string
	// Audience is the aud claim, checked on verify.
	Audience string
	// TTL is the access token lifetime.
	TTL time.Duration
	// Leeway is the clock-skew allowance, 0..30s.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source for jti values; nil means crypto/rand.Reader.
	Rand io.Reader
}

// Claims are the access token's claims.
type Claims struct {
	// RegisteredClaims carries iss, aud, sub (the user id), iat, exp and jti.
	jwt.RegisteredClaims
	// SessionID ties the token to the refresh session that minted it, so
	// revoking the session can be checked by callers that care.
	SessionID string `json:"sid"`
	// Role is the user's role when the token was issued.
	Role string `json:"role"`
}

// Tokens issues and verifies access tokens. It is safe for concurrent use;
// SetKeys swaps the key set atomically.
type Tokens struct {
	cfg    TokenConfig
	method jwt.SigningMethod
	parser *jwt.Parser
	keys   atomic.Pointer[keySet]

	// randMu serialises jti reads because an injected io.Reader need not be
	// safe for concurrent use.
	randMu sync.Mutex
}

// keySet is an immutable snapshot of the keys; SetKeys replaces it whole so a
// verifier never sees half a rotation.
type keySet struct {
	byID    map[string]*loadedKey
	ordered []*loadedKey // input order, for a stable JWKS
	signer  *loadedKey
}

// loadedKey is a validated Key plus the material the jwt library wants.
type loadedKey struct {
	Key
	verifyKey any // ed25519.PublicKey or []byte
	signKey   any // ed25519.PrivateKey or []byte
}

// NewTokens validates cfg and keys and returns a ready Tokens.
func NewTokens(cfg TokenConfig, keys []Key) (*Tokens, error) {
	var method jwt.SigningMethod
	switch cfg.Algorithm {
	case AlgEdDSA:
		method = jwt.SigningMethodEdDSA
	case AlgHS256:
		method = jwt.SigningMethodHS256
	default:
		return nil, fmt.Errorf("auth: unknown token algorithm %q", cfg.Algorithm)
	}
	if cfg.Issuer == "" {
		return nil, errors.New("auth: token issuer is empty")
	}
	if cfg.Audience == "" {
		return nil, errors.New("auth: token audience is empty")
	}
	if cfg.TTL <= 0 {
		return nil, fmt.Errorf("auth: token TTL %v must be positive", cfg.TTL)
	}
	if cfg.Leeway < 0 || cfg.Leeway > maxLeeway {
		return nil, fmt.Errorf("auth: token leeway %v outside 0..%v", cfg.Leeway, maxLeeway)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	t := &Tokens{cfg: cfg, method: method}
	// golang-jwt checks only what it is told to; every check is spelled out.
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{cfg.Algorithm}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(cfg.Now),
	)
	if err := t.SetKeys(keys); err != nil {
		return nil, err
	}
	return t, nil
}

// SetKeys validates keys and replaces the key set atomically; on error the
// old set stays in use.
func (t *Tokens) SetKeys(keys []Key) error {
	ks := &keySet{byID: make(map[string]*loadedKey, len(keys))}
	for i, k := range keys {
		lk, err := t.loadKey(k)
		if err != nil {
			return fmt.Errorf("auth: key %d (%q): %w", i, k.ID, err)
		}
		if _, dup := ks.byID[lk.ID]; dup {
			return fmt.Errorf("auth: duplicate key id %q", lk.ID)
		}
		ks.byID[lk.ID] = lk
		ks.ordered = append(ks.ordered, lk)
		if lk.RetiredAt.IsZero() && (ks.signer == nil || newerKey(lk, ks.signer)) {
			ks.signer = lk
		}
	}
	if ks.signer == nil {
		return errors.New("auth: no key may sign (all retired or none given)")
	}
	t.keys.Store(ks)
	return nil
}

// newerKey orders by CreatedAt, then ID, so every instance holding the same
// set picks the same signer.
func newerKey(a, b *loadedKey) bool {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c > 0
	}
	return cmp.Compare(a.ID, b.ID) > 0
}

// loadKey checks one key against the configuration and copies its material,
// so a caller reusing its slices cannot change a live key.
func (t *Tokens) loadKey(k Key) (*loadedKey, error) {
	if k.ID == "" {
		return nil, errors.New("empty key id")
	}
	if k.Algorithm != t.cfg.Algorithm {
		return nil, fmt.Errorf("algorithm %q does not match configured %q", k.Algorithm, t.cfg.Algorithm)
	}
	lk := &loadedKey{Key: k}
	switch k.Algorithm {
	case AlgEdDSA:
		if len(k.Secret) != 0 {
			return nil, errors.New("EdDSA key carries an HMAC secret")
		}
		if len(k.PrivateKey) != ed25519.PrivateKeySize {
			return nil, errors.New("EdDSA private key has the wrong size")
		}
		priv := ed25519.NewKeyFromSeed(k.PrivateKey.Seed())
		// A stored key whose public half does not match its seed would sign
		// tokens that no one can verify; catch it at load time.
		if !priv.Equal(k.PrivateKey) {
			return nil, errors.New("EdDSA private key is inconsistent")
		}
		lk.PrivateKey = priv
		lk.signKey = priv
		lk.verifyKey = priv.Public().(ed25519.PublicKey)
	case AlgHS256:
		if len(k.PrivateKey) != 0 {
			return nil, errors.New("HS256 key carries an Ed25519 private key")
		}
		if len(k.Secret) < minSecretLen {
			return nil, ErrWeakSecret
		}
		secret := bytes.Clone(k.Secret)
		lk.Secret = secret
		lk.signKey = secret
		lk.verifyKey = secret
	}
	return lk, nil
}

// verifiesAt reports whether the key still verifies: retired keys do so until
// the last token they could have signed has expired, plus leeway.
func (t *Tokens) verifiesAt(k *loadedKey, now time.Time) bool {
	if k.RetiredAt.IsZero() {
		return true
	}
	// Same boundary as the library's exp check: valid strictly before.
	return now.Before(k.RetiredAt.Add(t.cfg.TTL + t.cfg.Leeway))
}

// Lifetime is what an access token lives, exp minus iat, in whole seconds as
// the claims carry it: the OAuth2 expires_in of every grant.
func (t *Tokens) Lifetime() time.Duration { return t.cfg.TTL.Truncate(time.Second) }

// Issue signs an access token for the user with the current signing key.
func (t *Tokens) Issue(userID, sessionID, role string) (token string, expiresAt time.Time, err error) {
	// Verify rejects tokens with these empty, so never mint one.
	if userID == "" || sessionID == "" || role == "" {
		return "", time.Time{}, errors.New("auth: issue token: user id, session id and role are required")
	}
	var jti [16]byte
	t.randMu.Lock()
	_, err = io.ReadFull(t.cfg.Rand, jti[:])
	t.randMu.Unlock()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issue token: read jti: %w", err)
	}
	signer := t.keys.Load().signer
	now := t.cfg.Now()
	claims := &Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.cfg.Issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{t.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(t.cfg.TTL)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		},
		SessionID: sessionID,
		Role:      role,
	}
	tok := jwt.NewWithClaims(t.method, claims)
	tok.Header["typ"] = tokenType
	tok.Header["kid"] = signer.ID
	s, err := tok.SignedString(signer.signKey)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	// The exp claim has whole-second precision; report what the token says.
	return s, claims.ExpiresAt.Time, nil
}

// Verify parses and checks an access token. Every failure wraps
// ErrInvalidToken.
func (t *Tokens) Verify(token string) (*Claims, error) {
	if len(token) > maxTokenLen {
		return nil, fmt.Errorf("%w: token longer than %d bytes", ErrInvalidToken, maxTokenLen)
	}
	// Go's base64 decoder skips CR and LF even in strict mode, so a line break
	// inside the signature would yield a second spelling of a valid token.
	// A compact JWS is base64url and dots only; anything else is not ours.
	for i := 0; i < len(token); i++ {
		if !isTokenByte(token[i]) {
			return nil, fmt.Errorf("%w: byte %#x at offset %d", ErrInvalidToken, token[i], i)
		}
	}
	// One snapshot for the whole call, so the key found is from the set that
	// was current when verification started.
	ks := t.keys.Load()
	claims := &Claims{}
	_, err := t.parser.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		return t.lookupKey(ks, tok)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	// RFC 9068 §2.2 requires sub, iat and jti; sid and role are what the
	// rest of labreview authorises on, so a token without them is useless.
	switch {
	case claims.Subject == "":
		return nil, fmt.Errorf("%w: missing sub", ErrInvalidToken)
	case claims.IssuedAt == nil:
		return nil, fmt.Errorf("%w: missing iat", ErrInvalidToken)
	case claims.ID == "":
		return nil, fmt.Errorf("%w: missing jti", ErrInvalidToken)
	case claims.SessionID == "":
		return nil, fmt.Errorf("%w: missing sid", ErrInvalidToken)
	case claims.Role == "":
		return nil, fmt.Errorf("%w: missing role", ErrInvalidToken)
	}
	return claims, nil
}

// isTokenByte reports whether c may appear in a compact JWS: the base64url
// alphabet (RFC 4648 §5) without padding, and the segment separator.
func isTokenByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}

// lookupKey is the jwt key function: it checks the header fields the library
// ignores (RFC 8725) and picks the key by kid from our own set only.
func (t *Tokens) lookupKey(ks *keySet, tok *jwt.Token) (any, error) {
	typ, _ := tok.Header["typ"].(string)
	if !strings.EqualFold(typ, tokenType) && !strings.EqualFold(typ, "application/"+tokenType) {
		return nil, fmt.Errorf("typ %q is not %s", typ, tokenType)
	}
	// crit lists extensions the recipient must understand; we understand none.
	if _, ok := tok.Header["crit"]; ok {
		return nil, errors.New("crit header not supported")
	}
	// Key material named or embedded in the header is attacker-controlled.
	for _, h := range []string{"jku", "jwk", "x5u", "x5c"} {
		if _, ok := tok.Header[h]; ok {
			return nil, fmt.Errorf("%s header not accepted", h)
		}
	}
	kid, ok := tok.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, errors.New("kid missing or not a string")
	}
	k, ok := ks.byID[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	// WithValidMethods already pins alg; checking the key's own algorithm too
	// keeps a mixed set from ever pairing a key with the wrong method.
	if tok.Method == nil || tok.Method.Alg() != k.Algorithm {
		return nil, errors.New("alg does not match key")
	}
	if !t.verifiesAt(k, t.cfg.Now()) {
		return nil, errors.New("key retired")
	}
	return k.verifyKey, nil
}

// JWKSet is a JSON Web Key Set (RFC 7517 §5).
type JWKSet struct {
	// Keys is never nil, so it encodes as [] rather than null.
	Keys []JWK `json:"keys"`
}

// JWK is one public Ed25519 key (RFC 8037 §2).
type JWK struct {
	// Kty is the key type, always "OKP".
	Kty string `json:"kty"`
	// Crv is the curve, always "Ed25519".
	Crv string `json:"crv"`
	// X is the base64url public key.
	X string `json:"x"`
	// Kid is the key id matched against a token's kid header.
	Kid string `json:"kid"`
	// Alg is always "EdDSA".
	Alg string `json:"alg"`
	// Use is always "sig".
	Use string `json:"use"`
}

// JWKS returns the public keys that still verify tokens. HS256 secrets are
// never published, so an HS256 configuration yields an empty set.
func (t *Tokens) JWKS() JWKSet {
	ks := t.keys.Load()
	now := t.cfg.Now()
	set := JWKSet{Keys: []JWK{}}
	for _, k := range ks.ordered {
		pub, ok := k.verifyKey.(ed25519.PublicKey)
		if !ok || !t.verifiesAt(k, now) {
			continue
		}
		set.Keys = append(set.Keys, JWK{
			Kty: "OKP",
			Crv: "Ed25519",
			X:   base64.RawURLEncoding.EncodeToString(pub),
			Kid: k.ID,
			Alg: AlgEdDSA,
			Use: "sig",
		})
	}
	return set
}
