package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Every write goes through one goroutine that owns the writer connection
// and commits concurrent writes together (group commit): it takes what is
// waiting, up to maxBatch writes, runs each inside its own SAVEPOINT of one
// transaction, and commits once. A write that fails is rolled back to its
// savepoint alone; the others commit. Callers are answered only after the
// commit, so an answered write is in the WAL.
//
// Why: a commit costs SQLite a fixed price in system calls (file locks,
// WAL frame writes) that dwarfs an UPDATE of one row. Committed one by
// one, refresh-token rotations ran at about 15,000/s on one connection,
// and the connection handed to writers in random order (database/sql) made
// the slowest of 64 concurrent writers wait six times the median.
// Batching pays the commit once per batch, and the queue is first come,
// first served.
//
// Writes still see each other's effects in order: they run one after
// another on one connection, so conditional updates stay exactly as
// atomic as when committed alone.

const maxBatch = 128

const (
	opQueued int32 = iota
	opStarted
	opAbandoned
)

type writeOp struct {
	// query, when set, is prepared before the batch begins (the writer
	// connection is busy once it has), and run passes it bound to the
	// transaction.
	query string
	run   func(ctx context.Context, tx *sql.Tx, st *sql.Stmt) error
	// exclusive writes (imports, migrations) run alone, under the caller's
	// context and without the batch's time limit.
	exclusive bool
	ctx       context.Context
	state     atomic.Int32
	done      chan error
	// after runs once the write has committed (afterCommit).
	after []func()
}

type commitKey struct{}

// afterCommit has fn run by the writer once the write whose context ctx
// is has committed, before its caller is answered, in commit order. A
// write that rolls back never runs it.
func afterCommit(ctx context.Context, fn func()) {
	if op, ok := ctx.Value(commitKey{}).(*writeOp); ok {
		op.after = append(op.after, fn)
	}
}

var errClosed = errors.New("db: the database is closed")

func (s *Store) startWriter() {
	s.writes = make(chan *writeOp, 4*maxBatch)
	s.closing = make(chan struct{})
	s.writerDone = make(chan struct{})
	go s.writeLoop()
}

// write queues op and waits for its outcome. A caller whose context ends
// while the write waits in the queue gets db.ErrUnavailable and the write
// is dropped; once it has started, the caller waits for the commit, so it
// never reports a failure for a write that was in fact committed.
func (s *Store) write(ctx context.Context, op *writeOp) error {
	op.ctx, op.done = ctx, make(chan error, 1)
	select {
	case <-s.closing:
		return errClosed
	default:
	}
	select {
	case s.writes <- op:
	case <-ctx.Done():
		return classify(ctx.Err())
	case <-s.closing:
		return errClosed
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		if op.state.CompareAndSwap(opQueued, opAbandoned) {
			return classify(ctx.Err())
		}
		return <-op.done
	case <-s.writerDone:
		// The store closed; a write queued just before is not run.
		if op.state.CompareAndSwap(opQueued, opAbandoned) {
			return errClosed
		}
		return <-op.done
	}
}

func (s *Store) writeLoop() {
	defer close(s.writerDone)
	var held *writeOp // an exclusive write met while gathering a batch
	for {
		first := held
		held = nil
		if first == nil {
			select {
			case first = <-s.writes:
			case <-s.closing:
				s.failQueued()
				return
			}
		}
		batch := []*writeOp{first}
	gather:
		for !first.exclusive && len(batch) < maxBatch {
			select {
			case op := <-s.writes:
				if op.exclusive {
					held = op
					break gather
				}
				batch = append(batch, op)
			default:
				break gather
			}
		}
		began := time.Now()
		s.runBatch(batch)
		if fn := s.onBatch.Load(); fn != nil {
			(*fn)(len(batch), time.Since(began))
		}
		s.preparePending()
		s.boundWAL()
	}
}

// preparePending prepares, between transactions (the writer's one
// connection is free then), the statements txExec met unprepared.
func (s *Store) preparePending() {
	s.pendingPrepare.Range(func(k, _ any) bool {
		s.pendingPrepare.Delete(k)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = s.prepared(ctx, s.w, k.(string)) // a failure leaves the statement unprepared: txExec runs it directly
		return true
	})
}

// failQueued answers every write still queued when the store closes.
func (s *Store) failQueued() {
	for {
		select {
		case op := <-s.writes:
			op.done <- errClosed
		default:
			return
		}
	}
}

func (s *Store) runBatch(batch []*writeOp) {
	ops := batch[:0]
	for _, op := range batch {
		if op.state.CompareAndSwap(opQueued, opStarted) {
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 {
		return
	}
	finish := func(results []error) {
		for i, op := range ops {
			op.done <- results[i]
		}
	}
	all := func(err error) []error {
		r := make([]error, len(ops))
		for i := range r {
			r[i] = err
		}
		return r
	}
	// Statements inside a batch never run under a caller's context: an
	// interrupted statement makes SQLite roll back the whole transaction,
	// and with it the other callers' writes.
	ctx, cancel := context.WithTimeout(context.Background(), s.writeTimeout)
	if ops[0].exclusive {
		ctx, cancel = context.WithCancel(ops[0].ctx)
	}
	defer cancel()

	stmts := make([]*sql.Stmt, len(ops))
	for i, op := range ops {
		if op.query == "" {
			continue
		}
		st, err := s.prepared(ctx, s.w, op.query)
		if err != nil {
			// The statement does not compile (a bug) or the database is
			// unreachable: only this write fails.
			ops[i].state.Store(opAbandoned)
			op.done <- fmt.Errorf("db: prepare: %w", classify(err))
			continue
		}
		stmts[i] = st
	}
	kept, keptStmts := ops[:0], stmts[:0]
	for i, op := range ops {
		if op.state.Load() == opStarted {
			kept, keptStmts = append(kept, op), append(keptStmts, stmts[i])
		}
	}
	ops, stmts = kept, keptStmts
	if len(ops) == 0 {
		return
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		finish(all(classify(err)))
		return
	}
	results := make([]error, len(ops))
	savepoints := len(ops) > 1
	for i, op := range ops {
		if savepoints {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				_ = tx.Rollback()
				finish(all(classify(err)))
				return
			}
		}
		var st *sql.Stmt
		if stmts[i] != nil {
			st = tx.StmtContext(ctx, stmts[i])
		}
		err := op.run(context.WithValue(ctx, commitKey{}, op), tx, st)
		if st != nil {
			_ = st.Close() // the transaction's copy; the prepared statement stays
		}
		if err != nil {
			op.after = nil
		}
		if savepoints {
			if err != nil {
				if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
					// SQLite ended the transaction itself (disk full, I/O
					// error): nothing of this batch was written.
					_ = tx.Rollback()
					finish(all(classify(err)))
					return
				}
			}
			if _, rerr := tx.ExecContext(ctx, "RELEASE w"); rerr != nil {
				_ = tx.Rollback()
				finish(all(classify(rerr)))
				return
			}
		}
		results[i] = classify(err)
	}
	if !savepoints && results[0] != nil {
		_ = tx.Rollback()
		finish(results)
		return
	}
	// From the commit until its changes are in the query index, readers
	// that see the new run_changes count wait (indexRead).
	s.committing.Add(1)
	if err := tx.Commit(); err != nil {
		s.committing.Add(-1)
		finish(all(classify(err)))
		return
	}
	for _, op := range ops {
		for _, fn := range op.after {
			fn()
		}
	}
	s.committing.Add(-1)
	finish(results)
}

// exec runs one write statement.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.writeStmt(ctx, query, func(ctx context.Context, st *sql.Stmt) error {
		var err error
		res, err = st.ExecContext(ctx, args...)
		return err
	})
	return res, err
}

// writeRow runs one write statement with RETURNING and scans its row.
func (s *Store) writeRow(ctx context.Context, dest []any, query string, args ...any) error {
	return s.writeStmt(ctx, query, func(ctx context.Context, st *sql.Stmt) error {
		return st.QueryRowContext(ctx, args...).Scan(dest...)
	})
}

// writeStmt runs fn with query prepared, as one write, within the write
// time limit.
func (s *Store) writeStmt(ctx context.Context, query string, fn func(ctx context.Context, st *sql.Stmt) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()
	return s.write(ctx, &writeOp{query: trace(query), run: func(ctx context.Context, _ *sql.Tx, st *sql.Stmt) error {
		return fn(ctx, st)
	}})
}

// tx runs fn as one write, within the write time limit: several statements
// that commit together or not at all. fn must use the context it is given.
func (s *Store) tx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()
	return s.write(ctx, &writeOp{run: func(ctx context.Context, tx *sql.Tx, _ *sql.Stmt) error {
		return fn(ctx, tx)
	}})
}

// exclusiveTx runs fn in a transaction of its own, under ctx alone (no
// write time limit): migrations, imports.
func (s *Store) exclusiveTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.write(ctx, &writeOp{exclusive: true, run: func(ctx context.Context, tx *sql.Tx, _ *sql.Stmt) error {
		return fn(ctx, tx)
	}})
}

// stopWriter stops the write goroutine after the batch it is running.
func (s *Store) stopWriter() {
	if s.closing == nil {
		return
	}
	close(s.closing)
	select {
	case <-s.writerDone:
	case <-time.After(time.Minute):
	}
}

// txExec, txRow and txQuery run a statement of a write transaction
// through the writer's prepared statements: preparing costs about as much
// as running one of these small statements, and run and series writes
// repeat a handful of them (measured: preparing took 14 % of the CPU of
// run creates). Inside a transaction the writer's only connection is
// taken, so a statement not prepared yet runs directly this time and is
// prepared after the batch (preparePending).
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	trace(query)
	if m, ok := s.stmts.Load(s.w); ok {
		if st, ok := m.(*sync.Map).Load(query); ok {
			return tx.StmtContext(ctx, st.(*sql.Stmt))
		}
	}
	s.pendingPrepare.Store(query, struct{}{})
	return nil
}

func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

func (s *Store) txRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// ObserveBatches has fn called after every batch of the writer with its
// size and duration (for metrics). fn must be quick: the writer waits.
func (s *Store) ObserveBatches(fn func(size int, took time.Duration)) {
	s.onBatch.Store(&fn)
}

// WriterQueueDepth is the number of writes waiting for the writer.
func (s *Store) WriterQueueDepth() int { return len(s.writes) }

// WALBytes is the size of the write-ahead log file (0 when there is none).
func (s *Store) WALBytes() int64 {
	fi, err := os.Stat(s.path + "-wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}
