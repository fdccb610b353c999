package runs

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"labreview/auth/lookalike"
	"labreview/db"
)

// Limits of what a job may send (docs/api.md lists them).
const (
	MaxParamsBytes = 64 << 10 // params as compact JSON
	MaxParamsDepth = 20
	// MaxParamValues bounds the values a run's params hold through
	// objects (every key of every object, the objects included; array
	// elements are not counted, as queries do not reach into arrays), and
	// MaxParamPath the bytes of a dotted path to one: what the query index
	// keeps of a run stays a small multiple of its request (issue 16.1;
	// docs/security.md).
	MaxParamValues = 1000
	MaxParamPath   = 256
	MaxKeyLength   = 200 // a param or metric name
	MaxMetrics     = 1000
	MaxTags        = 50
	MaxTagLength   = 100
	MaxNotesBytes  = 64 << 10
	MaxNameLength  = 200 // project, name, external id, host, job id
	// MaxFailureReason is the most characters of a failure's reason (one
	// line), MaxFailureDetail the most bytes of its detail (the end of a
	// traceback or log).
	MaxFailureReason = 500
	MaxFailureDetail = 16 << 10
	// clockSkew is how far in the future a client's finish time may lie.
	clockSkew = 5 * time.Minute
)

// NewRun is what a job sends to create a run. Empty fields get defaults:
// status queued, external id the run's id, name the external id.
type NewRun struct {
	Project    string
	ExternalID string
	Name       string
	Status     string
	Host       string
	JobID      string
	Params     json.RawMessage // a JSON object, or empty
	Metrics    db.Metrics
	Tags       []string
	Notes      string
	// Failure is why the run failed or was cancelled (with those
	// statuses only).
	Failure *db.Failure
}

// Patch changes a run; nil or empty fields stay as they are.
type Patch struct {
	Status *string
	// Metrics are merged: the names given are set, the others kept.
	Metrics db.Metrics
	// Params, when set, replace the params (a JSON object).
	Params json.RawMessage
	Tags   *[]string
	Notes  *string
	// Heartbeat records a sign of life at the server's time.
	Heartbeat bool
	// FinishedAt is when the run ended, by the job's clock; a status that
	// ends the run without it is stamped with the server's time.
	FinishedAt *time.Time
	// Failure sets why the run failed or was cancelled: the status must
	// be (or become) failed or cancelled. A status other than those two
	// clears it.
	Failure *db.Failure
}

func (in NewRun) validate() (*db.Run, error) {
	r := &db.Run{Metrics: db.Metrics{}, Tags: []string{}, Params: map[string]any{}}
	var err error
	if r.Project, err = label("project", in.Project, true); err != nil {
		return nil, err
	}
	if err := checkProjectName(r.Project); err != nil {
		return nil, err
	}
	if r.ExternalID, err = label("external_id", in.ExternalID, false); err != nil {
		return nil, err
	}
	if r.Name, err = label("name", in.Name, false); err != nil {
		return nil, err
	}
	if r.Host, err = label("host", in.Host, false); err != nil {
		return nil, err
	}
	if r.JobID, err = label("job_id", in.JobID, false); err != nil {
		return nil, err
	}
	r.Status = db.StatusQueued
	if in.Status != "" {
		if err := checkStatus(in.Status); err != nil {
			return nil, err
		}
		r.Status = in.Status
	}
	if len(in.Params) > 0 {
		if r.Params, err = parseParams(in.Params); err != nil {
			return nil, err
		}
	}
	if err := checkMetrics(in.Metrics); err != nil {
		return nil, err
	}
	maps.Copy(r.Metrics, in.Metrics)
	if r.Tags, err = cleanTags(in.Tags); err != nil {
		return nil, err
	}
	if err := checkNotes(in.Notes); err != nil {
		return nil, err
	}
	r.Notes = in.Notes
	if in.Failure != nil {
		if err := checkFailure(in.Failure); err != nil {
			return nil, err
		}
		if !endedBadly(r.Status) {
			return nil, errFailureStatus
		}
		f := *in.Failure
		r.Failure = &f
	}
	return r, nil
}

var errFailureStatus = invalid("failure", "A failure goes with the status failed or cancelled.")

// endedBadly reports whether a status may carry a failure.
func endedBadly(status string) bool { return status == db.StatusFailed || status == db.StatusCancelled }

// checkFailure checks a failure's sizes: a reason of one line of at most
// MaxFailureReason characters, a detail of at most MaxFailureDetail
// bytes of text.
func checkFailure(f *db.Failure) error {
	switch {
	case f.Reason == "":
		return &InputError{Field: "failure.reason", Code: "required", Message: "Say why the run failed: a reason is required."}
	case utf8.RuneCountInString(f.Reason) > MaxFailureReason || !printable(f.Reason):
		return invalid("failure.reason", "A reason is one line of at most %d printable characters (put the traceback in detail).", MaxFailureReason)
	case len(f.Detail) > MaxFailureDetail || !utf8.ValidString(f.Detail) || strings.ContainsRune(f.Detail, 0):
		return invalid("failure.detail", "A detail is UTF-8 text of at most %d KiB (keep the end of a traceback).", MaxFailureDetail>>10)
	}
	return nil
}

func (p *Patch) validate() error {
	if p.Status != nil {
		if err := checkStatus(*p.Status); err != nil {
			return err
		}
	}
	if err := checkMetrics(p.Metrics); err != nil {
		return err
	}
	if len(p.Params) > 0 {
		if _, err := parseParams(p.Params); err != nil {
			return err
		}
	}
	if p.Tags != nil {
		tags, err := cleanTags(*p.Tags)
		if err != nil {
			return err
		}
		p.Tags = &tags
	}
	if p.Notes != nil {
		if err := checkNotes(*p.Notes); err != nil {
			return err
		}
	}
	if p.Failure != nil {
		if err := checkFailure(p.Failure); err != nil {
			return err
		}
	}
	return nil
}

// apply changes r as the patch says. It depends only on r and now (the
// store may call it again on a newer state).
func (p *Patch) apply(r *db.Run, now time.Time) error {
	if len(r.Metrics)+len(p.Metrics) > MaxMetrics {
		merged := maps.Clone(r.Metrics)
		maps.Copy(merged, p.Metrics)
		if len(merged) > MaxMetrics {
			return invalid("metrics", "A run holds at most %d metrics.", MaxMetrics)
		}
	}
	if r.Metrics == nil {
		r.Metrics = db.Metrics{}
	}
	maps.Copy(r.Metrics, p.Metrics)
	if len(p.Params) > 0 {
		params, err := parseParams(p.Params)
		if err != nil {
			return err
		}
		r.Params = params
	}
	if p.Tags != nil {
		r.Tags = slices.Clone(*p.Tags)
	}
	if p.Notes != nil {
		r.Notes = *p.Notes
	}
	if p.Heartbeat {
		r.HeartbeatAt = &now
	}
	old := r.Status
	if p.Status != nil {
		r.Status = *p.Status
	}
	if p.FinishedAt != nil {
		if p.FinishedAt.After(now.Add(clockSkew)) || p.FinishedAt.Before(r.CreatedAt.Add(-clockSkew)) {
			return invalid("finished_at", "The finish time must lie between the run's creation and now.")
		}
	}
	applyStatusTimes(r, old, now, p.FinishedAt)
	switch {
	case p.Failure != nil && !endedBadly(r.Status):
		return errFailureStatus
	case p.Failure != nil:
		f := *p.Failure
		r.Failure = &f
	case !endedBadly(r.Status):
		r.Failure = nil
	}
	return nil
}

// applyStatusTimes keeps the times in step with the status: a run that
// starts running gets its start (once) and a heartbeat; a run that ends
// gets its finish time (the job's, or now); a run that runs again loses
// its finish time.
func applyStatusTimes(r *db.Run, old string, now time.Time, finishedAt *time.Time) {
	switch r.Status {
	case db.StatusRunning:
		if r.StartedAt == nil {
			r.StartedAt = &now
		}
		if old != db.StatusRunning {
			r.HeartbeatAt = &now
			r.FinishedAt = nil
		}
	case db.StatusSucceeded, db.StatusFailed, db.StatusCancelled:
		if finishedAt != nil {
			t := finishedAt.UTC().Truncate(time.Millisecond)
			r.FinishedAt = &t
		} else if r.FinishedAt == nil || old != r.Status {
			r.FinishedAt = &now
		}
	case db.StatusQueued:
		r.FinishedAt = nil
	}
}

func checkStatus(s string) error {
	switch s {
	case db.StatusQueued, db.StatusRunning, db.StatusSucceeded, db.StatusFailed, db.StatusCancelled:
		return nil
	case StatusStale:
		return invalid("status", "stale is shown by the server for running runs without heartbeats; it cannot be set.")
	}
	return invalid("status", "The status is one of queued, running, succeeded, failed, cancelled.")
}

// label checks a one-line name: printable, at most MaxNameLength
// characters, no spaces at either end.
func label(field, v string, required bool) (string, error) {
	switch {
	case v == "" && required:
		return "", &InputError{Field: field, Code: "required", Message: "This field is required."}
	case utf8.RuneCountInString(v) > MaxNameLength || !printable(v) || strings.TrimSpace(v) != v:
		return "", invalid(field, "At most %d printable characters, without spaces at either end.", MaxNameLength)
	}
	return v, nil
}

// checkProjectName applies the look-alike rules of emails to a project
// name (a project is what API tokens are limited to and what people pick
// runs by): its NFKC form (a fullwidth "ｓ" is not "s" here, it is
// refused, naming the plain form), no characters that do not show or turn
// the text around (lookalike.Hidden: zero-width, format, bidirectional
// controls, variation selectors, spaces other than U+0020), and no
// combining mark without a letter to join. A new project that looks like
// an existing one is refused by the service (Create).
func checkProjectName(name string) error {
	if !norm.NFKC.IsNormalString(name) {
		return invalid("project", "Use the plain form of the name, %q (Unicode NFKC).", truncate(norm.NFKC.String(name), 210))
	}
	prev := ' '
	for _, r := range name {
		if lookalike.Hidden(r, true) || lookalike.Combining(r) && !unicode.In(prev, unicode.L, unicode.M) {
			return invalid("project", "Project names must not contain invisible, direction-changing or unusual space characters, nor a combining mark without a letter.")
		}
		prev = r
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func parseParams(raw json.RawMessage) (map[string]any, error) {
	if len(raw) > MaxParamsBytes*2 {
		return nil, &InputError{Field: "params", Code: "too_large", Message: fmt.Sprintf("Params are at most %d KiB of JSON.", MaxParamsBytes>>10)}
	}
	params, err := db.DecodeParams(raw)
	var num *db.NumberError
	switch {
	case errors.As(err, &num):
		return nil, invalid("params"+num.Path, "The number %s is beyond the range of a 64-bit float.", truncate(num.Text, 40))
	case err != nil:
		return nil, invalid("params", "Params must be a JSON object.")
	}
	if b, _ := json.Marshal(params); len(b) > MaxParamsBytes { // decoded JSON always encodes
		return nil, &InputError{Field: "params", Code: "too_large", Message: fmt.Sprintf("Params are at most %d KiB of JSON.", MaxParamsBytes>>10)}
	}
	if err := checkParamValue("params", params, 0); err != nil {
		return nil, err
	}
	if err := checkParamNames(params); err != nil {
		return nil, err
	}
	values := 0
	if err := checkParamPaths("", params, &values); err != nil {
		return nil, err
	}
	return params, nil
}

// checkParamPaths counts the values reachable through objects and checks
// the length of their dotted paths.
func checkParamPaths(prefix string, m map[string]any, values *int) error {
	for k, v := range m {
		path := prefix + k
		if *values++; *values > MaxParamValues {
			return &InputError{Field: "params", Code: "too_large", Message: fmt.Sprintf(
				"Params hold at most %d values through objects (each key of each object counts, objects too).", MaxParamValues)}
		}
		if len(path) > MaxParamPath {
			return &InputError{Field: "params", Code: "too_large", Message: fmt.Sprintf(
				"A param's dotted path is at most %d bytes (params.%s…).", MaxParamPath, truncate(path, 40))}
		}
		if o, ok := v.(map[string]any); ok {
			if err := checkParamPaths(path+".", o, values); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkParamValue(path string, v any, depth int) error {
	if depth > MaxParamsDepth {
		return invalid("params", "Params nest at most %d levels deep.", MaxParamsDepth)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if err := checkParamValue(path+"."+k, e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := checkParamValue(path, e, depth+1); err != nil {
				return err
			}
		}
	case string:
		if !utf8.ValidString(x) {
			return invalid("params", "Texts in params must be valid UTF-8.")
		}
	}
	return nil
}

func checkMetrics(m db.Metrics) error {
	if len(m) > MaxMetrics {
		return invalid("metrics", "A run holds at most %d metrics.", MaxMetrics)
	}
	for k := range m {
		if err := checkName("metrics", k); err != nil {
			return err
		}
	}
	return nil
}

// cleanTags checks tags and drops repeats, keeping the first order.
func cleanTags(tags []string) ([]string, error) {
	out := []string{}
	for _, t := range tags {
		if t == "" || utf8.RuneCountInString(t) > MaxTagLength || !printable(t) || strings.TrimSpace(t) != t {
			return nil, invalid("tags", "Tags are 1 to %d printable characters, without spaces at either end.", MaxTagLength)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, invalid("tags", "A run has at most %d tags.", MaxTags)
	}
	return out, nil
}

func checkNotes(n string) error {
	if len(n) > MaxNotesBytes || !utf8.ValidString(n) || strings.ContainsRune(n, 0) {
		return invalid("notes", "Notes are valid UTF-8 text of at most %d KiB.", MaxNotesBytes>>10)
	}
	return nil
}

// summary is the part of a run the audit log keeps of a creation: the
// identity and the data, not the large params themselves (their size is
// bounded, but an audit page must stay light).
func summary(r *db.Run) map[string]any {
	return map[string]any{"external_id": r.ExternalID, "name": r.Name, "status": r.Status,
		"params_keys": float64(len(r.Params)), "metrics": metricsAny(r.Metrics)}
}

func metricsAny(m db.Metrics) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = db.FloatValue(v)
	}
	return out
}

// diff lists what a change did, field by field, as before and after
// values for the audit log. Heartbeats alone are not audited: they change
// no data, and a running job sends one every half minute.
func diff(before, after *db.Run) map[string]any {
	b, a := map[string]any{}, map[string]any{}
	if before.Status != after.Status {
		b["status"], a["status"] = before.Status, after.Status
	}
	if before.Notes != after.Notes {
		b["notes"], a["notes"] = auditValue(before.Notes), auditValue(after.Notes)
	}
	if !slices.Equal(before.Tags, after.Tags) {
		b["tags"], a["tags"] = stringsAny(before.Tags), stringsAny(after.Tags)
	}
	mb, ma := map[string]any{}, map[string]any{}
	for k, v := range after.Metrics {
		if old, ok := before.Metrics[k]; !ok || (old != v && !(math.IsNaN(old) && math.IsNaN(v))) {
			ma[k] = metricsAny(db.Metrics{k: v})[k]
			if ok {
				mb[k] = metricsAny(db.Metrics{k: old})[k]
			} else {
				mb[k] = nil
			}
		}
	}
	if len(ma) > 0 {
		b["metrics"], a["metrics"] = mb, ma
	}
	pb, pa := map[string]any{}, map[string]any{}
	for k := range keys(before.Params, after.Params) {
		ov, oOK := before.Params[k]
		nv, nOK := after.Params[k]
		if oOK != nOK || !jsonEqual(ov, nv) {
			pb[k], pa[k] = auditValue(jsonAny(ov)), auditValue(jsonAny(nv))
		}
	}
	if len(pa) > 0 {
		b["params"], a["params"] = pb, pa
	}
	if failureText(before.Failure) != failureText(after.Failure) {
		b["failure"], a["failure"] = failureAny(before.Failure), failureAny(after.Failure)
	}
	if (before.FinishedAt == nil) != (after.FinishedAt == nil) ||
		(before.FinishedAt != nil && !before.FinishedAt.Equal(*after.FinishedAt)) {
		b["finished_at"], a["finished_at"] = timeAny(before.FinishedAt), timeAny(after.FinishedAt)
	}
	if len(a) == 0 {
		return nil
	}
	return map[string]any{"before": b, "after": a}
}

func failureText(f *db.Failure) string {
	if f == nil {
		return ""
	}
	return f.Reason + "\x00" + f.Detail
}

// failureAny is a failure as the audit log keeps it: the reason, and the
// detail's size (a traceback is not worth keeping twice).
func failureAny(f *db.Failure) any {
	if f == nil {
		return nil
	}
	return map[string]any{"reason": f.Reason, "detail_bytes": float64(len(f.Detail))}
}

func keys(ms ...map[string]any) map[string]struct{} {
	out := map[string]struct{}{}
	for _, m := range ms {
		for k := range m {
			out[k] = struct{}{}
		}
	}
	return out
}

func jsonEqual(a, b any) bool {
	x, _ := db.AppendJSON(nil, a)
	y, _ := db.AppendJSON(nil, b)
	return string(x) == string(y)
}

// jsonAny turns a normal-form value into what the audit log stores
// (numbers as float64, as JSON decoding gives them).
func jsonAny(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func stringsAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func timeAny(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}
