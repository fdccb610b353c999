package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"labreview/auth"
	"labreview/db"
)

// cliClient is what CLI actions record as the client in the audit log.
var cliClient = auth.ClientInfo{UserAgent: "labreview-cli"}

// openForCLI opens the configured database the way a command beside (or
// without) a running server must: the embedded database through SQLite's
// own locking, never taking the server's lock; a hosted one after waiting
// until it answers.
func (a *app) openForCLI(ctx context.Context) (*Config, db.Store, *slog.Logger, error) {
	cfg, _, err := a.load()
	if err != nil {
		return nil, nil, nil, err
	}
	logger := newLogger(LogConfig{Level: "warn", Format: cfg.Log.Format}, a.Stderr)
	database, err := openStore(ctx, cfg, logger, false)
	if err != nil {
		return nil, nil, nil, err
	}
	if database.Mode() == db.ModeHosted {
		waitCtx, cancel := context.WithTimeout(ctx, cfg.MongoDB.ServerSelectionTimeout+5*time.Second)
		err := db.WaitReady(waitCtx, database)
		cancel()
		if err != nil {
			_ = database.Close(context.WithoutCancel(ctx))
			return nil, nil, nil, fmt.Errorf("database not reachable: %w", err)
		}
	}
	return cfg, database, logger, nil
}

// withAuth runs fn with an auth service on the configured database.
func (a *app) withAuth(ctx context.Context, fn func(*auth.Service) error) error {
	cfg, database, logger, err := a.openForCLI(ctx)
	if err != nil {
		return err
	}
	defer database.Close(context.WithoutCancel(ctx))
	svc, err := auth.New(ctx, authConfig(cfg, cfg.Server.PublicURL), database, logger, auth.Options{})
	if err != nil {
		return err
	}
	defer svc.Close()
	return fn(svc)
}
