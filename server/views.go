package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/db"
)

// viewsPath is the path of the caller's saved views; a view is
// viewsPath + "/" + its percent-encoded name.
const viewsPath = "/api/me/views"

// viewResponse is a saved view as the API shows it (the caller's own, so
// without a user id).
type viewResponse struct {
	Name      string    `json:"name"`
	Search    string    `json:"search"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toViewResponse(v *db.SavedView) viewResponse {
	return viewResponse{Name: v.Name, Search: v.Search, UpdatedAt: v.UpdatedAt.UTC()}
}

// viewNameParam is the {name} of /api/me/views/{name}, decoded from the
// path exactly as the client encoded it. Gin routes on the decoded path
// with repeated slashes removed, which would change a name holding "//"
// (sent as %2F%2F). A path that reached the route with another spelling
// of the prefix (/api//me/views/…) gives its last segment: a client that
// spells paths so encodes the name as one segment.
func viewNameParam(c *gin.Context) string {
	escaped := c.Request.URL.EscapedPath()
	raw, ok := strings.CutPrefix(escaped, viewsPath+"/")
	if !ok {
		raw = escaped[strings.LastIndexByte(escaped, '/')+1:]
	}
	name, err := url.PathUnescape(raw)
	if err != nil { // the server decoded the path already, so this does not happen
		return strings.TrimPrefix(c.Param("name"), "/")
	}
	return name
}

// handleViewsList: GET /api/me/views.
func (s *Server) handleViewsList(c *gin.Context) {
	list, err := s.runs.SavedViews(c.Request.Context(), runActor(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := make([]viewResponse, len(list))
	for i := range list {
		out[i] = toViewResponse(&list[i])
	}
	c.JSON(http.StatusOK, gin.H{"views": out})
}

// viewRequest is the body of PUT /api/me/views/{name}; search is required
// (an empty string is the table's default view).
type viewRequest struct {
	Search *string `json:"search"`
}

// handleViewPut: PUT /api/me/views/{name} {"search"}, create or replace.
func (s *Server) handleViewPut(c *gin.Context) {
	var in viewRequest
	if err := decodeJSON(c, &in); err != nil {
		s.writeError(c, err)
		return
	}
	if in.Search == nil {
		s.writeError(c, &Error{Status: http.StatusBadRequest, Code: "required", Message: "search: send the view's query string (may be empty).",
			Details: []FieldError{{Field: "search", Message: "required"}}})
		return
	}
	v, err := s.runs.SaveView(c.Request.Context(), runActor(c), viewNameParam(c), *in.Search)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toViewResponse(v))
}

// handleViewDelete: DELETE /api/me/views/{name}.
func (s *Server) handleViewDelete(c *gin.Context) {
	if err := s.runs.DeleteView(c.Request.Context(), runActor(c), viewNameParam(c)); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
