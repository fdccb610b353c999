package clustertest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// loadClient is the HTTP client of simulated browsers and jobs: enough
// idle connections per instance for the workers, and a time limit far
// above any the service should need.
func loadClient() *http.Client {
	return &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second},
	}
}

// record is one request of a load: what it was, where it went, and how it
// ended.
type record struct {
	kind, instance string
	result
}

// recorder keeps every request of a load.
type recorder struct {
	mu   sync.Mutex
	recs []record
}

func (r *recorder) add(kind, instance string, res result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, record{kind: kind, instance: instance, result: res})
}

func (r *recorder) all() []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]record(nil), r.recs...)
}

// unavailable says whether a result is the answer the issue asks for when
// the store is away: 503 with Retry-After, in the JSON error shape.
func unavailable(r result) bool {
	return r.err == nil && r.status == 503 && r.header.Get("Retry-After") != "" &&
		(r.errorCode() == "database_unavailable" || r.errorCode() == "storage_unavailable" || r.errorCode() == "busy")
}

func ok2xx(r result) bool { return r.err == nil && r.status >= 200 && r.status < 300 }

// summary counts the outcomes of records by kind.
func summary(recs []record) string {
	counts := map[string]map[string]int{}
	for _, r := range recs {
		if counts[r.kind] == nil {
			counts[r.kind] = map[string]int{}
		}
		key := fmt.Sprint(r.status)
		if r.err != nil {
			key = "error"
		}
		counts[r.kind][key]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "%s %v; ", k, counts[k])
	}
	return b.String()
}

// percentile of durations (p in 0..100).
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}
