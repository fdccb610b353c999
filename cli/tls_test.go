package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"labreview/db/dbtest"
)

// selfSigned writes a certificate and key for 127.0.0.1 and returns the
// file names.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "labreview test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestNativeTLSOffersOnlyModernSuites: over native HTTPS, TLS 1.2 clients
// that offer only CBC or SHA-1 suites, and TLS 1.1 clients, are refused;
// AEAD suites and TLS 1.3 work.
func TestNativeTLSOffersOnlyModernSuites(t *testing.T) {
	cert, key := selfSigned(t)
	in := start(t, map[string]string{"LABREVIEW_SERVER_TLS_CERT_FILE": cert, "LABREVIEW_SERVER_TLS_KEY_FILE": key})
	addr := strings.TrimPrefix(strings.TrimPrefix(in.base, "https://"), "http://")
	dial := func(cfg *tls.Config) error {
		cfg.InsecureSkipVerify = true //nolint:gosec // a test certificate
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
		if err == nil {
			_ = conn.Close()
		}
		return err
	}
	for name, cfg := range map[string]*tls.Config{
		"TLS 1.2, CBC with SHA-1 only": {MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}},
		"TLS 1.2, CBC with SHA-256 only": {MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}},
		"TLS 1.1": {MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11},
	} {
		if err := dial(cfg); err == nil {
			t.Errorf("%s: handshake succeeded", name)
		}
	}
	for name, cfg := range map[string]*tls.Config{
		"TLS 1.2, AES-GCM": {MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
		"TLS 1.2, ChaCha20-Poly1305": {MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
		"TLS 1.3": {MinVersion: tls.VersionTLS13},
	} {
		if err := dial(cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// tlsClient trusts nothing and records the certificate the server shows.
func tlsState(t *testing.T, addr, serverName string) tls.ConnectionState {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: serverName, InsecureSkipVerify: true}) //nolint:gosec // the test compares fingerprints itself
	if err != nil {
		t.Fatalf("TLS handshake with %s (SNI %q): %v", addr, serverName, err)
	}
	defer conn.Close()
	return conn.ConnectionState()
}

// logLine returns the first JSON log line whose msg starts with prefix.
func (in *instance) logLine(t *testing.T, prefix string) map[string]any {
	t.Helper()
	// A line may come a moment after the one a test waited for (the
	// plain-HTTP warning follows "listening"): wait for it as waitLog does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, line := range strings.Split(in.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil {
				if msg, _ := m["msg"].(string); strings.HasPrefix(msg, prefix) {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line starts with %q:\n%s", prefix, in.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (in *instance) addr() string {
	return strings.TrimPrefix(strings.TrimPrefix(in.base, "https://"), "http://")
}

// insecureClient speaks HTTPS to a self-signed test server, sending Host.
func insecureClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // test
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestSelfSignedTLS: server.tls.mode: self-signed makes a certificate in
// data_dir (key 0600) naming localhost and the machine, logs its SHA-256
// fingerprint (the one the handshake shows), keeps it across restarts, and
// sign-in over it from another host name is not refused.
func TestSelfSignedTLS(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"LABREVIEW_SERVER_TLS_MODE": "self-signed", "LABREVIEW_DATA_DIR": data}
	in := start(t, env)
	line := in.logLine(t, "HTTPS with a new self-signed certificate")
	fp, _ := line["sha256_fingerprint"].(string)
	if len(fp) != 95 || strings.ToUpper(fp) != fp {
		t.Fatalf("fingerprint %q is not 32 upper-case hex pairs", fp)
	}
	if got := in.logLine(t, "listening")["url"]; !strings.HasPrefix(got.(string), "https://127.0.0.1:") {
		t.Fatalf("listening url %v, want https://127.0.0.1:…", got)
	}
	key, err := os.Stat(filepath.Join(data, "tls-self-signed.key"))
	if err != nil || key.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, key)
	}
	state := tlsState(t, in.addr(), "labserver.test")
	leaf := state.PeerCertificates[0]
	if got := fingerprintSHA256(leaf.Raw); got != fp {
		t.Fatalf("handshake shows %s, log says %s", got, fp)
	}
	host, _ := os.Hostname()
	for _, name := range []string{"localhost", strings.ToLower(host)} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("certificate does not name %s: %v (names %v)", name, err, leaf.DNSNames)
		}
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("certificate does not name 127.0.0.1: %v", err)
	}
	if leaf.NotAfter.Sub(leaf.NotBefore) > 826*24*time.Hour {
		t.Errorf("valid %s: longer than the 825 days Apple's platforms accept", leaf.NotAfter.Sub(leaf.NotBefore))
	}

	// A browser on a laptop (any Host) may sign in over HTTPS: the answer is
	// about the credentials, not the transport.
	req, _ := http.NewRequest(http.MethodPost, "https://"+in.addr()+"/api/auth/login",
		strings.NewReader("username=nobody%40lab.test&password=wrong-password-1"))
	req.Host = "labserver.test:8080"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := insecureClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("sign-in over self-signed HTTPS: %d %s (HSTS %q)", resp.StatusCode, body, resp.Header.Get("Strict-Transport-Security"))
	}

	// A restart keeps the certificate, so people accept it once.
	in.stop()
	<-in.done
	in.done <- nil
	again := start(t, env)
	kept := again.logLine(t, "HTTPS with the kept self-signed certificate")
	if kept["sha256_fingerprint"] != fp {
		t.Fatalf("after a restart the fingerprint is %v, was %s", kept["sha256_fingerprint"], fp)
	}
	if got := fingerprintSHA256(tlsState(t, again.addr(), "localhost").PeerCertificates[0].Raw); got != fp {
		t.Fatalf("after a restart the handshake shows %s, want %s", got, fp)
	}
}

// TestSelfSignedCertificateRenewal: a kept certificate that expires within
// 30 days, or does not name a host the configuration needs, is replaced.
func TestSelfSignedCertificateRenewal(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	_, first, err := selfSignedCertificate(dir, []string{"localhost", "lab"}, nil, now.Add(-800*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := selfSignedCertificate(dir, []string{"localhost", "lab"}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if second.fingerprint == first.fingerprint || !strings.Contains(second.reason, "expires") {
		t.Fatalf("an expiring certificate was kept: %+v", second)
	}
	_, third, err := selfSignedCertificate(dir, []string{"localhost", "lab", "lab.example.org"}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if third.fingerprint == second.fingerprint || !strings.Contains(third.reason, "lab.example.org") {
		t.Fatalf("a certificate lacking a name was kept: %+v", third)
	}
	_, fourth, err := selfSignedCertificate(dir, []string{"localhost", "lab"}, nil, now)
	if err != nil || fourth.fingerprint != third.fingerprint {
		t.Fatalf("a certificate naming more than needed was replaced: %+v %v", fourth, err)
	}
}

// TestPlainHTTPSignInFromAnotherHost: over plain HTTP, sign-in to a host
// other than localhost is refused with the reason and the fix, and the log
// says the same; at start, a server on every interface warns, and prints
// the localhost link (the only one that works without HTTPS).
func TestPlainHTTPSignInFromAnotherHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	// Every interface, as `make run` does; the test only sends to loopback.
	in := start(t, map[string]string{"LABREVIEW_SERVER_ADDR": fmt.Sprintf(":%d", port)})
	if got := in.logLine(t, "listening")["url"]; got != fmt.Sprintf("http://localhost:%d/", port) {
		t.Fatalf("printed url %v, want the localhost one", got)
	}
	warn := in.logLine(t, "plain HTTP: sign-in works only in a browser on this machine")
	if msg := warn["msg"].(string); !strings.Contains(msg, "server.tls.mode: self-signed") {
		t.Fatalf("start-up warning lacks the fix: %s", msg)
	}
	for _, path := range []string{"/api/auth/login", "/api/auth/refresh"} {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d%s", port, path),
			strings.NewReader("username=a%40lab.test&password=whatever-long"))
		req.Host = fmt.Sprintf("labserver.test:%d", port)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error, Message string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || e.Error != "https_required" ||
			!strings.Contains(e.Message, "server.tls.mode: self-signed") || !strings.Contains(e.Message, "localhost") {
			t.Fatalf("%s from another host: %d %+v", path, resp.StatusCode, e)
		}
	}
	in.waitLog(t, "sign-in refused over plain HTTP to a host other than localhost")
	if !strings.Contains(in.logs.String(), `"host":"labserver.test:`) {
		t.Fatalf("the refusal's log line does not name the host:\n%s", in.logs)
	}
}

// TestListeningURLNamesTheHost: with HTTPS (or insecure cookies allowed) a
// server on every interface prints its host name, which people on other
// machines use; on the default HTTPS port without the port.
func TestListeningURLNamesTheHost(t *testing.T) {
	all := &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}
	cfg := &Config{}
	for _, tc := range []struct {
		tls      bool
		insecure bool
		name     string
		addr     net.Addr
		want     string
	}{
		{false, false, "lab.example.org", all, "http://localhost:8080/"},
		{false, true, "lab.example.org", all, "http://lab.example.org:8080/"},
		{true, false, "lab.example.org", all, "https://lab.example.org:8080/"},
		{true, false, "", all, "https://localhost:8080/"},
		{true, false, "lab.example.org", &net.TCPAddr{IP: net.IPv4zero, Port: 443}, "https://lab.example.org/"},
		{true, false, "lab.example.org", &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8443}, "https://10.1.2.3:8443/"},
	} {
		cfg.Auth.AllowInsecureCookies = tc.insecure
		if got := openURL(cfg, tc.addr, tc.tls, tc.name, false); got != tc.want {
			t.Errorf("openURL(%v, tls %v, insecure %v, %q) = %s, want %s", tc.addr, tc.tls, tc.insecure, tc.name, got, tc.want)
		}
	}
	if got := openURL(cfg, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 443}, true, "review.lab.example.org", true); got != "https://review.lab.example.org/" {
		t.Errorf("ACME: %s", got)
	}
	cfg.Server.PublicURL = "https://review.lab.example.org"
	if got := openURL(cfg, all, true, "lab", false); got != "https://review.lab.example.org/" {
		t.Errorf("with public_url: %s", got)
	}
}

// TestACMEWiring: server.tls.mode: acme hands the configured domains,
// directory and email to autocert, answers HTTP-01 challenges from its
// cache on http_addr, redirects other plain-HTTP requests to HTTPS, and
// serves the certificate autocert holds. No CA is reached: the directory
// is a closed local port, and the certificate is put into autocert's cache
// as autocert itself would keep it.
func TestACMEWiring(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cache := filepath.Join(data, "acme")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	// A certificate for the first domain, in autocert's cache format (key,
	// then chain), valid 90 days so that no renewal starts.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "review.lab.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour), DNSNames: []string{"review.lab.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	entry := append(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(filepath.Join(cache, "review.lab.test"), entry, 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "tok-3xAmPle_Challenge"
	if err := os.WriteFile(filepath.Join(cache, token+"+http-01"), []byte(token+".thumbprint"), 0o600); err != nil {
		t.Fatal(err)
	}
	directory := dbtest.FreeTCPAddr(t)
	in := start(t, map[string]string{
		"LABREVIEW_DATA_DIR":                      data,
		"LABREVIEW_SERVER_TLS_MODE":               "acme",
		"LABREVIEW_SERVER_TLS_ACME_DOMAINS":       "review.lab.test, second.lab.test",
		"LABREVIEW_SERVER_TLS_ACME_EMAIL":         "ops@lab.test",
		"LABREVIEW_SERVER_TLS_ACME_DIRECTORY_URL": "http://" + directory + "/directory",
		"LABREVIEW_SERVER_TLS_ACME_HTTP_ADDR":     "127.0.0.1:0",
	})
	challengeAddr, _ := in.logLine(t, "ACME: answering HTTP-01 challenges")["addr"].(string)
	_, port, _ := net.SplitHostPort(in.addr())

	// The challenge, answered from autocert's cache.
	req, _ := http.NewRequest(http.MethodGet, "http://"+challengeAddr+"/.well-known/acme-challenge/"+token, nil)
	req.Host = "review.lab.test"
	resp, err := insecureClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != token+".thumbprint" {
		t.Fatalf("HTTP-01 challenge: %d %q", resp.StatusCode, body)
	}
	// Everything else on plain HTTP goes to HTTPS, at the domain and port.
	req, _ = http.NewRequest(http.MethodGet, "http://"+challengeAddr+"/runs?project=p1", nil)
	req.Host = "review.lab.test"
	resp, err = insecureClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if want := "https://review.lab.test:" + port + "/runs?project=p1"; resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Fatalf("redirect: %d %q, want 301 %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// The HTTPS port serves autocert's certificate for the domain.
	in.waitLog(t, "ACME: certificate ready")
	state := tlsState(t, in.addr(), "review.lab.test")
	if !bytes.Equal(state.PeerCertificates[0].Raw, der) {
		t.Fatalf("HTTPS shows %s, not the certificate autocert holds", state.PeerCertificates[0].Subject)
	}
	if got := in.logLine(t, "listening")["url"]; got != "https://review.lab.test:"+port+"/" {
		t.Fatalf("listening url %v", got)
	}
	// The second domain has no certificate; autocert asked the configured
	// directory (nothing listens there) and the log says what to check.
	in.waitLog(t, "ACME: no certificate yet")
	if line := in.logLine(t, "ACME: no certificate yet"); !strings.Contains(fmt.Sprint(line["err"]), directory) {
		t.Fatalf("the failed request did not go to the configured directory %s: %v", directory, line["err"])
	}
	// A name outside acme.domains gets no certificate at all.
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", in.addr(),
		&tls.Config{ServerName: "elsewhere.test", InsecureSkipVerify: true}) //nolint:gosec // test
	if err == nil {
		_ = conn.Close()
		t.Fatal("a handshake for a name outside server.tls.acme.domains succeeded")
	}
}
