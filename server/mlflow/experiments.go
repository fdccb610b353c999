package mlflow

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"labreview/db"
)

// experimentJSON is MLflow's Experiment.
type experimentJSON struct {
	ExperimentID     string     `json:"experiment_id"`
	Name             string     `json:"name"`
	ArtifactLocation string     `json:"artifact_location"`
	LifecycleStage   string     `json:"lifecycle_stage"`
	LastUpdateTime   int64      `json:"last_update_time"`
	CreationTime     int64      `json:"creation_time"`
	Tags             []keyValue `json:"tags"`
}

func toExperiment(p db.Project) experimentJSON {
	id := experimentID(p.Name)
	t := p.LastActivity.UnixMilli()
	if p.LastActivity.IsZero() {
		t = 0
	}
	return experimentJSON{ExperimentID: id, Name: p.Name, ArtifactLocation: "mlflow-artifacts:/" + id,
		LifecycleStage: "active", LastUpdateTime: t, CreationTime: t, Tags: []keyValue{}}
}

// experiments lists the projects the caller reaches, with MLflow's default
// experiment (project Default, id "0") even before it has runs.
func (api *API) experiments(c *gin.Context) ([]db.Project, error) {
	list, err := api.runs.Projects(c.Request.Context(), actor(c))
	if err != nil {
		return nil, err
	}
	if principal(c).Subject().Reaches(defaultExperiment) && !slices.ContainsFunc(list, func(p db.Project) bool { return p.Name == defaultExperiment }) {
		list = append(list, db.Project{Name: defaultExperiment})
		slices.SortFunc(list, func(a, b db.Project) int { return strings.Compare(a.Name, b.Name) })
	}
	return list, nil
}

// projectOf finds the project of an experiment id the caller reaches.
func (api *API) projectOf(c *gin.Context, id string) (*db.Project, error) {
	if id == "" {
		return nil, invalidParam("Missing value for required parameter 'experiment_id'.")
	}
	list, err := api.experiments(c)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if experimentID(list[i].Name) == id {
			return &list[i], nil
		}
	}
	return nil, notFound("No Experiment with id=%s exists", truncate(id, 80))
}

// handleExperimentCreate: POST experiments/create.
func (api *API) ExperimentCreate(c *gin.Context) {
	var in struct {
		Name             string     `json:"name"`
		ArtifactLocation string     `json:"artifact_location"`
		Tags             []keyValue `json:"tags"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	if in.Name == "" {
		api.writeError(c, invalidParam("Missing value for required parameter 'name'."))
		return
	}
	created, err := api.runs.CreateProject(c.Request.Context(), actor(c), in.Name)
	if err != nil {
		api.writeError(c, err)
		return
	}
	if !created || in.Name == defaultExperiment {
		api.writeError(c, &Error{Status: http.StatusBadRequest, Code: codeExists,
			Message: "Experiment '" + in.Name + "' already exists."})
		return
	}
	reply(c, gin.H{"experiment_id": experimentID(in.Name)})
}

// ExperimentGet: GET experiments/get?experiment_id=.
func (api *API) ExperimentGet(c *gin.Context) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	p, err := api.projectOf(c, in.ExperimentID)
	if err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{"experiment": toExperiment(*p)})
}

// ExperimentGetByName: GET experiments/get-by-name?experiment_name=. An
// unknown name (or one the token does not reach) is 404
// RESOURCE_DOES_NOT_EXIST, on which set_experiment creates it.
func (api *API) ExperimentGetByName(c *gin.Context) {
	var in struct {
		Name string `json:"experiment_name"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	list, err := api.experiments(c)
	if err != nil {
		api.writeError(c, err)
		return
	}
	for _, p := range list {
		if p.Name == in.Name {
			reply(c, gin.H{"experiment": toExperiment(p)})
			return
		}
	}
	api.writeError(c, notFound("Could not find experiment with name '%s'", truncate(in.Name, 200)))
}

// ExperimentSearch: GET or POST experiments/search. The filter may test
// the name (=, !=, LIKE, ILIKE); pages go by name.
func (api *API) ExperimentSearch(c *gin.Context) {
	var in struct {
		MaxResults int64Field `json:"max_results"`
		PageToken  string     `json:"page_token"`
		Filter     string     `json:"filter"`
		ViewType   string     `json:"view_type"`
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
		api.writeError(c, invalidParam("max_results must be between 1 and 50000."))
		return
	}
	clauses, err := parseFilter(in.Filter)
	if err != nil {
		api.writeError(c, err)
		return
	}
	for _, cl := range clauses {
		if cl.kind != entityAttribute || cl.key != "name" {
			api.writeError(c, invalidParam("Experiments can be searched by attributes.name only here (got %s).", cl.text))
			return
		}
	}
	after := ""
	if in.PageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.PageToken)
		if err != nil {
			api.writeError(c, invalidParam("Invalid page token."))
			return
		}
		after = string(b)
	}
	list, err := api.experiments(c)
	if err != nil {
		api.writeError(c, err)
		return
	}
	out := []experimentJSON{}
	next := ""
	if in.ViewType != "DELETED_ONLY" && in.ViewType != "2" {
		for _, p := range list {
			if after != "" && p.Name <= after {
				continue
			}
			view := runView{attrs: map[string]string{"name": p.Name}}
			if !matchAll(clauses, &view) {
				continue
			}
			if int64(len(out)) == limit {
				next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].Name))
				break
			}
			out = append(out, toExperiment(p))
		}
	}
	resp := gin.H{"experiments": out}
	if next != "" {
		resp["next_page_token"] = next
	}
	reply(c, resp)
}

// ExperimentList: GET experiments/list, MLflow 1.x's listing, which the npm
// client still calls.
func (api *API) ExperimentList(c *gin.Context) {
	list, err := api.experiments(c)
	if err != nil {
		api.writeError(c, err)
		return
	}
	out := make([]experimentJSON, len(list))
	for i, p := range list {
		out[i] = toExperiment(p)
	}
	reply(c, gin.H{"experiments": out})
}

// ExperimentUpdate: POST experiments/update. A project's name is its
// identity (runs name it), so renaming is refused; the same name again is
// accepted.
func (api *API) ExperimentUpdate(c *gin.Context) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
		NewName      string `json:"new_name"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return
	}
	p, err := api.projectOf(c, in.ExperimentID)
	if err != nil {
		api.writeError(c, err)
		return
	}
	if in.NewName != "" && in.NewName != p.Name {
		api.writeError(c, disabled("Renaming an experiment (a labreview project)"))
		return
	}
	reply(c, gin.H{})
}

// ExperimentDelete: POST experiments/delete: refused, labreview keeps
// projects (admins delete runs one by one and can restore them).
func (api *API) ExperimentDelete(c *gin.Context) {
	if _, ok := api.experimentFromBody(c); !ok {
		return
	}
	api.writeError(c, disabled("Deleting an experiment (a labreview project)"))
}

// ExperimentRestore: POST experiments/restore: every experiment is
// active, so restoring one that exists changes nothing.
func (api *API) ExperimentRestore(c *gin.Context) {
	if _, ok := api.experimentFromBody(c); ok {
		reply(c, gin.H{})
	}
}

// ExperimentSetTag: POST experiments/set-experiment-tag: accepted and
// ignored (labreview projects have no tags), after the usual checks.
func (api *API) ExperimentSetTag(c *gin.Context) {
	if _, ok := api.experimentFromBody(c); ok {
		reply(c, gin.H{})
	}
}

func (api *API) experimentFromBody(c *gin.Context) (*db.Project, bool) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := bind(c, &in); err != nil {
		api.writeError(c, err)
		return nil, false
	}
	p, err := api.projectOf(c, in.ExperimentID)
	if err != nil {
		api.writeError(c, err)
		return nil, false
	}
	return p, true
}

// experimentIDs turns experiment ids into projects; an id the caller does
// not reach is left out (MLflow answers no runs for it).
func (api *API) projectsOf(c *gin.Context, ids []string) ([]string, error) {
	list, err := api.experiments(c)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		for _, p := range list {
			if experimentID(p.Name) == id {
				out = append(out, p.Name)
			}
		}
	}
	return out, nil
}
