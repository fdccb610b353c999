package sqlite

import (
	"context"
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

func (s *Store) startCheckpointer() {
	s.ckptStop, s.ckptDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.ckptDone)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-s.ckptStop:
				return
			case <-t.C:
				s.checkpoint()
			}
		}
	}()
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
