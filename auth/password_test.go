package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// testParams is the cheapest set Validate accepts (OWASP's m=19456, t=2),
// keeping the real-hashing tests fast.
var testParams = Argon2Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}

func newTestHasher(t testing.TB, p Argon2Params, workers, queue int) *Hasher {
	t.Helper()
	h, err := NewHasher(p, workers, queue)
	if err != nil {
		t.Fatalf("NewHasher(%+v): %v", p, err)
	}
	return h
}

func TestHashParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		p  Argon2Params
		ok bool
	}{
		{DefaultArgon2Params(), true},
		{Argon2Params{19456, 2, 1}, true},
		{Argon2Params{47104, 1, 1}, true},
		{Argon2Params{65536, 3, 4}, true},
		{Argon2Params{19456, 1, 1}, false},   // OWASP's m=19456 needs t=2
		{Argon2Params{47103, 1, 1}, false},   // just under the one-pass floor
		{Argon2Params{40000, 1, 1}, false},   // m*t > 19456*2, but one pass needs 47104
		{Argon2Params{12288, 3, 1}, false},   // OWASP row, but below the memory floor we accept
		{Argon2Params{65536, 0, 1}, false},   // t=0
		{Argon2Params{65536, 1, 0}, false},   // p=0
		{Argon2Params{1 << 21, 1, 1}, false}, // 2 GiB: one hash could exhaust the machine
		{Argon2Params{65536, 1000, 1}, false},
	} {
		err := tc.p.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.p, err, tc.ok)
		}
		if _, err := NewHasher(tc.p, 1, 1); (err == nil) != tc.ok {
			t.Errorf("NewHasher(%+v) error = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
	if d := DefaultArgon2Params(); d.MemoryKiB < 47104 || d.Iterations < 1 || d.Parallelism != 1 {
		t.Errorf("DefaultArgon2Params() = %+v, weaker than OWASP's first recommendation", d)
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 2, 0)
	const pw = "violin ocean thunder"

	enc1, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	enc2, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if enc1 == enc2 {
		t.Fatal("two hashes of the same password are equal: salt not random")
	}

	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(enc1, prefix) {
		t.Fatalf("hash %q does not start with %q", enc1, prefix)
	}
	parts := strings.Split(enc1, "$")
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if len(parts) != 6 || err1 != nil || err2 != nil || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("hash %q: want 16-byte salt and 32-byte key in raw std base64", enc1)
	}
	// Recompute independently: the string must be a real Argon2id hash with
	// the recorded parameters, readable by any PHC implementation.
	if want := argon2.IDKey([]byte(pw), salt, 2, 19456, 1, 32); string(want) != string(key) {
		t.Fatal("stored key is not argon2id(password, salt, t=2, m=19456, p=1)")
	}
	ph, err := parseArgon2id(enc1)
	if err != nil || ph.params != testParams {
		t.Fatalf("parseArgon2id = %+v, %v; want params %+v", ph.params, err, testParams)
	}

	ok, rehash, err := h.Verify(ctx, enc1, pw)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	for _, wrong := range []string{"violin ocean thunde", "Violin ocean thunder", "violin ocean thunder ", ""} {
		ok, rehash, err := h.Verify(ctx, enc1, wrong)
		if err != nil || ok || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
		}
	}
}

func TestHashRefusesOverlongPassword(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 0)
	_, err := h.Hash(context.Background(), strings.Repeat("x", MaxPasswordBytes+1))
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Code != "password_too_long" {
		t.Fatalf("Hash(1025 bytes) error = %v, want password_too_long", err)
	}
}

func TestHashMultibytePassword(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 1, 0)
	letters := []rune("あいうえおかきくけこさしすせそたちつてと")
	r := make([]rune, 64)
	for i := range r {
		r[i] = letters[i%len(letters)]
	}
	pw := string(r)
	if len(pw) != 192 {
		t.Fatalf("test password is %d bytes, want 192", len(pw))
	}
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, enc, pw); !ok || err != nil {
		t.Fatalf("Verify(192-byte password) = %v, %v", ok, err)
	}
	// Differs only in the last letter, past bcrypt's 72 bytes: Argon2id
	// must see it.
	other := string(r[:63]) + "ん"
	if ok, _, err := h.Verify(ctx, enc, other); ok || err != nil {
		t.Fatalf("Verify(password differing in byte 190) = %v, %v; want false, nil", ok, err)
	}
}

// pycaBcryptHash is a $2b$ test vector from pyca/bcrypt's test suite, the
// library passlib and FARM-stack apps use.
const (
	pycaBcryptPassword = "Kk4DQuMMfZL9o"
	pycaBcryptHash     = "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"
)

func TestVerifyBcrypt(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 1, 0)
	const pw = "Tr0ub4dor&3 horse staple"
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a2 := string(b)
	if !strings.HasPrefix(a2, "$2a$") {
		t.Fatalf("Go bcrypt wrote %q, expected $2a$", a2)
	}
	y2 := "$2y$" + a2[4:] // PHP's name for the same algorithm
	for _, tc := range []struct{ name, hash, pw string }{
		{"2a", a2, pw},
		{"2y", y2, pw},
		{"2b python", pycaBcryptHash, pycaBcryptPassword},
	} {
		ok, rehash, err := h.Verify(ctx, tc.hash, tc.pw)
		if err != nil || !ok || !rehash {
			t.Errorf("%s: Verify(right) = %v, %v, %v; want true, true, nil", tc.name, ok, rehash, err)
		}
		ok, rehash, err = h.Verify(ctx, tc.hash, tc.pw+"!")
		if err != nil || ok || rehash {
			t.Errorf("%s: Verify(wrong) = %v, %v, %v; want false, false, nil", tc.name, ok, rehash, err)
		}
	}
}

func TestVerifyBcryptNoTruncation(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 1, 0)
	long := strings.Repeat("correct horse battery staple ", 3) // 87 bytes
	b, err := bcrypt.GenerateFromPassword([]byte(long[:72]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, string(b), long[:72]); !ok || err != nil {
		t.Fatalf("Verify(first 72 bytes) = %v, %v; want true", ok, err)
	}
	// Go's CompareHashAndPassword itself accepts this (it reads 72 bytes);
	// Verify must not.
	if bcrypt.CompareHashAndPassword(b, []byte(long)) != nil {
		t.Fatal("premise: x/crypto bcrypt no longer truncates; revisit this test")
	}
	for _, pw := range []string{long[:73], long} {
		if ok, rehash, err := h.Verify(ctx, string(b), pw); ok || rehash || err != nil {
			t.Errorf("Verify(%d-byte password vs hash of its first 72) = %v, %v, %v; want false, false, nil", len(pw), ok, rehash, err)
		}
	}
}

func TestVerifyRehashOnParams(t *testing.T) {
	ctx := context.Background()
	weak := newTestHasher(t, testParams, 1, 0)
	strong := newTestHasher(t, Argon2Params{MemoryKiB: 19456, Iterations: 3, Parallelism: 1}, 1, 0)
	const pw = "tangerine sofa glacier"
	enc, err := weak.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := strong.Verify(ctx, enc, pw); !ok || !rehash || err != nil {
		t.Errorf("stronger hasher: Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	if ok, rehash, err := weak.Verify(ctx, enc, pw); !ok || rehash || err != nil {
		t.Errorf("same params: Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	if ok, rehash, err := strong.Verify(ctx, enc, "wrong"); ok || rehash || err != nil {
		t.Errorf("stronger hasher, wrong password: Verify = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}

	// Hashes below our floor (an older or foreign system) still verify, and
	// must be upgraded; so must ones with other salt or key sizes.
	salt := []byte("0123456789abcdef")
	legacy := encodeArgon2id(Argon2Params{4096, 1, 1}, salt, argon2.IDKey([]byte(pw), salt, 1, 4096, 1, 32))
	if ok, rehash, err := weak.Verify(ctx, legacy, pw); !ok || !rehash || err != nil {
		t.Errorf("below-OWASP hash: Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	shortKey := encodeArgon2id(testParams, salt, argon2.IDKey([]byte(pw), salt, 2, 19456, 1, 16))
	if ok, rehash, err := weak.Verify(ctx, shortKey, pw); !ok || !rehash || err != nil {
		t.Errorf("16-byte key: Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 1, 0)
	const pw = "violin ocean thunder"
	good, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	join := func(p ...string) string { return strings.Join(p, "$") }
	salt, key := parts[4], parts[5]
	// The last character of a 16-byte raw base64 value carries 4 unused
	// bits; setting one gives another string for the same bytes.
	nonCanonicalSalt := salt[:len(salt)-1] + string(flipLowBits(salt[len(salt)-1]))
	bc, _ := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)

	for name, enc := range map[string]string{
		"empty":                 "",
		"plaintext":             pw,
		"unknown scheme":        "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA",
		"argon2i":               join("", "argon2i", parts[2], parts[3], salt, key),
		"argon2d":               join("", "argon2d", parts[2], parts[3], salt, key),
		"wrong version":         join("", "argon2id", "v=16", parts[3], salt, key),
		"missing version":       join("", "argon2id", parts[3], salt, key),
		"bad base64 salt":       join("", "argon2id", parts[2], parts[3], "!!!!not*base64!!", key),
		"bad base64 key":        join("", "argon2id", parts[2], parts[3], salt, key[:len(key)-1]+"~"),
		"padded base64":         join("", "argon2id", parts[2], parts[3], salt+"==", key),
		"non-canonical base64":  join("", "argon2id", parts[2], parts[3], nonCanonicalSalt, key),
		"short salt":            join("", "argon2id", parts[2], parts[3], "c2FsdA", key),
		"short key":             join("", "argon2id", parts[2], parts[3], salt, "aGFzaA"),
		"empty key":             join("", "argon2id", parts[2], parts[3], salt, ""),
		"trailing field":        good + "$x",
		"params out of order":   join("", "argon2id", parts[2], "t=2,m=19456,p=1", salt, key),
		"extra param":           join("", "argon2id", parts[2], "m=19456,t=2,p=1,keyid=x", salt, key),
		"t=0":                   join("", "argon2id", parts[2], "m=19456,t=0,p=1", salt, key),
		"p=0":                   join("", "argon2id", parts[2], "m=19456,t=2,p=0", salt, key),
		"m below 8p":            join("", "argon2id", parts[2], "m=7,t=2,p=1", salt, key),
		"huge m":                join("", "argon2id", parts[2], "m=4294967295,t=2,p=1", salt, key),
		"huge t":                join("", "argon2id", parts[2], "m=19456,t=100000,p=1", salt, key),
		"huge p":                join("", "argon2id", parts[2], "m=19456,t=2,p=255", salt, key),
		"negative m":            join("", "argon2id", parts[2], "m=-1,t=2,p=1", salt, key),
		"leading zero":          join("", "argon2id", parts[2], "m=019456,t=2,p=1", salt, key),
		"leading space":         " " + good,
		"bcrypt 2x":             "$2x$" + string(bc[4:]),
		"bcrypt 2":              "$2$" + string(bc[4:]),
		"bcrypt truncated":      string(bc[:59]),
		"bcrypt trailing":       string(bc) + "x",
		"bcrypt bad cost":       "$2a$x4$" + string(bc[7:]),
		"bcrypt cost too high":  "$2a$31$" + string(bc[7:]),
		"bcrypt cost too low":   "$2a$03$" + string(bc[7:]),
		"bcrypt bad base64":     "$2a$04$" + strings.Repeat("!", 53),
		"bcrypt all dollars":    "$2a$" + strings.Repeat("$", 56),
		"argon2id only prefix":  "$argon2id$",
		"argon2id empty params": "$argon2id$v=19$$" + salt + "$" + key,
	} {
		ok, rehash, err := h.Verify(ctx, enc, pw)
		if ok || rehash || err == nil {
			t.Errorf("%s: Verify(%q) = %v, %v, %v; want an error and no match", name, enc, ok, rehash, err)
		}
	}
	if ok, _, err := h.Verify(ctx, good, pw); !ok || err != nil {
		t.Fatalf("control: Verify(good) = %v, %v", ok, err)
	}
}

// flipLowBits returns a base64 character that differs from c only in its two
// lowest bit, which a 16-byte value's last character leaves unused.
func flipLowBits(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.IndexByte(alphabet, c)
	return alphabet[i^1]
}

// blockingIDKey replaces argon2 with a stand-in that holds the worker until
// release is closed and counts how many computations run at once.
type blockingIDKey struct {
	started chan struct{}
	release chan struct{}
	running atomic.Int32
	peak    atomic.Int32
	hold    time.Duration
}

func (b *blockingIDKey) idKey(_, _ []byte, _, _ uint32, _ uint8, keyLen uint32) []byte {
	n := b.running.Add(1)
	for {
		p := b.peak.Load()
		if n <= p || b.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if b.started != nil {
		b.started <- struct{}{}
	}
	if b.release != nil {
		<-b.release
	}
	time.Sleep(b.hold)
	b.running.Add(-1)
	return make([]byte, keyLen)
}

// waitFor polls cond for up to 5 s: scheduling on a loaded 2-core machine is
// slow but not that slow.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestHasherPoolBusy(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 1, 1)
	fake := &blockingIDKey{started: make(chan struct{}, 2), release: make(chan struct{})}
	h.idKey = fake.idKey

	errs := make(chan error, 2)
	go func() { _, err := h.Hash(ctx, "first caller pw"); errs <- err }()
	<-fake.started // the only worker is now busy
	go func() { _, _, err := h.Verify(ctx, h.dummy, "second caller"); errs <- err }()
	waitFor(t, "second caller to queue", func() bool { return len(h.waiting) == 1 })

	third := make(chan [2]error, 1)
	start := time.Now()
	go func() {
		_, herr := h.Hash(ctx, "third caller pw")
		_, _, verr := h.Verify(ctx, h.dummy, "third caller")
		_ = h.VerifyDummy(ctx, "third caller") // must return, not block
		third <- [2]error{herr, verr}
	}()
	select {
	case errs3 := <-third:
		if !errors.Is(errs3[0], ErrBusy) || !errors.Is(errs3[1], ErrBusy) {
			t.Fatalf("third caller: Hash, Verify errors = %v, want ErrBusy", errs3)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("ErrBusy took %v, want it immediately", d)
		}
	case <-time.After(5 * time.Second):
		close(fake.release)
		t.Fatal("third caller waited instead of failing with ErrBusy")
	}

	close(fake.release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("queued caller: %v", err)
		}
	}
	// Both bounds are free again.
	if _, err := h.Hash(ctx, "after the flood"); err != nil {
		t.Fatalf("Hash after release: %v", err)
	}
}

func TestHasherPoolContextCancel(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 4)
	fake := &blockingIDKey{started: make(chan struct{}, 1), release: make(chan struct{})}
	h.idKey = fake.idKey
	defer close(fake.release)

	go func() { _, _ = h.Hash(context.Background(), "holds the worker") }()
	<-fake.started

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() { _, _, err := h.Verify(ctx, h.dummy, "waits"); errs <- err }()
	waitFor(t, "caller to queue", func() bool { return len(h.waiting) == 1 })
	cancel()
	select {
	case err := <-errs:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Verify after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Verify kept waiting after its context was cancelled")
	}
	waitFor(t, "queue place to be given back", func() bool { return len(h.waiting) == 0 })

	// A context already done fails without queueing, even with a free place.
	if _, err := h.Hash(ctx, "already cancelled"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with cancelled ctx = %v, want context.Canceled", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	if _, err := h.Hash(dctx, "deadline"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash past deadline = %v, want context.DeadlineExceeded", err)
	}
}

func TestHasherPoolBoundsConcurrency(t *testing.T) {
	const workers = 2
	h := newTestHasher(t, testParams, workers, 64)
	fake := &blockingIDKey{hold: 20 * time.Millisecond}
	h.idKey = fake.idKey
	enc := encodeArgon2id(testParams, make([]byte, 16), make([]byte, 32))

	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Go(func() {
			var err error
			switch i % 3 {
			case 0:
				_, err = h.Hash(ctx, "concurrent")
			case 1:
				_, _, err = h.Verify(ctx, enc, "concurrent")
			default:
				_ = h.VerifyDummy(ctx, "concurrent")
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("caller failed: %v", err)
	}
	if p := fake.peak.Load(); p > workers {
		t.Fatalf("%d argon2 computations ran at once, want at most %d", p, workers)
	} else if p < workers {
		t.Errorf("at most %d computations ran at once; the pool should use all %d workers", p, workers)
	}
}

func TestHasherDefaultWorkers(t *testing.T) {
	h := newTestHasher(t, testParams, 0, 0)
	if cap(h.workers) < 1 || cap(h.waiting) != 64*cap(h.workers) {
		t.Fatalf("defaults: %d workers, queue %d; want >=1 and 64 per worker", cap(h.workers), cap(h.waiting))
	}
}

func TestVerifyDummyCostsLikeVerify(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 1, 0)
	ph, err := parseArgon2id(h.dummy)
	if err != nil || ph.params != testParams || len(ph.salt) != saltLen || len(ph.key) != keyLen {
		t.Fatalf("dummy hash %q does not use the hasher's parameters (%v)", h.dummy, err)
	}
	enc, err := h.Hash(ctx, "the real password")
	if err != nil {
		t.Fatal(err)
	}
	// Minimum of interleaved runs: the least disturbed sample of each, so a
	// busy neighbour process doesn't decide the result.
	verify, dummy := time.Hour, time.Hour
	for range 5 {
		start := time.Now()
		if ok, _, err := h.Verify(ctx, enc, "a wrong password"); ok || err != nil {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
		verify = min(verify, time.Since(start))
		start = time.Now()
		_ = h.VerifyDummy(ctx, "a wrong password")
		dummy = min(dummy, time.Since(start))
	}
	ratio := float64(dummy) / float64(verify)
	t.Logf("Verify %v, VerifyDummy %v, ratio %.2f", verify, dummy, ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Fatalf("VerifyDummy took %v against Verify's %v (ratio %.2f), want 0.5–2", dummy, verify, ratio)
	}
}

func TestCheckPasswordPolicy(t *testing.T) {
	long := strings.Repeat("Violin ocean thunder, tangerine sofa glacier. ", 30)
	userInputs := []string{"alice.smith@lab.org", "Alice Smith"}
	for _, tc := range []struct {
		name, pw string
		inputs   []string
		code     string // "" means accepted
	}{
		{"common+digits", "password1234", nil, "password_too_common"},
		{"keyboard row", "qwertyuiop123", nil, "password_too_common"},
		{"repeat", "aaaaaaaaaaaa", nil, "password_too_common"},
		{"digit sequence", "123456789012", nil, "password_too_common"},
		{"phrase+year", "iloveyou2024!", nil, "password_too_common"},
		{"capitalised common", "Password123456", nil, "password_too_common"},
		{"leet common", "P@ssw0rd1234", nil, "password_too_common"},
		{"doubled common", "passwordpassword", nil, "password_too_common"},
		{"email", "alice.smith@lab.org2024", userInputs, "password_too_common"},
		{"email local part", "alice.smith2024", userInputs, "password_too_common"},
		{"local part run together", "alicesmith2024", userInputs, "password_too_common"},
		{"local part other user", "jdoe.research1234", []string{"jdoe.research@lab.org"}, "password_too_common"},
		{"name", "AliceSmith2024", userInputs, "password_too_common"},
		// Without the user's data the same strings look strong: the inputs
		// are what catches them.
		{"local part, no inputs", "alice.smith2024", nil, ""},
		{"passphrase", "correct horse battery", nil, ""},
		{"passphrase 2", "tangerine sofa glacier", userInputs, ""},
		{"passphrase 3", "purple monkey dishwasher", userInputs, ""},
		{"random 12", "m3oWv7kqCIEd", nil, ""},
		{"random lowercase 12", "vxkqdcfbhttx", nil, ""},
		{"multibyte 12", "ŝĝĉĥĵŭжщфывй", nil, ""},
		{"11 chars", "m3oWv7kqCIE", nil, "password_too_short"},
		{"11 multibyte chars, 33 bytes", "日本語のパスワードで", nil, "password_too_short"},
		{"empty", "", nil, "password_too_short"},
		{"1024 bytes", long[:MaxPasswordBytes], userInputs, ""},
		{"1025 bytes", long[:MaxPasswordBytes+1], userInputs, "password_too_long"},
		{"huge", strings.Repeat("x", 1<<20), nil, "password_too_long"},
		{"invalid UTF-8", "correct horse \xff battery", nil, "password_invalid"},
		{"truncated rune", "correct horse battery \xe3\x81", nil, "password_invalid"},
		{"NUL", "correct horse\x00battery", nil, "password_invalid"},
	} {
		err := CheckPassword(tc.pw, tc.inputs...)
		var pe *PolicyError
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%s: CheckPassword(%.40q) = %v, want accepted", tc.name, tc.pw, err)
		case tc.code != "" && !errors.As(err, &pe):
			t.Errorf("%s: CheckPassword(%.40q) = %v, want *PolicyError %s", tc.name, tc.pw, err, tc.code)
		case tc.code != "" && pe.Code != tc.code:
			t.Errorf("%s: CheckPassword(%.40q) code %s, want %s", tc.name, tc.pw, pe.Code, tc.code)
		case tc.code != "" && (pe.Message == "" || pe.Error() != pe.Message):
			t.Errorf("%s: PolicyError message %q, Error() %q", tc.name, pe.Message, pe.Error())
		}
	}
}

func TestCheckPasswordLongInputIsFast(t *testing.T) {
	// zxcvbn is superlinear; unbounded, a 1024-char random password took
	// over a minute. The policy must stay cheap for any accepted length.
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#%"
	b := make([]byte, MaxPasswordBytes)
	for i := range b {
		b[i] = alphabet[(i*7919+i*i*31)%len(alphabet)]
	}
	start := time.Now()
	if err := CheckPassword(string(b)); err != nil {
		t.Fatalf("CheckPassword(1024 pseudo-random bytes) = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("CheckPassword(1024 bytes) took %v", d)
	}
	if utf8.RuneCount(b) <= maxStrengthRunes {
		t.Fatal("premise: test password should exceed the estimator cap")
	}
}

func FuzzPasswordVerify(f *testing.F) {
	h := newTestHasher(f, testParams, 1, 0)
	ctx := context.Background()
	good, err := h.Hash(ctx, "violin ocean thunder")
	if err != nil {
		f.Fatal(err)
	}
	bc, _ := bcrypt.GenerateFromPassword([]byte("violin ocean thunder"), bcrypt.MinCost)
	f.Add(good, "violin ocean thunder")
	f.Add(good, "wrong")
	f.Add(string(bc), "violin ocean thunder")
	f.Add(pycaBcryptHash, pycaBcryptPassword)
	f.Add(pycaBcryptHash, pycaBcryptPassword+strings.Repeat("x", 80))
	f.Add("", "")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$$", "x")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x")
	f.Add("$2b$04$"+strings.Repeat(".", 53), "x")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		// Keep the fuzzer productive: skip inputs that are merely slow.
		if ph, err := parseArgon2id(encoded); err == nil && uint64(ph.params.MemoryKiB)*uint64(ph.params.Iterations) > 4*19456 {
			t.Skip("expensive argon2 parameters")
		}
		if cost, err := bcrypt.Cost([]byte(encoded)); err == nil && cost > 6 {
			t.Skip("expensive bcrypt cost")
		}
		ok, rehash, err := h.Verify(ctx, encoded, password)
		if err != nil && (ok || rehash) {
			t.Fatalf("Verify returned ok=%v rehash=%v with error %v", ok, rehash, err)
		}
		if rehash && !ok {
			t.Fatal("rehash without a match")
		}
		if !ok {
			return
		}
		_, perr := parseArgon2id(encoded)
		if perr != nil && !isBcrypt(encoded) {
			t.Fatalf("matched %q, which is no valid hash", encoded)
		}
		if isBcrypt(encoded) && (len(password) > 72 || !rehash) {
			t.Fatalf("bcrypt match: password %d bytes, rehash=%v", len(password), rehash)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	p := DefaultArgon2Params()
	h := newTestHasher(b, p, 1, 0)
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(n), "ms/hash")
	b.Logf("m=%d KiB, t=%d, p=%d", p.MemoryKiB, p.Iterations, p.Parallelism)
}

// TestArgon2MemoryIsCollectedAfterEachHash: each computation's block is
// garbage once it returns; under the server's GOGC=400 the blocks of a
// stream of sign-ins must not pile up (argon2id collects after each).
func TestArgon2MemoryIsCollectedAfterEachHash(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	h := newTestHasher(t, testParams, 1, 0)
	block := uint64(testParams.MemoryKiB) << 10
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range 6 {
		if _, err := h.Hash(context.Background(), "violin ocean thunder"); err != nil {
			t.Fatal(err)
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapAlloc > before.HeapAlloc+block {
			t.Fatalf("after %d hashes the heap holds %d MiB, %d MiB more than before: the %d MiB blocks pile up",
				i+1, m.HeapAlloc>>20, (m.HeapAlloc-before.HeapAlloc)>>20, block>>20)
		}
	}
}
