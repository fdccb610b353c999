package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"labreview/auth"
	"labreview/db/mongo"
	"labreview/db/sqlite"
	"labreview/runs"
	"labreview/server"
)

// Config is labreview's whole configuration. Keys are named by their
// mapstructure tags; config.yaml documents each one.
type Config struct {
	Server  ServerConfig  `mapstructure:"server"`
	MongoDB MongoDBConfig `mapstructure:"mongodb"`
	DataDir string        `mapstructure:"data_dir"`
	SQLite  SQLiteConfig  `mapstructure:"sqlite"`
	Log     LogConfig     `mapstructure:"log"`
	Auth    AuthConfig    `mapstructure:"auth"`
	Audit   AuditConfig   `mapstructure:"audit"`
	Runs    RunsConfig    `mapstructure:"runs"`
	Files   FilesConfig   `mapstructure:"files"`
	Metrics MetricsConfig `mapstructure:"metrics"`
}

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	// Addr is the listen address of /metrics, apart from the public one;
	// empty: no metrics.
	Addr string `mapstructure:"addr"`
}

// FilesConfig bounds runs' files (artifacts).
type FilesConfig struct {
	MaxFileBytes    int64 `mapstructure:"max_file_bytes"`
	MaxProjectBytes int64 `mapstructure:"max_project_bytes"`
	MaxFilesPerRun  int   `mapstructure:"max_files_per_run"`
}

// SQLiteConfig tunes the embedded database.
type SQLiteConfig struct {
	// WALMaxBytes bounds the write-ahead log: past half of it, a TRUNCATE
	// checkpoint empties it.
	WALMaxBytes int64 `mapstructure:"wal_max_bytes"`
}

// RunsConfig configures the review domain.
type RunsConfig struct {
	// StaleAfter: a running run without a heartbeat for this long is shown
	// as stale.
	StaleAfter time.Duration `mapstructure:"stale_after"`
	// SeriesReadMaxPoints caps the points of one series answer, all its
	// series together.
	SeriesReadMaxPoints int `mapstructure:"series_read_max_points"`
	// SeriesReadPointsInFlight caps the points all series reads of one
	// instance answer at once.
	SeriesReadPointsInFlight int `mapstructure:"series_read_points_in_flight"`
	// MaxSeriesPerRun caps the series of one run.
	MaxSeriesPerRun int `mapstructure:"max_series_per_run"`
	// CommentHistoryVersions and CommentHistoryBytes cap the earlier
	// texts a comment keeps.
	CommentHistoryVersions int `mapstructure:"comment_history_versions"`
	CommentHistoryBytes    int `mapstructure:"comment_history_bytes"`
	// QueriesPerPrincipal: lists with a query, a sort or an exact count
	// that one user or API token runs at once.
	QueriesPerPrincipal int `mapstructure:"queries_per_principal"`
}

// AuditConfig configures the audit log.
type AuditConfig struct {
	// Retention is how long events are kept (0: forever).
	Retention time.Duration `mapstructure:"retention"`
}

// AuthConfig configures sign-in, tokens and sessions.
type AuthConfig struct {
	AccessTokenTTL       time.Duration  `mapstructure:"access_token_ttl"`
	RefreshTokenTTL      time.Duration  `mapstructure:"refresh_token_ttl"`
	SessionMaxAge        time.Duration  `mapstructure:"session_max_age"`
	RefreshReuseGrace    time.Duration  `mapstructure:"refresh_reuse_grace"`
	RefreshPerMinute     int            `mapstructure:"refresh_per_minute"`
	JWTAlgorithm         string         `mapstructure:"jwt_algorithm"`
	JWTSecret            string         `mapstructure:"jwt_secret"`
	Issuer               string         `mapstructure:"issuer"`
	Audience             string         `mapstructure:"audience"`
	AllowInsecureCookies bool           `mapstructure:"allow_insecure_cookies"`
	Argon2               Argon2Config   `mapstructure:"argon2"`
	HashWorkers          int            `mapstructure:"hash_workers"`
	LoginThrottle        ThrottleConfig `mapstructure:"login_throttle"`
	MaxTokensPerUser     int            `mapstructure:"max_tokens_per_user"`
}

// Argon2Config are the password hashing costs.
type Argon2Config struct {
	MemoryKiB   uint32 `mapstructure:"memory_kib"`
	Iterations  uint32 `mapstructure:"iterations"`
	Parallelism uint8  `mapstructure:"parallelism"`
}

// ThrottleConfig bounds failed sign-ins.
type ThrottleConfig struct {
	Window        time.Duration `mapstructure:"window"`
	MaxPerAccount int           `mapstructure:"max_per_account"`
	MaxPerIP      int           `mapstructure:"max_per_ip"`
}

// ServerConfig configures the HTTP server.
type ServerConfig struct {
	Addr           string    `mapstructure:"addr"`
	PublicURL      string    `mapstructure:"public_url"`
	TrustedProxies []string  `mapstructure:"trusted_proxies"`
	TLS            TLSConfig `mapstructure:"tls"`
	MaxBodyBytes   int64     `mapstructure:"max_body_bytes"`
	// SeriesBodyBufferBytes bounds the memory of series batches being
	// received or waiting for an ingest slot.
	SeriesBodyBufferBytes int64         `mapstructure:"series_body_buffer_bytes"`
	ReadHeaderTimeout     time.Duration `mapstructure:"read_header_timeout"`
	ReadTimeout           time.Duration `mapstructure:"read_timeout"`
	WriteTimeout          time.Duration `mapstructure:"write_timeout"`
	IdleTimeout           time.Duration `mapstructure:"idle_timeout"`
	ShutdownTimeout       time.Duration `mapstructure:"shutdown_timeout"`
}

// TLS modes (server.tls.mode).
const (
	TLSOff        = "off"         // plain HTTP (a TLS-terminating proxy, or localhost only)
	TLSFiles      = "files"       // cert_file and key_file
	TLSSelfSigned = "self-signed" // a certificate made and kept in data_dir
	TLSACME       = "acme"        // certificates from an ACME CA (Let's Encrypt) via autocert
)

// TLSConfig chooses how native HTTPS is served. An empty mode means files
// when both files are set, else off (configurations from before the mode
// key keep working).
type TLSConfig struct {
	Mode     string     `mapstructure:"mode"`
	CertFile string     `mapstructure:"cert_file"`
	KeyFile  string     `mapstructure:"key_file"`
	ACME     ACMEConfig `mapstructure:"acme"`
}

// ACMEConfig configures certificates from an ACME CA (server.tls.mode: acme).
type ACMEConfig struct {
	// Domains are the host names to get certificates for; they must
	// resolve to this server in public DNS.
	Domains []string `mapstructure:"domains"`
	// Email is given to the CA for expiry notices (optional).
	Email string `mapstructure:"email"`
	// DirectoryURL is the CA's ACME directory (Let's Encrypt by default).
	DirectoryURL string `mapstructure:"directory_url"`
	// HTTPAddr serves HTTP-01 challenges and redirects plain HTTP to HTTPS;
	// empty relies on TLS-ALPN-01 on the HTTPS port alone (which must then
	// be 443 from the outside).
	HTTPAddr string `mapstructure:"http_addr"`
}

// Enabled reports whether native HTTPS is served.
func (t TLSConfig) Enabled() bool { return t.mode() != TLSOff }

// mode resolves the empty mode.
func (t TLSConfig) mode() string {
	if t.Mode != "" {
		return t.Mode
	}
	if t.CertFile != "" || t.KeyFile != "" {
		return TLSFiles
	}
	return TLSOff
}

// MongoDBConfig names the database.
type MongoDBConfig struct {
	URI                    string        `mapstructure:"uri"`
	Database               string        `mapstructure:"database"`
	ConnectTimeout         time.Duration `mapstructure:"connect_timeout"`
	ServerSelectionTimeout time.Duration `mapstructure:"server_selection_timeout"`
}

// LogConfig configures the process log.
type LogConfig struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// defaults are the built-in values of every key. Every key must have one:
// viper only maps environment variables onto keys it knows.
var defaults = map[string]any{
	"server.addr":                         ":8080",
	"server.public_url":                   "",
	"server.trusted_proxies":              []string{},
	"server.tls.cert_file":                "",
	"server.tls.key_file":                 "",
	"server.tls.mode":                     "",
	"server.tls.acme.domains":             []string{},
	"server.tls.acme.email":               "",
	"server.tls.acme.directory_url":       letsEncryptDirectory,
	"server.tls.acme.http_addr":           ":80",
	"server.max_body_bytes":               int64(1 << 20),
	"server.series_body_buffer_bytes":     int64(server.DefaultSeriesBodyBuffer),
	"server.read_header_timeout":          10 * time.Second,
	"server.read_timeout":                 30 * time.Second,
	"server.write_timeout":                60 * time.Second,
	"server.idle_timeout":                 120 * time.Second,
	"server.shutdown_timeout":             20 * time.Second,
	"mongodb.uri":                         "",
	"mongodb.database":                    "labreview",
	"mongodb.connect_timeout":             5 * time.Second,
	"mongodb.server_selection_timeout":    5 * time.Second,
	"data_dir":                            "./data",
	"sqlite.wal_max_bytes":                int64(sqlite.DefaultWALMaxBytes),
	"log.level":                           "info",
	"log.format":                          "text",
	"auth.access_token_ttl":               5 * time.Minute,
	"auth.refresh_token_ttl":              time.Hour,
	"auth.session_max_age":                7 * 24 * time.Hour,
	"auth.refresh_reuse_grace":            10 * time.Second,
	"auth.refresh_per_minute":             30,
	"auth.jwt_algorithm":                  auth.AlgEdDSA,
	"auth.jwt_secret":                     "",
	"auth.issuer":                         "",
	"auth.audience":                       "labreview",
	"auth.allow_insecure_cookies":         false,
	"auth.argon2.memory_kib":              auth.DefaultArgon2Params().MemoryKiB,
	"auth.argon2.iterations":              auth.DefaultArgon2Params().Iterations,
	"auth.argon2.parallelism":             auth.DefaultArgon2Params().Parallelism,
	"auth.hash_workers":                   0,
	"auth.login_throttle.window":          15 * time.Minute,
	"auth.login_throttle.max_per_account": 10,
	"auth.login_throttle.max_per_ip":      100,
	"auth.max_tokens_per_user":            auth.DefaultMaxTokensPerUser,
	"audit.retention":                     400 * 24 * time.Hour,
	"runs.stale_after":                    5 * time.Minute,
	"runs.series_read_max_points":         runs.DefaultSeriesReadMaxPoints,
	"runs.series_read_points_in_flight":   runs.DefaultSeriesReadPointsInFlight,
	"runs.max_series_per_run":             runs.DefaultMaxSeriesPerRun,
	"runs.comment_history_versions":       runs.DefaultCommentHistoryVersions,
	"runs.comment_history_bytes":          runs.DefaultCommentHistoryBytes,
	"runs.queries_per_principal":          2,
	"files.max_file_bytes":                int64(100 << 20),
	"files.max_project_bytes":             int64(20 << 30),
	"files.max_files_per_run":             10000,
	"metrics.addr":                        "",
}

// letsEncryptDirectory is Let's Encrypt's production ACME directory.
const letsEncryptDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// envPrefix starts every environment variable that overrides a key:
// server.trusted_proxies is LABREVIEW_SERVER_TRUSTED_PROXIES.
const envPrefix = "LABREVIEW_"

// configSearchPath is tried in order when --config is not given.
var configSearchPath = []string{"config.yaml", "/etc/labreview/config.yaml"}

// envName is the environment variable that overrides key.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// loadConfig reads the file given by path (which must exist), else the first
// file of configSearchPath that exists, else only the defaults; then applies
// LABREVIEW_* variables read through getenv (an empty value counts as
// unset). It returns the file used ("" for none). The result is not yet
// validated.
func loadConfig(path string, getenv func(string) string) (*Config, string, error) {
	v := viper.New()
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	file := path
	if file == "" {
		for _, candidate := range configSearchPath {
			if _, err := os.Stat(candidate); err == nil {
				file = candidate
				break
			}
		}
	}
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, file, fmt.Errorf("config file %s: %s", file, oneLine(unwrapAll(err)))
		}
	}
	for _, key := range v.AllKeys() {
		if val := getenv(envName(key)); val != "" {
			v.Set(key, val)
		}
	}
	var cfg Config
	if err := v.UnmarshalExact(&cfg); err != nil {
		return nil, file, fmt.Errorf("config: %s", oneLine(err))
	}
	cfg.normalise()
	return &cfg, file, nil
}

// normalise trims list entries that came from comma-separated variables
// and resolves an empty TLS mode.
func (c *Config) normalise() {
	c.Server.TrustedProxies = trimList(c.Server.TrustedProxies)
	c.Server.TLS.ACME.Domains = trimList(c.Server.TLS.ACME.Domains)
	for i, d := range c.Server.TLS.ACME.Domains {
		c.Server.TLS.ACME.Domains[i] = strings.ToLower(strings.TrimSuffix(d, "."))
	}
	c.Server.TLS.Mode = c.Server.TLS.mode()
}

func trimList(list []string) []string {
	out := list[:0]
	for _, p := range list {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validate returns the first problem found, as one line naming the key.
func (c *Config) validate() error {
	if err := validateAddr(c.Server.Addr); err != nil {
		return fmt.Errorf("server.addr: %w", err)
	}
	if c.Server.PublicURL != "" {
		u, err := url.Parse(c.Server.PublicURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return errors.New("server.public_url: must be an absolute http:// or https:// URL such as https://labreview.example.org")
		case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.User != nil:
			return errors.New("server.public_url: must name only scheme, host and port (labreview is served at the root of its host)")
		}
	}
	if _, err := server.ParseTrustedProxies(c.Server.TrustedProxies); err != nil {
		return fmt.Errorf("server.trusted_proxies: %w", err)
	}
	if err := c.Server.TLS.validate(); err != nil {
		return err
	}
	if c.Metrics.Addr != "" {
		if err := validateAddr(c.Metrics.Addr); err != nil {
			return fmt.Errorf("metrics.addr: %w", err)
		}
		if c.Metrics.Addr == c.Server.Addr && !strings.HasSuffix(c.Metrics.Addr, ":0") {
			return errors.New("metrics.addr: must differ from server.addr (metrics are served apart from the public listener)")
		}
	}
	if c.Server.MaxBodyBytes <= 0 {
		return errors.New("server.max_body_bytes: must be a positive number of bytes")
	}
	if c.Server.SeriesBodyBufferBytes < server.SeriesBodyLimit {
		return fmt.Errorf("server.series_body_buffer_bytes: must be at least %d (one series batch of the largest size; default %d)",
			server.SeriesBodyLimit, server.DefaultSeriesBodyBuffer)
	}
	for key, d := range map[string]time.Duration{
		"server.read_header_timeout":       c.Server.ReadHeaderTimeout,
		"server.read_timeout":              c.Server.ReadTimeout,
		"server.write_timeout":             c.Server.WriteTimeout,
		"server.idle_timeout":              c.Server.IdleTimeout,
		"server.shutdown_timeout":          c.Server.ShutdownTimeout,
		"mongodb.connect_timeout":          c.MongoDB.ConnectTimeout,
		"mongodb.server_selection_timeout": c.MongoDB.ServerSelectionTimeout,
	} {
		if d <= 0 {
			return fmt.Errorf("%s: must be a positive duration such as 30s or 5m", key)
		}
	}
	if err := validateMongoURI(c.MongoDB.URI); err != nil {
		return fmt.Errorf("mongodb.uri: %w", err)
	}
	if err := validateDatabaseName(c.MongoDB.Database); err != nil {
		return fmt.Errorf("mongodb.database: %w", err)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return errors.New("data_dir: must name a folder")
	}
	if c.SQLite.WALMaxBytes < 1<<20 {
		return errors.New("sqlite.wal_max_bytes: must be at least 1048576 (1 MiB; default 67108864, 64 MiB)")
	}
	if err := c.Auth.validate(); err != nil {
		return err
	}
	if n := c.Runs.QueriesPerPrincipal; n < 1 || n > 64 {
		return errors.New("runs.queries_per_principal: must be between 1 and 64 (default 2)")
	}
	if a := c.Runs.StaleAfter; a < 10*time.Second || a > 7*24*time.Hour {
		return errors.New("runs.stale_after: must be between 10s and 168h (default 5m)")
	}
	if n := c.Runs.SeriesReadMaxPoints; n < 1000 || n > 10_000_000 {
		return errors.New("runs.series_read_max_points: must be between 1000 and 10000000 (default 100000)")
	}
	if c.Runs.SeriesReadPointsInFlight < c.Runs.SeriesReadMaxPoints {
		return errors.New("runs.series_read_points_in_flight: must be at least runs.series_read_max_points (default 400000)")
	}
	if n := c.Runs.MaxSeriesPerRun; n < 1 || n > 100_000 {
		return errors.New("runs.max_series_per_run: must be between 1 and 100000 (default 1000)")
	}
	if n := c.Runs.CommentHistoryVersions; n < 1 || n > 1000 {
		return errors.New("runs.comment_history_versions: must be between 1 and 1000 (default 20)")
	}
	if n := c.Runs.CommentHistoryBytes; n < runs.MaxCommentBytes || n > 16<<20 {
		return fmt.Errorf("runs.comment_history_bytes: must be between %d (one comment) and 16777216 (default 65536)", runs.MaxCommentBytes)
	}
	if n := c.Files.MaxFileBytes; n < 1 {
		return errors.New("files.max_file_bytes: must be at least 1 (default 104857600, 100 MiB)")
	}
	if n := c.Files.MaxProjectBytes; n < 0 {
		return errors.New("files.max_project_bytes: must be 0 (no limit) or more (default 21474836480, 20 GiB)")
	}
	if n := c.Files.MaxFilesPerRun; n < 1 || n > 1_000_000 {
		return errors.New("files.max_files_per_run: must be between 1 and 1000000 (default 10000)")
	}
	if r := c.Audit.Retention; r != 0 && r < 24*time.Hour {
		return errors.New("audit.retention: must be at least 24h (or 0 to keep events forever; default 9600h, 400 days)")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("log.format: %q is not one of text, json", c.Log.Format)
	}
	return nil
}

func (t *TLSConfig) validate() error {
	files := t.CertFile != "" || t.KeyFile != ""
	switch t.mode() {
	case TLSOff, TLSSelfSigned, TLSACME:
		if files {
			return fmt.Errorf("server.tls.cert_file, key_file: used only with server.tls.mode: files (the mode is %s)", t.mode())
		}
	case TLSFiles:
		if t.CertFile == "" || t.KeyFile == "" {
			return errors.New("server.tls: set both cert_file and key_file, or neither")
		}
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			return fmt.Errorf("server.tls: cannot load the certificate and key: %s", oneLine(err))
		}
	default:
		return fmt.Errorf("server.tls.mode: %q is not one of off, files, self-signed, acme", t.Mode)
	}
	if t.mode() != TLSACME {
		return nil
	}
	a := t.ACME
	if len(a.Domains) == 0 {
		return errors.New("server.tls.acme.domains: name at least one host name that resolves to this server in public DNS")
	}
	for _, d := range a.Domains {
		if err := validateACMEDomain(d); err != nil {
			return fmt.Errorf("server.tls.acme.domains: %w", err)
		}
	}
	if a.Email != "" && (!strings.Contains(a.Email, "@") || strings.ContainsAny(a.Email, " \t\r\n")) {
		return fmt.Errorf("server.tls.acme.email: %q is not an email address", a.Email)
	}
	u, err := url.Parse(a.DirectoryURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("server.tls.acme.directory_url: must be the https:// URL of an ACME directory")
	}
	if a.HTTPAddr != "" {
		if err := validateAddr(a.HTTPAddr); err != nil {
			return fmt.Errorf("server.tls.acme.http_addr: %w", err)
		}
	}
	return nil
}

// validateACMEDomain accepts a DNS name an ACME CA can validate over HTTP-01
// or TLS-ALPN-01: no IP address, no wildcard, at least two labels.
func validateACMEDomain(d string) error {
	if net.ParseIP(d) != nil {
		return fmt.Errorf("%q is an IP address; ACME certificates here are for DNS names", d)
	}
	if strings.Contains(d, "*") {
		return fmt.Errorf("%q: wildcard names need a DNS-01 challenge, which labreview does not do", d)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 || len(d) > 253 {
		return fmt.Errorf("%q is not a public DNS name such as labreview.example.org", d)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return fmt.Errorf("%q is not a valid DNS name", d)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%q is not a valid DNS name (write internationalised names in their xn-- form)", d)
			}
		}
	}
	return nil
}

func (a *AuthConfig) validate() error {
	for key, d := range map[string]time.Duration{
		"auth.access_token_ttl":      a.AccessTokenTTL,
		"auth.refresh_token_ttl":     a.RefreshTokenTTL,
		"auth.session_max_age":       a.SessionMaxAge,
		"auth.login_throttle.window": a.LoginThrottle.Window,
	} {
		if d <= 0 {
			return fmt.Errorf("%s: must be a positive duration such as 30s or 5m", key)
		}
	}
	switch {
	case a.AccessTokenTTL > time.Hour:
		return errors.New("auth.access_token_ttl: access tokens must be short-lived (at most 1h; default 5m)")
	case a.RefreshTokenTTL > a.SessionMaxAge:
		return errors.New("auth.refresh_token_ttl: must not exceed auth.session_max_age")
	case a.RefreshReuseGrace < 0 || a.RefreshReuseGrace > time.Minute:
		return errors.New("auth.refresh_reuse_grace: must be between 0s and 1m (default 10s)")
	case a.RefreshPerMinute < 0:
		return errors.New("auth.refresh_per_minute: must be 0 (no limit) or more")
	case a.HashWorkers < 0:
		return errors.New("auth.hash_workers: must be 0 (automatic) or more")
	case a.LoginThrottle.MaxPerAccount < 1 || a.LoginThrottle.MaxPerIP < 1:
		return errors.New("auth.login_throttle: max_per_account and max_per_ip must be at least 1")
	case a.MaxTokensPerUser < 1 || a.MaxTokensPerUser > 10_000:
		return errors.New("auth.max_tokens_per_user: must be between 1 and 10000 (default 100)")
	case strings.TrimSpace(a.Audience) == "":
		return errors.New("auth.audience: must not be empty")
	}
	switch a.JWTAlgorithm {
	case auth.AlgEdDSA:
		if a.JWTSecret != "" {
			return errors.New("auth.jwt_secret: only used with auth.jwt_algorithm: HS256; remove it or switch the algorithm")
		}
	case auth.AlgHS256:
		if len(a.JWTSecret) < 32 {
			return errors.New("auth.jwt_secret: HS256 needs a secret of at least 32 bytes (e.g. `openssl rand -base64 48`)")
		}
	default:
		return fmt.Errorf("auth.jwt_algorithm: %q is not EdDSA or HS256", a.JWTAlgorithm)
	}
	p := auth.Argon2Params{MemoryKiB: a.Argon2.MemoryKiB, Iterations: a.Argon2.Iterations, Parallelism: a.Argon2.Parallelism}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("auth.argon2: %s", oneLine(err))
	}
	return nil
}

func validateAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (for example :8080 or 127.0.0.1:8080)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port number", addr)
	}
	return nil
}

// validateMongoURI checks the URI without network access.
func validateMongoURI(uri string) error {
	if uri == "" {
		return nil
	}
	return mongo.ValidateURI(uri)
}

func validateDatabaseName(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	if len(name) > 63 {
		return errors.New("must be at most 63 bytes")
	}
	if strings.ContainsAny(name, "/\\. \"$*<>:|?\x00") {
		return fmt.Errorf("%q contains a character MongoDB does not allow in database names", name)
	}
	return nil
}

// redacted returns a copy safe to print: secrets are replaced.
func (c Config) redacted() Config {
	if c.Auth.JWTSecret != "" {
		c.Auth.JWTSecret = "[redacted]"
	}
	if c.MongoDB.URI != "" {
		c.MongoDB.URI = mongo.RedactURI(c.MongoDB.URI)
	}
	return c
}

// toYAML renders the configuration with the same key names and duration
// notation as config.yaml.
func (c Config) toYAML() ([]byte, error) {
	return yaml.Marshal(yamlNode(reflect.ValueOf(c)))
}

func yamlNode(v reflect.Value) *yaml.Node {
	if v.Type() == reflect.TypeFor[time.Duration]() {
		return &yaml.Node{Kind: yaml.ScalarNode, Value: time.Duration(v.Int()).String()}
	}
	switch v.Kind() {
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for i := range v.NumField() {
			key := v.Type().Field(i).Tag.Get("mapstructure")
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, yamlNode(v.Field(i)))
		}
		return n
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for i := range v.Len() {
			n.Content = append(n.Content, yamlNode(v.Index(i)))
		}
		return n
	default:
		n := &yaml.Node{}
		_ = n.Encode(v.Interface())
		return n
	}
}

// oneLine folds a multi-line error (mapstructure and YAML report several
// lines) into one.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// unwrapAll returns the innermost error, for wrappers that only repeat the
// file name.
func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
