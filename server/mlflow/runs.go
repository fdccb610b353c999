package mlflow

import (
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/auth/policy"
	"labreview/db"
	"labreview/runs"
)

// MLflow's system tags that map onto labreview's fields.
const (
	tagRunName = "mlflow.runName"
	tagNote    = "mlflow.note.content"
	tagUser    = "mlflow.user"
)

// Limits of log-batch, as MLflow's server has them.
const (
	maxBatchMetrics = 1000
	maxBatchParams  = 100
	maxBatchTags    = 100
	// maxHistoryPage is the most points one get-history answer holds.
	maxHistoryPage = 25000
)

type metricJSON struct {
	Key       string   `json:"key"`
	Value     db.Float `json:"value"`
	Timestamp int64    `json:"timestamp"`
	Step      int64    `json:"step"`
}

type runInfoJSON struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type runJSON struct {
	Info runInfoJSON `json:"info"`
	Data struct {
		Metrics []metricJSON `json:"metrics"`
		Params  []keyValue   `json:"params"`
		Tags    []keyValue   `json:"tags"`
	} `json:"data"`
	Inputs struct{} `json:"inputs"`
}

// statusOf is a run's status in MLflow's terms (a stale run is still
// RUNNING to MLflow).
func statusOf(status string) string {
	switch status {
	case db.StatusQueued:
		return "SCHEDULED"
	case db.StatusSucceeded:
		return "FINISHED"
	case db.StatusFailed:
		return "FAILED"
	case db.StatusCancelled:
		return "KILLED"
	}
	return "RUNNING"
}

func artifactURI(r *db.Run) string {
	return "mlflow-artifacts:/" + experimentID(r.Project) + "/" + r.ID + "/artifacts"
}

func toRunInfo(r *db.Run) runInfoJSON {
	start := r.CreatedAt
	if r.StartedAt != nil {
		start = *r.StartedAt
	}
	info := runInfoJSON{RunID: r.ID, RunUUID: r.ID, RunName: r.Name, ExperimentID: experimentID(r.Project),
		UserID: r.CreatedBy, Status: statusOf(r.Status), StartTime: start.UnixMilli(), ArtifactURI: artifactURI(r),
		LifecycleStage: "active"}
	if r.FinishedAt != nil {
		end := r.FinishedAt.UnixMilli()
		info.EndTime = &end
	}
	if r.DeletedAt != nil {
		info.LifecycleStage = "deleted"
	}
	return info
}

// tagsOf is the run's MLflow tags: its key-value tags, and the system tags
// labreview keeps as fields (name, notes, and the user who created it:
// mlflow.user is always the token's owner, whatever the client sent).
func tagsOf(r *db.Run) map[string]string {
	out := make(map[string]string, len(r.KeyTags)+3)
	for k, v := range r.KeyTags {
		out[k] = v
	}
	out[tagRunName], out[tagUser] = r.Name, r.CreatedBy
	if r.Notes != "" {
		out[tagNote] = r.Notes
	}
	return out
}

func sortedPairs(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for k, v := range m {
		out = append(out, keyValue{k, v})
	}
	slices.SortFunc(out, func(a, b keyValue) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// toRun is a run in MLflow's shape. A metric's step is the last step of
// its history; its timestamp is the run's last change.
func toRun(r *db.Run, sums []db.SeriesSummary) runJSON {
	var out runJSON
	out.Info = toRunInfo(r)
	last := map[string]int64{}
	for _, s := range sums {
		last[s.Name] = s.LastStep
	}
	out.Data.Metrics = make([]metricJSON, 0, len(r.Metrics))
	for k, v := range r.Metrics {
		out.Data.Metrics = append(out.Data.Metrics, metricJSON{Key: k, Value: db.Float(v), Timestamp: r.UpdatedAt.UnixMilli(), Step: last[k]})
	}
	slices.SortFunc(out.Data.Metrics, func(a, b metricJSON) int { return strings.Compare(a.Key, b.Key) })
	out.Data.Params = sortedPairs(runs.FlatParams(r))
	out.Data.Tags = sortedPairs(tagsOf(r))
	return out
}

// viewOf is what a search filter sees of a run.
func viewOf(r *db.Run) *runView {
	info := toRunInfo(r)
	v := &runView{metrics: r.Metrics, params: runs.FlatParams(r), tags: tagsOf(r),
		attrs: map[string]string{"run_id": r.ID, "run_name": r.Name, "status": info.Status, "user_id": r.CreatedBy,
			"artifact_uri": info.ArtifactURI, "lifecycle_stage": info.LifecycleStage},
		nums: map[string]float64{"start_time": float64(info.StartTime), "created": float64(r.CreatedAt.UnixMilli()),
			"Created": float64(r.CreatedAt.UnixMilli())}}
	if info.EndTime != nil {
		v.nums["end_time"] = float64(*info.EndTime)
	}
	return v
}

// runRef is the run id of a request: run_id, or run_uuid from older
// clients.
type runRef struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
}

func (r runRef) id() (string, error) {
	if r.RunID != "" {
		return r.RunID, nil
	}
	if r.RunUUID != "" {
		return r.RunUUID, nil
	}
	return "", invalidParam("Missing value for required parameter 'run_id'.")
}

// runResponse reads a run with its series summaries and writes it.
func (api *API) runResponse(c *gin.Context, r *db.Run) {
	sums, err := api.runs.SeriesSummaries(c.Request.Context(), r)
	if err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{"run": toRun(r, sums)})
}

// RunCreate: POST runs/create. The run goes to the experiment's project,
// running; mlflow.runName (or run_name) is its name, mlflow.note.content
// its notes; mlflow.user is ignored (the creator is the token's owner);
// the other tags are kept.
func (api *API) RunCreate(c *gin.Context) {
	var in struct {
		ExperimentID string     `json:"experiment_id"`
		RunName      string     `json:"run_name"`
		StartTime    int64Field `json:"start_time"`
		Tags         []keyValue `json:"tags"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	if in.ExperimentID == "" {
		in.ExperimentID = "0"
	}
	p, err := api.projectOf(c, in.ExperimentID)
	if err != nil {
		api.writeError(c, err)
		return
	}
	if len(in.Tags) > runs.MaxKeyTags {
		api.writeError(c, invalidParam("A run is created with at most %d tags.", runs.MaxKeyTags))
		return
	}
	w := runs.KeyedWrite{Tags: map[string]string{}}
	name := in.RunName
	notes := ""
	for _, t := range in.Tags {
		switch t.Key {
		case tagRunName:
			if name == "" {
				name = t.Value
			}
		case tagNote:
			notes = t.Value
		case tagUser:
		default:
			w.Tags[t.Key] = t.Value
		}
	}
	ctx := c.Request.Context()
	r, _, err := api.runs.Create(ctx, actor(c), runs.NewRun{Project: p.Name, Name: name, Status: db.StatusRunning, Notes: notes})
	if err != nil {
		api.writeError(c, err)
		return
	}
	if len(w.Tags) > 0 {
		if r, err = api.runs.WriteKeyed(ctx, actor(c), r.ID, w); err != nil {
			api.writeError(c, err)
			return
		}
	}
	api.runResponse(c, r)
}

// RunGet: GET runs/get?run_id=.
func (api *API) RunGet(c *gin.Context) {
	var in runRef
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		api.writeError(c, err)
		return
	}
	r, err := api.runs.Get(c.Request.Context(), actor(c), id)
	if err != nil {
		api.writeError(c, err)
		return
	}
	api.runResponse(c, r)
}

// RunUpdate: POST runs/update: status, end time, name.
func (api *API) RunUpdate(c *gin.Context) {
	var in struct {
		runRef
		Status  string     `json:"status"`
		EndTime int64Field `json:"end_time"`
		RunName string     `json:"run_name"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		api.writeError(c, err)
		return
	}
	var w runs.KeyedWrite
	if in.Status != "" {
		s, ok := statusToLabreview[in.Status]
		if !ok {
			api.writeError(c, invalidParam("Invalid value for parameter 'status': one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED."))
			return
		}
		w.Status = &s
		if in.EndTime.set && s != db.StatusRunning && s != db.StatusQueued {
			t := time.UnixMilli(in.EndTime.v).UTC()
			w.FinishedAt = &t
		}
	}
	if in.RunName != "" {
		w.Name = &in.RunName
	}
	r, err := api.runs.WriteKeyed(c.Request.Context(), actor(c), id, w)
	if err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{"run_info": toRunInfo(r)})
}

// RunDelete: POST runs/delete: a soft delete, as labreview's own API
// (runs:delete: admins, no API token).
func (api *API) RunDelete(c *gin.Context) { api.setDeleted(c, true) }

// RunRestore: POST runs/restore.
func (api *API) RunRestore(c *gin.Context) { api.setDeleted(c, false) }

func (api *API) setDeleted(c *gin.Context, deleted bool) {
	var in runRef
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		api.writeError(c, err)
		return
	}
	if deleted {
		_, err = api.runs.Delete(c.Request.Context(), actor(c), id)
	} else {
		_, err = api.runs.Restore(c.Request.Context(), actor(c), id)
	}
	if err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{})
}

type metricIn struct {
	Key       string     `json:"key"`
	Value     floatField `json:"value"`
	Timestamp int64Field `json:"timestamp"`
	Step      int64Field `json:"step"`
}

func (m metricIn) point() (runs.MetricPoint, error) {
	if m.Key == "" {
		return runs.MetricPoint{}, invalidParam("Missing value for required parameter 'key'.")
	}
	if !m.Value.set {
		return runs.MetricPoint{}, invalidParam("Missing value for required parameter 'value' (metric %s).", truncate(m.Key, 60))
	}
	if !m.Timestamp.set {
		return runs.MetricPoint{}, invalidParam("Missing value for required parameter 'timestamp' (metric %s).", truncate(m.Key, 60))
	}
	return runs.MetricPoint{Name: m.Key, Value: m.Value.v, Step: m.Step.v, Time: time.UnixMilli(m.Timestamp.v).UTC()}, nil
}

// RunLogMetric: POST runs/log-metric.
func (api *API) RunLogMetric(c *gin.Context) {
	var in struct {
		runRef
		metricIn
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		api.writeError(c, err)
		return
	}
	p, err := in.point()
	if err != nil {
		api.writeError(c, err)
		return
	}
	if _, err := api.runs.LogMetrics(c.Request.Context(), actor(c), id, []runs.MetricPoint{p}); err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{})
}

// RunLogParam: POST runs/log-parameter.
func (api *API) RunLogParam(c *gin.Context) {
	var in struct {
		runRef
		keyValue
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		api.writeError(c, err)
		return
	}
	if in.Key == "" {
		api.writeError(c, invalidParam("Missing value for required parameter 'key'."))
		return
	}
	if _, err := api.runs.WriteKeyed(c.Request.Context(), actor(c), id, runs.KeyedWrite{Params: map[string]string{in.Key: in.Value}}); err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{})
}

// tagWrite adds a tag to a write: the system tags go to their fields;
// mlflow.user is ignored.
func tagWrite(w *runs.KeyedWrite, key, value string) {
	switch key {
	case tagRunName:
		w.Name = &value
	case tagNote:
		w.Notes = &value
	case tagUser:
	default:
		if w.Tags == nil {
			w.Tags = map[string]string{}
		}
		w.Tags[key] = value
	}
}

// RunSetTag: POST runs/set-tag.
func (api *API) RunSetTag(c *gin.Context) {
	var in struct {
		runRef
		keyValue
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		api.writeError(c, err)
		return
	}
	if in.Key == "" {
		api.writeError(c, invalidParam("Missing value for required parameter 'key'."))
		return
	}
	var w runs.KeyedWrite
	tagWrite(&w, in.Key, in.Value)
	if _, err := api.runs.WriteKeyed(c.Request.Context(), actor(c), id, w); err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{})
}

// RunDeleteTag: POST runs/delete-tag.
func (api *API) RunDeleteTag(c *gin.Context) {
	var in struct {
		runRef
		Key string `json:"key"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		api.writeError(c, err)
		return
	}
	r, err := api.runs.Get(c.Request.Context(), actor(c), id)
	if err != nil {
		api.writeError(c, err)
		return
	}
	if _, ok := r.KeyTags[in.Key]; !ok {
		api.writeError(c, notFound("No tag with name: %s in run with id %s", truncate(in.Key, 250), r.ID))
		return
	}
	if _, err := api.runs.WriteKeyed(c.Request.Context(), actor(c), id, runs.KeyedWrite{DeleteTags: []string{in.Key}}); err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{})
}

// RunLogBatch: POST runs/log-batch: params and tags in one atomic change
// (a changed param refuses the whole batch), then the metrics.
func (api *API) RunLogBatch(c *gin.Context) {
	var in struct {
		runRef
		Metrics []metricIn `json:"metrics"`
		Params  []keyValue `json:"params"`
		Tags    []keyValue `json:"tags"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		api.writeError(c, err)
		return
	}
	switch {
	case len(in.Metrics) > maxBatchMetrics:
		err = invalidParam("A batch logging request can contain at most %d metrics. Got %d metrics.", maxBatchMetrics, len(in.Metrics))
	case len(in.Params) > maxBatchParams:
		err = invalidParam("A batch logging request can contain at most %d params. Got %d params.", maxBatchParams, len(in.Params))
	case len(in.Tags) > maxBatchTags:
		err = invalidParam("A batch logging request can contain at most %d tags. Got %d tags.", maxBatchTags, len(in.Tags))
	}
	if err != nil {
		api.writeError(c, err)
		return
	}
	points := make([]runs.MetricPoint, len(in.Metrics))
	for i, m := range in.Metrics {
		if points[i], err = m.point(); err != nil {
			api.writeError(c, err)
			return
		}
	}
	if err := runs.CheckMetricPoints(points); err != nil {
		api.writeError(c, err)
		return
	}
	var w runs.KeyedWrite
	for _, p := range in.Params {
		if p.Key == "" {
			api.writeError(c, invalidParam("Missing value for required parameter 'key' of a param."))
			return
		}
		if w.Params == nil {
			w.Params = map[string]string{}
		}
		if old, dup := w.Params[p.Key]; dup && old != p.Value {
			api.writeError(c, invalidParam("Duplicate parameter keys have been submitted: %s with values %q and %q.", p.Key, old, p.Value))
			return
		}
		w.Params[p.Key] = p.Value
	}
	for _, t := range in.Tags {
		if t.Key == "" {
			api.writeError(c, invalidParam("Missing value for required parameter 'key' of a tag."))
			return
		}
		tagWrite(&w, t.Key, t.Value)
	}
	ctx := c.Request.Context()
	if w.Params != nil || w.Tags != nil || w.Name != nil || w.Notes != nil {
		if _, err := api.runs.WriteKeyed(ctx, actor(c), id, w); err != nil {
			api.writeError(c, err)
			return
		}
	}
	if _, err := api.runs.LogMetrics(ctx, actor(c), id, points); err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{})
}

// RunLogInputs: POST runs/log-inputs: accepted for a live run the caller
// may write; the datasets are not kept.
func (api *API) RunLogInputs(c *gin.Context) { api.acceptForRun(c) }

// RunLogModel: POST runs/log-model: accepted and ignored likewise.
func (api *API) RunLogModel(c *gin.Context) { api.acceptForRun(c) }

func (api *API) acceptForRun(c *gin.Context) {
	var in runRef
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		api.writeError(c, err)
		return
	}
	r, err := api.runs.Get(c.Request.Context(), actor(c), id)
	if err != nil {
		api.writeError(c, err)
		return
	}
	if r.DeletedAt != nil {
		api.writeError(c, runs.ErrDeleted)
		return
	}
	reply(c, gin.H{})
}

// orderBy turns MLflow's order_by (the first clause; MLflow's default is
// start_time DESC) into labreview's sort.
func orderBy(list []string) (string, error) {
	if len(list) == 0 {
		return "-started", nil
	}
	f := strings.Fields(list[0])
	if len(f) == 0 || len(f) > 2 {
		return "", invalidParam("Invalid order_by clause %q.", truncate(list[0], 80))
	}
	desc := len(f) == 2 && strings.EqualFold(f[1], "DESC")
	if len(f) == 2 && !desc && !strings.EqualFold(f[1], "ASC") {
		return "", invalidParam("Invalid order_by clause %q: ASC or DESC.", truncate(list[0], 80))
	}
	ent, key, ok := strings.Cut(f[0], ".")
	if !ok {
		ent, key = "attributes", f[0]
	}
	key = strings.Trim(key, "`\"")
	var sort string
	switch kind, known := entities[strings.ToLower(ent)]; {
	case !known:
		return "", invalidParam("Invalid order_by clause %q.", truncate(list[0], 80))
	case kind == entityMetric && simpleName.MatchString(key):
		sort = "metrics." + key
	case kind == entityParam && paramPath(key):
		sort = "params." + key
	case kind == entityAttribute && (key == "start_time" || key == "created"):
		sort = "started"
	case kind == entityAttribute && key == "run_name":
		sort = "name"
	case kind == entityTag && key == tagRunName:
		sort = "name"
	default:
		return "", invalidParam("labreview orders runs by metrics.<name>, params.<name>, attributes.start_time or attributes.run_name (got %q).", truncate(list[0], 80))
	}
	if desc {
		sort = "-" + sort
	}
	return sort, nil
}

// RunSearch: POST runs/search.
func (api *API) RunSearch(c *gin.Context) {
	var in struct {
		ExperimentIDs stringList `json:"experiment_ids"`
		Filter        string     `json:"filter"`
		RunViewType   string     `json:"run_view_type"`
		MaxResults    int64Field `json:"max_results"`
		OrderBy       stringList `json:"order_by"`
		PageToken     string     `json:"page_token"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	limit := int64(1000)
	if in.MaxResults.set {
		limit = in.MaxResults.v
	}
	if limit < 1 || limit > 50000 {
		api.writeError(c, invalidParam("Invalid value for parameter 'max_results' supplied. It must be at most 50000, but got value %d", limit))
		return
	}
	clauses, err := parseFilter(in.Filter)
	if err != nil {
		api.writeError(c, err)
		return
	}
	sort, err := orderBy(in.OrderBy)
	if err != nil {
		api.writeError(c, err)
		return
	}
	projects, err := api.projectsOf(c, in.ExperimentIDs)
	if err != nil {
		api.writeError(c, err)
		return
	}
	out := []runJSON{}
	if len(projects) == 0 {
		reply(c, gin.H{"runs": out})
		return
	}
	q := runs.ListQuery{Limit: int(min(limit, runs.MaxPageSize)), Sort: sort, Cursor: in.PageToken}
	switch in.RunViewType {
	case "", "ACTIVE_ONLY", "1", "ALL", "3":
	case "DELETED_ONLY", "2":
		if !principal(c).Can(policy.RunsDelete, policy.Resource{}) {
			api.writeError(c, errAdmin)
			return
		}
		q.Deleted = true
	default:
		api.writeError(c, invalidParam("run_view_type is ACTIVE_ONLY, DELETED_ONLY or ALL."))
		return
	}
	quoted := make([]string, len(projects))
	for i, p := range projects {
		quoted[i] = quote(p)
	}
	conds := append([]string{"project in (" + strings.Join(quoted, ", ") + ")"}, pushdown(clauses)...)
	if text := strings.Join(conds, " and "); len(text) <= 2000 && len(conds) <= 50 {
		q.Q = text
	} else {
		q.Q = conds[0]
	}
	page, err := api.runs.List(c.Request.Context(), actor(c), q)
	if err != nil {
		api.writeError(c, err)
		return
	}
	for i := range page.Runs {
		r := &page.Runs[i]
		if !matchAll(clauses, viewOf(r)) {
			continue
		}
		sums, err := api.runs.SeriesSummaries(c.Request.Context(), r)
		if err != nil {
			api.writeError(c, err)
			return
		}
		out = append(out, toRun(r, sums))
	}
	resp := gin.H{"runs": out}
	if page.Next != "" {
		resp["next_page_token"] = page.Next
	}
	reply(c, resp)
}

// MetricHistory: GET metrics/get-history?run_id=&metric_key=: the metric's
// series in step order, with each step's time from the run's clock (the
// run's last change where the clock does not reach), max_results a page
// (at most 25,000) and page_token the next page.
func (api *API) MetricHistory(c *gin.Context) {
	var in struct {
		runRef
		MetricKey  string     `json:"metric_key"`
		MaxResults int64Field `json:"max_results"`
		PageToken  string     `json:"page_token"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		api.writeError(c, err)
		return
	}
	if in.MetricKey == "" {
		api.writeError(c, invalidParam("Missing value for required parameter 'metric_key'."))
		return
	}
	limit := int64(maxHistoryPage)
	if in.MaxResults.set {
		if in.MaxResults.v < 1 {
			api.writeError(c, invalidParam("max_results must be at least 1."))
			return
		}
		limit = min(in.MaxResults.v, maxHistoryPage)
	}
	from := int64(0)
	if in.PageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.PageToken)
		if err == nil {
			from, err = strconv.ParseInt(string(b), 10, 64)
		}
		if err != nil || from < 0 {
			api.writeError(c, invalidParam("Invalid page token."))
			return
		}
	}
	ctx := c.Request.Context()
	r, err := api.runs.Get(ctx, actor(c), id)
	if err != nil {
		api.writeError(c, err)
		return
	}
	h, err := api.runs.MetricHistory(ctx, actor(c), r.ID, in.MetricKey, from, int(limit))
	if err != nil {
		api.writeError(c, err)
		return
	}
	out := make([]metricJSON, 0, len(h.Points))
	for i, p := range h.Points {
		ts := r.UpdatedAt.UnixMilli()
		if t := h.Times[i]; !math.IsNaN(t) {
			ts = int64(math.Round(t * 1000))
		}
		out = append(out, metricJSON{Key: in.MetricKey, Value: db.Float(p.Value), Timestamp: ts, Step: p.Step})
	}
	if len(out) == 0 {
		if _, ok := r.Metrics[in.MetricKey]; ok && from == 0 {
			// A metric set through labreview's own API has no history:
			// its value is its history.
			out = append(out, metricJSON{Key: in.MetricKey, Value: db.Float(r.Metrics[in.MetricKey]), Timestamp: r.UpdatedAt.UnixMilli()})
		}
	}
	resp := gin.H{"metrics": out}
	if h.Next != nil {
		resp["next_page_token"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(*h.Next, 10)))
	}
	reply(c, resp)
}

// Registry answers the model registry's reads with nothing (labreview has
// no model registry), so clients that list models do not break.
func (api *API) RegistryEmpty(field string) gin.HandlerFunc {
	return func(c *gin.Context) { reply(c, gin.H{field: []any{}}) }
}

// RegistryDisabled refuses the model registry's writes and lookups.
func (api *API) RegistryDisabled(c *gin.Context) {
	api.writeError(c, disabled("The model registry"))
}
