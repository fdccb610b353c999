package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	mrand "math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	tokIssuer   = "https://labreview.test"
	tokAudience = "labreview"
	tokTTL      = 5 * time.Minute
	tokLeeway   = 10 * time.Second
)

// tokEpoch is the test epoch; whole seconds so NumericDate truncation is a no-op.
var tokEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// tokClock is an injectable clock that tests move by hand.
type tokClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTokClock() *tokClock { return &tokClock{now: tokEpoch} }

func (c *tokClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *tokClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// tokRand is a deterministic randomness source for keys and jti.
func tokRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return mrand.NewChaCha8(s)
}

func tokConfig(alg string, clock *tokClock) TokenConfig {
	return TokenConfig{
		Algorithm: alg,
		Issuer:    tokIssuer,
		Audience:  tokAudience,
		TTL:       tokTTL,
		Leeway:    tokLeeway,
		Now:       clock.Now,
		Rand:      tokRand(99),
	}
}

func tokEdKey(t testing.TB, seed byte, created time.Time) Key {
	t.Helper()
	k, err := GenerateEd25519Key(tokRand(seed), created)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var tokSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")

func tokHMACKey(t testing.TB) Key {
	t.Helper()
	k, err := HMACKey(tokSecret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func tokNew(t testing.TB, cfg TokenConfig, keys ...Key) *Tokens {
	t.Helper()
	tk, err := NewTokens(cfg, keys)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// tokEdServer is an EdDSA Tokens with one key and a hand-moved clock.
func tokEdServer(t testing.TB) (*Tokens, Key, *tokClock) {
	t.Helper()
	clock := newTokClock()
	key := tokEdKey(t, 1, tokEpoch.Add(-time.Hour))
	return tokNew(t, tokConfig(AlgEdDSA, clock), key), key, clock
}

// tokHSServer is an HS256 Tokens with the test secret.
func tokHSServer(t testing.TB) (*Tokens, Key, *tokClock) {
	t.Helper()
	clock := newTokClock()
	key := tokHMACKey(t)
	return tokNew(t, tokConfig(AlgHS256, clock), key), key, clock
}

func tokSeg(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func tokSegJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return tokSeg(b)
}

// tokForge builds a compact JWS by hand so a test controls every header and
// claim byte. key is an ed25519.PrivateKey (EdDSA), a []byte (HS256), or nil
// (empty signature, as for alg none).
func tokForge(t testing.TB, header, claims map[string]any, key any) string {
	t.Helper()
	input := tokSegJSON(t, header) + "." + tokSegJSON(t, claims)
	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case nil:
	default:
		t.Fatalf("tokForge: unsupported key type %T", key)
	}
	return input + "." + tokSeg(sig)
}

func tokHeader(alg, kid string) map[string]any {
	return map[string]any{"alg": alg, "typ": "at+jwt", "kid": kid}
}

func tokClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":  tokIssuer,
		"aud":  tokAudience,
		"sub":  "user-1",
		"sid":  "session-1",
		"role": "viewer",
		"jti":  "jti-1",
		"iat":  now.Unix(),
		"exp":  now.Add(tokTTL).Unix(),
	}
}

func tokExpectInvalid(t *testing.T, tk *Tokens, token string) {
	t.Helper()
	claims, err := tk.Verify(token)
	if err == nil {
		t.Fatalf("Verify accepted a forged token; claims %+v", claims)
	}
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify error %v does not wrap ErrInvalidToken", err)
	}
	if claims != nil {
		t.Fatalf("Verify returned claims with an error")
	}
}

func tokExpectValid(t *testing.T, tk *Tokens, token string) *Claims {
	t.Helper()
	claims, err := tk.Verify(token)
	if err != nil {
		t.Fatalf("Verify rejected a good token: %v", err)
	}
	return claims
}

func tokDecodeHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestTokenRoundTrip(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgHS256} {
		t.Run(alg, func(t *testing.T) {
			var (
				tk    *Tokens
				key   Key
				clock *tokClock
			)
			if alg == AlgEdDSA {
				tk, key, clock = tokEdServer(t)
			} else {
				tk, key, clock = tokHSServer(t)
			}
			token, exp, err := tk.Issue("user-1", "session-1", "editor")
			if err != nil {
				t.Fatal(err)
			}
			if want := clock.Now().Add(tokTTL); !exp.Equal(want) {
				t.Errorf("expiresAt = %v, want %v", exp, want)
			}
			h := tokDecodeHeader(t, token)
			want := map[string]any{"alg": alg, "typ": "at+jwt", "kid": key.ID}
			if !reflect.DeepEqual(h, want) {
				t.Errorf("header = %v, want %v", h, want)
			}
			c := tokExpectValid(t, tk, token)
			if c.Subject != "user-1" || c.SessionID != "session-1" || c.Role != "editor" {
				t.Errorf("claims = %+v", c)
			}
			if c.Issuer != tokIssuer || len(c.Audience) != 1 || c.Audience[0] != tokAudience {
				t.Errorf("iss/aud = %q/%q", c.Issuer, c.Audience)
			}
			if !c.IssuedAt.Equal(clock.Now()) || !c.ExpiresAt.Equal(exp) {
				t.Errorf("iat/exp = %v/%v", c.IssuedAt, c.ExpiresAt)
			}
			if len(c.ID) < 20 {
				t.Errorf("jti %q too short to be random", c.ID)
			}
			token2, _, err := tk.Issue("user-1", "session-1", "editor")
			if err != nil {
				t.Fatal(err)
			}
			if c2 := tokExpectValid(t, tk, token2); c2.ID == c.ID {
				t.Errorf("two tokens share jti %q", c.ID)
			}
		})
	}
}

func TestTokenIssueRefusesEmptyClaims(t *testing.T) {
	tk, _, _ := tokEdServer(t)
	for _, in := range [][3]string{{"", "s", "r"}, {"u", "", "r"}, {"u", "s", ""}} {
		if _, _, err := tk.Issue(in[0], in[1], in[2]); err == nil {
			t.Errorf("Issue%q succeeded", in)
		}
	}
}

func TestTokenAcceptedVariants(t *testing.T) {
	// Controls: hand-built tokens accepted as-is, so every rejection below is
	// caused by its one mutation and not by the forging helper.
	tk, key, clock := tokEdServer(t)
	now := clock.Now()
	cases := map[string]func(h, c map[string]any){
		"as built":             func(h, c map[string]any) {},
		"typ upper case":       func(h, c map[string]any) { h["typ"] = "AT+JWT" },
		"typ media type":       func(h, c map[string]any) { h["typ"] = "application/at+jwt" },
		"aud array containing": func(h, c map[string]any) { c["aud"] = []string{"other", tokAudience} },
		"iat in future in leeway": func(h, c map[string]any) {
			c["iat"] = now.Add(tokLeeway / 2).Unix()
		},
		"unknown private claim": func(h, c map[string]any) { c["x"] = "y" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			h, c := tokHeader(AlgEdDSA, key.ID), tokClaims(now)
			mutate(h, c)
			tokExpectValid(t, tk, tokForge(t, h, c, key.PrivateKey))
		})
	}
}

// TestTokenForgedHeaderAndClaims signs each mutation with the server's own
// key, so only the check under test stands between it and acceptance.
func TestTokenForgedHeaderAndClaims(t *testing.T) {
	tk, key, clock := tokEdServer(t)
	now := clock.Now()
	attacker := tokEdKey(t, 66, now)
	attackerJWK := map[string]any{
		"kty": "OKP", "crv": "Ed25519", "kid": key.ID,
		"x": tokSeg(attacker.PrivateKey.Public().(ed25519.PublicKey)),
	}
	cases := map[string]func(h, c map[string]any){
		// typ (RFC 9068 §4)
		"typ JWT":         func(h, c map[string]any) { h["typ"] = "JWT" },
		"typ missing":     func(h, c map[string]any) { delete(h, "typ") },
		"typ not string":  func(h, c map[string]any) { h["typ"] = 1 },
		"typ with suffix": func(h, c map[string]any) { h["typ"] = "at+jwt; x" },
		// crit (RFC 7515 §4.1.11)
		"crit unknown": func(h, c map[string]any) { h["crit"] = []string{"exp"} },
		"crit empty":   func(h, c map[string]any) { h["crit"] = []string{} },
		"crit tokSeg":  func(h, c map[string]any) { h["crit"] = []string{"tokSeg"}; h["tokSeg"] = false },
		// key material in the header (RFC 8725 §3.10)
		"jwk header": func(h, c map[string]any) { h["jwk"] = attackerJWK },
		"jku header": func(h, c map[string]any) { h["jku"] = "https://attacker.example/jwks.json" },
		"x5u header": func(h, c map[string]any) { h["x5u"] = "https://attacker.example/cert.pem" },
		"x5c header": func(h, c map[string]any) { h["x5c"] = []string{"MIIB"} },
		// kid
		"kid unknown":        func(h, c map[string]any) { h["kid"] = "nope" },
		"kid path traversal": func(h, c map[string]any) { h["kid"] = "../../etc/passwd" },
		"kid dev null":       func(h, c map[string]any) { h["kid"] = "/dev/null" },
		"kid with NUL":       func(h, c map[string]any) { h["kid"] = "a\x00b" },
		"kid ours plus NUL":  func(h, c map[string]any) { h["kid"] = key.ID + "\x00" },
		"kid ours prefix":    func(h, c map[string]any) { h["kid"] = key.ID[:len(key.ID)-1] },
		"kid case changed":   func(h, c map[string]any) { h["kid"] = strings.ToUpper(key.ID) },
		"kid number":         func(h, c map[string]any) { h["kid"] = 1 },
		"kid object":         func(h, c map[string]any) { h["kid"] = map[string]any{"id": key.ID} },
		"kid array":          func(h, c map[string]any) { h["kid"] = []string{key.ID} },
		"kid null":           func(h, c map[string]any) { h["kid"] = nil },
		"kid empty":          func(h, c map[string]any) { h["kid"] = "" },
		"kid missing":        func(h, c map[string]any) { delete(h, "kid") },
		// time
		"expired beyond leeway": func(h, c map[string]any) {
			c["iat"] = now.Add(-tokTTL - time.Minute).Unix()
			c["exp"] = now.Add(-tokLeeway - time.Second).Unix()
		},
		"exp missing":     func(h, c map[string]any) { delete(c, "exp") },
		"exp string":      func(h, c map[string]any) { c["exp"] = "tomorrow" },
		"iat in future":   func(h, c map[string]any) { c["iat"] = now.Add(tokLeeway + time.Minute).Unix() },
		"iat missing":     func(h, c map[string]any) { delete(c, "iat") },
		"nbf in future":   func(h, c map[string]any) { c["nbf"] = now.Add(tokLeeway + time.Minute).Unix() },
		"iss wrong":       func(h, c map[string]any) { c["iss"] = "https://attacker.example" },
		"iss missing":     func(h, c map[string]any) { delete(c, "iss") },
		"aud wrong":       func(h, c map[string]any) { c["aud"] = "other-service" },
		"aud array other": func(h, c map[string]any) { c["aud"] = []string{"a", "b"} },
		"aud missing":     func(h, c map[string]any) { delete(c, "aud") },
		"aud empty":       func(h, c map[string]any) { c["aud"] = "" },
		// required private and registered claims
		"sub missing":  func(h, c map[string]any) { delete(c, "sub") },
		"sub empty":    func(h, c map[string]any) { c["sub"] = "" },
		"sid missing":  func(h, c map[string]any) { delete(c, "sid") },
		"role missing": func(h, c map[string]any) { delete(c, "role") },
		"role empty":   func(h, c map[string]any) { c["role"] = "" },
		"jti missing":  func(h, c map[string]any) { delete(c, "jti") },
		"role number":  func(h, c map[string]any) { c["role"] = 1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			h, c := tokHeader(AlgEdDSA, key.ID), tokClaims(now)
			mutate(h, c)
			tokExpectInvalid(t, tk, tokForge(t, h, c, key.PrivateKey))
		})
	}
}

func TestTokenAlgNone(t *testing.T) {
	tk, key, clock := tokEdServer(t)
	for _, alg := range []string{"none", "None", "NONE", "nOnE", ""} {
		t.Run(alg, func(t *testing.T) {
			token := tokForge(t, tokHeader(alg, key.ID), tokClaims(clock.Now()), nil)
			if !strings.HasSuffix(token, ".") {
				t.Fatalf("alg none token %q must have an empty signature", token)
			}
			tokExpectInvalid(t, tk, token)
		})
	}
	t.Run("alg missing", func(t *testing.T) {
		h := tokHeader(AlgEdDSA, key.ID)
		delete(h, "alg")
		tokExpectInvalid(t, tk, tokForge(t, h, tokClaims(clock.Now()), key.PrivateKey))
	})
}

// tokExpectAlgPinned asserts the parser's allowed-algorithm list rejected the
// token before the key function ran: the key function's own algorithm check
// is only a second line of defence.
func tokExpectAlgPinned(t *testing.T, tk *Tokens, token string) {
	t.Helper()
	tokExpectInvalid(t, tk, token)
	_, err := tk.Verify(token)
	if !errors.Is(err, jwt.ErrTokenSignatureInvalid) || errors.Is(err, jwt.ErrTokenUnverifiable) {
		t.Fatalf("rejected, but not by the algorithm pin: %v", err)
	}
}

func TestTokenAlgorithmConfusion(t *testing.T) {
	t.Run("HS256 keyed with our Ed25519 public key", func(t *testing.T) {
		tk, key, clock := tokEdServer(t)
		pub := key.PrivateKey.Public().(ed25519.PublicKey)
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		jwks, err := json.Marshal(tk.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		secrets := map[string][]byte{
			"raw":       pub,
			"base64url": []byte(tokSeg(pub)),
			"base64":    []byte(base64.StdEncoding.EncodeToString(pub)),
			"DER":       der,
			"PEM":       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
			"JWKS JSON": jwks,
		}
		for name, secret := range secrets {
			t.Run(name, func(t *testing.T) {
				token := tokForge(t, tokHeader(AlgHS256, key.ID), tokClaims(clock.Now()), secret)
				tokExpectAlgPinned(t, tk, token)
			})
		}
	})
	t.Run("EdDSA token at HS256 server", func(t *testing.T) {
		tk, key, clock := tokHSServer(t)
		attacker := tokEdKey(t, 66, clock.Now())
		token := tokForge(t, tokHeader(AlgEdDSA, key.ID), tokClaims(clock.Now()), attacker.PrivateKey)
		tokExpectAlgPinned(t, tk, token)
	})
	t.Run("other HMAC algorithms at HS256 server", func(t *testing.T) {
		tk, key, clock := tokHSServer(t)
		for _, alg := range []string{"HS384", "HS512"} {
			token := tokForge(t, tokHeader(alg, key.ID), tokClaims(clock.Now()), tokSecret)
			tokExpectAlgPinned(t, tk, token)
		}
		// Algorithm names are case-sensitive (RFC 7515 §4.1.1).
		tokExpectInvalid(t, tk, tokForge(t, tokHeader("hs256", key.ID), tokClaims(clock.Now()), tokSecret))
	})
}

func TestTokenForeignSignature(t *testing.T) {
	tk, key, clock := tokEdServer(t)
	now := clock.Now()
	attacker := tokEdKey(t, 66, now)
	attackerPub := attacker.PrivateKey.Public().(ed25519.PublicKey)
	t.Run("attacker key with our kid", func(t *testing.T) {
		tokExpectInvalid(t, tk, tokForge(t, tokHeader(AlgEdDSA, key.ID), tokClaims(now), attacker.PrivateKey))
	})
	t.Run("attacker key with embedded jwk", func(t *testing.T) {
		for _, kid := range []string{key.ID, attacker.ID} {
			h := tokHeader(AlgEdDSA, kid)
			h["jwk"] = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": tokSeg(attackerPub), "kid": kid}
			tokExpectInvalid(t, tk, tokForge(t, h, tokClaims(now), attacker.PrivateKey))
		}
	})
	t.Run("attacker key behind jku", func(t *testing.T) {
		h := tokHeader(AlgEdDSA, attacker.ID)
		h["jku"] = "https://attacker.example/.well-known/jwks.json"
		tokExpectInvalid(t, tk, tokForge(t, h, tokClaims(now), attacker.PrivateKey))
	})
	t.Run("HS256 server, wrong secret", func(t *testing.T) {
		hs, hkey, _ := tokHSServer(t)
		other := bytes.Repeat([]byte{'x'}, 32)
		tokExpectInvalid(t, hs, tokForge(t, tokHeader(AlgHS256, hkey.ID), tokClaims(now), other))
	})
}

func TestTokenTampered(t *testing.T) {
	tk, key, clock := tokEdServer(t)
	now := clock.Now()
	token, _, err := tk.Issue("user-1", "session-1", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	t.Run("payload role viewer to admin", func(t *testing.T) {
		p := bytes.Replace(payload, []byte(`"role":"viewer"`), []byte(`"role":"admin"`), 1)
		if bytes.Equal(p, payload) {
			t.Fatal("role not found in payload")
		}
		tokExpectInvalid(t, tk, parts[0]+"."+tokSeg(p)+"."+parts[2])
	})
	t.Run("payload sub changed", func(t *testing.T) {
		p := bytes.Replace(payload, []byte(`"sub":"user-1"`), []byte(`"sub":"user-2"`), 1)
		tokExpectInvalid(t, tk, parts[0]+"."+tokSeg(p)+"."+parts[2])
	})
	t.Run("header changed", func(t *testing.T) {
		h := tokSegJSON(t, map[string]any{"alg": AlgEdDSA, "typ": "application/at+jwt", "kid": key.ID})
		tokExpectInvalid(t, tk, h+"."+parts[1]+"."+parts[2])
	})
	t.Run("signature bit flipped", func(t *testing.T) {
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sig[0] ^= 1
		tokExpectInvalid(t, tk, parts[0]+"."+parts[1]+"."+tokSeg(sig))
	})
	t.Run("signature dropped", func(t *testing.T) {
		tokExpectInvalid(t, tk, parts[0]+"."+parts[1]+".")
	})
	t.Run("signature from another token", func(t *testing.T) {
		other := tokForge(t, tokHeader(AlgEdDSA, key.ID), tokClaims(now), key.PrivateKey)
		tokExpectInvalid(t, tk, parts[0]+"."+parts[1]+"."+strings.Split(other, ".")[2])
	})
	tokExpectValid(t, tk, token) // the untouched original still verifies
}

func TestTokenMalformed(t *testing.T) {
	tk, key, clock := tokEdServer(t)
	token, _, err := tk.Issue("user-1", "session-1", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	sig := parts[2]
	// 64 signature bytes take 86 characters; the last carries 4 unused bits
	// that a lax decoder ignores, so flipping one keeps the signature bytes.
	if len(sig) != 86 {
		t.Fatalf("signature segment has %d chars", len(sig))
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, sig[85])
	sigTrailing := sig[:85] + string(alphabet[last^1])
	if lax, _ := base64.RawURLEncoding.DecodeString(sigTrailing); !bytes.Equal(lax, tokDecodeSeg(t, sig)) {
		t.Fatal("trailing-bit variant should decode to the same bytes without strict mode")
	}

	cases := map[string]string{
		"empty":                   "",
		"one dot":                 "a.b",
		"garbage with two dots":   "foo.bar.baz",
		"only dots":               "..",
		"four segments":           token + ".x",
		"valid plus trailing dot": token + ".",
		"signature with padding":  parts[0] + "." + parts[1] + "." + sig + "==",
		"payload with padding":    parts[0] + "." + parts[1] + "=." + sig,
		"std alphabet signature":  parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(sig) + "+/",
		"trailing bits signature": parts[0] + "." + parts[1] + "." + sigTrailing,
		"newline in signature":    parts[0] + "." + parts[1] + "." + sig[:40] + "\n" + sig[40:],
		"CR in signature":         parts[0] + "." + parts[1] + "." + sig[:40] + "\r" + sig[40:],
		"space before token":      " " + token,
		"header not JSON":         tokSeg([]byte("not json")) + "." + parts[1] + "." + sig,
		"header JSON array":       tokSeg([]byte(`[1,2]`)) + "." + parts[1] + "." + sig,
		"payload not JSON":        parts[0] + "." + tokSeg([]byte("{")) + "." + sig,
		"bearer prefix":           "Bearer " + token,
		"unicode":                 "é.é.é",
		"NUL byte":                parts[0] + "\x00." + parts[1] + "." + sig,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) { tokExpectInvalid(t, tk, in) })
	}

	t.Run("oversized", func(t *testing.T) {
		// Validly signed with our key: only the size limit rejects it.
		h, c := tokHeader(AlgEdDSA, key.ID), tokClaims(clock.Now())
		c["pad"] = strings.Repeat("a", 6000)
		big := tokForge(t, h, c, key.PrivateKey)
		if len(big) <= 8<<10 {
			t.Fatalf("token only %d bytes", len(big))
		}
		tokExpectInvalid(t, tk, big)
		c["pad"] = strings.Repeat("a", 5500)
		fits := tokForge(t, h, c, key.PrivateKey)
		if len(fits) > 8<<10 {
			t.Fatalf("control token is %d bytes", len(fits))
		}
		tokExpectValid(t, tk, fits)
	})
}

func tokDecodeSeg(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTokenExpiryWithLeeway(t *testing.T) {
	tk, _, clock := tokEdServer(t)
	token, exp, err := tk.Issue("user-1", "session-1", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(exp.Add(-time.Second))
	tokExpectValid(t, tk, token)
	clock.Set(exp.Add(tokLeeway - time.Second)) // expired, but within leeway
	tokExpectValid(t, tk, token)
	clock.Set(exp.Add(tokLeeway))
	tokExpectInvalid(t, tk, token)
	clock.Set(exp.Add(time.Hour))
	tokExpectInvalid(t, tk, token)
}

func TestTokenRetiredKeyWindow(t *testing.T) {
	clock := newTokClock()
	cfg := tokConfig(AlgEdDSA, clock)
	oldKey := tokEdKey(t, 1, tokEpoch.Add(-48*time.Hour))
	newKey := tokEdKey(t, 2, tokEpoch.Add(-time.Minute))

	t.Run("token issued before rotation", func(t *testing.T) {
		tk := tokNew(t, cfg, oldKey)
		token, exp, err := tk.Issue("user-1", "session-1", "viewer")
		if err != nil {
			t.Fatal(err)
		}
		retired := oldKey
		retired.RetiredAt = clock.Now()
		if err := tk.SetKeys([]Key{retired, newKey}); err != nil {
			t.Fatal(err)
		}
		tokExpectValid(t, tk, token)
		clock.Set(exp.Add(tokLeeway - time.Second))
		tokExpectValid(t, tk, token)
		clock.Set(tokEpoch)
	})

	// Tokens the retired key signed after its retirement (a stale instance or a
	// leaked old key): the token's own exp is fine, so only the key's window
	// can reject them.
	for _, tc := range []struct {
		name      string
		retiredAt time.Time
		valid     bool
	}{
		{"within RetiredAt+TTL+leeway", tokEpoch.Add(-tokTTL), true},
		{"just within", tokEpoch.Add(-tokTTL - tokLeeway + time.Second), true},
		{"at the boundary", tokEpoch.Add(-tokTTL - tokLeeway), false},
		{"past RetiredAt+TTL+leeway", tokEpoch.Add(-tokTTL - tokLeeway - time.Second), false},
		{"long retired", tokEpoch.Add(-30 * 24 * time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			retired := oldKey
			retired.RetiredAt = tc.retiredAt
			tk := tokNew(t, cfg, retired, newKey)
			token := tokForge(t, tokHeader(AlgEdDSA, oldKey.ID), tokClaims(tokEpoch), oldKey.PrivateKey)
			if tc.valid {
				tokExpectValid(t, tk, token)
			} else {
				tokExpectInvalid(t, tk, token)
			}
		})
	}
}

func tokIssuedKID(t *testing.T, tk *Tokens) string {
	t.Helper()
	token, _, err := tk.Issue("user-1", "session-1", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	tokExpectValid(t, tk, token)
	kid, _ := tokDecodeHeader(t, token)["kid"].(string)
	return kid
}

func TestTokenKeySelection(t *testing.T) {
	clock := newTokClock()
	cfg := tokConfig(AlgEdDSA, clock)
	older := tokEdKey(t, 1, tokEpoch.Add(-48*time.Hour))
	newer := tokEdKey(t, 2, tokEpoch.Add(-time.Hour))

	// Order of the slice must not matter.
	for _, keys := range [][]Key{{older, newer}, {newer, older}} {
		tk := tokNew(t, cfg, keys...)
		if kid := tokIssuedKID(t, tk); kid != newer.ID {
			t.Errorf("signing kid = %q, want newer %q", kid, newer.ID)
		}
	}

	tk := tokNew(t, cfg, older, newer)
	retired := newer
	retired.RetiredAt = tokEpoch
	if err := tk.SetKeys([]Key{older, retired}); err != nil {
		t.Fatal(err)
	}
	if kid := tokIssuedKID(t, tk); kid != older.ID {
		t.Errorf("after retiring newer, signing kid = %q, want %q", kid, older.ID)
	}

	// Equal CreatedAt: the greater ID signs, on every instance.
	a, b := older, newer
	a.CreatedAt, b.CreatedAt = tokEpoch, tokEpoch
	a.ID, b.ID = "kid-a", "kid-b"
	for _, keys := range [][]Key{{a, b}, {b, a}} {
		if kid := tokIssuedKID(t, tokNew(t, cfg, keys...)); kid != "kid-b" {
			t.Errorf("tie: signing kid = %q, want kid-b", kid)
		}
	}

	// A failed SetKeys leaves the old set in place.
	if err := tk.SetKeys([]Key{retired}); err == nil {
		t.Fatal("SetKeys accepted a set with no signing key")
	}
	if kid := tokIssuedKID(t, tk); kid != older.ID {
		t.Errorf("after failed SetKeys, signing kid = %q", kid)
	}
}

func TestTokenSetKeysConcurrent(t *testing.T) {
	clock := newTokClock()
	cfg := tokConfig(AlgEdDSA, clock)
	k1 := tokEdKey(t, 1, tokEpoch.Add(-48*time.Hour))
	k2 := tokEdKey(t, 2, tokEpoch.Add(-time.Hour))
	k2retired := k2
	k2retired.RetiredAt = tokEpoch
	setA := []Key{k1, k2}        // k2 signs
	setB := []Key{k1, k2retired} // k1 signs, k2 still verifies
	tk := tokNew(t, cfg, setA...)

	const rounds = 200
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	wg.Go(func() {
		for i := range rounds {
			set := setA
			if i%2 == 1 {
				set = setB
			}
			if err := tk.SetKeys(set); err != nil {
				errc <- err
				return
			}
		}
	})
	for range 3 {
		wg.Go(func() {
			for range rounds {
				token, _, err := tk.Issue("user-1", "session-1", "viewer")
				if err == nil {
					_, err = tk.Verify(token)
				}
				if err != nil {
					errc <- err
					return
				}
				if n := len(tk.JWKS().Keys); n != 2 {
					errc <- errors.New("JWKS lost a key during a swap")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestTokenHMACKey(t *testing.T) {
	if _, err := HMACKey(bytes.Repeat([]byte{'s'}, 31)); !errors.Is(err, ErrWeakSecret) {
		t.Errorf("31-byte secret: err = %v, want ErrWeakSecret", err)
	}
	if _, err := HMACKey(nil); !errors.Is(err, ErrWeakSecret) {
		t.Errorf("empty secret: err = %v, want ErrWeakSecret", err)
	}
	secret := bytes.Repeat([]byte{'s'}, 32)
	k, err := HMACKey(secret)
	if err != nil {
		t.Fatalf("32-byte secret: %v", err)
	}
	if k.Algorithm != AlgHS256 || !bytes.Equal(k.Secret, secret) || k.ID == "" {
		t.Errorf("key = %+v", k)
	}
	again, _ := HMACKey(bytes.Clone(secret))
	if again.ID != k.ID {
		t.Errorf("kid not stable: %q vs %q", k.ID, again.ID)
	}
	other, _ := HMACKey(bytes.Repeat([]byte{'t'}, 32))
	if other.ID == k.ID {
		t.Error("different secrets share a kid")
	}
	if strings.Contains(k.ID, "ssss") || strings.Contains(k.ID, tokSeg(secret)[:8]) {
		t.Errorf("kid %q leaks the secret", k.ID)
	}
	secret[0] = 'x' // the key keeps its own copy
	if k.Secret[0] != 's' {
		t.Error("HMACKey aliases the caller's secret")
	}
}

func TestTokenGenerateEd25519Key(t *testing.T) {
	k, err := GenerateEd25519Key(tokRand(7), tokEpoch)
	if err != nil {
		t.Fatal(err)
	}
	if k.Algorithm != AlgEdDSA || len(k.PrivateKey) != ed25519.PrivateKeySize || !k.CreatedAt.Equal(tokEpoch) || !k.RetiredAt.IsZero() {
		t.Errorf("key = %+v", k)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(k.ID); err != nil || len(raw) != 16 {
		t.Errorf("kid %q is not 16 base64url bytes", k.ID)
	}
	k2, err := GenerateEd25519Key(nil, tokEpoch)
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID == k.ID || k2.PrivateKey.Equal(k.PrivateKey) {
		t.Error("nil rand produced the same key")
	}
	if _, err := GenerateEd25519Key(bytes.NewReader(make([]byte, 10)), tokEpoch); err == nil {
		t.Error("short random source accepted")
	}
}

func TestNewTokensValidation(t *testing.T) {
	clock := newTokClock()
	ed := tokEdKey(t, 1, tokEpoch)
	hs := tokHMACKey(t)
	retired := ed
	retired.RetiredAt = tokEpoch
	weak := hs
	weak.Secret = bytes.Repeat([]byte{'s'}, 31)
	badPriv := ed
	badPriv.PrivateKey = append(ed25519.PrivateKey{}, ed.PrivateKey...)
	badPriv.PrivateKey[40] ^= 1 // public half no longer matches the seed
	noID := ed
	noID.ID = ""
	mixed := ed
	mixed.Secret = tokSecret

	cases := []struct {
		name   string
		mutate func(*TokenConfig)
		keys   []Key
	}{
		{"leeway 31s", func(c *TokenConfig) { c.Leeway = 31 * time.Second }, []Key{ed}},
		{"negative leeway", func(c *TokenConfig) { c.Leeway = -time.Second }, []Key{ed}},
		{"unknown algorithm", func(c *TokenConfig) { c.Algorithm = "RS256" }, []Key{ed}},
		{"alg none", func(c *TokenConfig) { c.Algorithm = "none" }, []Key{ed}},
		{"empty algorithm", func(c *TokenConfig) { c.Algorithm = "" }, []Key{ed}},
		{"empty issuer", func(c *TokenConfig) { c.Issuer = "" }, []Key{ed}},
		{"empty audience", func(c *TokenConfig) { c.Audience = "" }, []Key{ed}},
		{"zero TTL", func(c *TokenConfig) { c.TTL = 0 }, []Key{ed}},
		{"HS256 key on EdDSA config", func(c *TokenConfig) {}, []Key{hs}},
		{"EdDSA key on HS256 config", func(c *TokenConfig) { c.Algorithm = AlgHS256 }, []Key{ed}},
		{"mixed key set", func(c *TokenConfig) {}, []Key{ed, hs}},
		{"weak HS256 secret", func(c *TokenConfig) { c.Algorithm = AlgHS256 }, []Key{weak}},
		{"no keys", func(c *TokenConfig) {}, nil},
		{"only retired keys", func(c *TokenConfig) {}, []Key{retired}},
		{"duplicate kid", func(c *TokenConfig) {}, []Key{ed, retired}},
		{"inconsistent private key", func(c *TokenConfig) {}, []Key{badPriv}},
		{"empty kid", func(c *TokenConfig) {}, []Key{noID}},
		{"EdDSA key with secret", func(c *TokenConfig) {}, []Key{mixed}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tokConfig(AlgEdDSA, clock)
			tc.mutate(&cfg)
			if _, err := NewTokens(cfg, tc.keys); err == nil {
				t.Fatal("NewTokens accepted an invalid configuration")
			}
		})
	}
	t.Run("weak secret is ErrWeakSecret", func(t *testing.T) {
		if _, err := NewTokens(tokConfig(AlgHS256, clock), []Key{weak}); !errors.Is(err, ErrWeakSecret) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("boundaries accepted", func(t *testing.T) {
		cfg := tokConfig(AlgEdDSA, clock)
		cfg.Leeway = 30 * time.Second
		tokNew(t, cfg, ed)
		cfg.Leeway = 0
		cfg.Now, cfg.Rand = nil, nil // defaults: time.Now, crypto/rand
		tk := tokNew(t, cfg, ed)
		token, _, err := tk.Issue("u", "s", "r")
		if err != nil {
			t.Fatal(err)
		}
		tokExpectValid(t, tk, token)
	})
}

func TestJWKS(t *testing.T) {
	clock := newTokClock()
	cfg := tokConfig(AlgEdDSA, clock)
	active := tokEdKey(t, 1, tokEpoch.Add(-time.Hour))
	verifying := tokEdKey(t, 2, tokEpoch.Add(-48*time.Hour))
	verifying.RetiredAt = tokEpoch.Add(-time.Minute)
	expired := tokEdKey(t, 3, tokEpoch.Add(-72*time.Hour))
	expired.RetiredAt = tokEpoch.Add(-tokTTL - tokLeeway - time.Second)
	tk := tokNew(t, cfg, active, verifying, expired)

	set := tk.JWKS()
	got := map[string]JWK{}
	for _, k := range set.Keys {
		got[k.Kid] = k
	}
	if len(got) != 2 {
		t.Fatalf("JWKS has %d keys, want active and still-verifying: %+v", len(got), set)
	}
	if _, ok := got[expired.ID]; ok {
		t.Error("JWKS publishes a key that no longer verifies")
	}
	for _, k := range []Key{active, verifying} {
		j, ok := got[k.ID]
		if !ok {
			t.Fatalf("JWKS misses key %q", k.ID)
		}
		if j.Kty != "OKP" || j.Crv != "Ed25519" || j.Alg != "EdDSA" || j.Use != "sig" {
			t.Errorf("JWK = %+v", j)
		}
		x, err := base64.RawURLEncoding.Strict().DecodeString(j.X)
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.PublicKey(x).Equal(k.PrivateKey.Public()) {
			t.Errorf("x of %q is not its public key", k.ID)
		}
	}

	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	for _, m := range generic.Keys {
		want := []string{"alg", "crv", "kid", "kty", "use", "x"}
		var keys []string
		for name := range m {
			keys = append(keys, name)
		}
		if len(keys) != len(want) {
			t.Errorf("JWK members = %v, want exactly %v", keys, want)
		}
		if _, ok := m["d"]; ok {
			t.Error(`JWK has a private "d" member`)
		}
	}
	for _, k := range []Key{active, verifying, expired} {
		for _, secret := range [][]byte{k.PrivateKey.Seed(), k.PrivateKey} {
			for _, enc := range []string{tokSeg(secret), base64.StdEncoding.EncodeToString(secret), tokSeg(secret[:16])} {
				if bytes.Contains(raw, []byte(enc)) {
					t.Fatalf("JWKS JSON contains private key material of %q", k.ID)
				}
			}
		}
	}

	// Once the still-verifying key's window passes, it leaves the set.
	clock.Set(verifying.RetiredAt.Add(tokTTL + tokLeeway))
	if keys := tk.JWKS().Keys; len(keys) != 1 || keys[0].Kid != active.ID {
		t.Errorf("after window, JWKS = %+v", keys)
	}

	t.Run("HS256 publishes nothing", func(t *testing.T) {
		hs, _, _ := tokHSServer(t)
		raw, err := json.Marshal(hs.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		if string(raw) != `{"keys":[]}` {
			t.Errorf("HS256 JWKS = %s", raw)
		}
		if bytes.Contains(raw, tokSecret[:8]) {
			t.Error("HS256 JWKS leaks the secret")
		}
	})
}

// FuzzVerify checks that Verify never panics and accepts nothing but the
// exact tokens it issued.
func FuzzVerify(f *testing.F) {
	ed, edKey, _ := tokEdServer(f)
	hs, _, _ := tokHSServer(f)
	type seed struct {
		tk     *Tokens
		token  string
		claims *Claims
	}
	var seeds []seed
	for _, tk := range []*Tokens{ed, hs} {
		token, _, err := tk.Issue("user-1", "session-1", "viewer")
		if err != nil {
			f.Fatal(err)
		}
		claims, err := tk.Verify(token)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, seed{tk, token, claims})
		f.Add(token)
		parts := strings.Split(token, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + "." + parts[1] + "." + parts[2] + "=")
		f.Add(token[:len(token)-1])
	}
	claims := tokClaims(tokEpoch)
	f.Add(tokForge(f, tokHeader("none", edKey.ID), claims, nil))
	f.Add(tokForge(f, tokHeader(AlgHS256, edKey.ID), claims, []byte(edKey.PrivateKey.Public().(ed25519.PublicKey))))
	f.Add(tokForge(f, map[string]any{"alg": AlgEdDSA, "typ": "at+jwt", "kid": 1}, claims, edKey.PrivateKey))
	f.Add(tokForge(f, map[string]any{"alg": AlgEdDSA, "typ": "JWT", "kid": edKey.ID}, claims, edKey.PrivateKey))
	f.Add("")
	f.Add("..")
	f.Add("a.b.c")
	f.Add("eyJ9.eyJ9.")
	f.Add(strings.Repeat("A", 9000))

	f.Fuzz(func(t *testing.T, token string) {
		for _, s := range seeds {
			got, err := s.tk.Verify(token)
			if err != nil {
				if !errors.Is(err, ErrInvalidToken) || got != nil {
					t.Fatalf("Verify(%q) = %v, %v", token, got, err)
				}
				continue
			}
			if token != s.token || !reflect.DeepEqual(got, s.claims) {
				t.Fatalf("Verify accepted %q (claims %+v); only %q is valid", token, got, s.token)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{AlgEdDSA, AlgHS256} {
		b.Run(alg, func(b *testing.B) {
			var tk *Tokens
			if alg == AlgEdDSA {
				tk, _, _ = tokEdServer(b)
			} else {
				tk, _, _ = tokHSServer(b)
			}
			token, _, err := tk.Issue("user-1", "session-1", "viewer")
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tk.Verify(token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
