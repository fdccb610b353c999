package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"labreview/auth/internal/zxcvbn"
)

// Argon2Params are the Argon2id cost parameters.
type Argon2Params struct {
	MemoryKiB   uint32 // m
	Iterations  uint32 // t
	Parallelism uint8  // p
}

// OWASP Password Storage Cheat Sheet floors for Argon2id: m=47104 KiB with
// t=1, or m=19456 KiB with t=2. Its rows with less memory and more passes
// (m=12288, t=3 and below) are not accepted: memory is what makes GPU
// attacks expensive.
const (
	owaspMinMemoryKiB  = 19456
	owaspOnePassMemKiB = 47104
)

// Upper bounds on parameters. They apply to the hasher's own parameters and,
// more importantly, to parameters read from a stored hash: a corrupted or
// planted hash with m=4 GiB or t=2^32 would otherwise let one login exhaust
// memory or a worker forever.
const (
	maxMemoryKiB   = 1 << 20 // 1 GiB
	maxIterations  = 64
	maxParallelism = 16
	maxBcryptCost  = 16 // cost 12 (passlib's default) is ~0.25 s; 16 is ~4 s
)

// Salt and key sizes we write; stored hashes may use other sizes within the
// PHC bounds (passlib and other encoders vary), which then earn a rehash.
const (
	saltLen    = 16
	keyLen     = 32
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// DefaultArgon2Params returns m=47104 KiB (46 MiB), t=2, p=1: OWASP's first
// recommendation (m=47104, t=1, p=1) with a second pass. Measured on this
// project's 2-core Xeon machines with go1.26: BenchmarkHash 81–85 ms per
// hash, single runs 65–105 ms (t=1 was 38–85 ms; m=64 MiB, t=2 was
// 100–115 ms, too close to the 120 ms ceiling on a loaded machine; m=19456,
// t=2 was 25–43 ms, under the 40 ms target). p=1 because the Hasher's
// worker pool, not Argon2's lanes, decides how many cores hashing may use:
// p>1 would spawn p goroutines per hash behind the pool's back.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{MemoryKiB: 47104, Iterations: 2, Parallelism: 1}
}

// Validate rejects parameters below the OWASP minimum for Argon2id, or so
// large that a single hash could exhaust the machine.
func (p Argon2Params) Validate() error {
	switch {
	case p.Parallelism < 1:
		return errors.New("auth: argon2 parallelism must be at least 1")
	case p.Iterations < 1:
		return errors.New("auth: argon2 iterations must be at least 1")
	case p.MemoryKiB < owaspMinMemoryKiB:
		return fmt.Errorf("auth: argon2 memory %d KiB is below the OWASP minimum of %d KiB", p.MemoryKiB, owaspMinMemoryKiB)
	case p.Iterations < 2 && p.MemoryKiB < owaspOnePassMemKiB:
		return fmt.Errorf("auth: argon2 m=%d KiB with t=1 is below the OWASP minimum (m>=%d KiB with t=1, or m>=%d KiB with t>=2)",
			p.MemoryKiB, owaspOnePassMemKiB, owaspMinMemoryKiB)
	}
	return p.checkUpper()
}

func (p Argon2Params) checkUpper() error {
	if p.MemoryKiB > maxMemoryKiB || p.Iterations > maxIterations || p.Parallelism > maxParallelism {
		return fmt.Errorf("auth: argon2 m=%d KiB, t=%d, p=%d exceeds the supported maximum (m=%d KiB, t=%d, p=%d)",
			p.MemoryKiB, p.Iterations, p.Parallelism, maxMemoryKiB, maxIterations, maxParallelism)
	}
	return nil
}

// ErrBusy is returned when every worker is busy and the wait queue is full:
// failing fast keeps a login flood from piling up goroutines and memory.
var ErrBusy = errors.New("auth: password hashing is saturated")

// errMalformedHash wraps every parse failure so callers can tell a corrupt
// stored hash from a busy pool or a cancelled request.
var errMalformedHash = errors.New("auth: malformed password hash")

// Hasher hashes and verifies passwords on a bounded pool of workers so a
// flood of logins cannot starve the CPU for other requests.
type Hasher struct {
	params Argon2Params
	// workers holds one token per running computation; waiting holds one per
	// caller blocked on a worker. Their capacities are the two bounds.
	workers chan struct{}
	waiting chan struct{}
	dummy   string
	// idKey is argon2.IDKey; tests swap it to count concurrent computations
	// and to hold a worker busy deterministically.
	idKey func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
}

// NewHasher returns a Hasher using p. workers <= 0 means
// max(1, GOMAXPROCS/2), leaving half the cores for everything else; queue is
// how many callers may wait for a worker (<= 0 means 64*workers), beyond
// which calls fail fast with ErrBusy.
func NewHasher(p Argon2Params, workers, queue int) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if queue <= 0 {
		queue = 64 * workers
	}
	// The dummy is random salt and key under the hasher's own parameters:
	// verifying against it costs exactly one Argon2id computation, like a
	// real hash, and no password can match it (2^-256), so it needs no
	// startup-time hashing of its own.
	var salt [saltLen]byte
	var key [keyLen]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, fmt.Errorf("auth: dummy salt: %w", err)
	}
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("auth: dummy key: %w", err)
	}
	return &Hasher{
		params:  p,
		workers: make(chan struct{}, workers),
		waiting: make(chan struct{}, queue),
		dummy:   encodeArgon2id(p, salt[:], key[:]),
		idKey:   argon2.IDKey,
	}, nil
}

// acquire takes a worker slot, waiting in the bounded queue if none is free.
// The caller must call release after its computation.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.workers <- struct{}{}:
		return nil
	default:
	}
	select {
	case h.waiting <- struct{}{}:
	default:
		return ErrBusy
	}
	defer func() { <-h.waiting }()
	select {
	case h.workers <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.workers }

// argon2id runs one Argon2id computation on a worker, then collects its
// memory.
//
// Each computation allocates its whole memory parameter (46 MiB by
// default) and drops it at once. Go's collector sizes the next heap goal
// from what was live at its last cycle, so a cycle that ran during a
// computation lets several dropped blocks pile up before the next one: under
// the server's GOGC=400 a stream of sign-ins held about 300 MiB. A collection
// right after each computation (about a millisecond at the server's small
// live heap, against 60-100 ms of hashing) keeps the peak near one block per
// worker (docs/benchmarks.md, "Refresh with rotation").
func (h *Hasher) argon2id(ctx context.Context, password string, salt []byte, p Argon2Params, n int) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	key := h.idKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(n))
	h.release()
	runtime.GC()
	return key, nil
}

// Hash returns a PHC string:
// $argon2id$v=19$m=...,t=...,p=...$<salt b64 raw std>$<hash b64 raw std>,
// with a 16-byte salt from crypto/rand and a 32-byte key. Passwords over
// MaxPasswordBytes are refused with a *PolicyError before any work.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", tooLong()
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key, err := h.argon2id(ctx, password, salt, h.params, keyLen)
	if err != nil {
		return "", err
	}
	return encodeArgon2id(h.params, salt, key), nil
}

// Verify checks password against encoded, which is either an Argon2id PHC
// string (any parameters within sane bounds) or a bcrypt hash ($2a$, $2b$,
// $2y$, as written by Python passlib/bcrypt). ok reports a match; rehash is
// true when ok and the hash is bcrypt or its Argon2 parameters differ from
// the hasher's. A malformed hash is an error, never a match. A bcrypt hash
// never matches a password longer than 72 bytes, since bcrypt would compare
// only the first 72.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		ph, err := parseArgon2id(encoded)
		if err != nil {
			return false, false, err
		}
		if len(password) > MaxPasswordBytes {
			// No stored password can be this long (Hash refuses it), so
			// don't let an attacker make us hash megabytes.
			return false, false, nil
		}
		key, err := h.argon2id(ctx, password, ph.salt, ph.params, len(ph.key))
		if err != nil {
			return false, false, err
		}
		if subtle.ConstantTimeCompare(key, ph.key) != 1 {
			return false, false, nil
		}
		rehash := ph.params != h.params || len(ph.salt) != saltLen || len(ph.key) != keyLen
		return true, rehash, nil
	case isBcrypt(encoded):
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil {
			return false, false, fmt.Errorf("%w: bcrypt: %v", errMalformedHash, err)
		}
		if cost > maxBcryptCost {
			return false, false, fmt.Errorf("%w: bcrypt cost %d exceeds %d", errMalformedHash, cost, maxBcryptCost)
		}
		// bcrypt would silently compare only the first 72 bytes. Still spend
		// the work on those bytes so response time doesn't reveal the hash
		// type, but never report a match.
		tooLong := len(password) > 72
		pw := password
		if tooLong {
			pw = password[:72]
		}
		if err := h.acquire(ctx); err != nil {
			return false, false, err
		}
		err = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw))
		h.release()
		switch {
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, false, nil
		case err != nil:
			return false, false, fmt.Errorf("%w: bcrypt: %v", errMalformedHash, err)
		case tooLong:
			return false, false, nil
		}
		return true, true, nil
	case encoded == "":
		return false, false, fmt.Errorf("%w: empty", errMalformedHash)
	default:
		return false, false, fmt.Errorf("%w: unknown scheme", errMalformedHash)
	}
}

// VerifyDummy spends the same work as a Verify of an Argon2id hash with the
// hasher's parameters, so unknown-user logins take as long as wrong-password
// logins and don't reveal which accounts exist.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, h.dummy, password)
	return err
}

// isBcrypt accepts the modular-crypt prefixes of correct bcrypt
// implementations; $2x$ marks hashes from the buggy crypt_blowfish and $2$
// the original, and neither is something passlib writes.
func isBcrypt(s string) bool {
	if len(s) != 60 {
		return false
	}
	switch s[:4] {
	case "$2a$", "$2b$", "$2y$":
		return true
	}
	return false
}

func encodeArgon2id(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.MemoryKiB, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

type phcArgon2id struct {
	params    Argon2Params
	salt, key []byte
}

// phcB64 is strict so that only one encoding of a salt or key is accepted.
var phcB64 = base64.RawStdEncoding.Strict()

// parseArgon2id parses exactly the form encodeArgon2id writes (the PHC
// format with parameters in the fixed order m,t,p and no optional fields),
// with any parameter values inside the supported bounds.
func parseArgon2id(s string) (phcArgon2id, error) {
	var ph phcArgon2id
	bad := func(why string) (phcArgon2id, error) {
		return phcArgon2id{}, fmt.Errorf("%w: argon2id: %s", errMalformedHash, why)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("want $argon2id$v=..$m=..,t=..,p=..$salt$hash")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version " + strconv.Quote(parts[2]))
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("want parameters m,t,p")
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return bad("want parameters m,t,p")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || strconv.FormatUint(n, 10) != v {
			return bad("parameter " + name + " is not a number")
		}
		vals[i] = n
	}
	if vals[2] < 1 || vals[2] > maxParallelism {
		return bad("parallelism out of range")
	}
	ph.params = Argon2Params{MemoryKiB: uint32(vals[0]), Iterations: uint32(vals[1]), Parallelism: uint8(vals[2])}
	// argon2 itself needs t>=1 and m>=8p; weaker-than-OWASP stored hashes
	// are still verified (and then rehashed), so only these are enforced.
	if ph.params.Iterations < 1 || ph.params.MemoryKiB < 8*uint32(ph.params.Parallelism) {
		return bad("parameters below argon2's minimum")
	}
	if err := ph.params.checkUpper(); err != nil {
		return bad("parameters too large")
	}
	var err error
	if ph.salt, err = phcB64.DecodeString(parts[4]); err != nil || len(ph.salt) < minSaltLen || len(ph.salt) > maxSaltLen {
		return bad("bad salt")
	}
	if ph.key, err = phcB64.DecodeString(parts[5]); err != nil || len(ph.key) < minKeyLen || len(ph.key) > maxKeyLen {
		return bad("bad hash")
	}
	return ph, nil
}

// MinPasswordChars is the shortest password accepted, counted in Unicode
// code points so that non-Latin scripts are not penalised for their bytes.
const MinPasswordChars = 12

// MaxPasswordBytes is the longest password accepted; longer ones are
// rejected before any hashing or strength estimation.
const MaxPasswordBytes = 1024

// PolicyError says why a password was refused. Code is stable and meant for
// clients: "password_too_short", "password_too_long", "password_too_common",
// "password_invalid"; Message is for people.
type PolicyError struct {
	Code    string
	Message string
}

// Error returns the human-readable message.
func (e *PolicyError) Error() string { return e.Message }

func tooLong() *PolicyError {
	return &PolicyError{Code: "password_too_long", Message: fmt.Sprintf("password must be at most %d bytes", MaxPasswordBytes)}
}

// minStrengthScore is the lowest zxcvbn score accepted. zxcvbn scores by
// estimated guesses: 0 < 10^3, 1 < 10^6, 2 < 10^8, 3 < 10^10, 4 above.
// Measured with labreview/auth/internal/zxcvbn v1.0.1 (a port of zxcvbn 4.4.2,
// the same lists zxcvbn-ts scores with):
//
//	score 0–1: password1234, qwertyuiop123, 123456789012, Password123456
//	           (1.1e4–1.5e4 guesses), aaaaaaaaaaaa (145)
//	score 2:   iloveyou2024! (1e7)
//	score 4:   correct horse battery (1.5e14), tangerine sofa glacier (2.3e14)
//	random 12-char strings: 2000 of [a-zA-Z0-9!@#$%] all 4; of [a-z] 3–4.
//
// So "score >= 3" rejects every common example while passing passphrases and
// random strings, with no separate exact-match list needed.
const minStrengthScore = 3

// maxStrengthRunes caps what zxcvbn examines. Its matching is superlinear:
// on the project machine a random 100-char password took 60–90 ms, 256 chars
// 1.5 s and 1024 chars 73 s, an easy denial of service. 64 runes cost
// 5–20 ms. A prefix that zxcvbn already scores >= 3 leaves the whole
// password at least as strong, so only a long password with a weak start
// (say 64 repeated letters, then random text) is refused unnecessarily.
const maxStrengthRunes = 64

// CheckPassword applies the policy: length bounds, valid UTF-8 without NUL,
// and not a common or breached password by zxcvbn's estimate. userInputs
// (email, name) are given to the estimator, together with their parts, so
// passwords derived from them ("alice.smith2024") are caught. There are no
// composition rules, per NIST SP 800-63B.
func CheckPassword(password string, userInputs ...string) error {
	if len(password) > MaxPasswordBytes {
		return tooLong()
	}
	if !utf8.ValidString(password) || strings.IndexByte(password, 0) >= 0 {
		return &PolicyError{Code: "password_invalid", Message: "password must be valid UTF-8 text without NUL characters"}
	}
	n := utf8.RuneCountInString(password)
	if n < MinPasswordChars {
		return &PolicyError{Code: "password_too_short", Message: fmt.Sprintf("password must be at least %d characters", MinPasswordChars)}
	}
	estimated := password
	if n > maxStrengthRunes {
		estimated = string([]rune(password)[:maxStrengthRunes])
	}
	if zxcvbn.PasswordStrength(estimated, expandUserInputs(userInputs)).Score < minStrengthScore {
		return &PolicyError{Code: "password_too_common", Message: "password is too common or too easy to guess; try a longer passphrase of unrelated words"}
	}
	return nil
}

// expandUserInputs adds, for each input and for the local part of an
// email, its words of at least three letters or digits and those words run
// together: zxcvbn matches user inputs only as whole dictionary words, so
// "alice.smith@lab.org" alone would not catch "alicesmith2024".
func expandUserInputs(inputs []string) []string {
	var out []string
	seen := make(map[string]bool)
	add := func(s string) {
		// zxcvbn ranks inputs by position and a repeat would overwrite an
		// earlier, stronger rank.
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	notWord := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	for _, in := range inputs {
		in = strings.ToLower(strings.TrimSpace(in))
		forms := []string{in}
		if local, _, ok := strings.Cut(in, "@"); ok {
			forms = append(forms, local)
		}
		for _, f := range forms {
			if f == "" {
				continue
			}
			add(f)
			words := strings.FieldsFunc(f, notWord)
			if len(words) > 1 {
				add(strings.Join(words, ""))
			}
			for _, w := range words {
				if utf8.RuneCountInString(w) >= 3 {
					add(w)
				}
			}
		}
	}
	return out
}
