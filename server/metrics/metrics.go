// Package metrics is labreview's Prometheus instrumentation: HTTP requests
// by route template, sign-in and session events, run and series ingest,
// query latency by class, store operations, the embedded store's writer
// and WAL, and the Go runtime. It is served on its own listener
// (metrics.addr), never on the public one.
package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"labreview/db"
)

// Latency buckets in seconds: from a cached lookup (0.5 ms) to a request
// that waited out the store's selection timeout (5 s) and more.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// activeWindow is how recently a session must have been seen to count as
// active: a signed-in tab refreshes its access token within this time.
const activeWindow = 5 * time.Minute

// maxTrackedSessions bounds the memory of the active-session gauge.
const maxTrackedSessions = 200_000

// Metrics holds every collector of one server process.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	authEvents      *prometheus.CounterVec
	refreshes       *prometheus.CounterVec
	signIns         *prometheus.CounterVec
	apiTokenReqs    *prometheus.CounterVec
	runsCreated     prometheus.Counter
	pointsIngested  prometheus.Counter
	queryDuration   *prometheus.HistogramVec
	storeOps        *prometheus.CounterVec
	storeDuration   *prometheus.HistogramVec
	writerBatch     prometheus.Histogram
	writerBatchTime prometheus.Histogram

	mu       sync.Mutex
	sessions map[string]time.Time // session id → last seen
}

// New registers labreview's collectors and the Go runtime and process
// collectors in a registry of its own.
func New(version string) *Metrics {
	m := &Metrics{
		reg:      prometheus.NewRegistry(),
		sessions: map[string]time.Time{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "labreview_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "labreview_http_request_duration_seconds",
			Help:    "Time from the request's arrival to the end of its answer, by route template, method and status code.",
			Buckets: latencyBuckets,
		}, []string{"route", "method", "status"}),
		authEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "labreview_auth_events_total",
			Help: "Audited authentication events by name (login_ok, login_failed, login_throttled, refresh_reuse, logout, …).",
		}, []string{"event"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "labreview_auth_sign_ins_total",
			Help: "Sign-in requests by outcome: ok, invalid (wrong or unknown credentials), throttled, refused (bad request, plain HTTP), unavailable (store down or hashing saturated), error.",
		}, []string{"outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "labreview_auth_refreshes_total",
			Help: "Refresh-cookie exchanges by outcome: ok, invalid (missing, expired, revoked or reused cookie), throttled (rate limit), refused, unavailable, error.",
		}, []string{"outcome"}),
		apiTokenReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "labreview_api_token_requests_total",
			Help: "Requests made with an API token (lrt_…) by outcome: ok (2xx/3xx), invalid (401), forbidden (403), client_error, unavailable, error.",
		}, []string{"outcome"}),
		runsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "labreview_runs_created_total",
			Help: "Runs created (an idempotent repeat of a create is not counted).",
		}),
		pointsIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "labreview_series_points_ingested_total",
			Help: "Series points added by ingest (a retried batch adds nothing the second time).",
		}),
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "labreview_query_duration_seconds",
			Help:    "Read queries by class: runs_page, runs_query (q=…), runs_sorted (sort=…), run_keys, series_read, series_window, projects, audit.",
			Buckets: latencyBuckets,
		}, []string{"class"}),
		storeOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "labreview_store_operations_total",
			Help: "Store operations by db.Store method and outcome: ok, not_found, conflict, unavailable, storage, busy, error.",
		}, []string{"op", "outcome"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "labreview_store_operation_duration_seconds",
			Help:    "Store operation latency by db.Store method.",
			Buckets: latencyBuckets,
		}, []string{"op"}),
		writerBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "labreview_sqlite_writer_batch_size",
			Help:    "Writes committed together by the embedded store's single writer, per commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		writerBatchTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "labreview_sqlite_writer_batch_duration_seconds",
			Help:    "Time the embedded store's writer spent on one batch, commit included.",
			Buckets: latencyBuckets,
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.requestDuration, m.authEvents, m.signIns, m.refreshes, m.apiTokenReqs,
		m.runsCreated, m.pointsIngested, m.queryDuration, m.storeOps, m.storeDuration,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "labreview_auth_active_sessions",
			Help: "Sessions that used this instance in the last 5 minutes (by access token). With several instances the sum is an upper bound.",
		}, m.activeSessions),
	)
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "labreview_build_info",
		Help:        "Always 1; the version of the running server.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	info.Set(1)
	m.reg.MustRegister(info)
	return m
}

// Handler serves the metrics in the Prometheus text (or OpenMetrics)
// format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true, MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

// Request records one answered HTTP request. route is the route template
// ("" for no route: it is recorded as "unmatched", so paths never become
// labels).
func (m *Metrics) Request(route, method string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, method, code).Inc()
	m.requestDuration.WithLabelValues(route, method, code).Observe(took.Seconds())
}

// SignIn records a sign-in request's outcome.
func (m *Metrics) SignIn(outcome string) { m.signIns.WithLabelValues(outcome).Inc() }

// Refresh records a refresh's outcome.
func (m *Metrics) Refresh(outcome string) { m.refreshes.WithLabelValues(outcome).Inc() }

// APITokenRequest records the outcome of a request made with an API token.
func (m *Metrics) APITokenRequest(outcome string) { m.apiTokenReqs.WithLabelValues(outcome).Inc() }

// RunCreated counts a run created.
func (m *Metrics) RunCreated() { m.runsCreated.Inc() }

// PointsIngested counts series points added.
func (m *Metrics) PointsIngested(n int) { m.pointsIngested.Add(float64(n)) }

// Query records a read query's latency by class.
func (m *Metrics) Query(class string, took time.Duration) {
	m.queryDuration.WithLabelValues(class).Observe(took.Seconds())
}

// AuthEvent counts an audited authentication event (auth.Options.OnEvent).
func (m *Metrics) AuthEvent(event string) { m.authEvents.WithLabelValues(event).Inc() }

// SessionSeen notes that a session used this instance.
func (m *Metrics) SessionSeen(id string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[id]; !ok && len(m.sessions) >= maxTrackedSessions {
		m.pruneLocked(now)
		if len(m.sessions) >= maxTrackedSessions {
			return
		}
	}
	m.sessions[id] = now
}

func (m *Metrics) activeSessions() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked(time.Now())
	return float64(len(m.sessions))
}

func (m *Metrics) pruneLocked(now time.Time) {
	for id, at := range m.sessions {
		if now.Sub(at) > activeWindow {
			delete(m.sessions, id)
		}
	}
}

// ObserveStore records a store operation (db.Observer).
func (m *Metrics) ObserveStore(op string, took time.Duration, err error) {
	m.storeOps.WithLabelValues(op, storeOutcome(err)).Inc()
	m.storeDuration.WithLabelValues(op).Observe(took.Seconds())
}

func storeOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, db.ErrNotFound):
		return "not_found"
	case errors.Is(err, db.ErrConflict):
		return "conflict"
	case errors.Is(err, db.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, db.ErrStorage):
		return "storage"
	case errors.Is(err, db.ErrLeaseHeld):
		return "busy"
	default:
		return "error"
	}
}

// WriterBatch records one batch of the embedded store's writer
// (sqlite.Options.OnBatch).
func (m *Metrics) WriterBatch(size int, took time.Duration) {
	m.writerBatch.Observe(float64(size))
	m.writerBatchTime.Observe(took.Seconds())
}

// EmbeddedStore is what the gauges read from the embedded store at each
// scrape.
type EmbeddedStore interface {
	WriterQueueDepth() int
	WALBytes() int64
}

// WatchEmbedded adds the embedded store's writer batches (fed by
// WriterBatch), queue depth and WAL size.
func (m *Metrics) WatchEmbedded(s EmbeddedStore) {
	m.reg.MustRegister(
		m.writerBatch, m.writerBatchTime,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "labreview_sqlite_writer_queue_depth",
			Help: "Writes waiting for the embedded store's single writer.",
		}, func() float64 { return float64(s.WriterQueueDepth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "labreview_sqlite_wal_bytes",
			Help: "Size of the embedded database's write-ahead log (labreview.db-wal).",
		}, func() float64 { return float64(s.WALBytes()) }),
	)
}
