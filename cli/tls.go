package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// Files of the self-signed mode in data_dir.
const (
	selfSignedCertName = "tls-self-signed.crt"
	selfSignedKeyName  = "tls-self-signed.key"
	// acmeCacheName is the folder of the ACME account key and certificates.
	acmeCacheName = "acme"
)

// selfSignedValidity is the life of a generated certificate: Apple's
// platforms refuse TLS server certificates valid for more than 825 days,
// even ones a person chose to trust.
const selfSignedValidity = 825 * 24 * time.Hour

// selfSignedRenewBefore: a kept certificate closer than this to its end is
// replaced at start.
const selfSignedRenewBefore = 30 * 24 * time.Hour

// hostNames is how people on other machines name this host: its host name
// and, when the resolver knows one, its fully qualified name.
type hostNames struct {
	short string // os.Hostname, "" when unknown or localhost
	fqdn  string // canonical name with a dot, "" when none is known
}

// preferred is the name to print in links.
func (h hostNames) preferred() string {
	if h.fqdn != "" {
		return h.fqdn
	}
	return h.short
}

// lookupHostNames asks the system for the host name and its canonical name
// (as `hostname -f` does), giving the resolver at most a second so a DNS
// outage cannot hold up the start.
func lookupHostNames(ctx context.Context) hostNames {
	h, err := os.Hostname()
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if err != nil || h == "" || h == "localhost" || net.ParseIP(h) != nil {
		return hostNames{}
	}
	out := hostNames{short: h}
	if strings.Contains(h, ".") {
		out.fqdn = h
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if cname, err := net.DefaultResolver.LookupCNAME(ctx, h); err == nil {
		cname = strings.ToLower(strings.TrimSuffix(cname, "."))
		if strings.Contains(cname, ".") && !strings.HasSuffix(cname, ".localdomain") && cname != "localhost" {
			out.fqdn = cname
		}
	}
	return out
}

// tlsSetup is how the server speaks TLS, built from server.tls.
type tlsSetup struct {
	config *tls.Config // nil: plain HTTP
	// host is the name links use for an unspecified listen address (the
	// ACME domain, else the machine's name); "" keeps the default.
	host string
	// acme is set in ACME mode, for the challenge listener and the first
	// certificate request.
	acme *autocert.Manager
}

// setupTLS prepares native HTTPS for the configured mode. In self-signed
// mode it makes (or reuses) the certificate in data_dir and logs its
// fingerprint.
func setupTLS(cfg *Config, names hostNames, logger *slog.Logger, now time.Time) (*tlsSetup, error) {
	t := cfg.Server.TLS
	switch t.mode() {
	case TLSFiles:
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("server.tls: cannot load the certificate and key: %s", oneLine(err))
		}
		c := serverTLSConfig()
		c.Certificates = []tls.Certificate{cert}
		return &tlsSetup{config: c, host: names.preferred()}, nil
	case TLSSelfSigned:
		dir, err := privateFolder(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		want := certNames(cfg, names)
		cert, info, err := selfSignedCertificate(dir, want, certIPs(cfg), now)
		if err != nil {
			return nil, err
		}
		logger.Info(info.reason+": browsers warn about it until it is trusted; before accepting, check that the SHA-256 fingerprint they show is this one",
			"cert_file", filepath.Join(dir, selfSignedCertName), "sha256_fingerprint", info.fingerprint,
			"names", strings.Join(info.names, ","), "valid_until", info.notAfter.UTC().Format(time.RFC3339))
		c := serverTLSConfig()
		c.Certificates = []tls.Certificate{cert}
		return &tlsSetup{config: c, host: names.preferred()}, nil
	case TLSACME:
		dir, err := privateFolder(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      autocert.DirCache(filepath.Join(dir, acmeCacheName)),
			HostPolicy: autocert.HostWhitelist(t.ACME.Domains...),
			Email:      t.ACME.Email,
			Client:     &acme.Client{DirectoryURL: t.ACME.DirectoryURL},
		}
		c := serverTLSConfig()
		c.GetCertificate = m.GetCertificate
		// acme-tls/1 answers TLS-ALPN-01 challenges on the HTTPS port.
		c.NextProtos = []string{"h2", "http/1.1", acme.ALPNProto}
		return &tlsSetup{config: c, host: t.ACME.Domains[0], acme: m}, nil
	}
	return &tlsSetup{}, nil
}

// privateFolder makes data_dir (0700) for files the server keeps even in
// hosted mode.
func privateFolder(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data folder unusable: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("data folder unusable: %w", err)
	}
	return abs, nil
}

// certNames are the DNS names a self-signed certificate must cover:
// localhost, the machine's names, and the hosts of server.public_url and
// server.addr when they are names.
func certNames(cfg *Config, names hostNames) []string {
	out := []string{"localhost"}
	add := func(h string) {
		h = strings.ToLower(strings.Trim(h, "[]"))
		if h != "" && net.ParseIP(h) == nil && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	add(names.short)
	add(names.fqdn)
	if u, err := url.Parse(cfg.Server.PublicURL); err == nil && cfg.Server.PublicURL != "" {
		add(u.Hostname())
	}
	if h, _, err := net.SplitHostPort(cfg.Server.Addr); err == nil {
		add(h)
	}
	return out
}

// certIPs are the addresses a new self-signed certificate also names: the
// loopback ones and this machine's interface addresses (so https://10.1.2.3:8080/
// works too). They are not required of a kept certificate: an address
// that DHCP changed does not replace the certificate and its fingerprint.
func certIPs(cfg *Config) []net.IP {
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				ips = append(ips, n.IP)
			}
		}
	}
	if u, err := url.Parse(cfg.Server.PublicURL); err == nil {
		if ip := net.ParseIP(u.Hostname()); ip != nil {
			ips = append(ips, ip)
		}
	}
	return ips
}

// certInfo describes the certificate in use, for the log.
type certInfo struct {
	reason      string
	fingerprint string
	names       []string
	notAfter    time.Time
}

// fingerprintSHA256 is the certificate's SHA-256 fingerprint as browsers
// show it: upper-case hex pairs separated by colons.
func fingerprintSHA256(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	pairs := make([]string, 0, len(sum))
	for i := 0; i < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return strings.Join(pairs, ":")
}

// selfSignedCertificate returns the certificate kept in dir when it is
// still good for 30 days and covers every name in want; otherwise it makes
// a new one (ECDSA P-256, 825 days) and keeps it: the key 0600, the
// certificate 0644, each written to a temporary file and renamed.
func selfSignedCertificate(dir string, want []string, ips []net.IP, now time.Time) (tls.Certificate, certInfo, error) {
	certPath, keyPath := filepath.Join(dir, selfSignedCertName), filepath.Join(dir, selfSignedKeyName)
	reason := "HTTPS with a new self-signed certificate"
	if cert, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		leaf := cert.Leaf
		missing := ""
		for _, n := range want {
			if !slices.Contains(leaf.DNSNames, n) {
				missing = n
				break
			}
		}
		switch {
		case missing != "":
			reason = "HTTPS with a new self-signed certificate (the kept one does not name " + missing + ")"
		case now.Add(selfSignedRenewBefore).After(leaf.NotAfter):
			reason = "HTTPS with a new self-signed certificate (the kept one expires on " + leaf.NotAfter.UTC().Format(time.DateOnly) + ")"
		default:
			return cert, certInfo{reason: "HTTPS with the kept self-signed certificate", fingerprint: fingerprintSHA256(leaf.Raw),
				names: leaf.DNSNames, notAfter: leaf.NotAfter}, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		reason = "HTTPS with a new self-signed certificate (the kept one could not be read: " + oneLine(err) + ")"
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, certInfo{}, fmt.Errorf("server.tls: self-signed certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, certInfo{}, fmt.Errorf("server.tls: self-signed certificate: %w", err)
	}
	cn := "labreview"
	if len(want) > 1 {
		cn = want[len(want)-1]
		for _, n := range want[1:] {
			if strings.Contains(n, ".") {
				cn = n
				break
			}
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"labreview (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		DNSNames:              want,
		IPAddresses:           ips,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, certInfo{}, fmt.Errorf("server.tls: self-signed certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, certInfo{}, fmt.Errorf("server.tls: self-signed certificate: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, certInfo{}, fmt.Errorf("server.tls: keep the self-signed key: %w", err)
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, certInfo{}, fmt.Errorf("server.tls: keep the self-signed certificate: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, certInfo{}, fmt.Errorf("server.tls: self-signed certificate: %w", err)
	}
	return cert, certInfo{reason: reason, fingerprint: fingerprintSHA256(der), names: want, notAfter: tmpl.NotAfter}, nil
}

// writeFileAtomic writes data to a temporary file in path's folder with
// mode, syncs it and renames it over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// acmeHTTPHandler answers HTTP-01 challenges (autocert) and sends every
// other GET or HEAD to the same path on HTTPS at the public address.
func acmeHTTPHandler(m *autocert.Manager, httpsBase string) http.Handler {
	return m.HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "Use HTTPS: "+httpsBase, http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, strings.TrimSuffix(httpsBase, "/")+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
}

// fetchFirstCertificate asks for the certificate of each ACME domain once
// the server listens (TLS-ALPN-01 challenges need it), so the log says at
// start whether issuance works rather than at the first visitor's
// handshake. autocert bounds each request (5 min) and takes no context
// from here, so a shutdown stops only the next domain's request.
func fetchFirstCertificate(ctx context.Context, m *autocert.Manager, domains []string, logger *slog.Logger) {
	for _, d := range domains {
		if ctx.Err() != nil {
			return
		}
		hello := &tls.ClientHelloInfo{
			ServerName:        d,
			CipherSuites:      []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			SupportedCurves:   []tls.CurveID{tls.CurveP256},
			SignatureSchemes:  []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
			SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
		}
		cert, err := m.GetCertificate(hello)
		if err != nil {
			logger.Warn("ACME: no certificate yet; visitors' handshakes will retry. Check that the name resolves to this server in public DNS and that the CA can reach port 80 (HTTP-01) or 443 (TLS-ALPN-01)",
				"domain", d, "err", err)
			continue
		}
		logger.Info("ACME: certificate ready", "domain", d, "valid_until", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
}
