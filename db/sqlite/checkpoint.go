package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
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

// The WAL's bound. PASSIVE checkpoints copy frames back but cannot start
// the WAL over while readers keep using its frames, which under a steady
// mix of writes and reads is always: a 20 s flood of refused sign-ins grew
// it by 18 MB/s, run creations to 1.65 GB in 34 s (a commit writes every
// page it touched, so a run with many params adds about 1 MB). So after
// every batch it commits, the writer looks at the WAL's size (a stat, no
// open), and when it is over half of Options.WALMaxBytes runs a TRUNCATE
// checkpoint itself (boundWAL): it waits for the readers to leave the WAL,
// copies what is left and empties the file, while further writes wait in
// the queue. Writes thus cannot outrun checkpoints.
//
// Over half the bound it tries once without waiting for anyone (copying
// what it can; again walRetrySoon later); over three quarters it waits up
// to walHardBusyTimeout, holding writes back until the readers are done. The
// WAL thus stays under the bound as long as one batch of writes adds less
// than a quarter of it (16 MiB at the default). Only a read longer than
// that (an export, a backup) keeps frames it may still read; then the
// checkpoint waits between such attempts from walRetryAfter, doubling up
// to walRetryMax, so that a long export does not stall the writes it
// cannot help: the WAL grows while it lasts, and is emptied after.
const (
	// DefaultWALMaxBytes is sqlite.wal_max_bytes when unset.
	DefaultWALMaxBytes = 64 << 20
	walHardBusyTimeout = 2 * time.Second
	walCheckEvery      = 100 * time.Millisecond
	walRetrySoon       = 100 * time.Millisecond
	walRetryAfter      = time.Second
	walRetryMax        = 30 * time.Second
)

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
		// Every checkpointEvery, and every walCheckEvery while the WAL is
		// over a quarter of its bound: frames copied here, beside the
		// writer, are frames the writer's TRUNCATE (boundWAL) need not copy
		// while writes wait.
		t := time.NewTicker(walCheckEvery)
		defer t.Stop()
		opt := time.NewTimer(optimizeFirst)
		defer opt.Stop()
		var last time.Time
		for {
			select {
			case <-s.ckptStop:
				return
			case now := <-t.C:
				if now.Sub(last) >= checkpointEvery || s.walSize() > s.walMax/4 {
					s.checkpoint()
					last = now
				}
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
	s.ckptMu.Lock() // one checkpoint at a time: a second one would find the first's lock and give up
	defer s.ckptMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var busy, logFrames, copied int
	if err := s.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied); err != nil {
		s.log.Warn("checkpoint of the database's WAL failed; retrying", "err", classify(err))
	}
}

// walSize is the size of the WAL file (0 when there is none).
func (s *Store) walSize() int64 {
	info, err := os.Stat(s.path + "-wal")
	if err != nil {
		return 0
	}
	return info.Size()
}

// boundWAL empties the WAL with a TRUNCATE checkpoint when it is over half
// its bound (see DefaultWALMaxBytes). Only the write goroutine calls it,
// between batches, on the writer's own connection (whose busy timeout is
// lowered for it). A reader that held on to the WAL is no failure: the
// checkpoint is tried again later.
func (s *Store) boundWAL() {
	size := s.walSize()
	hard := size > s.walMax/4*3
	switch {
	case size <= s.walMax/2:
		return
	case hard && time.Now().Before(s.walHardRetry):
		return
	case !hard && time.Now().Before(s.walRetry):
		return
	}
	// Past half, one try that waits for nobody (it still copies what it
	// can); past three quarters, after the checkpointer's PASSIVE run if
	// one is copying, and waiting up to walHardBusyTimeout for readers.
	var busyFor time.Duration
	if hard {
		busyFor = walHardBusyTimeout
		s.ckptMu.Lock()
	} else if !s.ckptMu.TryLock() {
		s.walRetry = time.Now().Add(walRetrySoon)
		return
	}
	defer s.ckptMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var busy, logFrames, copied int
	conn, err := s.w.Conn(ctx)
	if err == nil {
		_, err = conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyFor.Milliseconds()))
		if err == nil {
			err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &copied)
		}
		if _, rerr := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds())); err == nil {
			err = rerr
		}
		_ = conn.Close()
	}
	switch {
	case err == nil && busy == 0:
		s.walBackoff = 0
		return
	case err != nil:
		s.log.Warn("emptying the database's WAL failed; retrying", "err", classify(err), "wal_bytes", size)
	case hard:
		s.log.Warn("the WAL is near its limit but a long read (an export, a backup?) holds it; retrying",
			"wal_bytes", size, "limit", s.walMax)
	default:
		s.log.Debug("the WAL is over half its limit but a read holds it; retrying", "wal_bytes", size, "limit", s.walMax)
	}
	s.walRetry = time.Now().Add(walRetrySoon)
	if hard || err != nil {
		s.walBackoff = min(max(2*s.walBackoff, walRetryAfter), walRetryMax)
		s.walHardRetry = time.Now().Add(s.walBackoff)
	}
}

func (s *Store) stopCheckpointer() {
	if s.ckptStop == nil {
		return
	}
	close(s.ckptStop)
	<-s.ckptDone
}
