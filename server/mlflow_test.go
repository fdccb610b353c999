package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"labreview/auth/policy"
	"labreview/db"
	"labreview/db/dbtest"
)

// The MLflow routes in the route table of TestEveryRouteHasItsPermission
// (docs/mlflow.md lists them), under both of MLflow's prefixes.
func init() {
	for _, prefix := range []string{"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"} {
		for route, perm := range map[string]policy.Permission{
			"GET /experiments/get": policy.RunsRead, "GET /experiments/get-by-name": policy.RunsRead,
			"GET /experiments/search": policy.RunsRead, "POST /experiments/search": policy.RunsRead,
			"GET /experiments/list": policy.RunsRead, "POST /experiments/create": policy.RunsWrite,
			"POST /experiments/update": policy.RunsWrite, "POST /experiments/delete": policy.RunsWrite,
			"POST /experiments/restore": policy.RunsWrite, "POST /experiments/set-experiment-tag": policy.RunsWrite,
			"POST /experimentsset-experiment-tag": policy.RunsWrite,
			"GET /runs/get":                       policy.RunsRead, "POST /runs/search": policy.RunsRead, "GET /runs/search": policy.RunsRead,
			"GET /metrics/get-history": policy.RunsRead, "GET /artifacts/list": policy.RunsRead,
			"POST /runs/create": policy.RunsWrite, "POST /runs/update": policy.RunsWrite,
			"POST /runs/delete": policy.RunsDelete, "POST /runs/restore": policy.RunsDelete,
			"POST /runs/log-metric": policy.RunsWrite, "POST /runs/log-parameter": policy.RunsWrite,
			"POST /runs/set-tag": policy.RunsWrite, "POST /runs/delete-tag": policy.RunsWrite,
			"POST /runs/log-batch": policy.RunsWrite, "POST /runs/log-inputs": policy.RunsWrite,
			"POST /runs/log-model":          policy.RunsWrite,
			"GET /registered-models/search": policy.RunsRead, "GET /registered-models/list": policy.RunsRead,
			"GET /model-versions/search": policy.RunsRead, "GET /registered-models/get": policy.RunsRead,
			"GET /model-versions/get": policy.RunsRead, "POST /registered-models/create": policy.RunsWrite,
			"POST /model-versions/create": policy.RunsWrite,
		} {
			method, path, _ := strings.Cut(route, " ")
			wantPermissions[method+" "+prefix+path] = perm
		}
	}
	wantPermissions["GET /api/2.0/mlflow-artifacts/artifacts"] = policy.RunsRead
	wantPermissions["GET /api/2.0/mlflow-artifacts/artifacts/*path"] = policy.RunsRead
	wantPermissions["PUT /api/2.0/mlflow-artifacts/artifacts/*path"] = policy.RunsWrite
	wantPermissions["DELETE /api/2.0/mlflow-artifacts/artifacts/*path"] = policy.RunsDelete
}

// mlCall sends one MLflow request as MLflow's Python client does (GET
// parameters in the query string, POST bodies as JSON) and decodes the
// answer.
func (f *runsFixture) mlCall(t *testing.T, method, path, token, body string, want int) map[string]any {
	t.Helper()
	rec := f.srv.do(jsonReq(method, "/api/2.0/mlflow/"+path, token, body))
	if rec.Code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body, want)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: the answer is not a JSON object: %q", method, path, rec.Body)
	}
	if want != 200 {
		if _, ok := out["error_code"].(string); !ok || out["message"] == "" {
			t.Fatalf("%s %s: error not in MLflow's shape: %s", method, path, rec.Body)
		}
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

// mlHistory reads a metric's history through get-history: steps and values.
func (f *runsFixture) mlHistory(t *testing.T, token, runID, key string) ([]int64, []float64, []int64) {
	t.Helper()
	out := f.mlCall(t, "GET", "metrics/get-history?run_uuid="+runID+"&run_id="+runID+"&metric_key="+url.QueryEscape(key), token, "", 200)
	var steps, times []int64
	var values []float64
	for _, m := range out["metrics"].([]any) {
		mm := m.(map[string]any)
		steps = append(steps, int64(mm["step"].(float64)))
		v, isNum := mm["value"].(float64)
		if !isNum {
			v = math.NaN() // "NaN", as protobuf writes it
		}
		values = append(values, v)
		times = append(times, int64(mm["timestamp"].(float64)))
	}
	return steps, values, times
}

func tagMap(run map[string]any) map[string]string {
	out := map[string]string{}
	for _, x := range run["data"].(map[string]any)["tags"].([]any) {
		kv := x.(map[string]any)
		out[kv["key"].(string)] = kv["value"].(string)
	}
	return out
}

func paramMap(run map[string]any) map[string]string {
	out := map[string]string{}
	for _, x := range run["data"].(map[string]any)["params"].([]any) {
		kv := x.(map[string]any)
		out[kv["key"].(string)] = kv["value"].(string)
	}
	return out
}

// TestMLflowFluentScript replays, request by request, what MLflow's Python
// client (2.x: mlflow/tracking/fluent.py over
// mlflow/store/tracking/rest_store.py) sends for this script, with only
// MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN set:
//
//	mlflow.set_experiment("sweep-mlflow")
//	with mlflow.start_run(run_name="ok"):
//	    mlflow.log_params({"lr": 0.01, "optimizer": "adam", "layers.n": 3, "dropout": 1.0})
//	    mlflow.log_metric("loss", 0.5); mlflow.log_metric("loss", 0.4)   # no step: 0 twice
//	    mlflow.log_metric("acc", 0.8, step=1)
//	    mlflow.log_metrics({"acc": 0.9, "loss": 0.3}, step=2)
//	    mlflow.set_tags({"team": "vision", "mlflow.note.content": "first try"})
//	    mlflow.log_artifact("weights.bin", artifact_path="model")
//	with mlflow.start_run(run_name="bad"):
//	    mlflow.log_param("lr", 0.1); raise ValueError()
//	mlflow.search_runs(filter_string="metrics.loss < 0.35 and params.lr = '0.01' and tags.team = 'vision' and attributes.status = 'FINISHED'")
//
// and then reviews and queries the runs through labreview's own API.
func TestMLflowFluentScript(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		ms := time.Now().UnixMilli()

		// set_experiment: get-by-name (404 → create), then get.
		e := f.mlCall(t, "GET", "experiments/get-by-name?experiment_name=sweep-mlflow", tok, "", 404)
		if e["error_code"] != "RESOURCE_DOES_NOT_EXIST" {
			t.Fatalf("get-by-name of an unknown name: %v", e)
		}
		expID := str(f.mlCall(t, "POST", "experiments/create", tok, `{"name": "sweep-mlflow"}`, 200)["experiment_id"])
		exp := f.mlCall(t, "GET", "experiments/get?experiment_id="+expID, tok, "", 200)["experiment"].(map[string]any)
		if exp["lifecycle_stage"] != "active" || exp["name"] != "sweep-mlflow" || exp["experiment_id"] != expID {
			t.Fatalf("experiment: %v", exp)
		}
		// The id is stable: the same on the second call, by name.
		again := f.mlCall(t, "GET", "experiments/get-by-name?experiment_name=sweep-mlflow", tok, "", 200)["experiment"].(map[string]any)
		if again["experiment_id"] != expID {
			t.Fatalf("experiment id changed: %v", again)
		}
		f.mlCall(t, "POST", "experiments/create", tok, `{"name": "sweep-mlflow"}`, 400)

		// start_run: create with the context tags; mlflow.user names
		// someone else, which must not stick.
		startRun := func(name string) string {
			body := fmt.Sprintf(`{"experiment_id": %q, "user_id": "mallory", "start_time": %d, "tags": [
				{"key": "mlflow.user", "value": "mallory"}, {"key": "mlflow.source.name", "value": "train.py"},
				{"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.runName", "value": %q}], "run_name": %q}`,
				expID, ms, name, name)
			run := f.mlCall(t, "POST", "runs/create", tok, body, 200)["run"].(map[string]any)
			info := run["info"].(map[string]any)
			if info["status"] != "RUNNING" || info["run_name"] != name || info["experiment_id"] != expID ||
				info["lifecycle_stage"] != "active" || !strings.HasPrefix(str(info["artifact_uri"]), "mlflow-artifacts:/"+expID+"/") {
				t.Fatalf("created run: %v", info)
			}
			if u := tagMap(run)["mlflow.user"]; u != f.reviewerID || info["user_id"] != f.reviewerID {
				t.Fatalf("mlflow.user is %q, user_id %v: want the token's owner %s", u, info["user_id"], f.reviewerID)
			}
			return str(info["run_id"])
		}
		ok := startRun("ok")
		f.mlCall(t, "POST", "runs/log-batch", tok, `{"run_id": "`+ok+`", "params": [{"key": "lr", "value": "0.01"},
			{"key": "optimizer", "value": "adam"}, {"key": "layers.n", "value": "3"}, {"key": "dropout", "value": "1.0"}]}`, 200)
		for i, v := range []string{"0.5", "0.4"} {
			f.mlCall(t, "POST", "runs/log-metric", tok, fmt.Sprintf(`{"run_uuid": %q, "run_id": %q, "key": "loss", "value": %s, "timestamp": %d, "step": 0}`,
				ok, ok, v, ms+int64(i)*1000), 200)
		}
		f.mlCall(t, "POST", "runs/log-metric", tok, fmt.Sprintf(`{"run_uuid": %q, "run_id": %q, "key": "acc", "value": 0.8, "timestamp": %d, "step": 1}`,
			ok, ok, ms+2000), 200)
		f.mlCall(t, "POST", "runs/log-batch", tok, fmt.Sprintf(`{"run_id": %q, "metrics": [
			{"key": "acc", "value": 0.9, "timestamp": %d, "step": 2}, {"key": "loss", "value": 0.3, "timestamp": %d, "step": 2}]}`,
			ok, ms+3000, ms+3000), 200)
		f.mlCall(t, "POST", "runs/log-batch", tok, `{"run_id": "`+ok+`", "tags": [{"key": "team", "value": "vision"},
			{"key": "mlflow.note.content", "value": "first try"}]}`, 200)
		// log_artifact: the client reads the run for its artifact_uri, then
		// PUTs the file to the artifact proxy under it.
		uri := f.mlCall(t, "GET", "runs/get?run_uuid="+ok+"&run_id="+ok, tok, "", 200)["run"].(map[string]any)["info"].(map[string]any)["artifact_uri"]
		model := bytes.Repeat([]byte("weights\x00\xff"), 40_000)
		put := request{method: "PUT", body: string(model),
			path:    "/api/2.0/mlflow-artifacts/artifacts/" + strings.TrimPrefix(str(uri), "mlflow-artifacts:/") + "/model/weights.bin",
			headers: map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/octet-stream"}}
		if rec := f.srv.do(put); rec.Code != 200 {
			t.Fatalf("log_artifact: %d %s", rec.Code, rec.Body)
		}
		f.mlCall(t, "POST", "runs/update", tok, fmt.Sprintf(`{"run_uuid": %q, "run_id": %q, "status": "FINISHED", "end_time": %d}`, ok, ok, time.Now().UnixMilli()), 200)
		// The artifact round-trips byte for byte (download_artifacts' GET).
		get := request{path: put.path, headers: map[string]string{"Authorization": "Bearer " + tok}}
		if rec := f.srv.do(get); rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), model) {
			t.Fatalf("the artifact came back %d, %d bytes of %d", rec.Code, rec.Body.Len(), len(model))
		}

		bad := startRun("bad")
		f.mlCall(t, "POST", "runs/log-parameter", tok, fmt.Sprintf(`{"run_uuid": %q, "run_id": %q, "key": "lr", "value": "0.1"}`, bad, bad), 200)
		f.mlCall(t, "POST", "runs/update", tok, fmt.Sprintf(`{"run_uuid": %q, "run_id": %q, "status": "FAILED", "end_time": %d}`, bad, bad, time.Now().UnixMilli()), 200)

		// get_run reads back what was sent, params as the exact texts.
		run := f.mlCall(t, "GET", "runs/get?run_uuid="+ok+"&run_id="+ok, tok, "", 200)["run"].(map[string]any)
		if got, want := paramMap(run), map[string]string{"lr": "0.01", "optimizer": "adam", "layers.n": "3", "dropout": "1.0"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("params %v, want %v", got, want)
		}
		tags := tagMap(run)
		if tags["team"] != "vision" || tags["mlflow.note.content"] != "first try" || tags["mlflow.runName"] != "ok" || tags["mlflow.source.name"] != "train.py" {
			t.Fatalf("tags: %v", tags)
		}
		if info := run["info"].(map[string]any); info["status"] != "FINISHED" || info["end_time"] == nil {
			t.Fatalf("info: %v", info)
		}
		// Step 0 logged twice keeps both points, in order; explicit steps
		// stay; the history's times are the job's.
		steps, values, times := f.mlHistory(t, tok, ok, "loss")
		if !reflect.DeepEqual(steps, []int64{0, 1, 2}) || !reflect.DeepEqual(values, []float64{0.5, 0.4, 0.3}) {
			t.Fatalf("loss history: steps %v values %v", steps, values)
		}
		if times[0] != ms || times[1] != ms+1000 || times[2] != ms+3000 {
			t.Fatalf("loss times %v, want %d, +1000, +3000", times, ms)
		}
		if steps, values, _ := f.mlHistory(t, tok, ok, "acc"); !reflect.DeepEqual(steps, []int64{1, 2}) || !reflect.DeepEqual(values, []float64{0.8, 0.9}) {
			t.Fatalf("acc history: %v %v", steps, values)
		}
		var latest map[string]any
		for _, m := range run["data"].(map[string]any)["metrics"].([]any) {
			mm := m.(map[string]any)
			if mm["key"] == "loss" {
				latest = mm
			}
		}
		if latest["value"] != 0.3 || latest["step"] != 2.0 {
			t.Fatalf("latest loss: %v", latest)
		}

		// search_runs with a filter (MLflow's pandas page size).
		search := func(filter string) []string {
			body, _ := json.Marshal(map[string]any{"experiment_ids": []string{expID}, "filter": filter,
				"run_view_type": "ACTIVE_ONLY", "max_results": 10000})
			out := f.mlCall(t, "POST", "runs/search", tok, string(body), 200)
			var ids []string
			for _, r := range out["runs"].([]any) {
				ids = append(ids, str(r.(map[string]any)["info"].(map[string]any)["run_id"]))
			}
			return ids
		}
		if got := search("metrics.loss < 0.35 and params.lr = '0.01' and tags.team = 'vision' and attributes.status = 'FINISHED'"); !reflect.DeepEqual(got, []string{ok}) {
			t.Fatalf("search: %v, want [%s]", got, ok)
		}
		if got := search("attributes.status = 'FAILED'"); !reflect.DeepEqual(got, []string{bad}) {
			t.Fatalf("search failed runs: %v, want [%s]", got, bad)
		}
		if got := search("params.lr LIKE '0.%' and tags.`mlflow.runName` ILIKE 'B%'"); !reflect.DeepEqual(got, []string{bad}) {
			t.Fatalf("search LIKE: %v, want [%s]", got, bad)
		}
		if got := search(""); len(got) != 2 {
			t.Fatalf("search all: %v", got)
		}

		// In labreview: the mapping, a review, and the query language.
		rec := f.srv.do(jsonReq("GET", "/api/runs/"+ok, f.reviewer.access, ""))
		var lr struct {
			Project string
			Name    string
			Status  string
			Notes   string
			Tags    []string
			Params  map[string]any
			Metrics map[string]float64
		}
		mustJSON(t, rec.Body.Bytes(), &lr)
		if lr.Project != "sweep-mlflow" || lr.Name != "ok" || lr.Status != "succeeded" || lr.Notes != "first try" ||
			lr.Params["lr"] != 0.01 || lr.Params["dropout"] != 1.0 || !reflect.DeepEqual(lr.Params["layers"], map[string]any{"n": 3.0}) ||
			lr.Metrics["loss"] != 0.3 || lr.Metrics["acc"] != 0.9 || !reflect.DeepEqual(lr.Tags, []string{"team=vision"}) {
			t.Fatalf("the run in labreview: %+v", lr)
		}
		if rec := f.srv.do(jsonReq("POST", "/api/runs/"+ok+"/review", f.reviewer.access, `{"state":"approved"}`)); rec.Code != 200 {
			t.Fatalf("review: %d %s", rec.Code, rec.Body)
		}
		for q, want := range map[string]int{
			`project = "sweep-mlflow" and params.lr < 0.05`:    1,
			`project = "sweep-mlflow" and tag = "team=vision"`: 1,
			`project = "sweep-mlflow" and status = failed`:     1,
			`project = "sweep-mlflow" and count(loss) = 3`:     1,
		} {
			rec := f.srv.do(jsonReq("GET", "/api/runs?q="+url.QueryEscape(q), f.reviewer.access, ""))
			var page struct{ Runs []map[string]any }
			mustJSON(t, rec.Body.Bytes(), &page)
			if rec.Code != 200 || len(page.Runs) != want {
				t.Fatalf("q=%s: %d, %d runs, want %d: %s", q, rec.Code, len(page.Runs), want, rec.Body)
			}
		}
	})
}

// TestMLflowRules: params set once, retries, scopes and project limits,
// errors in MLflow's shape.
func TestMLflowRules(t *testing.T) {
	f := newRunsFixture(t, dbtest.SQLite(t))
	tok := f.tokens["rw"]
	ms := time.Now().UnixMilli()
	run := f.mlCall(t, "POST", "runs/create", tok, `{"experiment_id": "0", "tags": []}`, 200)["run"].(map[string]any)
	id := str(run["info"].(map[string]any)["run_id"])
	if run["info"].(map[string]any)["experiment_id"] != "0" {
		t.Fatalf("default experiment: %v", run["info"])
	}
	logParam := func(k, v string, want int) map[string]any {
		return f.mlCall(t, "POST", "runs/log-parameter", tok, fmt.Sprintf(`{"run_id": %q, "key": %q, "value": %q}`, id, k, v), want)
	}
	logParam("lr", "1e-3", 200)
	logParam("lr", "1e-3", 200) // the same again
	if e := logParam("lr", "0.001", 400); e["error_code"] != "INVALID_PARAMETER_VALUE" {
		t.Fatalf("changed param: %v", e)
	}
	if e := logParam("lr.inner", "1", 400); e["error_code"] != "INVALID_PARAMETER_VALUE" {
		t.Fatalf("param under a valued param: %v", e)
	}
	// A retried log-metric adds nothing; a new time at the same step does.
	body := fmt.Sprintf(`{"run_id": %q, "key": "x", "value": "NaN", "timestamp": "%d", "step": "5"}`, id, ms)
	f.mlCall(t, "POST", "runs/log-metric", tok, body, 200)
	f.mlCall(t, "POST", "runs/log-metric", tok, body, 200)
	steps, _, _ := f.mlHistory(t, tok, id, "x")
	if !reflect.DeepEqual(steps, []int64{5}) {
		t.Fatalf("a retry stored twice: steps %v", steps)
	}
	f.mlCall(t, "POST", "runs/log-metric", tok, fmt.Sprintf(`{"run_id": %q, "key": "x", "value": 1, "timestamp": %d, "step": 3}`, id, ms+5), 200)
	if steps, _, _ := f.mlHistory(t, tok, id, "x"); !reflect.DeepEqual(steps, []int64{5, 6}) {
		t.Fatalf("a step before the last goes after it: %v", steps)
	}
	// History pages.
	out := f.mlCall(t, "GET", "metrics/get-history?run_id="+id+"&metric_key=x&max_results=1", tok, "", 200)
	if len(out["metrics"].([]any)) != 1 || str(out["next_page_token"]) == "" {
		t.Fatalf("first page: %v", out)
	}
	out = f.mlCall(t, "GET", "metrics/get-history?run_id="+id+"&metric_key=x&max_results=1&page_token="+str(out["next_page_token"]), tok, "", 200)
	if ms := out["metrics"].([]any); len(ms) != 1 || ms[0].(map[string]any)["step"] != 6.0 || out["next_page_token"] != nil {
		t.Fatalf("second page: %v", out)
	}
	// log-batch limits.
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf(`{"key": "p%d", "value": "1"}`, i))
	}
	if e := f.mlCall(t, "POST", "runs/log-batch", tok, `{"run_id": "`+id+`", "params": [`+strings.Join(many, ",")+`]}`, 400); e["error_code"] != "INVALID_PARAMETER_VALUE" {
		t.Fatalf("101 params: %v", e)
	}
	// A run holds at most 1,000 metrics: the 1,001st is refused before any
	// of the batch's points is written.
	var metrics []string
	for i := range 1000 {
		metrics = append(metrics, fmt.Sprintf(`{"key": "m%d", "value": 1, "timestamp": %d, "step": 0}`, i, ms))
	}
	if e := f.mlCall(t, "POST", "runs/log-batch", tok, `{"run_id": "`+id+`", "metrics": [`+strings.Join(metrics, ",")+`]}`, 400); e["error_code"] != "INVALID_PARAMETER_VALUE" {
		t.Fatalf("1,001 metrics: %v", e)
	}
	if steps, _, _ := f.mlHistory(t, tok, id, "m0"); len(steps) != 0 {
		t.Fatalf("a refused batch wrote points: %v", steps)
	}
	// Tags: set, delete, delete again.
	f.mlCall(t, "POST", "runs/set-tag", tok, `{"run_id": "`+id+`", "key": "k", "value": "v"}`, 200)
	f.mlCall(t, "POST", "runs/delete-tag", tok, `{"run_id": "`+id+`", "key": "k"}`, 200)
	f.mlCall(t, "POST", "runs/delete-tag", tok, `{"run_id": "`+id+`", "key": "k"}`, 404)

	// Auth: none, read-only, limited to another project, admin-only delete.
	if e := f.mlCall(t, "GET", "experiments/list", "", "", 401); e["error_code"] != "UNAUTHENTICATED" {
		t.Fatalf("no token: %v", e)
	}
	if e := f.mlCall(t, "POST", "runs/log-parameter", f.tokens["ro"], `{"run_id": "`+id+`", "key": "a", "value": "1"}`, 403); e["error_code"] != "PERMISSION_DENIED" {
		t.Fatalf("read-only token writes: %v", e)
	}
	p1 := f.tokens["rw-p1"]
	f.mlCall(t, "GET", "runs/get?run_id="+id, p1, "", 404)
	f.mlCall(t, "GET", "experiments/get-by-name?experiment_name=Default", p1, "", 404)
	if e := f.mlCall(t, "POST", "experiments/create", p1, `{"name": "elsewhere"}`, 403); e["error_code"] != "PERMISSION_DENIED" {
		t.Fatalf("limited token creates another experiment: %v", e)
	}
	list := f.mlCall(t, "GET", "experiments/list", p1, "", 200)["experiments"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["name"] != "p1" {
		t.Fatalf("a token limited to p1 sees %v", list)
	}
	f.mlCall(t, "POST", "runs/delete", tok, `{"run_id": "`+id+`"}`, 403)
	f.mlCall(t, "POST", "runs/delete", f.admin.access, `{"run_id": "`+id+`"}`, 200)
	if e := logParam("b", "1", 400); e["error_code"] != "INVALID_PARAMETER_VALUE" {
		t.Fatalf("writing to a deleted run: %v", e)
	}
	f.mlCall(t, "POST", "runs/restore", f.admin.access, `{"run_id": "`+id+`"}`, 200)
	// The model registry answers empty; the ajax prefix serves the same.
	if out := f.mlCall(t, "GET", "registered-models/search", tok, "", 200); len(out["registered_models"].([]any)) != 0 {
		t.Fatalf("registry: %v", out)
	}
	if rec := f.srv.do(jsonReq("GET", "/ajax-api/2.0/mlflow/experiments/get?experiment_id=0", tok, "")); rec.Code != 200 {
		t.Fatalf("ajax prefix: %d %s", rec.Code, rec.Body)
	}
}

// TestMLflowArtifactsAndFiles: log_artifact's PUT through MLflow's artifact
// proxy, its listing and download byte for byte, and the same file through
// labreview's own file API, never served as a page.
func TestMLflowArtifactsAndFiles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		f := newRunsFixture(t, store)
		tok := f.tokens["rw"]
		run := f.mlCall(t, "POST", "runs/create", tok, `{"experiment_id": "0"}`, 200)["run"].(map[string]any)
		info := run["info"].(map[string]any)
		id := str(info["run_id"])
		base := "/api/2.0/mlflow-artifacts/artifacts/" + strings.TrimPrefix(str(info["artifact_uri"]), "mlflow-artifacts:/")
		payload := make([]byte, 300<<10)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		put := func(path, token string, body []byte, want int) {
			t.Helper()
			req := request{method: "PUT", path: path, body: string(body),
				headers: map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/octet-stream"}}
			if rec := f.srv.do(req); rec.Code != want {
				t.Fatalf("PUT %s: %d %s", path, rec.Code, rec.Body)
			}
		}
		put(base+"/model/weights.bin", tok, payload, 200)
		put(base+"/model/weights.bin", tok, payload, 200) // a retry
		put(base+"/page.html", tok, []byte("<script>alert(1)</script>"), 200)
		put(base+"/plot.png", tok, []byte("\x89PNG\r\n\x1a\nnot really"), 200)
		put(base+"/x.txt", f.tokens["ro"], []byte("no"), 403)

		get := func(path, token string) *httptest.ResponseRecorder {
			return f.srv.do(request{path: path, headers: map[string]string{"Authorization": "Bearer " + token}})
		}
		rec := get(base+"/model/weights.bin", tok)
		if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), payload) {
			t.Fatalf("download: %d, %d bytes", rec.Code, rec.Body.Len())
		}
		rec = get("/api/2.0/mlflow-artifacts/artifacts?path="+url.QueryEscape(strings.TrimPrefix(base, "/api/2.0/mlflow-artifacts/artifacts/")), tok)
		var list struct {
			Files []struct {
				Path     string `json:"path"`
				IsDir    bool   `json:"is_dir"`
				FileSize *int64 `json:"file_size"`
			} `json:"files"`
		}
		mustJSON(t, rec.Body.Bytes(), &list)
		if len(list.Files) != 3 || list.Files[0].Path != "model" || !list.Files[0].IsDir || list.Files[1].Path != "page.html" ||
			list.Files[2].FileSize == nil || *list.Files[2].FileSize != 18 {
			t.Fatalf("listing: %s", rec.Body)
		}
		tl := f.mlCall(t, "GET", "artifacts/list?run_id="+id+"&path=model", tok, "", 200)
		if files := tl["files"].([]any); len(files) != 1 || files[0].(map[string]any)["path"] != "model/weights.bin" {
			t.Fatalf("tracking artifacts/list: %v", tl)
		}

		// labreview's API: list, download with the safe headers.
		rec = get("/api/runs/"+id+"/files", f.reviewer.access)
		var files struct {
			Files []fileResponse
		}
		mustJSON(t, rec.Body.Bytes(), &files)
		if len(files.Files) != 3 || files.Files[0].Path != "model/weights.bin" || files.Files[0].Size != int64(len(payload)) {
			t.Fatalf("files: %s", rec.Body)
		}
		rec = get("/api/runs/"+id+"/files/page.html?inline=1", f.reviewer.access)
		h := rec.Header()
		if rec.Code != 200 || h.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("an HTML file is served as %d %v", rec.Code, h)
		}
		rec = get("/api/runs/"+id+"/files/plot.png?inline=1", f.reviewer.access)
		if rec.Header().Get("Content-Type") != "image/png" || !strings.HasPrefix(rec.Header().Get("Content-Disposition"), "inline") {
			t.Fatalf("an image inline: %v", rec.Header())
		}
		if rec := get("/api/runs/"+id+"/files/nope", f.reviewer.access); rec.Code != 404 {
			t.Fatalf("missing file: %d", rec.Code)
		}
		// A path with a backslash or a control character is refused
		// (.. and // are resolved by the router before: they stay inside
		// the run; runs.CheckFilePath refuses them too).
		put("/api/runs/"+id+"/files/a%5Cb", tok, []byte("x"), 400)
		put("/api/runs/"+id+"/files/a%01b", tok, []byte("x"), 400)
		// Deleting: not with a token, yes for a signed-in admin.
		del := func(path, token string) int {
			return f.srv.do(request{method: "DELETE", path: path, headers: map[string]string{"Authorization": "Bearer " + token}}).Code
		}
		if code := del(base+"/page.html", tok); code != 403 {
			t.Fatalf("token deletes an artifact: %d", code)
		}
		if code := del("/api/runs/"+id+"/files/page.html", f.admin.access); code != 204 {
			t.Fatalf("admin deletes a file: %d", code)
		}
		if code := del(base+"/model", f.admin.access); code != 200 {
			t.Fatalf("admin deletes a folder through MLflow: %d", code)
		}
		rec = get("/api/runs/"+id+"/files", f.reviewer.access)
		mustJSON(t, rec.Body.Bytes(), &files)
		if len(files.Files) != 1 || files.Files[0].Path != "plot.png" {
			t.Fatalf("after deleting: %s", rec.Body)
		}
	})
}
