package mlflow

// MLflow's artifact proxy (mlflow-artifacts:/ URIs): a run's artifact_uri
// is mlflow-artifacts:/<experiment id>/<run id>/artifacts, which MLflow's
// clients turn into /api/2.0/mlflow-artifacts/artifacts/<that path>/<file>.
// The files are labreview's files of the run (runs.PutFile and the rest),
// the same store as /api/runs/{id}/files.

import (
	"errors"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"labreview/db"
	"labreview/runs"
	"labreview/server/fileserve"
)

type fileInfoJSON struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

// artifactTarget splits <experiment id>/<run id>/artifacts[/<path>] and
// finds the run; rel is the file's path in the run ("" for its root).
func (api *API) artifactTarget(c *gin.Context, p string) (r *db.Run, rel string, err error) {
	parts := strings.SplitN(strings.Trim(p, "/"), "/", 4)
	if len(parts) < 3 || parts[2] != "artifacts" {
		return nil, "", notFound("No artifact at %q: paths are <experiment id>/<run id>/artifacts/<file>.", truncate(p, 200))
	}
	r, err = api.runs.Get(c.Request.Context(), actor(c), parts[1])
	if err != nil {
		return nil, "", err
	}
	if experimentID(r.Project) != parts[0] {
		return nil, "", notFound("Run %s is not in experiment %s.", r.ID, truncate(parts[0], 40))
	}
	if len(parts) == 4 {
		rel = parts[3]
	}
	return r, rel, nil
}

// ArtifactPut: PUT /api/2.0/mlflow-artifacts/artifacts/{path}: the body
// is the file.
func (api *API) ArtifactPut(c *gin.Context) {
	r, rel, err := api.artifactTarget(c, c.Param("path"))
	if err != nil {
		api.writeError(c, err)
		return
	}
	if _, err := api.runs.PutFile(c.Request.Context(), actor(c), r.ID, rel, c.Request.Body); err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{})
}

// ArtifactGet: GET /api/2.0/mlflow-artifacts/artifacts/{path}: the bytes,
// as a download.
func (api *API) ArtifactGet(c *gin.Context) {
	r, rel, err := api.artifactTarget(c, c.Param("path"))
	if err != nil {
		api.writeError(c, err)
		return
	}
	f, rc, err := api.runs.OpenFile(c.Request.Context(), actor(c), r.ID, rel)
	if err != nil {
		api.writeError(c, err)
		return
	}
	defer rc.Close()
	if err := fileserve.Write(c.Writer, c.Request, f, rc, false); err != nil {
		api.log.WarnContext(c.Request.Context(), "artifact download cut short", "err", err)
	}
}

// ArtifactList: GET /api/2.0/mlflow-artifacts/artifacts?path=: the
// entries right under path, by name.
func (api *API) ArtifactList(c *gin.Context) {
	p := strings.Trim(c.Query("path"), "/")
	if strings.Count(p, "/") < 2 {
		reply(c, gin.H{"files": []fileInfoJSON{}}) // above a run's root
		return
	}
	r, rel, err := api.artifactTarget(c, p)
	if err != nil {
		api.writeError(c, err)
		return
	}
	files, err := api.children(c, r, rel, false)
	if err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{"files": files})
}

// ArtifactDelete: DELETE /api/2.0/mlflow-artifacts/artifacts/{path}: a
// file, or every file under a folder; for signed-in admins.
func (api *API) ArtifactDelete(c *gin.Context) {
	r, rel, err := api.artifactTarget(c, c.Param("path"))
	if err != nil {
		api.writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	err = api.runs.DeleteFile(ctx, actor(c), r.ID, rel)
	if errors.Is(err, runs.ErrNoSuchFile) || rel == "" {
		// A folder: every file under it, page by page.
		prefix := ""
		if rel != "" {
			prefix = rel + "/"
		}
		err = nil
		for {
			list, _, lerr := api.runs.Files(ctx, actor(c), r.ID, prefix, "", runs.MaxFilesPage)
			if lerr != nil || len(list) == 0 {
				err = lerr
				break
			}
			for _, f := range list {
				if err = api.runs.DeleteFile(ctx, actor(c), r.ID, f.Path); err != nil && !errors.Is(err, runs.ErrNoSuchFile) {
					api.writeError(c, err)
					return
				}
			}
		}
	}
	if err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{})
}

// ArtifactsList: GET artifacts/list?run_id=&path= of the tracking API:
// the entries right under path, by their path in the run.
func (api *API) ArtifactsList(c *gin.Context) {
	var in struct {
		runRef
		Path string `json:"path"`
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
	files, err := api.children(c, r, strings.Trim(in.Path, "/"), true)
	if err != nil {
		api.writeError(c, err)
		return
	}
	reply(c, gin.H{"root_uri": artifactURI(r), "files": files})
}

// children lists the files and folders right under dir of a run (full:
// named by their path in the run, else by their base name). A run holds
// at most files.max_files_per_run files, which bounds the walk.
func (api *API) children(c *gin.Context, r *db.Run, dir string, full bool) ([]fileInfoJSON, error) {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	out := []fileInfoJSON{}
	after := ""
	lastDir := ""
	for {
		list, more, err := api.runs.Files(c.Request.Context(), actor(c), r.ID, prefix, after, runs.MaxFilesPage)
		if err != nil {
			return nil, err
		}
		for _, f := range list {
			rest := strings.TrimPrefix(f.Path, prefix)
			name, _, isDir := strings.Cut(rest, "/")
			entry := fileInfoJSON{Path: name, IsDir: isDir}
			if full {
				entry.Path = path.Join(dir, name)
			}
			if isDir {
				if name == lastDir {
					continue
				}
				lastDir = name
			} else {
				size := f.Size
				entry.FileSize = &size
			}
			out = append(out, entry)
		}
		if !more || len(list) == 0 {
			return out, nil
		}
		after = list[len(list)-1].Path
	}
}
