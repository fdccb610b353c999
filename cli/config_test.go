package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func defaultConfig(t *testing.T) *Config {
	t.Helper()
	t.Chdir(t.TempDir()) // no ./config.yaml
	cfg, file, err := loadConfig("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/etc/labreview/config.yaml"); err != nil && file != "" {
		t.Fatalf("loaded %s although no file exists", file)
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	cfg := defaultConfig(t)
	if err := cfg.validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	want := Config{
		Server: ServerConfig{Addr: ":8080", TrustedProxies: []string{}, MaxBodyBytes: 1 << 20, SeriesBodyBufferBytes: 64 << 20,
			TLS:               TLSConfig{Mode: TLSOff, ACME: ACMEConfig{Domains: []string{}, DirectoryURL: letsEncryptDirectory, HTTPAddr: ":80"}},
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute,
			IdleTimeout: 2 * time.Minute, ShutdownTimeout: 20 * time.Second},
		MongoDB: MongoDBConfig{Database: "labreview", ConnectTimeout: 5 * time.Second, ServerSelectionTimeout: 5 * time.Second},
		DataDir: "./data",
		SQLite:  SQLiteConfig{WALMaxBytes: 64 << 20},
		Log:     LogConfig{Level: "info", Format: "text"},
		Auth: AuthConfig{AccessTokenTTL: 5 * time.Minute, RefreshTokenTTL: time.Hour, SessionMaxAge: 168 * time.Hour,
			RefreshReuseGrace: 10 * time.Second, RefreshPerMinute: 30, JWTAlgorithm: "EdDSA", Audience: "labreview",
			Argon2:        Argon2Config{MemoryKiB: 47104, Iterations: 2, Parallelism: 1},
			LoginThrottle: ThrottleConfig{Window: 15 * time.Minute, MaxPerAccount: 10, MaxPerIP: 100}, MaxTokensPerUser: 100},
		Audit: AuditConfig{Retention: 400 * 24 * time.Hour},
		Runs: RunsConfig{StaleAfter: 5 * time.Minute, SeriesReadMaxPoints: 100_000, SeriesReadPointsInFlight: 400_000,
			MaxSeriesPerRun: 1000, CommentHistoryVersions: 20, CommentHistoryBytes: 64 << 10, QueriesPerPrincipal: 2},
		Files: FilesConfig{MaxFileBytes: 100 << 20, MaxProjectBytes: 20 << 30, MaxFilesPerRun: 10000},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", *cfg, want)
	}
}

// TestRepoConfigDocumentsEveryKey: config.yaml names every key, with a
// comment, and its values are exactly the built-in defaults.
func TestRepoConfigDocumentsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for key := range defaults {
		leaf := key[strings.LastIndex(key, ".")+1:]
		at := -1
		for i, line := range lines {
			if strings.HasPrefix(strings.TrimSpace(line), leaf+":") {
				at = i
				break
			}
		}
		if at < 0 {
			t.Errorf("config.yaml does not name %s", key)
			continue
		}
		// Walking up over the keys of the same block must reach a comment
		// before a blank line: grouped keys share one comment.
		commented := false
		for i := at - 1; i >= 0; i-- {
			line := strings.TrimSpace(lines[i])
			if strings.HasPrefix(line, "#") {
				commented = true
				break
			}
			if line == "" {
				break
			}
		}
		if !commented {
			t.Errorf("config.yaml has no comment for %s", key)
		}
	}
	fromFile, _, err := loadConfig("../config.yaml", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if def := defaultConfig(t); !reflect.DeepEqual(fromFile, def) {
		t.Fatalf("config.yaml differs from the built-in defaults:\nfile     %+v\ndefaults %+v", *fromFile, *def)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	file := writeFile(t, "server:\n  addr: \":9000\"\n  read_timeout: 10s\nmongodb:\n  database: fromfile\n")
	env := envMap(map[string]string{
		"LABREVIEW_SERVER_ADDR":                 "127.0.0.1:9999",                 // beats the file
		"LABREVIEW_MONGODB_DATABASE":            "fromenv",                        // nested, beats the file
		"LABREVIEW_SERVER_TLS_CERT_FILE":        "/etc/ssl/lab.pem",               // three levels deep
		"LABREVIEW_SERVER_READ_TIMEOUT":         "45s",                            // duration
		"LABREVIEW_SERVER_TRUSTED_PROXIES":      "10.0.0.1, 10.0.0.0/8,,fd00::/8", // list
		"LABREVIEW_SERVER_MAX_BODY_BYTES":       "2048",                           // integer
		"LABREVIEW_DATA_DIR":                    "/var/lib/labreview",             // top level
		"LABREVIEW_MONGODB_URI":                 "mongodb://a.example.org,b.example.org/?replicaSet=rs0",
		"LABREVIEW_LOG_LEVEL":                   "",                                       // empty = unset
		"LABREVIEW_AUTH_ACCESS_TOKEN_TTL":       "90s",                                    // the example
		"LABREVIEW_AUTH_JWT_SECRET":             "only-set-by-the-environment-0123456789", // a secret no file sets
		"LABREVIEW_AUTH_ARGON2_MEMORY_KIB":      "65536",                                  // three levels, uint32
		"LABREVIEW_AUTH_ALLOW_INSECURE_COOKIES": "true",                                   // bool
	})
	cfg, _, err := loadConfig(file, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]any{
		"server.addr":                 {cfg.Server.Addr, "127.0.0.1:9999"},
		"mongodb.database":            {cfg.MongoDB.Database, "fromenv"},
		"server.tls.cert_file":        {cfg.Server.TLS.CertFile, "/etc/ssl/lab.pem"},
		"server.read_timeout":         {cfg.Server.ReadTimeout, 45 * time.Second},
		"server.trusted_proxies":      {strings.Join(cfg.Server.TrustedProxies, "|"), "10.0.0.1|10.0.0.0/8|fd00::/8"},
		"server.max_body_bytes":       {cfg.Server.MaxBodyBytes, int64(2048)},
		"data_dir":                    {cfg.DataDir, "/var/lib/labreview"},
		"mongodb.uri":                 {cfg.MongoDB.URI, "mongodb://a.example.org,b.example.org/?replicaSet=rs0"},
		"log.level":                   {cfg.Log.Level, "info"},
		"auth.access_token_ttl":       {cfg.Auth.AccessTokenTTL, 90 * time.Second},
		"auth.jwt_secret":             {cfg.Auth.JWTSecret, "only-set-by-the-environment-0123456789"},
		"auth.argon2.memory_kib":      {cfg.Auth.Argon2.MemoryKiB, uint32(65536)},
		"auth.allow_insecure_cookies": {cfg.Auth.AllowInsecureCookies, true},
	}
	for key, c := range checks {
		if !reflect.DeepEqual(c[0], c[1]) {
			t.Errorf("%s = %#v, want %#v", key, c[0], c[1])
		}
	}
}

func TestConfigFileErrors(t *testing.T) {
	cases := map[string]string{
		"unknown key":     "server:\n  adr: \":80\"\n",
		"unknown section": "sever:\n  addr: \":80\"\n",
		"broken YAML":     "server: [\n",
		"wrong type":      "server:\n  max_body_bytes: lots\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := loadConfig(writeFile(t, content), envMap(nil))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
	if _, _, err := loadConfig(filepath.Join(t.TempDir(), "missing.yaml"), envMap(nil)); err == nil {
		t.Fatal("a missing --config file was accepted")
	}
}

func TestValidation(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string // the key the message must name
	}{
		{map[string]string{"LABREVIEW_SERVER_ADDR": "8080"}, "server.addr"},
		{map[string]string{"LABREVIEW_SERVER_ADDR": ":99999"}, "server.addr"},
		{map[string]string{"LABREVIEW_SERVER_PUBLIC_URL": "labreview.example.org"}, "server.public_url"},
		{map[string]string{"LABREVIEW_SERVER_PUBLIC_URL": "https://example.org/labreview"}, "server.public_url"},
		{map[string]string{"LABREVIEW_SERVER_TRUSTED_PROXIES": "10.0.0.1,proxy.local"}, "server.trusted_proxies"},
		{map[string]string{"LABREVIEW_SERVER_TLS_CERT_FILE": "/x.pem"}, "server.tls"},
		{map[string]string{"LABREVIEW_SERVER_TLS_CERT_FILE": "/no/x.pem", "LABREVIEW_SERVER_TLS_KEY_FILE": "/no/x.key"}, "server.tls"},
		{map[string]string{"LABREVIEW_SERVER_TLS_MODE": "on"}, "server.tls.mode"},
		{map[string]string{"LABREVIEW_SERVER_TLS_MODE": "self-signed", "LABREVIEW_SERVER_TLS_CERT_FILE": "/x.pem"}, "server.tls.cert_file"},
		{map[string]string{"LABREVIEW_SERVER_TLS_MODE": "files"}, "server.tls"},
		{map[string]string{"LABREVIEW_SERVER_TLS_MODE": "acme"}, "server.tls.acme.domains"},
		{map[string]string{"LABREVIEW_SERVER_TLS_MODE": "acme", "LABREVIEW_SERVER_TLS_ACME_DOMAINS": "10.0.0.5"}, "server.tls.acme.domains"},
		{map[string]string{"LABREVIEW_SERVER_TLS_MODE": "acme", "LABREVIEW_SERVER_TLS_ACME_DOMAINS": "*.lab.example.org"}, "server.tls.acme.domains"},
		{map[string]string{"LABREVIEW_SERVER_TLS_MODE": "acme", "LABREVIEW_SERVER_TLS_ACME_DOMAINS": "labserver"}, "server.tls.acme.domains"},
		{map[string]string{"LABREVIEW_SERVER_TLS_MODE": "acme", "LABREVIEW_SERVER_TLS_ACME_DOMAINS": "lab.example.org",
			"LABREVIEW_SERVER_TLS_ACME_EMAIL": "ops"}, "server.tls.acme.email"},
		{map[string]string{"LABREVIEW_SERVER_TLS_MODE": "acme", "LABREVIEW_SERVER_TLS_ACME_DOMAINS": "lab.example.org",
			"LABREVIEW_SERVER_TLS_ACME_DIRECTORY_URL": "letsencrypt"}, "server.tls.acme.directory_url"},
		{map[string]string{"LABREVIEW_SERVER_TLS_MODE": "acme", "LABREVIEW_SERVER_TLS_ACME_DOMAINS": "lab.example.org",
			"LABREVIEW_SERVER_TLS_ACME_HTTP_ADDR": "80"}, "server.tls.acme.http_addr"},
		{map[string]string{"LABREVIEW_SERVER_MAX_BODY_BYTES": "-1"}, "server.max_body_bytes"},
		{map[string]string{"LABREVIEW_SERVER_SHUTDOWN_TIMEOUT": "-5s"}, "server.shutdown_timeout"},
		{map[string]string{"LABREVIEW_MONGODB_URI": "mysql://db"}, "mongodb.uri"},
		{map[string]string{"LABREVIEW_MONGODB_URI": "mongodb://user:hunter2@db:notaport"}, "mongodb.uri"},
		{map[string]string{"LABREVIEW_MONGODB_URI": "mongodb+srv://cluster.example.net:27017"}, "mongodb.uri"},
		{map[string]string{"LABREVIEW_MONGODB_DATABASE": "lab.review"}, "mongodb.database"},
		{map[string]string{"LABREVIEW_AUDIT_RETENTION": "1h"}, "audit.retention"},
		{map[string]string{"LABREVIEW_FILES_MAX_FILE_BYTES": "0"}, "files.max_file_bytes"},
		{map[string]string{"LABREVIEW_FILES_MAX_PROJECT_BYTES": "-1"}, "files.max_project_bytes"},
		{map[string]string{"LABREVIEW_FILES_MAX_FILES_PER_RUN": "0"}, "files.max_files_per_run"},
		{map[string]string{"LABREVIEW_DATA_DIR": "  "}, "data_dir"},
		{map[string]string{"LABREVIEW_LOG_LEVEL": "verbose"}, "log.level"},
		{map[string]string{"LABREVIEW_LOG_FORMAT": "xml"}, "log.format"},
		{map[string]string{"LABREVIEW_AUTH_ACCESS_TOKEN_TTL": "2h"}, "auth.access_token_ttl"},
		{map[string]string{"LABREVIEW_AUTH_ACCESS_TOKEN_TTL": "0s"}, "auth.access_token_ttl"},
		{map[string]string{"LABREVIEW_AUTH_REFRESH_TOKEN_TTL": "200h"}, "auth.refresh_token_ttl"},
		{map[string]string{"LABREVIEW_AUTH_REFRESH_REUSE_GRACE": "5m"}, "auth.refresh_reuse_grace"},
		{map[string]string{"LABREVIEW_AUTH_JWT_ALGORITHM": "RS256"}, "auth.jwt_algorithm"},
		{map[string]string{"LABREVIEW_AUTH_JWT_ALGORITHM": "HS256", "LABREVIEW_AUTH_JWT_SECRET": "short-secret-31-bytes-long-xxxx"}, "auth.jwt_secret"},
		{map[string]string{"LABREVIEW_AUTH_JWT_SECRET": "a-secret-that-is-long-enough-for-hs256!!"}, "auth.jwt_secret"},
		{map[string]string{"LABREVIEW_AUTH_ARGON2_MEMORY_KIB": "1024"}, "auth.argon2"},
		{map[string]string{"LABREVIEW_AUTH_LOGIN_THROTTLE_MAX_PER_ACCOUNT": "0"}, "auth.login_throttle"},
		{map[string]string{"LABREVIEW_AUTH_AUDIENCE": " "}, "auth.audience"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Chdir(t.TempDir())
			cfg, _, err := loadConfig("", envMap(tc.env))
			if err == nil {
				err = cfg.validate()
			}
			if err == nil {
				t.Fatalf("%v accepted", tc.env)
			}
			if !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks the password: %q", err)
			}
		})
	}
	// A duration that does not parse fails at load time.
	if _, _, err := loadConfig(writeFile(t, ""), envMap(map[string]string{"LABREVIEW_SERVER_READ_TIMEOUT": "5 minutes"})); err == nil {
		t.Fatal("duration \"5 minutes\" accepted")
	}
	// Valid hosted URIs pass without any network access.
	for _, uri := range []string{"mongodb://db1:27017,db2:27017/?replicaSet=rs0&tls=true", "mongodb+srv://user:pw@cluster0.example.net/?retryWrites=true"} {
		t.Chdir(t.TempDir())
		cfg, _, err := loadConfig("", envMap(map[string]string{"LABREVIEW_MONGODB_URI": uri}))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.validate(); err != nil {
			t.Errorf("%s rejected: %v", uri, err)
		}
	}
}
