package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"labreview/db"
)

// keyReloadEvery is how often instances reread the key set, and so how long
// an instance may keep signing with a key another instance just retired.
const keyReloadEvery = 30 * time.Second

// loadKeys returns the key set. With HS256 it is the configured secret.
// With EdDSA it is the keys in the database; when none may sign and create
// is set, a new one is generated and stored (first start).
func (s *Service) loadKeys(ctx context.Context, create bool) ([]Key, error) {
	if s.cfg.Algorithm == AlgHS256 {
		k, err := HMACKey([]byte(s.cfg.JWTSecret))
		if err != nil {
			return nil, err
		}
		return []Key{k}, nil
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	stored, err := s.db.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	keys := toKeys(stored)
	if !anySigner(keys) {
		if !create {
			return nil, errors.New("auth: no active signing key in the database")
		}
		k, err := s.newStoredKey(ctx)
		if err != nil {
			return nil, err
		}
		s.log.Info("generated a signing key", "kid", k.ID, "alg", k.Algorithm)
		keys = append(keys, k)
	}
	s.keysSeen = s.now()
	return keys, nil
}

// RotateKeys makes a new signing key and retires the others. Retired keys
// keep verifying the tokens they signed until those expire. It returns the
// new key's id.
func (s *Service) RotateKeys(ctx context.Context) (string, error) {
	if s.cfg.Algorithm != AlgEdDSA {
		return "", errors.New("auth: key rotation applies to EdDSA keys; with HS256 change auth.jwt_secret")
	}
	k, err := s.newStoredKey(ctx)
	if err != nil {
		return "", err
	}
	if err := s.db.RetireSigningKeys(ctx, k.ID, s.now()); err != nil {
		return "", err
	}
	s.audit(ctx, &db.AuditEvent{Event: EventKeysRotated, Details: map[string]any{"kid": k.ID}})
	return k.ID, nil
}

func (s *Service) newStoredKey(ctx context.Context) (Key, error) {
	k, err := GenerateEd25519Key(s.rand, s.now())
	if err != nil {
		return Key{}, err
	}
	if err := s.db.InsertSigningKey(ctx, &db.SigningKey{
		ID: k.ID, Algorithm: AlgEdDSA, PrivateKey: k.PrivateKey, CreatedAt: k.CreatedAt,
	}); err != nil {
		return Key{}, fmt.Errorf("auth: store signing key: %w", err)
	}
	return k, nil
}

// toKeys converts stored keys. A retired key is treated as retired
// keyReloadEvery later than stored: instances that have not reloaded yet
// may still sign with it for that long, and their tokens must verify
// everywhere for their whole lifetime.
func toKeys(stored []db.SigningKey) []Key {
	keys := make([]Key, 0, len(stored))
	for _, sk := range stored {
		if sk.Algorithm != AlgEdDSA || len(sk.PrivateKey) != ed25519.PrivateKeySize {
			continue
		}
		k := Key{ID: sk.ID, Algorithm: AlgEdDSA, PrivateKey: ed25519.PrivateKey(sk.PrivateKey), CreatedAt: sk.CreatedAt}
		if sk.RetiredAt != nil {
			k.RetiredAt = sk.RetiredAt.Add(keyReloadEvery)
		}
		keys = append(keys, k)
	}
	return keys
}

func anySigner(keys []Key) bool {
	for _, k := range keys {
		if k.RetiredAt.IsZero() {
			return true
		}
	}
	return false
}

// reloadKeysSoon rereads the key set when a token did not verify, at most
// once per 5 s: a token signed by a key this instance has not seen yet
// (rotated elsewhere) then verifies at the next attempt.
func (s *Service) reloadKeysSoon(ctx context.Context) bool {
	if s.cfg.Algorithm != AlgEdDSA {
		return false
	}
	s.keysMu.Lock()
	recent := s.now().Sub(s.keysSeen) < 5*time.Second
	s.keysMu.Unlock()
	if recent {
		return false
	}
	t := s.tokens.Load()
	if t == nil {
		return false
	}
	keys, err := s.loadKeys(ctx, false)
	if err != nil {
		return false
	}
	s.verified.reset()
	return t.SetKeys(keys) == nil
}
