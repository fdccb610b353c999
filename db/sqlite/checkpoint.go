package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SQLite copies the WAL back into the database file at checkpoints, and
// syncs both files then (with synchronous=NORMAL, the only syncs there are).
// By default the connection that commits runs the checkpoint inside its
// commit whenever the WAL passes 1,000 pages: with group commit, every
// writer waiting on that commit waited for two fsyncs, which took the
// refresh p99 to 300–600 ms on this project's machines. The writer's
// automatic checkpoints are off; this goroutine checkpoints on a connection
// of its own instead (PASSIVE: it never blocks readers or the writer), every
// checkpointEvery. The WAL then stays small, and SQLite starts it over from
// the beginning once a checkpoint has copied all of it.
const checkpointEvery = time.Second

// optimizeFirst and optimizeEvery schedule Optimize: soon after opening (a
// new database has no statistics, and the planner then guesses which index
// of a filtered, sorted run list is the selective one), then hourly as
// the data grows.
const (
	optimizeFirst = 30 * time.Second
	optimizeEvery = time.Hour
)

func (s *Store) startCheckpointer() {
	s.ckptStop, s.ckptDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.ckptDone)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		opt := time.NewTimer(optimizeFirst)
		defer opt.Stop()
		for {
			select {
			case <-s.ckptStop:
				return
			case <-t.C:
				s.checkpoint()
			case <-opt.C:
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				if err := s.Optimize(ctx); err != nil {
					s.log.Warn("gathering the query planner's statistics failed; retrying later", "err", err)
				}
				cancel()
				opt.Reset(optimizeEvery)
			}
		}
	}()
}

// Optimize refreshes the statistics the query planner uses to pick
// indexes (PRAGMA optimize, reading at most about 1,000 rows of each index),
// as one write of the writer.
func (s *Store) Optimize(ctx context.Context) error {
	err := s.exclusiveTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002")
		return err
	})
	if err != nil {
		return fmt.Errorf("db: optimize: %w", classify(err))
	}
	return nil
}

// checkpoint runs one PASSIVE checkpoint. Failures are logged, not fatal:
// the WAL keeps every commit, and the next checkpoint retries.
func (s *Store) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var busy, logFrames, copied int
	if err := s.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied); err != nil {
		s.log.Warn("checkpoint of the database's WAL failed; retrying", "err", classify(err))
	}
}

func (s *Store) stopCheckpointer() {
	if s.ckptStop == nil {
		return
	}
	close(s.ckptStop)
	<-s.ckptDone
}
