package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"labreview/auth"
	"labreview/db"
	"labreview/db/mongo"
	"labreview/db/sqlite"
	"labreview/runs"
	"labreview/server"
	"labreview/server/metrics"
)

func newServeCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the server (the default)",
		Args:  cobra.NoArgs,
		RunE:  a.runServe,
	}
}

func (a *app) runServe(cmd *cobra.Command, _ []string) error {
	cfg, file, err := a.load()
	if err != nil {
		return err
	}
	return a.serve(cmd.Context(), cfg, file)
}

// serve runs the HTTP server until ctx ends, then shuts down gracefully:
// in-flight requests finish (up to server.shutdown_timeout), then the
// database closes.
func (a *app) serve(ctx context.Context, cfg *Config, configFile string) error {
	logger := newLogger(cfg.Log, a.Stderr)
	if configFile == "" {
		configFile = "none (built-in defaults)"
	}
	logger.Info("starting labreview", "version", a.Build.Version, "commit", a.Build.Commit, "config_file", configFile)
	if procs := atLeastTwoProcs(a.Getenv); procs != 0 {
		logger.Debug("one CPU available: running Go with GOMAXPROCS=2", "gomaxprocs", procs)
	}
	if pct := collectLessOften(a.Getenv); pct != 0 {
		logger.Debug("running Go's collector less often while the live heap is small", "gogc", pct)
		go tuneGC(ctx, 10*time.Second)
	}

	// Bind first: a taken port is reported at once, and :0 works in tests.
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	defer ln.Close()

	var names hostNames
	if needsHostNames(cfg, ln.Addr()) {
		names = lookupHostNames(ctx)
	}
	secure, err := setupTLS(cfg, names, logger, time.Now())
	if err != nil {
		return err
	}
	tlsOn := secure.config != nil

	database, err := openStore(ctx, cfg, logger.With("component", "db"), true)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := database.Close(closeCtx); err != nil {
			logger.Warn("closing the database", "err", err)
		}
		logger.Info("stopped")
	}()
	if s, ok := database.(*sqlite.Store); ok {
		logger.Info("database: embedded SQLite (no mongodb.uri configured)", "file", s.Path())
	} else {
		logger.Info("database: hosted MongoDB", "uri", mongo.RedactURI(cfg.MongoDB.URI), "database", cfg.MongoDB.Database)
	}

	var obs *metrics.Metrics
	var authOpts auth.Options
	if cfg.Metrics.Addr != "" {
		obs = metrics.New(a.Build.Version)
		if s, ok := database.(*sqlite.Store); ok {
			s.ObserveBatches(obs.WriterBatch)
			obs.WatchEmbedded(s)
		}
		database = db.Observe(database, obs)
		authOpts.OnEvent = obs.AuthEvent
		stopMetrics, err := serveMetrics(ctx, cfg, obs, logger)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}

	publicURL := openURL(cfg, ln.Addr(), tlsOn, secure.host, secure.acme != nil)
	authn, err := auth.New(ctx, authConfig(cfg, publicURL), database, logger.With("component", "auth"), authOpts)
	if err != nil {
		return err
	}
	defer authn.Close()
	if cfg.Auth.AllowInsecureCookies {
		logger.Warn("auth.allow_insecure_cookies is on: over plain HTTP the session cookie travels unencrypted " +
			"and anyone on the network path can steal sessions; use HTTPS")
	}

	review := runs.New(database, runsConfig(cfg), logger.With("component", "runs"), nil)
	handler, err := server.New(logger, server.Options{
		Version:               a.Build.Version,
		TrustedProxies:        cfg.Server.TrustedProxies,
		MaxBodyBytes:          cfg.Server.MaxBodyBytes,
		SeriesBodyBufferBytes: cfg.Server.SeriesBodyBufferBytes,
		AllowInsecureCookies:  cfg.Auth.AllowInsecureCookies,
		Metrics:               obs,
	}, database, authn, review, a.UI)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.TLSConfig = secure.config

	// ACME's HTTP-01 challenges and the redirect of plain HTTP to HTTPS.
	var challenge *http.Server
	if secure.acme != nil && cfg.Server.TLS.ACME.HTTPAddr != "" {
		cln, err := net.Listen("tcp", cfg.Server.TLS.ACME.HTTPAddr)
		if err != nil {
			return fmt.Errorf("server.tls.acme.http_addr: listen on %s: %w (HTTP-01 challenges need port 80 from the outside; "+
				"set http_addr: \"\" to rely on TLS-ALPN-01 on port 443)", cfg.Server.TLS.ACME.HTTPAddr, err)
		}
		challenge = &http.Server{
			Handler:           acmeHTTPHandler(secure.acme, publicURL),
			ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
			ReadTimeout:       cfg.Server.ReadTimeout,
			WriteTimeout:      cfg.Server.WriteTimeout,
			IdleTimeout:       cfg.Server.IdleTimeout,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		go func() { _ = challenge.Serve(cln) }()
		logger.Info("ACME: answering HTTP-01 challenges and redirecting plain HTTP to HTTPS", "addr", cln.Addr().String())
	}

	served := make(chan error, 1)
	go func() {
		if tlsOn {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()
	logger.Info("listening", "addr", ln.Addr().String(), "url", publicURL)
	if !tlsOn {
		warnPlainHTTP(cfg, ln.Addr(), names, logger)
	}
	if secure.acme != nil {
		go fetchFirstCertificate(ctx, secure.acme, cfg.Server.TLS.ACME.Domains, logger)
	}
	go announceSetup(ctx, authn, logger)

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", cfg.Server.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Server.ShutdownTimeout)
	defer cancel()
	if challenge != nil {
		_ = challenge.Shutdown(shutdownCtx)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("requests still running at the end of the grace period were cut", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// serveMetrics serves /metrics on metrics.addr, apart from the public
// listener, so that no route of the API or the UI exposes them and a
// firewall or a loopback address decides who reads them. The returned
// function stops it.
func serveMetrics(ctx context.Context, cfg *Config, obs *metrics.Metrics, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", cfg.Metrics.Addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.addr: listen on %s: %w", cfg.Metrics.Addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", obs.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go func() { _ = srv.Serve(ln) }()
	if listensBeyondLoopback(ln.Addr()) {
		logger.Warn("metrics are served beyond loopback: anyone who reaches this address can read them (no secrets, but route and traffic figures); restrict it with a firewall",
			"addr", ln.Addr().String())
	}
	logger.Info("metrics", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(stopCtx)
	}, nil
}

// serverTLSConfig is native HTTPS: TLS 1.2 and 1.3 only, and with TLS 1.2
// only forward-secret AEAD suites (Mozilla's "intermediate" list), so no
// CBC or SHA-1 suite is offered. TLS 1.3's suites are all AEAD and fixed by
// Go.
func serverTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// atLeastTwoProcs raises GOMAXPROCS to 2 on a machine or container that
// gives the process one CPU, unless GOMAXPROCS is set explicitly, and
// returns the new value (0 when it changed nothing). Measured with
// .ci/bench-refresh.sh, the server pinned to one core: with GOMAXPROCS=1
// the refresh load stalled every few hundred milliseconds for 0.3-0.6 s
// (p99 290 ms); with 2 the same core gave p99 50 ms and no stall. The
// SQLite driver makes many short system calls, and with a single P the
// runtime runs nothing else until its monitor hands the P over.
func atLeastTwoProcs(getenv func(string) string) int {
	if getenv("GOMAXPROCS") != "" || runtime.GOMAXPROCS(0) >= 2 {
		return 0
	}
	runtime.GOMAXPROCS(2)
	return 2
}

// serverGCPercent is the server's GOGC while its live heap is small,
// unless the environment sets one.
const serverGCPercent = 400

// gcHeadroom bounds how far the heap may grow past its live size between
// collections once GOGC=400 would allow more.
const gcHeadroom = 128 << 20

// collectLessOften sets Go's collector to GOGC=400 unless GOGC is set
// explicitly, and returns the new value (0 when it changed nothing). The
// server's live heap is small (about 3 MB under a refresh load) and every
// request allocates a little, so with the default GOGC=100 the collector ran
// about 40 times a second under load: .ci/bench-refresh.sh measured
// 1.19-1.71x the refreshes per second and a lower p99 with 400, in seven
// interleaved pairs (docs/benchmarks.md). The cost is memory: the heap may
// grow to five times its live size before a collection instead of twice.
// So tuneGC lowers it again as the live heap grows (the embedded store's
// query index holds every run). GOMEMLIMIT caps it where memory is tight
// (docs/operations.md).
func collectLessOften(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		return 0
	}
	debug.SetGCPercent(serverGCPercent)
	return serverGCPercent
}

// gcPercentFor is the GOGC for a live heap of live bytes: 400 while that
// lets the heap grow by at most gcHeadroom, then what keeps the growth to
// gcHeadroom, never below Go's default 100 (twice the live heap).
func gcPercentFor(live uint64) int {
	if live == 0 {
		return serverGCPercent
	}
	return int(min(max(gcHeadroom*100/live, 100), serverGCPercent))
}

// tuneGC keeps GOGC at gcPercentFor(the live heap), looked at every
// interval, until ctx ends. At 100,000 runs the index's live heap is a few
// hundred MB: at a fixed 400 the process grew past 1 GB.
func tuneGC(ctx context.Context, interval time.Duration) {
	sample := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := serverGCPercent
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rtmetrics.Read(sample)
		if sample[0].Value.Kind() != rtmetrics.KindUint64 {
			return // not this Go's metric: keep 400
		}
		if pct := gcPercentFor(sample[0].Value.Uint64()); pct != current {
			debug.SetGCPercent(pct)
			current = pct
		}
	}
}

// announceSetup logs the first-run setup link when no admin exists. While
// the database cannot be asked (a hosted deployment still down), it retries.
func announceSetup(ctx context.Context, authn *auth.Service, logger *slog.Logger) {
	for {
		link, err := authn.PrepareSetup(ctx)
		if err == nil {
			if link != "" {
				// The one place a secret is logged on purpose: the operator
				// needs it, it works once, and only for an hour.
				logger.Warn("no admin account exists yet: open this one-time link within 1 h to create one (a restart makes a new link)",
					"setup_url", link)
			}
			return
		}
		if !errors.Is(err, db.ErrUnavailable) {
			logger.Warn("checking whether first-run setup is needed", "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// openStore opens the database the configuration names: the hosted
// MongoDB deployment of mongodb.uri, else the embedded SQLite database in
// data_dir. server says whether this process is the server (which takes
// the data folder's one-server lock) or a CLI command beside it.
//
// The choice lives here rather than in a db.Open: the adapters import db
// for its types, so db cannot import them back.
func openStore(ctx context.Context, cfg *Config, logger *slog.Logger, server bool) (db.Store, error) {
	if cfg.MongoDB.URI != "" {
		return mongo.Open(ctx, mongo.Options{
			URI:                    cfg.MongoDB.URI,
			Database:               cfg.MongoDB.Database,
			ConnectTimeout:         cfg.MongoDB.ConnectTimeout,
			ServerSelectionTimeout: cfg.MongoDB.ServerSelectionTimeout,
			Logger:                 logger,
		})
	}
	return sqlite.Open(ctx, sqlite.Options{
		DataDir:        cfg.DataDir,
		Server:         server,
		LegacyDatabase: cfg.MongoDB.Database,
		WALMaxBytes:    cfg.SQLite.WALMaxBytes,
		Logger:         logger,
	})
}

// runsConfig maps the configuration onto the runs service's settings.
func runsConfig(cfg *Config) runs.Config {
	r := cfg.Runs
	return runs.Config{StaleAfter: r.StaleAfter, SeriesReadMaxPoints: r.SeriesReadMaxPoints,
		SeriesReadPointsInFlight: r.SeriesReadPointsInFlight, MaxSeriesPerRun: r.MaxSeriesPerRun,
		CommentHistoryVersions: r.CommentHistoryVersions, CommentHistoryBytes: r.CommentHistoryBytes,
		QueriesPerPrincipal: r.QueriesPerPrincipal,
		Files: runs.FileLimits{MaxFileBytes: cfg.Files.MaxFileBytes, MaxProjectBytes: cfg.Files.MaxProjectBytes,
			MaxRunFiles: cfg.Files.MaxFilesPerRun}}
}

// authConfig maps the configuration onto the auth service's settings.
func authConfig(cfg *Config, publicURL string) auth.Config {
	a := cfg.Auth
	// The issuer must be the same on every instance: the configured one,
	// else the public URL, else a fixed name (never the listen address).
	issuer := a.Issuer
	if issuer == "" {
		issuer = strings.TrimSuffix(cfg.Server.PublicURL, "/")
	}
	if issuer == "" {
		issuer = "labreview"
	}
	return auth.Config{
		AccessTokenTTL:    a.AccessTokenTTL,
		RefreshTokenTTL:   a.RefreshTokenTTL,
		SessionMaxAge:     a.SessionMaxAge,
		RefreshReuseGrace: a.RefreshReuseGrace,
		RefreshPerMinute:  a.RefreshPerMinute,
		Algorithm:         a.JWTAlgorithm,
		JWTSecret:         a.JWTSecret,
		Issuer:            issuer,
		Audience:          a.Audience,
		Argon2:            auth.Argon2Params{MemoryKiB: a.Argon2.MemoryKiB, Iterations: a.Argon2.Iterations, Parallelism: a.Argon2.Parallelism},
		MaxTokensPerUser:  a.MaxTokensPerUser,
		HashWorkers:       a.HashWorkers,
		Throttle: auth.ThrottleConfig{Window: a.LoginThrottle.Window, AccountLimit: a.LoginThrottle.MaxPerAccount,
			IPLimit: a.LoginThrottle.MaxPerIP},
		SetupURLBase:   strings.TrimSuffix(publicURL, "/"),
		AuditRetention: cfg.Audit.Retention,
	}
}

func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated already
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openURL is the address to print for people (and the start of the setup
// link): the public URL when set, else the bound address. A server
// listening on every interface is named by name (the ACME domain, else the
// machine's name) when people on other machines can sign in there: over
// HTTPS, or over plain HTTP with auth.allow_insecure_cookies. Over plain
// HTTP without it, sign-in works only at localhost, so that is the link.
// onlyName (ACME) names the host whatever the address: the certificate
// names nothing else.
func openURL(cfg *Config, addr net.Addr, tlsOn bool, name string, onlyName bool) string {
	if cfg.Server.PublicURL != "" {
		return strings.TrimSuffix(cfg.Server.PublicURL, "/") + "/"
	}
	scheme, defaultPort := "http", "80"
	if tlsOn {
		scheme, defaultPort = "https", "443"
	}
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); onlyName {
		host = name
	} else if ip == nil || ip.IsUnspecified() {
		host = "localhost"
		if name != "" && (tlsOn || cfg.Auth.AllowInsecureCookies) {
			host = name
		}
	}
	hostPort := net.JoinHostPort(host, port)
	if port == defaultPort {
		hostPort = host
		if strings.Contains(host, ":") {
			hostPort = "[" + host + "]"
		}
	}
	return (&url.URL{Scheme: scheme, Host: hostPort, Path: "/"}).String()
}

// listensBeyondLoopback reports whether other machines can reach addr.
func listensBeyondLoopback(addr net.Addr) bool {
	host, _, _ := net.SplitHostPort(addr.String())
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// needsHostNames says whether the machine's names matter: for the printed
// link of a server on every interface, or a self-signed certificate.
func needsHostNames(cfg *Config, addr net.Addr) bool {
	return cfg.Server.TLS.mode() == TLSSelfSigned || (cfg.Server.PublicURL == "" && listensBeyondLoopback(addr))
}

// warnPlainHTTP says, at start, what a person on another machine would
// otherwise learn only from a refused sign-in: over plain HTTP the refresh
// cookie must be Secure, which browsers keep only for localhost.
func warnPlainHTTP(cfg *Config, addr net.Addr, names hostNames, logger *slog.Logger) {
	if cfg.Auth.AllowInsecureCookies || len(cfg.Server.TrustedProxies) > 0 || !listensBeyondLoopback(addr) ||
		strings.HasPrefix(cfg.Server.PublicURL, "https://") {
		return
	}
	_, port, _ := net.SplitHostPort(addr.String())
	other := "http://" + net.JoinHostPort(cmp.Or(names.preferred(), "this-host"), port) + "/"
	logger.Warn("plain HTTP: sign-in works only in a browser on this machine (http://localhost:"+port+"/); "+
		"from other machines ("+other+") sign-in is refused, because the session cookie would travel unprotected. "+
		"For HTTPS with no certificate to buy, set server.tls.mode: self-signed (LABREVIEW_SERVER_TLS_MODE=self-signed); "+
		"or put a TLS-terminating proxy in front (server.trusted_proxies, server.public_url); "+
		"or, on a closed lab network only, set auth.allow_insecure_cookies: true",
		"addr", addr.String())
}
