package auth

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device
// Cookies"): a browser that has signed in to an account holds a signed
// cookie naming that account and a random device id. Its sign-in attempts
// are throttled on a counter of their own (per device), not on the
// account's: someone elsewhere who exhausts the account's attempts locks
// out unknown devices only, never the owner's browser. Attempts from
// unknown devices keep the account limit.
//
// The cookie is "<user id>.<device id>.<expiry>.<mac>": the MAC is
// HMAC-SHA-256 under a key derived (HKDF) from a token-signing key, so
// every instance can check it and nothing is stored. A key taken out of
// the set (rotated, then deleted) makes its devices unknown again until
// their next sign-in, which issues a new cookie.

// DeviceTTL is how long a device cookie is honoured.
const DeviceTTL = 365 * 24 * time.Hour

const deviceKeyInfo = "labreview device cookie v1"

// deviceMACKeys derives the MAC keys, newest signing key first.
func (t *Tokens) deviceMACKeys() [][]byte {
	ks := t.keys.Load()
	keys := make([][]byte, 0, len(ks.ordered))
	add := func(k *loadedKey) {
		var secret []byte
		switch sk := k.signKey.(type) {
		case ed25519.PrivateKey:
			secret = sk.Seed()
		case []byte:
			secret = sk
		default:
			return
		}
		mk, err := hkdf.Key(sha256.New, secret, nil, deviceKeyInfo+"|"+k.ID, 32)
		if err == nil {
			keys = append(keys, mk)
		}
	}
	add(ks.signer)
	for _, k := range ks.ordered {
		if k != ks.signer {
			add(k)
		}
	}
	return keys
}

func deviceMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	_, _ = io.WriteString(m, payload)
	return m.Sum(nil)
}

// issueDevice returns a device cookie for userID and its lifetime.
func (s *Service) issueDevice(userID string) (string, time.Duration, error) {
	t, err := s.issuer()
	if err != nil {
		return "", 0, err
	}
	id, err := s.randomString(16)
	if err != nil {
		return "", 0, err
	}
	payload := userID + "." + id + "." + strconv.FormatInt(s.now().Add(DeviceTTL).Unix(), 10)
	keys := t.deviceMACKeys()
	if len(keys) == 0 {
		return "", 0, fmt.Errorf("auth: no key for device cookies")
	}
	return payload + "." + b64.EncodeToString(deviceMAC(keys[0], payload)), DeviceTTL, nil
}

// knownDevice checks a device cookie for userID and returns its device
// id; ok is false for a missing, malformed, forged or expired cookie, or
// one of another account.
func (s *Service) knownDevice(cookie, userID string) (deviceID string, ok bool) {
	if cookie == "" || len(cookie) > 256 || userID == "" {
		return "", false
	}
	t, err := s.issuer()
	if err != nil {
		return "", false
	}
	parts := strings.Split(cookie, ".")
	if len(parts) != 4 || parts[0] != userID {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || !s.now().Before(time.Unix(exp, 0)) {
		return "", false
	}
	mac, err := b64.Strict().DecodeString(parts[3])
	if err != nil {
		return "", false
	}
	payload := parts[0] + "." + parts[1] + "." + parts[2]
	for _, k := range t.deviceMACKeys() {
		if subtle.ConstantTimeCompare(mac, deviceMAC(k, payload)) == 1 {
			return parts[1], true
		}
	}
	return "", false
}

func deviceKey(id string) string { return "dev:" + id }
