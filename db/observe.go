package db

import (
	"context"
	"time"
)

// Observer receives the duration and outcome of every store operation, by
// the name of its db.Store method (for metrics). It must be cheap and safe
// for concurrent use.
type Observer interface {
	ObserveStore(op string, took time.Duration, err error)
}

// Observe returns store with every operation reported to obs. The
// wrapper (observe_gen.go) is generated from the Store interface by
// TestObservedStoreIsCurrent, which fails when a method is added without
// regenerating it. Mode, Ping and Close are passed through unobserved:
// probes would drown the operations people care about.
func Observe(store Store, obs Observer) Store {
	// Asserted rather than converted, so that the package still builds
	// (and the test can regenerate the file) when the interface grew.
	var o any = &observedStore{s: store, obs: obs}
	return o.(Store)
}

// Unwrap returns the observed store.
func (o *observedStore) Unwrap() Store { return o.s }

// Ready passes on the store's readiness (db/mongo before the deployment
// first answered); a store without the notion is always ready.
func (o *observedStore) Ready() bool {
	if r, ok := o.s.(interface{ Ready() bool }); ok {
		return r.Ready()
	}
	return true
}

func (o *observedStore) Mode() Mode                      { return o.s.Mode() }
func (o *observedStore) Ping(ctx context.Context) error  { return o.s.Ping(ctx) }
func (o *observedStore) Close(ctx context.Context) error { return o.s.Close(ctx) }
